/* store.c - the per-account state store in SQLite. */
#include "store-private.h"
#include "mailharvest/error.h"

#include <sqlite3.h>
#include <string.h>


#define MESSAGE_COLUMNS \
  "key, message_id, gm_msgid, gm_thrid, date, subject, from_addr, " \
  "participants, references_raw, in_reply_to_raw, thread_index, " \
  "thread_topic, size, dir, thread_dir"
/* What a read returns: the columns, then the row's id. */
#define SELECT_COLUMNS MESSAGE_COLUMNS ", rowid"

static const char *const statement_sql[N_STATEMENTS] = {
  [ST_BEGIN] = "BEGIN IMMEDIATE",
  [ST_COMMIT] = "COMMIT",
  [ST_ROLLBACK] = "ROLLBACK",
  [ST_GET_MAILBOX] =
    "SELECT name, uidvalidity, highest_uid, uidnext, last_sync"
    " FROM mailbox WHERE name = ?1",
  [ST_INSERT_MAILBOX] =
    "INSERT INTO mailbox (name, uidvalidity) VALUES (?1, ?2)"
    " ON CONFLICT (name) DO NOTHING",
  [ST_SET_UIDVALIDITY] =
    "UPDATE mailbox SET uidvalidity = ?2, highest_uid = 0, uidnext = 0"
    " WHERE name = ?1",
  [ST_FORGET_LOCATIONS] = "DELETE FROM location WHERE mailbox = ?1",
  [ST_MAILBOX_SYNCED] =
    "UPDATE mailbox SET uidnext = ?2, last_sync = ?3 WHERE name = ?1",
  [ST_RAISE_HIGHEST] =
    "UPDATE mailbox SET highest_uid = ?3 WHERE name = ?1"
    " AND uidvalidity = ?2 AND highest_uid < ?3",
  [ST_NTH_NEWEST_UID] =
    "SELECT uid FROM location WHERE mailbox = ?1 AND uidvalidity = ?2"
    " ORDER BY uid DESC LIMIT 1 OFFSET ?3",
  [ST_DONE_UIDS] =
    "SELECT uid FROM location WHERE mailbox = ?1 AND uidvalidity = ?2"
    " AND uid BETWEEN ?3 AND ?4 ORDER BY uid",
  [ST_PUT_MESSAGE] =
    "INSERT INTO message (" MESSAGE_COLUMNS ") VALUES"
    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
    " ON CONFLICT (key) DO UPDATE SET message_id = ?2, gm_msgid = ?3,"
    " gm_thrid = ?4, date = ?5, subject = ?6, from_addr = ?7,"
    " participants = ?8, references_raw = ?9, in_reply_to_raw = ?10,"
    " thread_index = ?11, thread_topic = ?12, size = ?13, dir = ?14,"
    " thread_dir = ?15",
  [ST_BY_KEY] = "SELECT " SELECT_COLUMNS " FROM message WHERE key = ?1",
  [ST_HAS_KEY] = "SELECT 1 FROM message WHERE key = ?1",
  [ST_BY_ROWID] = "SELECT " SELECT_COLUMNS " FROM message WHERE rowid = ?1",
  [ST_BY_DIR] =
    "SELECT " SELECT_COLUMNS " FROM message WHERE dir = ?1"
    " ORDER BY key LIMIT 1",
  [ST_BY_GM_MSGID] =
    "SELECT " SELECT_COLUMNS " FROM message WHERE gm_msgid = ?1"
    " ORDER BY key LIMIT 1",
  [ST_BY_MESSAGE_ID] =
    "SELECT " SELECT_COLUMNS " FROM message WHERE message_id = ?1"
    " ORDER BY key",
  [ST_ALL_MESSAGES] = "SELECT " SELECT_COLUMNS " FROM message ORDER BY key",
  [ST_COUNT_MESSAGES] = "SELECT count(*) FROM message",
  [ST_SET_DIRS] =
    "UPDATE message SET thread_dir = ?2, dir = coalesce (?3, dir)"
    " WHERE key = ?1",
  [ST_SET_THREAD_DIR] =
    "UPDATE message SET thread_dir = ?2 WHERE rowid = ?1",
  [ST_THREAD_HAS_DIR] =
    "SELECT 1 FROM message WHERE thread_dir = ?1 AND dir = ?2 LIMIT 1",
  [ST_FORGET_MESSAGE] =
    "DELETE FROM message WHERE thread_dir = ?1 AND dir = ?2",
  [ST_ADD_LOCATION] =
    "INSERT INTO location (mailbox, uidvalidity, uid, message_key)"
    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (mailbox, uidvalidity, uid)"
    " DO UPDATE SET message_key = ?4",
  [ST_LOCATION_KEY] =
    "SELECT message_key FROM location WHERE mailbox = ?1"
    " AND uidvalidity = ?2 AND uid = ?3",
  [ST_KEYS_ABOVE] =
    "SELECT DISTINCT message_key FROM location WHERE mailbox = ?1"
    " AND uidvalidity = ?2 AND uid > ?3 ORDER BY message_key",
  [ST_DROP_ABOVE] =
    "DELETE FROM location WHERE mailbox = ?1 AND uidvalidity = ?2"
    " AND uid > ?3",
  [ST_LIST_LOCATIONS] =
    "SELECT mailbox, uidvalidity, uid FROM location WHERE message_key = ?1"
    " ORDER BY mailbox, uidvalidity, uid",
  [ST_MAILBOX_KEYS] =
    "SELECT DISTINCT l.message_key, m.size, m.message_id FROM location AS l"
    " JOIN message AS m ON m.key = l.message_key WHERE l.mailbox = ?1"
    " ORDER BY l.message_key",
  [ST_DELETE_ATTACHMENTS] = "DELETE FROM attachment WHERE message_key = ?1",
  [ST_INSERT_ATTACHMENT] =
    "INSERT INTO attachment (message_key, idx, part, filename, path,"
    " content_type, size, sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
  [ST_LIST_ATTACHMENTS] =
    "SELECT part, filename, path, content_type, size, sha256"
    " FROM attachment WHERE message_key = ?1 ORDER BY idx",
  [ST_SET_THREAD] =
    "INSERT INTO thread (root_id, dir) VALUES (?1, ?2)"
    " ON CONFLICT (root_id) DO UPDATE SET dir = ?2",
  [ST_REMOVE_THREAD] = "DELETE FROM thread WHERE root_id = ?1",
  [ST_LOOKUP_THREAD] = "SELECT dir FROM thread WHERE root_id = ?1",
  [ST_ALL_THREADS] = "SELECT root_id, dir FROM thread ORDER BY root_id",
  [ST_COUNT_THREADS] = "SELECT count(*) FROM thread",
  [ST_LAYOUT_LOOKUP] = "SELECT seq, root_id, dir, last_date, messages, "
                       "json_off, json_len, html_off, html_len "
                       "FROM layout_conv WHERE sig = ?1 ORDER BY seq",
  [ST_LAYOUT_CLEAR] = "DELETE FROM layout_conv",
  [ST_LAYOUT_PUT] = "INSERT INTO layout_conv (sig, seq, root_id, dir, "
                    "last_date, messages, json_off, json_len, html_off, "
                    "html_len) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                    "?10)",
  [ST_LAYOUT_GET_FILES] = "SELECT version, files FROM layout_files "
                          "WHERE id = 1",
  [ST_LAYOUT_SET_FILES] = "INSERT OR REPLACE INTO layout_files (id, "
                          "version, files) VALUES (1, ?1, ?2)",
};

