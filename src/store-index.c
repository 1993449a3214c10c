/* store-index.c - the message, location, attachment and thread tables
 * of the state store; store.c opens the file and keeps the sync state. */
#include "store-private.h"
#include "mailharvest/error.h"

#include <string.h>

/* Messages. */

MhStoreMessage *
mh_store_message_new (void)
{
  return g_new0 (MhStoreMessage, 1);
}

void
mh_store_message_free (MhStoreMessage *msg)
{
  if (msg == NULL)
    return;
  g_free (msg->key);
  g_free (msg->message_id);
  g_free (msg->gm_thrid);
  g_free (msg->subject);
  g_free (msg->from_addr);
  g_free (msg->participants);
  g_free (msg->references_raw);
  g_free (msg->in_reply_to_raw);
  g_free (msg->thread_index);
  g_free (msg->thread_topic);
  g_free (msg->dir);
  g_free (msg->thread_dir);
  g_free (msg);
}

MhStoreLocation *
mh_store_location_new (const char *mailbox, guint32 uidvalidity,
                       guint32 uid)
{
  MhStoreLocation *loc = g_new0 (MhStoreLocation, 1);

  loc->mailbox = g_strdup (mailbox);
  loc->uidvalidity = uidvalidity;
  loc->uid = uid;
  return loc;
}

void
mh_store_location_free (MhStoreLocation *loc)
{
  if (loc == NULL)
    return;
  g_free (loc->mailbox);
  g_free (loc);
}

MhStoreAttachment *
mh_store_attachment_new (void)
{
  return g_new0 (MhStoreAttachment, 1);
}

void
mh_store_attachment_free (MhStoreAttachment *att)
{
  if (att == NULL)
    return;
  g_free (att->part);
  g_free (att->filename);
  g_free (att->path);
  g_free (att->content_type);
  g_free (att->sha256);
  g_free (att);
}

gboolean
mh_store_put_message (MhStore *store, const MhStoreMessage *msg,
                      GError **error)
{
  sqlite3_stmt *stmt;
  const char *texts[] = {
    msg->key, msg->message_id, NULL, msg->gm_thrid, NULL, msg->subject,
    msg->from_addr, msg->participants, msg->references_raw,
    msg->in_reply_to_raw, msg->thread_index, msg->thread_topic, NULL,
    msg->dir, msg->thread_dir,
  };

  g_return_val_if_fail (msg->key != NULL && msg->dir != NULL, FALSE);
  if (!mh_store_check_key (store, msg->key, error))
    return FALSE;
  stmt = mh_store_stmt (store, ST_PUT_MESSAGE, error);
  if (stmt == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    if (texts[i] != NULL &&
        !mh_store_bind_text (store, stmt, (int) i + 1, texts[i], error))
      return FALSE;
  /* X-GM-MSGID is a 64-bit unsigned number; it is kept in SQLite's signed
   * integer by bit pattern, which keeps equality lookups exact. */
  if (msg->gm_msgid != 0)
    sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) msg->gm_msgid);
  sqlite3_bind_int64 (stmt, 5, msg->date);
  sqlite3_bind_int64 (stmt, 13, (sqlite3_int64) msg->size);
  if (!mh_store_step_done (store, stmt, "cannot record message", error))
    return FALSE;
  mh_store_count_change (store);
  return TRUE;
}

static gpointer
read_message (sqlite3_stmt *stmt)
{
  MhStoreMessage *msg = mh_store_message_new ();

  msg->key = mh_store_column_text (stmt, 0);
  msg->message_id = mh_store_column_text (stmt, 1);
  msg->gm_msgid = (guint64) sqlite3_column_int64 (stmt, 2);
  msg->gm_thrid = mh_store_column_text (stmt, 3);
  msg->date = sqlite3_column_int64 (stmt, 4);
  msg->subject = mh_store_column_text (stmt, 5);
  msg->from_addr = mh_store_column_text (stmt, 6);
  msg->participants = mh_store_column_text (stmt, 7);
  msg->references_raw = mh_store_column_text (stmt, 8);
  msg->in_reply_to_raw = mh_store_column_text (stmt, 9);
  msg->thread_index = mh_store_column_text (stmt, 10);
  msg->thread_topic = mh_store_column_text (stmt, 11);
  msg->size = (guint64) sqlite3_column_int64 (stmt, 12);
  msg->dir = mh_store_column_text (stmt, 13);
  msg->thread_dir = mh_store_column_text (stmt, 14);
  msg->rowid = sqlite3_column_int64 (stmt, 15);
  return msg;
}

