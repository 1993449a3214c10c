/* test-store-file.c - the SQLite state store: opening (new, reopened,
 * newer, foreign, corrupt files) and transactions (rollback, a killed
 * writer, batches). */
#include "store-harness.h"
#include "testlib.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* A file of schema version 1 (thread_dir indexed, no layout record) is
 * brought to the current version at open, in one transaction, and keeps
 * its rows. */
static void
test_version_1 (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *key = make_key (1);
  MhStore *store = open_store (fx);
  gboolean found = FALSE;

  put (store, 1, "one@example.com");
  g_assert_true (mh_store_set_message_dirs (store, key, "T1", NULL, &error));
  mh_store_free (store);
  raw_exec (fx->path, "DROP INDEX message_by_dir;"
                      "CREATE INDEX message_by_thread_dir"
                      " ON message (thread_dir);"
                      "DROP TABLE layout_conv;"
                      "DROP TABLE layout_files;"
                      "PRAGMA user_version = 1;");

  store = open_store (fx);
  g_assert_cmpint (raw_int (fx->path, "PRAGMA user_version"), ==,
                   MH_STORE_SCHEMA_VERSION);
  g_assert_cmpint (raw_int (fx->path, "SELECT count(*) FROM sqlite_schema"
                            " WHERE name IN ('layout_conv',"
                            " 'layout_files')"), ==, 2);
  g_assert_cmpint (raw_int (fx->path, "SELECT count(*) FROM sqlite_schema"
                            " WHERE name = 'message_by_thread_dir'"), ==, 0);
  g_assert_cmpint (raw_int (fx->path, "SELECT count(*) FROM sqlite_schema"
                            " WHERE name = 'message_by_dir'"), ==, 1);
  g_assert_true (mh_store_thread_has_dir (store, "T1",
                                          "20231114T221320Z_00000001",
                                          &found, &error));
  g_assert_no_error (error);
  g_assert_true (found);
  g_assert_true (mh_store_thread_has_dir (store, "T2",
                                          "20231114T221320Z_00000001",
                                          &found, &error));
  g_assert_false (found);
  mh_store_free (store);
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
  ADD ("open/version-1", test_version_1);
  ADD ("open/not-sqlite", test_not_sqlite);
  ADD ("open/foreign", test_foreign);
  ADD ("open/corrupt", test_corrupt);
  ADD ("open/unopenable", test_unopenable);
  ADD ("transaction/rollback", test_rollback);
  ADD ("transaction/killed", test_killed);
  ADD ("transaction/batch", test_batch);
#undef ADD

  return g_test_run ();
}