gboolean
mh_store_db_error (MhStore *store, GError **error, const char *what)
{
  g_set_error (error, MH_ERROR, MH_ERROR_IO, "%s: %s: %s", store->path,
               what, sqlite3_errmsg (store->db));
  return FALSE;
}

/* Returns the cached statement @id, reset and with no bindings. */
sqlite3_stmt *
mh_store_stmt (MhStore *store, StatementId id, GError **error)
{
  if (store->stmts[id] == NULL)
    {
      if (sqlite3_prepare_v3 (store->db, statement_sql[id], -1,
                              SQLITE_PREPARE_PERSISTENT, &store->stmts[id],
                              NULL) != SQLITE_OK)
        {
          mh_store_db_error (store, error, "cannot prepare statement");
          return NULL;
        }
    }
  else
    {
      sqlite3_reset (store->stmts[id]);
      sqlite3_clear_bindings (store->stmts[id]);
    }
  return store->stmts[id];
}

/* Resets after use so that a statement holds no read lock between
 * calls; a pending SELECT would keep a WAL snapshot open. */
void
mh_store_stmt_done (sqlite3_stmt *stmt)
{
  sqlite3_reset (stmt);
}

gboolean
mh_store_bind_text (MhStore *store, sqlite3_stmt *stmt, int idx,
                    const char *text, GError **error)
{
  size_t len;

  if (text == NULL)
    return sqlite3_bind_null (stmt, idx) == SQLITE_OK;
  len = strlen (text);
  if (len > MH_STORE_MAX_TEXT)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_LIMIT,
                   "%s: a value of %zu bytes exceeds the limit of %d",
                   store->path, len, MH_STORE_MAX_TEXT);
      return FALSE;
    }
  if (sqlite3_bind_text (stmt, idx, text, (int) len, SQLITE_STATIC)
      != SQLITE_OK)
    return mh_store_db_error (store, error, "cannot bind value");
  return TRUE;
}