/* Steps @stmt to the end, or until @row returns FALSE, one row in memory
 * at a time. */
static gboolean
step_rows (MhStore *store, sqlite3_stmt *stmt,
           gboolean (*row) (sqlite3_stmt *stmt, gpointer data), gpointer data,
           GError **error)
{
  gboolean more = TRUE;
  int rc = SQLITE_DONE;

  if (stmt == NULL)
    return FALSE;
  while (more && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    more = row (stmt, data);
  if (more && rc != SQLITE_DONE)
    {
      mh_store_db_error (store, error, "cannot read rows");
      mh_store_stmt_done (stmt);
      return FALSE;
    }
  mh_store_stmt_done (stmt);
  return TRUE;
}

typedef struct {
  GPtrArray *rows;
  gpointer (*read) (sqlite3_stmt *);
} Collect;

static gboolean
collect_row (sqlite3_stmt *stmt, gpointer data)
{
  Collect *c = data;

  g_ptr_array_add (c->rows, c->read (stmt));
  return TRUE;
}

/* Steps @stmt to the end, collecting one object per row with @read. */
static gboolean
collect_rows (MhStore *store, sqlite3_stmt *stmt,
              gpointer (*read) (sqlite3_stmt *), GDestroyNotify free_func,
              GPtrArray **rows_out, GError **error)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (free_func);
  Collect c = { rows, read };

  *rows_out = NULL;
  if (!step_rows (store, stmt, collect_row, &c, error))
    return FALSE;
  *rows_out = g_steal_pointer (&rows);
  return TRUE;
}

static gboolean
collect_messages (MhStore *store, sqlite3_stmt *stmt, GPtrArray **msgs_out,
                  GError **error)
{
  return collect_rows (store, stmt, read_message,
                       (GDestroyNotify) mh_store_message_free, msgs_out,
                       error);
}

/* Returns the first message of @stmt's result, or NULL in *@msg_out. */
static gboolean
first_message (MhStore *store, sqlite3_stmt *stmt, MhStoreMessage **msg_out,
               GError **error)
{
  g_autoptr(GPtrArray) msgs = NULL;

  *msg_out = NULL;
  if (!collect_messages (store, stmt, &msgs, error))
    return FALSE;
  if (msgs->len > 0)
    *msg_out = g_ptr_array_steal_index (msgs, 0);
  return TRUE;
}

gboolean
mh_store_lookup_key (MhStore *store, const char *key,
                     MhStoreMessage **msg_out, GError **error)
{
  sqlite3_stmt *stmt;

  *msg_out = NULL;
  if (!mh_store_check_key (store, key, error))
    return FALSE;
  stmt = mh_store_stmt (store, ST_BY_KEY, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, key, error))
    return FALSE;
  return first_message (store, stmt, msg_out, error);
}

gboolean
mh_store_lookup_rowid (MhStore *store, gint64 rowid,
                       MhStoreMessage **msg_out, GError **error)
{
  sqlite3_stmt *stmt;

  *msg_out = NULL;
  stmt = mh_store_stmt (store, ST_BY_ROWID, error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, rowid);
  return first_message (store, stmt, msg_out, error);
}

gboolean
mh_store_lookup_dir (MhStore *store, const char *dir,
                     MhStoreMessage **msg_out, GError **error)
{
  sqlite3_stmt *stmt;

  *msg_out = NULL;
  stmt = mh_store_stmt (store, ST_BY_DIR, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, dir, error))
    return FALSE;
  return first_message (store, stmt, msg_out, error);
}

