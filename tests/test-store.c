/* test-store.c - the SQLite state store. */
#include "mailharvest/error.h"
#include "mailharvest/store.h"

#include "testlib.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  char *dir;
  char *path;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fx->dir = g_dir_make_tmp ("mh-store-XXXXXX", &error);
  g_assert_no_error (error);
  fx->path = g_build_filename (fx->dir, "state.sqlite", NULL);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_autoptr(GDir) dir = g_dir_open (fx->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *p = g_build_filename (fx->dir, name, NULL);

      g_assert_cmpint (g_unlink (p), ==, 0);
    }
  g_assert_cmpint (g_rmdir (fx->dir), ==, 0);
  g_free (fx->dir);
  g_free (fx->path);
}

static char *
make_key (guint n)
{
  g_autofree char *s = g_strdup_printf ("message %u", n);

  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, s, -1);
}

static MhStoreMessage *
make_message (guint n, const char *message_id)
{
  MhStoreMessage *msg = mh_store_message_new ();

  msg->key = make_key (n);
  msg->message_id = g_strdup (message_id);
  msg->date = 1700000000 + n;
  msg->subject = g_strdup_printf ("Subject %u", n);
  msg->from_addr = g_strdup ("alice@example.com");
  msg->participants = g_strdup ("alice@example.com\nbob@example.com");
  msg->references_raw = g_strdup ("<a@x> <b@x>");
  msg->in_reply_to_raw = g_strdup ("<b@x>");
  msg->size = 1000 + n;
  msg->dir = g_strdup_printf ("20231114T221320Z_%08u", n);
  return msg;
}