/* Runs a statement that returns no rows. */
gboolean
mh_store_step_done (MhStore *store, sqlite3_stmt *stmt, const char *what,
                    GError **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE)
    {
      mh_store_db_error (store, error, what);
      mh_store_stmt_done (stmt);
      return FALSE;
    }
  mh_store_stmt_done (stmt);
  return TRUE;
}

char *
mh_store_column_text (sqlite3_stmt *stmt, int col)
{
  const unsigned char *text = sqlite3_column_text (stmt, col);

  return text != NULL ? g_strdup ((const char *) text) : NULL;
}

gboolean
mh_store_check_key (MhStore *store, const char *key, GError **error)
{
  gsize i;

  for (i = 0; i < 64; i++)
    if (!g_ascii_isxdigit (key[i]) || g_ascii_isupper (key[i]))
      break;
  if (i != 64 || key[64] != '\0')
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PARSE,
                   "%s: message key is not a lowercase SHA-256 hex digest",
                   store->path);
      return FALSE;
    }
  return TRUE;
}

void
mh_store_count_change (MhStore *store)
{
  if (store->in_transaction)
    store->batch_changes++;
}

MhStore *
mh_store_open (const char *path, GError **error)
{
  g_autoptr(MhStore) store = NULL;
  g_autofree char *journal = NULL;
  sqlite3_stmt *stmt = NULL;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);

  store = g_new0 (MhStore, 1);
  store->path = g_strdup (path);
  rc = sqlite3_open_v2 (path, &store->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      if (store->db == NULL)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_IO,
                       "%s: cannot open the state database: %s", path,
                       sqlite3_errstr (rc));
          return NULL;
        }
      mh_store_db_error (store, error, "cannot open the state database");
      return NULL;
    }
  sqlite3_extended_result_codes (store->db, 1);
  /* The limit also bounds a whole row: a message row has fifteen text
   * columns, each of at most MH_STORE_MAX_TEXT bytes. */
  sqlite3_limit (store->db, SQLITE_LIMIT_LENGTH, 16 * MH_STORE_MAX_TEXT);
  sqlite3_busy_timeout (store->db, MH_STORE_BUSY_TIMEOUT_MS);

  /* Everything is checked before anything is changed, so that a file
   * from a newer release, or a foreign one, is left as it was.  Reading
   * the schema page finds most damage even when the header looks right;
   * damage deeper in the file is reported by the call that meets it. */
  if (!mh_store_schema_check (store, error))
    return NULL;

  if (sqlite3_prepare_v2 (store->db, "PRAGMA journal_mode = WAL", -1, &stmt,
                          NULL) != SQLITE_OK)
    {
      mh_store_db_error (store, error, "cannot enable WAL");
      return NULL;
    }
  if (sqlite3_step (stmt) == SQLITE_ROW)
    journal = mh_store_column_text (stmt, 0);
  sqlite3_finalize (stmt);
  if (journal == NULL || g_ascii_strcasecmp (journal, "wal") != 0)
    {
      mh_store_db_error (store, error, "cannot enable WAL");
      return NULL;
    }
  /* The cache: 8 MiB, not SQLite's 2.  The conversation step reads
   * every new message's row and rewrites it in one transaction; with 2
   * MiB a 10,000-message store (10 MB) spilled dirty pages to the WAL
   * mid-transaction and read them back, and the step took a third
   * longer.  A bound, so peak memory stays the same for any store. */
  if (!mh_store_exec (store, "PRAGMA synchronous = NORMAL;"
                      "PRAGMA foreign_keys = ON;"
                      "PRAGMA cache_size = -8192;", "cannot configure",
                      error))
    return NULL;
  if (!mh_store_schema_update (store, error))
    return NULL;
  return g_steal_pointer (&store);
}