gboolean
mh_store_lookup_gm_msgid (MhStore *store, guint64 gm_msgid,
                          MhStoreMessage **msg_out, GError **error)
{
  sqlite3_stmt *stmt;

  *msg_out = NULL;
  if (gm_msgid == 0)
    return TRUE;
  stmt = mh_store_stmt (store, ST_BY_GM_MSGID, error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) gm_msgid);
  return first_message (store, stmt, msg_out, error);
}

gboolean
mh_store_lookup_message_id (MhStore *store, const char *message_id,
                            GPtrArray **msgs_out, GError **error)
{
  sqlite3_stmt *stmt;

  *msgs_out = NULL;
  stmt = mh_store_stmt (store, ST_BY_MESSAGE_ID, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, message_id, error))
    return FALSE;
  return collect_messages (store, stmt, msgs_out, error);
}

gboolean
mh_store_list_messages (MhStore *store, GPtrArray **msgs_out,
                        GError **error)
{
  sqlite3_stmt *stmt;

  *msgs_out = NULL;
  stmt = mh_store_stmt (store, ST_ALL_MESSAGES, error);
  if (stmt == NULL)
    return FALSE;
  return collect_messages (store, stmt, msgs_out, error);
}

/* The single number a count(*) statement returns. */
static gboolean
count_rows (MhStore *store, StatementId id, guint64 *count_out,
            GError **error)
{
  sqlite3_stmt *stmt = mh_store_stmt (store, id, error);

  *count_out = 0;
  if (stmt == NULL)
    return FALSE;
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      mh_store_db_error (store, error, "cannot count rows");
      mh_store_stmt_done (stmt);
      return FALSE;
    }
  *count_out = (guint64) sqlite3_column_int64 (stmt, 0);
  mh_store_stmt_done (stmt);
  return TRUE;
}

typedef struct {
  MhStoreMessageFunc message;
  MhStoreThreadFunc thread;
  gpointer user_data;
} Each;

static gboolean
each_message (sqlite3_stmt *stmt, gpointer data)
{
  Each *e = data;
  g_autoptr(MhStoreMessage) msg = read_message (stmt);

  return e->message (msg, e->user_data);
}

gboolean
mh_store_foreach_message (MhStore *store, MhStoreMessageFunc func,
                          gpointer user_data, GError **error)
{
  Each e = { func, NULL, user_data };

  return step_rows (store, mh_store_stmt (store, ST_ALL_MESSAGES, error),
                    each_message, &e, error);
}

gboolean
mh_store_count_messages (MhStore *store, guint64 *count_out, GError **error)
{
  return count_rows (store, ST_COUNT_MESSAGES, count_out, error);
}

/* Fails when the last UPDATE or DELETE touched no row. */
static gboolean
check_changed (MhStore *store, const char *key, GError **error)
{
  if (sqlite3_changes (store->db) == 0)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO,
                   "%s: no message with key %s", store->path, key);
      return FALSE;
    }
  return TRUE;
}

gboolean
mh_store_set_message_dirs (MhStore *store, const char *key,
                           const char *thread_dir, const char *dir,
                           GError **error)
{
  sqlite3_stmt *stmt;

  if (!mh_store_check_key (store, key, error))
    return FALSE;
  stmt = mh_store_stmt (store, ST_SET_DIRS, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, key, error) ||
      !mh_store_bind_text (store, stmt, 2, thread_dir, error) ||
      !mh_store_bind_text (store, stmt, 3, dir, error) ||
      !mh_store_step_done (store, stmt, "cannot record message dirs", error) ||
      !check_changed (store, key, error))
    return FALSE;
  mh_store_count_change (store);
  return TRUE;
}