static MhStore *
open_store (Fixture *fx)
{
  g_autoptr(GError) error = NULL;
  MhStore *store = mh_store_open (fx->path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

static void
put (MhStore *store, guint n, const char *message_id)
{
  g_autoptr(MhStoreMessage) msg = make_message (n, message_id);
  g_autoptr(GError) error = NULL;

  g_assert_true (mh_store_put_message (store, msg, &error));
  g_assert_no_error (error);
}

static gboolean
has_key (MhStore *store, guint n)
{
  g_autofree char *key = make_key (n);
  g_autoptr(MhStoreMessage) msg = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (mh_store_lookup_key (store, key, &msg, &error));
  g_assert_no_error (error);
  return msg != NULL;
}

static void
add_loc (MhStore *store, guint n, const char *mailbox, guint32 uidvalidity,
         guint32 uid)
{
  g_autofree char *key = make_key (n);
  g_autoptr(GError) error = NULL;

  g_assert_true (mh_store_add_location (store, key, mailbox, uidvalidity,
                                        uid, &error));
  g_assert_no_error (error);
}

/* Reads one integer with a plain SQLite connection, bypassing the store. */
static gint64
raw_int (const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 v;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  v = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return v;
}

static void
raw_exec (const char *path, const char *sql)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

static void
test_create (Fixture *fx, gconstpointer data)
{
  g_autoptr(MhStore) store = open_store (fx);
  g_autoptr(GError) error = NULL;
  guint64 count = 99;

  g_assert_true (g_file_test (fx->path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpstr (mh_store_get_path (store), ==, fx->path);
  g_assert_true (mh_store_count_messages (store, &count, &error));
  g_assert_cmpuint (count, ==, 0);
  g_assert_cmpint (raw_int (fx->path, "PRAGMA user_version"), ==,
                   MH_STORE_SCHEMA_VERSION);
  g_assert_cmpint (raw_int (fx->path, "SELECT count(*) FROM sqlite_schema"
                            " WHERE name IN ('mailbox', 'message',"
                            " 'location', 'attachment', 'thread')"), ==, 5);
  /* WAL is a property of the file: a new connection sees it. */
  g_assert_true (g_file_test (fx->path, G_FILE_TEST_EXISTS));
  {
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;

    g_assert_cmpint (sqlite3_open (fx->path, &db), ==, SQLITE_OK);
    sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &stmt, NULL);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==,
                     "wal");
    sqlite3_finalize (stmt);
    sqlite3_close (db);
  }
}

static void
test_reopen (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MhStore) store = open_store (fx);
  g_autoptr(MhStoreMessage) msg = NULL;
  g_autoptr(MhStoreMailbox) mb = NULL;
  g_autofree char *key = make_key (1);
  g_autofree char *dir = NULL;
  gboolean changed = TRUE;

  g_assert_true (mh_store_check_uidvalidity (store, "INBOX", 42, &changed,
                                             &error));
  g_assert_false (changed);
  put (store, 1, "one@example.com");
  add_loc (store, 1, "INBOX", 42, 7);
  g_assert_true (mh_store_set_thread (store, "one@example.com", "T1",
                                      &error));
  g_assert_true (mh_store_mailbox_synced (store, "INBOX", 8, 1234, &error));
  g_clear_pointer (&store, mh_store_free);

  store = open_store (fx);
  g_assert_true (mh_store_lookup_key (store, key, &msg, &error));
  g_assert_nonnull (msg);
  g_assert_cmpstr (msg->message_id, ==, "one@example.com");
  g_assert_cmpstr (msg->subject, ==, "Subject 1");
  g_assert_cmpstr (msg->participants, ==,
                   "alice@example.com\nbob@example.com");
  g_assert_cmpstr (msg->references_raw, ==, "<a@x> <b@x>");
  g_assert_cmpstr (msg->in_reply_to_raw, ==, "<b@x>");
  g_assert_null (msg->thread_index);
  g_assert_null (msg->thread_dir);
  g_assert_cmpint (msg->date, ==, 1700000001);
  g_assert_cmpuint (msg->size, ==, 1001);
  g_assert_cmpstr (msg->dir, ==, "20231114T221320Z_00000001");
  g_assert_true (mh_store_get_mailbox (store, "INBOX", &mb, &error));
  g_assert_nonnull (mb);
  g_assert_cmpuint (mb->uidvalidity, ==, 42);
  g_assert_cmpuint (mb->highest_uid, ==, 7);
  g_assert_cmpuint (mb->uidnext, ==, 8);
  g_assert_cmpint (mb->last_sync, ==, 1234);
  g_assert_true (mh_store_lookup_thread (store, "one@example.com", &dir,
                                         &error));
  g_assert_cmpstr (dir, ==, "T1");
  g_assert_no_error (error);
}

static void
test_newer_version (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  MhStore *store = open_store (fx);

  mh_store_free (store);
  raw_exec (fx->path, "PRAGMA user_version = 99");
  store = mh_store_open (fx->path, &error);
  g_assert_null (store);
  g_assert_error (error, MH_ERROR, MH_ERROR_CONFIG);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, fx->path));
  g_assert_nonnull (strstr (error->message, "99"));
  /* The file of a newer release is left alone. */
  g_assert_cmpint (raw_int (fx->path, "PRAGMA user_version"), ==, 99);
}

static void
test_not_sqlite (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strnfill (8192, 'x');
  g_autofree char *contents = NULL;
  gsize len = 0;
  MhStore *store;

  g_assert_true (g_file_set_contents (fx->path, text, -1, NULL));
  store = mh_store_open (fx->path, &error);
  g_assert_null (store);
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, fx->path));
  /* Nothing was written into the foreign file. */
  g_assert_true (g_file_get_contents (fx->path, &contents, &len, NULL));
  g_assert_cmpuint (len, ==, 8192);
  g_assert_cmpmem (contents, len, text, 8192);
}

static void
test_foreign (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  MhStore *store;

  raw_exec (fx->path, "CREATE TABLE notes (body TEXT);"
            "INSERT INTO notes VALUES ('mine');");
  store = mh_store_open (fx->path, &error);
  g_assert_null (store);
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_assert_nonnull (strstr (error->message, fx->path));
  /* Neither our tables nor WAL were added to someone else's database. */
  g_assert_cmpint (raw_int (fx->path, "SELECT count(*) FROM sqlite_schema"),
                   ==, 1);
  g_assert_false (raw_int (fx->path, "SELECT count(*) FROM"
                           " pragma_journal_mode WHERE journal_mode = 'wal'"));
}