void
mh_store_free (MhStore *store)
{
  if (store == NULL)
    return;
  for (guint i = 0; i < N_STATEMENTS; i++)
    g_clear_pointer (&store->stmts[i], sqlite3_finalize);
  if (store->in_transaction && store->db != NULL)
    sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
  g_clear_pointer (&store->db, sqlite3_close);
  g_free (store->path);
  g_free (store);
}

const char *
mh_store_get_path (MhStore *store)
{
  return store->path;
}

static gboolean
run_simple (MhStore *store, StatementId id, const char *what,
            GError **error)
{
  sqlite3_stmt *stmt = mh_store_stmt (store, id, error);

  return stmt != NULL && mh_store_step_done (store, stmt, what, error);
}

gboolean
mh_store_begin (MhStore *store, GError **error)
{
  if (store->in_transaction)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO,
                   "%s: a transaction is already open", store->path);
      return FALSE;
    }
  if (!run_simple (store, ST_BEGIN, "cannot begin a transaction", error))
    return FALSE;
  store->in_transaction = TRUE;
  store->batch_changes = 0;
  store->batch_started = g_get_monotonic_time ();
  return TRUE;
}

gboolean
mh_store_commit (MhStore *store, GError **error)
{
  if (!store->in_transaction)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO,
                   "%s: no transaction to commit", store->path);
      return FALSE;
    }
  if (!run_simple (store, ST_COMMIT, "cannot commit", error))
    {
      /* A failed COMMIT may leave the transaction open (SQLITE_BUSY);
       * roll it back so that the store is usable and nothing half is
       * kept.  The caller's files stay and are found again next run. */
      if (!sqlite3_get_autocommit (store->db))
        sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
      store->in_transaction = FALSE;
      return FALSE;
    }
  store->in_transaction = FALSE;
  return TRUE;
}

gboolean
mh_store_rollback (MhStore *store, GError **error)
{
  if (!store->in_transaction)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO,
                   "%s: no transaction to roll back", store->path);
      return FALSE;
    }
  store->in_transaction = FALSE;
  /* SQLite may already have rolled back after an I/O error. */
  if (sqlite3_get_autocommit (store->db))
    return TRUE;
  return run_simple (store, ST_ROLLBACK, "cannot roll back", error);
}

gboolean
mh_store_in_transaction (MhStore *store)
{
  return store->in_transaction;
}

gboolean
mh_store_batch_maybe_commit (MhStore *store, guint max_changes,
                             guint max_seconds, gboolean *committed_out,
                             GError **error)
{
  gint64 elapsed;

  if (committed_out != NULL)
    *committed_out = FALSE;
  if (!store->in_transaction)
    return mh_store_begin (store, error);
  elapsed = g_get_monotonic_time () - store->batch_started;
  if (store->batch_changes < max_changes &&
      elapsed < (gint64) max_seconds * G_USEC_PER_SEC)
    return TRUE;
  if (!mh_store_commit (store, error))
    return FALSE;
  if (committed_out != NULL)
    *committed_out = TRUE;
  return mh_store_begin (store, error);
}

/* Mailboxes. */

void
mh_store_mailbox_free (MhStoreMailbox *mailbox)
{
  if (mailbox == NULL)
    return;
  g_free (mailbox->name);
  g_free (mailbox);
}

gboolean
mh_store_get_mailbox (MhStore *store, const char *name,
                      MhStoreMailbox **mailbox_out, GError **error)
{
  sqlite3_stmt *stmt = mh_store_stmt (store, ST_GET_MAILBOX, error);
  MhStoreMailbox *mb;
  int rc;

  *mailbox_out = NULL;
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, name, error))
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      mh_store_stmt_done (stmt);
      return TRUE;
    }
  if (rc != SQLITE_ROW)
    {
      mh_store_db_error (store, error, "cannot read mailbox");
      mh_store_stmt_done (stmt);
      return FALSE;
    }
  mb = g_new0 (MhStoreMailbox, 1);
  mb->name = mh_store_column_text (stmt, 0);
  mb->uidvalidity = (guint32) sqlite3_column_int64 (stmt, 1);
  mb->highest_uid = (guint32) sqlite3_column_int64 (stmt, 2);
  mb->uidnext = (guint32) sqlite3_column_int64 (stmt, 3);
  mb->last_sync = sqlite3_column_int64 (stmt, 4);
  mh_store_stmt_done (stmt);
  *mailbox_out = mb;
  return TRUE;
}