gboolean
mh_store_set_thread_dir (MhStore *store, const MhStoreMessage *msg,
                         const char *thread_dir, GError **error)
{
  sqlite3_stmt *stmt = mh_store_stmt (store, ST_SET_THREAD_DIR, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, msg->rowid);
  if (!mh_store_bind_text (store, stmt, 2, thread_dir, error)
      || !mh_store_step_done (store, stmt, "cannot record message dirs",
                              error)
      || !check_changed (store, msg->key, error))
    return FALSE;
  mh_store_count_change (store);
  return TRUE;
}

/* Steps @stmt once: *@found_out says whether it gave a row. */
static gboolean
step_exists (MhStore *store, sqlite3_stmt *stmt, const char *what,
             gboolean *found_out, GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      mh_store_db_error (store, error, what);
      mh_store_stmt_done (stmt);
      return FALSE;
    }
  mh_store_stmt_done (stmt);
  *found_out = rc == SQLITE_ROW;
  return TRUE;
}

/* Statement @id with a message dir's place bound: ?1 its thread dir, ?2
 * its name.  NULL on failure. */
static sqlite3_stmt *
dir_stmt (MhStore *store, StatementId id, const char *thread_dir,
          const char *dir, GError **error)
{
  sqlite3_stmt *stmt = mh_store_stmt (store, id, error);

  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, thread_dir, error)
      || !mh_store_bind_text (store, stmt, 2, dir, error))
    return NULL;
  return stmt;
}

gboolean
mh_store_forget_message (MhStore *store, const char *thread_dir,
                         const char *dir, gboolean *found_out,
                         GError **error)
{
  sqlite3_stmt *stmt = dir_stmt (store, ST_FORGET_MESSAGE, thread_dir, dir,
                                 error);

  *found_out = FALSE;
  if (stmt == NULL
      || !mh_store_step_done (store, stmt, "cannot forget message", error))
    return FALSE;
  *found_out = sqlite3_changes (store->db) > 0;
  if (*found_out)
    mh_store_count_change (store);
  return TRUE;
}

gboolean
mh_store_thread_has_dir (MhStore *store, const char *thread_dir,
                         const char *dir, gboolean *found_out,
                         GError **error)
{
  sqlite3_stmt *stmt = dir_stmt (store, ST_THREAD_HAS_DIR, thread_dir, dir,
                                 error);

  *found_out = FALSE;
  if (stmt == NULL)
    return FALSE;
  return step_exists (store, stmt, "cannot look up a message dir", found_out,
                      error);
}

/* Locations. */

gboolean
mh_store_add_location (MhStore *store, const char *key, const char *mailbox,
                       guint32 uidvalidity, guint32 uid, GError **error)
{
  sqlite3_stmt *stmt;

  if (!mh_store_check_key (store, key, error) ||
      !mh_store_ensure_mailbox (store, mailbox, uidvalidity, error))
    return FALSE;
  stmt = mh_store_stmt (store, ST_ADD_LOCATION, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, mailbox, error) ||
      !mh_store_bind_text (store, stmt, 4, key, error))
    return FALSE;
  sqlite3_bind_int64 (stmt, 2, uidvalidity);
  sqlite3_bind_int64 (stmt, 3, uid);
  if (!mh_store_step_done (store, stmt, "cannot record location", error))
    return FALSE;
  stmt = mh_store_stmt (store, ST_RAISE_HIGHEST, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, mailbox, error))
    return FALSE;
  sqlite3_bind_int64 (stmt, 2, uidvalidity);
  sqlite3_bind_int64 (stmt, 3, uid);
  if (!mh_store_step_done (store, stmt, "cannot record highest UID", error))
    return FALSE;
  mh_store_count_change (store);
  return TRUE;
}

static gpointer
read_location (sqlite3_stmt *stmt)
{
  MhStoreLocation *loc = g_new0 (MhStoreLocation, 1);

  loc->mailbox = mh_store_column_text (stmt, 0);
  loc->uidvalidity = (guint32) sqlite3_column_int64 (stmt, 1);
  loc->uid = (guint32) sqlite3_column_int64 (stmt, 2);
  return loc;
}

