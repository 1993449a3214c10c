/* store-harness.c - fixtures and helpers of the store tests. */
#include "store-harness.h"

#include <glib/gstdio.h>
#include <sqlite3.h>

void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fx->dir = g_dir_make_tmp ("mh-store-XXXXXX", &error);
  g_assert_no_error (error);
  fx->path = g_build_filename (fx->dir, "state.sqlite", NULL);
}

void
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

char *
make_key (guint n)
{
  g_autofree char *s = g_strdup_printf ("message %u", n);

  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, s, -1);
}

MhStoreMessage *
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

MhStore *
open_store (Fixture *fx)
{
  g_autoptr(GError) error = NULL;
  MhStore *store = mh_store_open (fx->path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

void
put (MhStore *store, guint n, const char *message_id)
{
  g_autoptr(MhStoreMessage) msg = make_message (n, message_id);
  g_autoptr(GError) error = NULL;

  g_assert_true (mh_store_put_message (store, msg, &error));
  g_assert_no_error (error);
}

gboolean
has_key (MhStore *store, guint n)
{
  g_autofree char *key = make_key (n);
  g_autoptr(MhStoreMessage) msg = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (mh_store_lookup_key (store, key, &msg, &error));
  g_assert_no_error (error);
  return msg != NULL;
}

void
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
gint64
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

void
raw_exec (const char *path, const char *sql)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

void
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