gboolean
mh_store_ensure_mailbox (MhStore *store, const char *name,
                         guint32 uidvalidity, GError **error)
{
  sqlite3_stmt *stmt = mh_store_stmt (store, ST_INSERT_MAILBOX, error);

  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, name, error))
    return FALSE;
  sqlite3_bind_int64 (stmt, 2, uidvalidity);
  return mh_store_step_done (store, stmt, "cannot record mailbox", error);
}

gboolean
mh_store_check_uidvalidity (MhStore *store, const char *name,
                            guint32 uidvalidity, gboolean *changed_out,
                            GError **error)
{
  g_autoptr(MhStoreMailbox) mb = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (uidvalidity != 0, FALSE);
  *changed_out = FALSE;
  if (!mh_store_get_mailbox (store, name, &mb, error))
    return FALSE;
  if (mb == NULL)
    return mh_store_ensure_mailbox (store, name, uidvalidity, error);
  if (mb->uidvalidity == uidvalidity)
    return TRUE;

  /* The old UIDs now name other messages or none; only the mapping is
   * dropped, the messages stay to be matched again by content. */
  stmt = mh_store_stmt (store, ST_FORGET_LOCATIONS, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, name, error) ||
      !mh_store_step_done (store, stmt, "cannot forget locations", error))
    return FALSE;
  stmt = mh_store_stmt (store, ST_SET_UIDVALIDITY, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, name, error))
    return FALSE;
  sqlite3_bind_int64 (stmt, 2, uidvalidity);
  if (!mh_store_step_done (store, stmt, "cannot record UIDVALIDITY", error))
    return FALSE;
  mh_store_count_change (store);
  *changed_out = mb->uidvalidity != 0;
  return TRUE;
}

gboolean
mh_store_mailbox_synced (MhStore *store, const char *name, guint32 uidnext,
                         gint64 last_sync, GError **error)
{
  sqlite3_stmt *stmt;

  if (!mh_store_ensure_mailbox (store, name, 0, error))
    return FALSE;
  stmt = mh_store_stmt (store, ST_MAILBOX_SYNCED, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, name, error))
    return FALSE;
  sqlite3_bind_int64 (stmt, 2, uidnext);
  sqlite3_bind_int64 (stmt, 3, last_sync);
  return mh_store_step_done (store, stmt, "cannot record sync", error);
}

static int
compare_uid (gconstpointer a, gconstpointer b)
{
  guint32 x = *(const guint32 *) a;
  guint32 y = *(const guint32 *) b;

  return x < y ? -1 : x > y;
}

gboolean
mh_store_nth_newest_uid (MhStore *store, const char *mailbox,
                         guint32 uidvalidity, guint n, guint32 *uid_out,
                         GError **error)
{
  sqlite3_stmt *stmt;
  int rc;

  *uid_out = 0;
  if (n == 0)
    return TRUE;
  stmt = mh_store_stmt (store, ST_NTH_NEWEST_UID, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, mailbox, error))
    return FALSE;
  sqlite3_bind_int64 (stmt, 2, uidvalidity);
  sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) n - 1);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *uid_out = (guint32) sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    {
      mh_store_db_error (store, error, "cannot read done UIDs");
      mh_store_stmt_done (stmt);
      return FALSE;
    }
  mh_store_stmt_done (stmt);
  return TRUE;
}

gboolean
mh_store_location_key (MhStore *store, const char *mailbox,
                       guint32 uidvalidity, guint32 uid, char **key_out,
                       GError **error)
{
  sqlite3_stmt *stmt;
  int rc;

  *key_out = NULL;
  stmt = mh_store_stmt (store, ST_LOCATION_KEY, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, mailbox, error))
    return FALSE;
  sqlite3_bind_int64 (stmt, 2, uidvalidity);
  sqlite3_bind_int64 (stmt, 3, uid);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *key_out = mh_store_column_text (stmt, 0);
  else if (rc != SQLITE_DONE)
    {
      mh_store_db_error (store, error, "cannot look up location");
      mh_store_stmt_done (stmt);
      return FALSE;
    }
  mh_store_stmt_done (stmt);
  return TRUE;
}