gboolean
mh_store_list_locations (MhStore *store, const char *key,
                         GPtrArray **locs_out, GError **error)
{
  sqlite3_stmt *stmt;

  *locs_out = NULL;
  if (!mh_store_check_key (store, key, error))
    return FALSE;
  stmt = mh_store_stmt (store, ST_LIST_LOCATIONS, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, key, error))
    return FALSE;
  return collect_rows (store, stmt, read_location,
                       (GDestroyNotify) mh_store_location_free, locs_out,
                       error);
}

typedef struct {
  MhStoreKeyFunc func;
  gpointer data;
} KeyRows;

static gboolean
key_row (sqlite3_stmt *stmt, gpointer data)
{
  KeyRows *kr = data;

  return kr->func ((const char *) sqlite3_column_text (stmt, 0),
                   (guint64) MAX (sqlite3_column_int64 (stmt, 1), 0),
                   (const char *) sqlite3_column_text (stmt, 2), kr->data);
}

gboolean
mh_store_foreach_mailbox_key (MhStore *store, const char *mailbox,
                              MhStoreKeyFunc func, gpointer user_data,
                              GError **error)
{
  KeyRows kr = { func, user_data };
  sqlite3_stmt *stmt = mh_store_stmt (store, ST_MAILBOX_KEYS, error);

  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, mailbox, error))
    return FALSE;
  return step_rows (store, stmt, key_row, &kr, error);
}

/* Attachments. */

gboolean
mh_store_set_attachments (MhStore *store, const char *key, GPtrArray *atts,
                          GError **error)
{
  sqlite3_stmt *stmt;
  gboolean own_transaction = !store->in_transaction;
  gboolean known = FALSE;

  /* Only whether the message is there, not its row (a dozen strings
   * copied and freed for nothing, on every message recorded). */
  if (!mh_store_check_key (store, key, error))
    return FALSE;
  stmt = mh_store_stmt (store, ST_HAS_KEY, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, key, error))
    return FALSE;
  if (!step_exists (store, stmt, "cannot look up message", &known, error))
    return FALSE;
  if (!known)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO,
                   "%s: no message with key %s", store->path, key);
      return FALSE;
    }
  /* The old rows go and the new ones come in one step, so that a reader
   * never sees a message with half its attachments. */
  if (own_transaction && !mh_store_begin (store, error))
    return FALSE;
  stmt = mh_store_stmt (store, ST_DELETE_ATTACHMENTS, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, key, error) ||
      !mh_store_step_done (store, stmt, "cannot replace attachments", error))
    goto fail;
  for (guint i = 0; atts != NULL && i < atts->len; i++)
    {
      const MhStoreAttachment *att = atts->pdata[i];

      if (att->part == NULL || att->path == NULL)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_PARSE,
                       "%s: attachment %u of %s has no part or path",
                       store->path, i, key);
          goto fail;
        }
      stmt = mh_store_stmt (store, ST_INSERT_ATTACHMENT, error);
      if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, key, error) ||
          !mh_store_bind_text (store, stmt, 3, att->part, error) ||
          !mh_store_bind_text (store, stmt, 4, att->filename, error) ||
          !mh_store_bind_text (store, stmt, 5, att->path, error) ||
          !mh_store_bind_text (store, stmt, 6, att->content_type, error) ||
          !mh_store_bind_text (store, stmt, 8, att->sha256, error))
        goto fail;
      sqlite3_bind_int64 (stmt, 2, i);
      sqlite3_bind_int64 (stmt, 7, (sqlite3_int64) att->size);
      if (!mh_store_step_done (store, stmt, "cannot record attachment", error))
        goto fail;
    }
  mh_store_count_change (store);
  if (own_transaction && !mh_store_commit (store, error))
    return FALSE;
  return TRUE;

fail:
  if (own_transaction)
    mh_store_rollback (store, NULL);
  return FALSE;
}