static void
test_corrupt (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;
  MhStore *store = open_store (fx);

  for (guint i = 0; i < 20; i++)
    put (store, i, "x@example.com");
  mh_store_free (store);

  /* Keep the 100-byte header, so that SQLite recognises the file, and
   * overwrite the schema page behind it. */
  g_assert_true (g_file_get_contents (fx->path, &contents, &len, NULL));
  g_assert_cmpuint (len, >, 4096);
  memset (contents + 100, 0xa5, 4096 - 100);
  g_assert_true (g_file_set_contents (fx->path, contents, len, NULL));
  store = mh_store_open (fx->path, &error);
  g_assert_null (store);
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, fx->path));
}

static void
test_unopenable (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fx->dir, "missing", "s.sqlite",
                                            NULL);
  MhStore *store = mh_store_open (path, &error);

  g_assert_null (store);
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
}

static void
assert_pending (MhStore *store, const char *mailbox, guint32 uidvalidity,
                const guint32 *uids, gsize n, const guint32 *want,
                gsize n_want)
{
  g_autoptr(GArray) pending = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (mh_store_pending_uids (store, mailbox, uidvalidity, uids, n,
                                        &pending, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (pending->data, pending->len * sizeof (guint32), want,
                   n_want * sizeof (guint32));
}

static void
test_uidvalidity (Fixture *fx, gconstpointer data)
{
  static const guint32 ask[] = { 3, 1, 2, 4 };
  static const guint32 after_first[] = { 3, 4 };
  g_autoptr(MhStore) store = open_store (fx);
  g_autoptr(MhStoreMailbox) mb = NULL;
  g_autoptr(GPtrArray) locs = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *key1 = make_key (1);
  gboolean changed = TRUE;

  g_assert_true (mh_store_check_uidvalidity (store, "INBOX", 100, &changed,
                                             &error));
  g_assert_false (changed);
  put (store, 1, "a@x");
  put (store, 2, "b@x");
  add_loc (store, 1, "INBOX", 100, 1);
  add_loc (store, 2, "INBOX", 100, 2);
  add_loc (store, 1, "Sent", 7, 9);
  assert_pending (store, "INBOX", 100, ask, 4, after_first, 2);

  /* Same value: nothing changes. */
  g_assert_true (mh_store_check_uidvalidity (store, "INBOX", 100, &changed,
                                             &error));
  g_assert_false (changed);
  assert_pending (store, "INBOX", 100, ask, 4, after_first, 2);

  /* New value: the UID mapping of INBOX goes, the messages stay. */
  g_assert_true (mh_store_check_uidvalidity (store, "INBOX", 200, &changed,
                                             &error));
  g_assert_no_error (error);
  g_assert_true (changed);
  {
    static const guint32 all[] = { 1, 2, 3, 4 };

    assert_pending (store, "INBOX", 200, ask, 4, all, 4);
    assert_pending (store, "INBOX", 100, ask, 4, all, 4);
  }
  g_assert_true (has_key (store, 1));
  g_assert_true (has_key (store, 2));
  g_assert_true (mh_store_get_mailbox (store, "INBOX", &mb, &error));
  g_assert_cmpuint (mb->uidvalidity, ==, 200);
  g_assert_cmpuint (mb->highest_uid, ==, 0);
  /* Other mailboxes keep theirs. */
  g_assert_true (mh_store_list_locations (store, key1, &locs, &error));
  g_assert_cmpuint (locs->len, ==, 1);
  g_assert_cmpstr (((MhStoreLocation *) locs->pdata[0])->mailbox, ==,
                   "Sent");
  /* The messages are matched again and get their new UIDs. */
  add_loc (store, 1, "INBOX", 200, 11);
  g_clear_pointer (&locs, g_ptr_array_unref);
  g_assert_true (mh_store_list_locations (store, key1, &locs, &error));
  g_assert_cmpuint (locs->len, ==, 2);
}

static void
test_pending_large (Fixture *fx, gconstpointer data)
{
  const guint n = 100000;
  g_autoptr(MhStore) store = open_store (fx);
  g_autoptr(GArray) ask = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) want = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) pending = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autofree char *key = make_key (1);

  put (store, 1, NULL);
  g_assert_true (mh_store_begin (store, &error));
  for (guint32 uid = 7; uid <= n; uid += 7)
    g_assert_true (mh_store_add_location (store, key, "INBOX", 5, uid,
                                          &error));
  /* Done in another UIDVALIDITY: must not count. */
  for (guint32 uid = 1; uid <= n; uid += 7)
    g_assert_true (mh_store_add_location (store, key, "INBOX", 4, uid,
                                          &error));
  g_assert_true (mh_store_commit (store, &error));
  g_assert_no_error (error);

  for (guint32 uid = 1; uid <= n + 10; uid++)
    {
      g_array_append_val (ask, uid);
      if (uid % 7 != 0 || uid > n)
        g_array_append_val (want, uid);
    }
  /* Shuffled, with duplicates and zeros. */
  for (guint i = ask->len - 1; i > 0; i--)
    {
      guint j = g_rand_int_range (rand, 0, (gint32) i + 1);
      guint32 t = g_array_index (ask, guint32, i);

      g_array_index (ask, guint32, i) = g_array_index (ask, guint32, j);
      g_array_index (ask, guint32, j) = t;
    }
  g_array_append_vals (ask, ask->data, 1000);
  {
    guint32 zero = 0;

    g_array_append_val (ask, zero);
  }

  g_assert_true (mh_store_pending_uids (store, "INBOX", 5,
                                        (const guint32 *) ask->data,
                                        ask->len, &pending, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pending->len, ==, want->len);
  g_assert_cmpmem (pending->data, pending->len * sizeof (guint32),
                   want->data, want->len * sizeof (guint32));

  /* An empty request and an unknown mailbox. */
  g_clear_pointer (&pending, g_array_unref);
  g_assert_true (mh_store_pending_uids (store, "INBOX", 5, NULL, 0,
                                        &pending, &error));
  g_assert_cmpuint (pending->len, ==, 0);
  g_clear_pointer (&pending, g_array_unref);
  g_assert_true (mh_store_pending_uids (store, "Nope", 5,
                                        (const guint32 *) ask->data,
                                        ask->len, &pending, &error));
  g_assert_cmpuint (pending->len, ==, n + 10);
}

static void
test_message_id (Fixture *fx, gconstpointer data)
{
  g_autoptr(MhStore) store = open_store (fx);
  g_autoptr(GPtrArray) msgs = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func (g_free);

  put (store, 1, "dup@example.com");
  put (store, 2, "dup@example.com");
  put (store, 3, "other@example.com");
  put (store, 4, "dup@example.com");
  put (store, 5, NULL);
  g_ptr_array_add (want, make_key (1));
  g_ptr_array_add (want, make_key (2));
  g_ptr_array_add (want, make_key (4));

  g_assert_true (mh_store_lookup_message_id (store, "dup@example.com",
                                             &msgs, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (msgs->len, ==, 3);
  for (guint i = 0; i < msgs->len; i++)
    {
      MhStoreMessage *m = msgs->pdata[i];

      g_assert_cmpstr (m->message_id, ==, "dup@example.com");
      g_assert_true (g_ptr_array_find_with_equal_func (want, m->key,
                                                       g_str_equal, NULL));
      if (i > 0)
        {
          MhStoreMessage *prev = msgs->pdata[i - 1];

          g_assert_cmpint (strcmp (prev->key, m->key), <, 0);
        }
    }
  g_clear_pointer (&msgs, g_ptr_array_unref);
  g_assert_true (mh_store_lookup_message_id (store, "none@example.com",
                                             &msgs, &error));
  g_assert_cmpuint (msgs->len, ==, 0);
  g_clear_pointer (&msgs, g_ptr_array_unref);
  g_assert_true (mh_store_list_messages (store, &msgs, &error));
  g_assert_cmpuint (msgs->len, ==, 5);
}

static void
test_gm_msgid (Fixture *fx, gconstpointer data)
{
  const guint64 big = G_GUINT64_CONSTANT (0x8000000000000123);
  g_autoptr(MhStore) store = open_store (fx);
  g_autoptr(MhStoreMessage) msg = make_message (1, "g@x");
  g_autoptr(MhStoreMessage) found = NULL;
  g_autoptr(GError) error = NULL;

  msg->gm_msgid = 1234567890123456789;
  msg->gm_thrid = g_strdup ("1234567890123456000");
  g_assert_true (mh_store_put_message (store, msg, &error));
  g_clear_pointer (&msg, mh_store_message_free);
  msg = make_message (2, "h@x");
  msg->gm_msgid = big;
  g_assert_true (mh_store_put_message (store, msg, &error));
  put (store, 3, "i@x");

  g_assert_true (mh_store_lookup_gm_msgid (store, 1234567890123456789,
                                           &found, &error));
  g_assert_nonnull (found);
  g_assert_cmpstr (found->message_id, ==, "g@x");
  g_assert_cmpstr (found->gm_thrid, ==, "1234567890123456000");
  g_clear_pointer (&found, mh_store_message_free);
  /* Ids above 2^63 survive SQLite's signed integers. */
  g_assert_true (mh_store_lookup_gm_msgid (store, big, &found, &error));
  g_assert_nonnull (found);
  g_assert_cmpstr (found->message_id, ==, "h@x");
  g_assert_cmpuint (found->gm_msgid, ==, big);
  g_clear_pointer (&found, mh_store_message_free);
  g_assert_true (mh_store_lookup_gm_msgid (store, 99, &found, &error));
  g_assert_null (found);
  /* 0 means unknown: it never matches the messages without an id. */
  g_assert_true (mh_store_lookup_gm_msgid (store, 0, &found, &error));
  g_assert_null (found);
  g_assert_no_error (error);
}

static void
test_locations (Fixture *fx, gconstpointer data)
{
  g_autoptr(MhStore) store = open_store (fx);
  g_autoptr(GPtrArray) locs = NULL;
  g_autoptr(MhStoreMailbox) mb = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *key1 = make_key (1);
  g_autofree char *key2 = make_key (2);
  g_autofree char *key9 = make_key (9);
  MhStoreLocation *loc;

  put (store, 1, "a@x");
  put (store, 2, "b@x");
  add_loc (store, 1, "Sent Items", 3, 50);
  add_loc (store, 1, "INBOX", 9, 12);
  add_loc (store, 1, "INBOX", 9, 4);
  add_loc (store, 2, "INBOX", 9, 13);
  g_assert_true (mh_store_list_locations (store, key1, &locs, &error));
  g_assert_cmpuint (locs->len, ==, 3);
  loc = locs->pdata[0];
  g_assert_cmpstr (loc->mailbox, ==, "INBOX");
  g_assert_cmpuint (loc->uidvalidity, ==, 9);
  g_assert_cmpuint (loc->uid, ==, 4);
  loc = locs->pdata[1];
  g_assert_cmpuint (loc->uid, ==, 12);
  loc = locs->pdata[2];
  g_assert_cmpstr (loc->mailbox, ==, "Sent Items");
  g_assert_cmpuint (loc->uid, ==, 50);

  /* A location recorded again for another message moves to it. */
  add_loc (store, 2, "INBOX", 9, 12);
  g_clear_pointer (&locs, g_ptr_array_unref);
  g_assert_true (mh_store_list_locations (store, key2, &locs, &error));
  g_assert_cmpuint (locs->len, ==, 2);
  g_clear_pointer (&locs, g_ptr_array_unref);
  g_assert_true (mh_store_list_locations (store, key1, &locs, &error));
  g_assert_cmpuint (locs->len, ==, 2);

  g_assert_true (mh_store_get_mailbox (store, "INBOX", &mb, &error));
  g_assert_cmpuint (mb->uidvalidity, ==, 9);
  g_assert_cmpuint (mb->highest_uid, ==, 13);
  g_clear_pointer (&mb, mh_store_mailbox_free);
  g_assert_true (mh_store_get_mailbox (store, "Drafts", &mb, &error));
  g_assert_null (mb);

  /* A location must name a stored message. */
  g_assert_false (mh_store_add_location (store, key9, "INBOX", 9, 77,
                                         &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_clear_error (&error);
  g_clear_pointer (&locs, g_ptr_array_unref);
  g_assert_true (mh_store_list_locations (store, key9, &locs, &error));
  g_assert_cmpuint (locs->len, ==, 0);
}

static void
test_thread_dirs (Fixture *fx, gconstpointer data)
{
  g_autoptr(MhStore) store = open_store (fx);
  g_autoptr(MhStoreMessage) msg = NULL;
  g_autoptr(GHashTable) threads = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *key1 = make_key (1);
  g_autofree char *key9 = make_key (9);
  g_autofree char *dir = NULL;

  put (store, 1, "a@x");
  g_assert_true (mh_store_set_message_dirs (store, key1,
                                            "2023-11-14_hello_abc", NULL,
                                            &error));
  g_assert_true (mh_store_lookup_key (store, key1, &msg, &error));
  g_assert_cmpstr (msg->thread_dir, ==, "2023-11-14_hello_abc");
  g_assert_cmpstr (msg->dir, ==, "20231114T221320Z_00000001");
  g_clear_pointer (&msg, mh_store_message_free);

  g_assert_true (mh_store_set_message_dirs (store, key1, "T2", "M2",
                                            &error));
  g_assert_true (mh_store_lookup_key (store, key1, &msg, &error));
  g_assert_cmpstr (msg->thread_dir, ==, "T2");
  g_assert_cmpstr (msg->dir, ==, "M2");
  g_clear_pointer (&msg, mh_store_message_free);

  g_assert_true (mh_store_set_message_dirs (store, key1, NULL, NULL,
                                            &error));
  g_assert_true (mh_store_lookup_key (store, key1, &msg, &error));
  g_assert_null (msg->thread_dir);
  g_assert_cmpstr (msg->dir, ==, "M2");

  g_assert_false (mh_store_set_message_dirs (store, key9, "T", NULL,
                                             &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_clear_error (&error);

  g_assert_true (mh_store_set_thread (store, "root1", "T1", &error));
  g_assert_true (mh_store_set_thread (store, "root2", "T2", &error));
  g_assert_true (mh_store_set_thread (store, "root1", "T1b", &error));
  g_assert_true (mh_store_lookup_thread (store, "root1", &dir, &error));
  g_assert_cmpstr (dir, ==, "T1b");
  g_clear_pointer (&dir, g_free);
  g_assert_true (mh_store_remove_thread (store, "root2", &error));
  g_assert_true (mh_store_remove_thread (store, "absent", &error));
  g_assert_true (mh_store_lookup_thread (store, "root2", &dir, &error));
  g_assert_null (dir);
  g_assert_true (mh_store_list_threads (store, &threads, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (threads), ==, 1);
  g_assert_cmpstr (g_hash_table_lookup (threads, "root1"), ==, "T1b");
}

static void
test_attachments (Fixture *fx, gconstpointer data)
{
  g_autoptr(MhStore) store = open_store (fx);
  g_autoptr(GPtrArray) atts = g_ptr_array_new_with_free_func (
    (GDestroyNotify) mh_store_attachment_free);
  g_autoptr(GPtrArray) got = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *key1 = make_key (1);
  g_autofree char *key9 = make_key (9);
  const char *parts[] = { "2", "3.1", "3.t1" };
  MhStoreAttachment *att;

  put (store, 1, "a@x");
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      att = mh_store_attachment_new ();
      att->part = g_strdup (parts[i]);
      att->filename = i == 1 ? NULL : g_strdup_printf ("../file %u.pdf", i);
      att->path = g_strdup_printf ("attachments/file_%u.pdf", i);
      att->content_type = g_strdup ("application/pdf");
      att->size = 10 * i;
      att->sha256 = make_key (100 + i);
      g_ptr_array_add (atts, att);
    }
  g_assert_true (mh_store_set_attachments (store, key1, atts, &error));
  g_assert_no_error (error);
  g_assert_true (mh_store_list_attachments (store, key1, &got, &error));
  g_assert_cmpuint (got->len, ==, 3);
  for (guint i = 0; i < got->len; i++)
    {
      MhStoreAttachment *a = got->pdata[i], *b = atts->pdata[i];

      g_assert_cmpstr (a->part, ==, b->part);
      g_assert_cmpstr (a->filename, ==, b->filename);
      g_assert_cmpstr (a->path, ==, b->path);
      g_assert_cmpstr (a->content_type, ==, b->content_type);
      g_assert_cmpstr (a->sha256, ==, b->sha256);
      g_assert_cmpuint (a->size, ==, b->size);
    }
  /* Replacing keeps only the new list. */
  g_ptr_array_remove_range (atts, 0, 2);
  g_assert_true (mh_store_set_attachments (store, key1, atts, &error));
  g_clear_pointer (&got, g_ptr_array_unref);
  g_assert_true (mh_store_list_attachments (store, key1, &got, &error));
  g_assert_cmpuint (got->len, ==, 1);
  g_assert_cmpstr (((MhStoreAttachment *) got->pdata[0])->part, ==, "3.t1");
  /* Users query the index in SQL. */
  g_assert_cmpint (raw_int (fx->path, "SELECT size FROM attachment"
                            " WHERE part = '3.t1'"), ==, 20);

  /* A bad entry leaves the previous index whole. */
  att = mh_store_attachment_new ();
  att->part = g_strdup ("4");
  g_ptr_array_insert (atts, 0, att);
  g_assert_false (mh_store_set_attachments (store, key1, atts, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_PARSE);
  g_clear_error (&error);
  g_assert_false (mh_store_in_transaction (store));
  g_clear_pointer (&got, g_ptr_array_unref);
  g_assert_true (mh_store_list_attachments (store, key1, &got, &error));
  g_assert_cmpuint (got->len, ==, 1);
  g_assert_cmpstr (((MhStoreAttachment *) got->pdata[0])->part, ==, "3.t1");

  g_assert_false (mh_store_set_attachments (store, key9, atts, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
}

static void
test_rollback (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  MhStore *store = open_store (fx);

  put (store, 1, "kept@x");
  g_assert_true (mh_store_begin (store, &error));
  g_assert_true (mh_store_in_transaction (store));
  put (store, 2, "lost@x");
  add_loc (store, 1, "INBOX", 1, 5);
  g_assert_true (has_key (store, 2));
  g_assert_false (mh_store_begin (store, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_clear_error (&error);
  /* Closed without commit, as a process that stops at this point. */
  mh_store_free (store);

  store = open_store (fx);
  g_assert_true (has_key (store, 1));
  g_assert_false (has_key (store, 2));
  {
    static const guint32 uid5[] = { 5 };

    assert_pending (store, "INBOX", 1, uid5, 1, uid5, 1);
  }
  g_assert_true (mh_store_begin (store, &error));
  put (store, 3, "x@x");
  g_assert_true (mh_store_rollback (store, &error));
  g_assert_false (mh_store_in_transaction (store));
  g_assert_false (has_key (store, 3));
  g_assert_false (mh_store_commit (store, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  mh_store_free (store);
}

static void
test_killed (Fixture *fx, gconstpointer data)
{
  pid_t pid;
  int status = 0;

  mh_store_free (open_store (fx));
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      MhStore *store = mh_store_open (fx->path, NULL);

      if (store == NULL ||
          !mh_store_begin (store, NULL))
        _exit (3);
      put (store, 1, "committed@x");
      if (!mh_store_commit (store, NULL) || !mh_store_begin (store, NULL))
        _exit (4);
      put (store, 2, "uncommitted@x");
      /* Dies without closing, rolling back or freeing anything. */
      _exit (0);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  {
    g_autoptr(MhStore) store = open_store (fx);

    g_assert_true (has_key (store, 1));
    g_assert_false (has_key (store, 2));
  }
}

static void
test_batch (Fixture *fx, gconstpointer data)
{
  g_autoptr(MhStore) store = open_store (fx);
  g_autoptr(MhStore) reader = NULL;
  g_autoptr(GError) error = NULL;
  guint commits = 0;
  guint64 seen = 0;

  for (guint i = 0; i < 10; i++)
    {
      gboolean committed = FALSE;

      g_assert_true (mh_store_batch_maybe_commit (store, 4, 3600,
                                                  &committed, &error));
      g_assert_no_error (error);
      g_assert_true (mh_store_in_transaction (store));
      commits += committed;
      put (store, i, NULL);
    }
  /* Opened at the first call, then committed after 4 and 8 messages. */
  g_assert_cmpuint (commits, ==, 2);
  reader = open_store (fx);
  g_assert_true (mh_store_count_messages (reader, &seen, &error));
  g_assert_cmpuint (seen, ==, 8);
  g_assert_true (mh_store_commit (store, &error));
  g_assert_true (mh_store_count_messages (reader, &seen, &error));
  g_assert_cmpuint (seen, ==, 10);
  /* A time limit of 0 commits at every call. */
  g_assert_true (mh_store_begin (store, &error));
  put (store, 20, NULL);
  {
    gboolean committed = FALSE;

    g_assert_true (mh_store_batch_maybe_commit (store, 1000, 0, &committed,
                                                &error));
    g_assert_true (committed);
  }
  g_assert_true (mh_store_count_messages (reader, &seen, &error));
  g_assert_cmpuint (seen, ==, 11);
}

static void
test_replace (Fixture *fx, gconstpointer data)
{
  g_autoptr(MhStore) store = open_store (fx);
  g_autoptr(MhStoreMessage) msg = make_message (1, "a@x");
  g_autoptr(MhStoreMessage) got = NULL;
  g_autoptr(GPtrArray) locs = NULL;
  g_autoptr(GError) error = NULL;
  guint64 count = 0;

  g_assert_true (mh_store_put_message (store, msg, &error));
  add_loc (store, 1, "INBOX", 1, 1);
  g_free (msg->subject);
  msg->subject = g_strdup ("Changed");
  msg->thread_index = g_strdup ("AQHZ");
  g_assert_true (mh_store_put_message (store, msg, &error));
  g_assert_true (mh_store_count_messages (store, &count, &error));
  g_assert_cmpuint (count, ==, 1);
  g_assert_true (mh_store_lookup_key (store, msg->key, &got, &error));
  g_assert_cmpstr (got->subject, ==, "Changed");
  g_assert_cmpstr (got->thread_index, ==, "AQHZ");
  g_assert_true (mh_store_list_locations (store, msg->key, &locs, &error));
  g_assert_cmpuint (locs->len, ==, 1);
  g_assert_no_error (error);
}

static void
test_limits (Fixture *fx, gconstpointer data)
{
  g_autoptr(MhStore) store = open_store (fx);
  g_autoptr(MhStoreMessage) msg = make_message (1, "a@x");
  g_autoptr(MhStoreMessage) got = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *upper = g_ascii_strup (msg->key, -1);

  g_assert_false (mh_store_lookup_key (store, "abc", &got, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_PARSE);
  g_clear_error (&error);
  g_assert_false (mh_store_lookup_key (store, upper, &got, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_PARSE);
  g_clear_error (&error);

  msg->references_raw = (g_free (msg->references_raw),
                         g_strnfill (MH_STORE_MAX_TEXT + 1, 'r'));
  g_assert_false (mh_store_put_message (store, msg, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_LIMIT);
  g_assert_false (has_key (store, 1));
  g_clear_error (&error);
  /* The store stays usable after a refused row. */
  msg->references_raw[MH_STORE_MAX_TEXT] = '\0';
  g_assert_true (mh_store_put_message (store, msg, &error));
  g_assert_no_error (error);
  g_assert_true (has_key (store, 1));
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0:malloc_context_size=8");
MH_TEST_LSAN_GLIB_SUPPRESSION;

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(name, fn) \
  g_test_add ("/store/" name, Fixture, NULL, fixture_setup, fn, \
              fixture_teardown)
  ADD ("open/create", test_create);
  ADD ("open/reopen", test_reopen);
  ADD ("open/newer-version", test_newer_version);
  ADD ("open/not-sqlite", test_not_sqlite);
  ADD ("open/foreign", test_foreign);
  ADD ("open/corrupt", test_corrupt);
  ADD ("open/unopenable", test_unopenable);
  ADD ("mailbox/uidvalidity", test_uidvalidity);
  ADD ("mailbox/pending-large", test_pending_large);
  ADD ("message/message-id", test_message_id);
  ADD ("message/gm-msgid", test_gm_msgid);
  ADD ("message/replace", test_replace);
  ADD ("message/limits", test_limits);
  ADD ("message/locations", test_locations);
  ADD ("message/attachments", test_attachments);
  ADD ("thread/dirs", test_thread_dirs);
  ADD ("transaction/rollback", test_rollback);
  ADD ("transaction/killed", test_killed);
  ADD ("transaction/batch", test_batch);
#undef ADD

  return g_test_run ();
}