gboolean
mh_store_drop_locations_above (MhStore *store, const char *mailbox,
                               guint32 uidvalidity, guint32 uid,
                               GPtrArray **keys_out, GError **error)
{
  g_autoptr(GPtrArray) keys = NULL;
  sqlite3_stmt *stmt;
  int rc;

  *keys_out = NULL;
  stmt = mh_store_stmt (store, ST_KEYS_ABOVE, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, mailbox, error))
    return FALSE;
  sqlite3_bind_int64 (stmt, 2, uidvalidity);
  sqlite3_bind_int64 (stmt, 3, uid);
  keys = g_ptr_array_new_with_free_func (g_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (keys, mh_store_column_text (stmt, 0));
  if (rc != SQLITE_DONE)
    mh_store_db_error (store, error, "cannot look up locations");
  mh_store_stmt_done (stmt);
  if (rc != SQLITE_DONE)
    return FALSE;
  if (keys->len == 0)
    {
      *keys_out = g_steal_pointer (&keys);
      return TRUE;
    }
  stmt = mh_store_stmt (store, ST_DROP_ABOVE, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, mailbox, error))
    return FALSE;
  sqlite3_bind_int64 (stmt, 2, uidvalidity);
  sqlite3_bind_int64 (stmt, 3, uid);
  if (!mh_store_step_done (store, stmt, "cannot forget locations", error))
    return FALSE;
  mh_store_count_change (store);
  *keys_out = g_steal_pointer (&keys);
  return TRUE;
}

gboolean
mh_store_pending_uids (MhStore *store, const char *mailbox,
                       guint32 uidvalidity, const guint32 *uids,
                       gsize n_uids, GArray **pending_out, GError **error)
{
  g_autoptr(GArray) wanted = g_array_sized_new (FALSE, FALSE,
                                                sizeof (guint32), n_uids);
  g_autoptr(GArray) pending = g_array_new (FALSE, FALSE, sizeof (guint32));
  sqlite3_stmt *stmt;
  gsize i = 0;
  int rc;

  *pending_out = NULL;
  for (gsize j = 0; j < n_uids; j++)
    if (uids[j] != 0)
      g_array_append_val (wanted, uids[j]);
  g_array_sort (wanted, compare_uid);
  if (wanted->len == 0)
    {
      *pending_out = g_steal_pointer (&pending);
      return TRUE;
    }

  /* Walk the sorted request and the sorted done UIDs side by side; the
   * query is limited to the range asked about. */
  stmt = mh_store_stmt (store, ST_DONE_UIDS, error);
  if (stmt == NULL || !mh_store_bind_text (store, stmt, 1, mailbox, error))
    return FALSE;
  sqlite3_bind_int64 (stmt, 2, uidvalidity);
  sqlite3_bind_int64 (stmt, 3, g_array_index (wanted, guint32, 0));
  sqlite3_bind_int64 (stmt, 4, g_array_index (wanted, guint32,
                                              wanted->len - 1));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      guint32 done = (guint32) sqlite3_column_int64 (stmt, 0);

      for (; i < wanted->len; i++)
        {
          guint32 uid = g_array_index (wanted, guint32, i);

          if (uid >= done)
            break;
          if (pending->len == 0 ||
              g_array_index (pending, guint32, pending->len - 1) != uid)
            g_array_append_val (pending, uid);
        }
      while (i < wanted->len && g_array_index (wanted, guint32, i) == done)
        i++;
    }
  if (rc != SQLITE_DONE)
    {
      mh_store_db_error (store, error, "cannot read done UIDs");
      mh_store_stmt_done (stmt);
      return FALSE;
    }
  mh_store_stmt_done (stmt);
  for (; i < wanted->len; i++)
    {
      guint32 uid = g_array_index (wanted, guint32, i);

      if (pending->len == 0 ||
          g_array_index (pending, guint32, pending->len - 1) != uid)
        g_array_append_val (pending, uid);
    }
  *pending_out = g_steal_pointer (&pending);
  return TRUE;
}