static gpointer
read_attachment (sqlite3_stmt *stmt)
{
  MhStoreAttachment *att = mh_store_attachment_new ();

  att->part = mh_store_column_text (stmt, 0);
  att->filename = mh_store_column_text (stmt, 1);
  att->path = mh_store_column_text (stmt, 2);
  att->content_type = mh_store_column_text (stmt, 3);
  att->size = (guint64) sqlite3_column_int64 (stmt, 4);
  att->sha256 = mh_store_column_text (stmt, 5);
  return att;
}

gboolean
mh_store_list_attachments (MhStore *store, const char *key,
                           GPtrArray **atts_out, GError **error)
{
  sqlite3_stmt *stmt;

  *atts_out = NULL;
  if (!mh_store_check_key (store, key, error))
    return FALSE;
  stmt = mh_store_stmt (store, ST_LIST_ATTACHMENTS, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, key, error))
    return FALSE;
  return collect_rows (store, stmt, read_attachment,
                       (GDestroyNotify) mh_store_attachment_free, atts_out,
                       error);
}

/* Threads. */

gboolean
mh_store_set_thread (MhStore *store, const char *root_id, const char *dir,
                     GError **error)
{
  sqlite3_stmt *stmt = mh_store_stmt (store, ST_SET_THREAD, error);

  g_return_val_if_fail (root_id != NULL && dir != NULL, FALSE);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, root_id, error) ||
      !mh_store_bind_text (store, stmt, 2, dir, error) ||
      !mh_store_step_done (store, stmt, "cannot record thread", error))
    return FALSE;
  mh_store_count_change (store);
  return TRUE;
}

gboolean
mh_store_remove_thread (MhStore *store, const char *root_id, GError **error)
{
  sqlite3_stmt *stmt = mh_store_stmt (store, ST_REMOVE_THREAD, error);

  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, root_id, error) ||
      !mh_store_step_done (store, stmt, "cannot forget thread", error))
    return FALSE;
  mh_store_count_change (store);
  return TRUE;
}

gboolean
mh_store_lookup_thread (MhStore *store, const char *root_id, char **dir_out,
                        GError **error)
{
  sqlite3_stmt *stmt = mh_store_stmt (store, ST_LOOKUP_THREAD, error);
  int rc;

  *dir_out = NULL;
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, root_id, error))
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *dir_out = mh_store_column_text (stmt, 0);
  else if (rc != SQLITE_DONE)
    {
      mh_store_db_error (store, error, "cannot read thread");
      mh_store_stmt_done (stmt);
      return FALSE;
    }
  mh_store_stmt_done (stmt);
  return TRUE;
}

gboolean
mh_store_list_threads (MhStore *store, GHashTable **threads_out,
                       GError **error)
{
  g_autoptr(GHashTable) threads = g_hash_table_new_full (g_str_hash,
                                                         g_str_equal,
                                                         g_free, g_free);
  sqlite3_stmt *stmt = mh_store_stmt (store, ST_ALL_THREADS, error);
  int rc;

  *threads_out = NULL;
  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_hash_table_insert (threads, mh_store_column_text (stmt, 0),
                         mh_store_column_text (stmt, 1));
  if (rc != SQLITE_DONE)
    {
      mh_store_db_error (store, error, "cannot read threads");
      mh_store_stmt_done (stmt);
      return FALSE;
    }
  mh_store_stmt_done (stmt);
  *threads_out = g_steal_pointer (&threads);
  return TRUE;
}

static gboolean
each_thread (sqlite3_stmt *stmt, gpointer data)
{
  Each *e = data;

  return e->thread ((const char *) sqlite3_column_text (stmt, 0),
                    (const char *) sqlite3_column_text (stmt, 1),
                    e->user_data);
}

gboolean
mh_store_foreach_thread (MhStore *store, MhStoreThreadFunc func,
                         gpointer user_data, GError **error)
{
  Each e = { NULL, func, user_data };

  return step_rows (store, mh_store_stmt (store, ST_ALL_THREADS, error),
                    each_thread, &e, error);
}

gboolean
mh_store_count_threads (MhStore *store, guint64 *count_out, GError **error)
{
  return count_rows (store, ST_COUNT_THREADS, count_out, error);
}
