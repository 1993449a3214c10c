/* test-store.c - the SQLite state store: mailboxes, messages,
 * locations, attachments and threads.  test-store-file.c has opening the
 * file and transactions. */
#include "store-harness.h"
#include "testlib.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

  /* The N-th highest done UID, for "latest = N" (UIDs 7, 14, ... under
   * UIDVALIDITY 5; 1, 8, ... under 4). */
  {
    static const struct {
      const char *mailbox;
      guint32 uidvalidity;
      guint n;
      guint32 want;
    } cases[] = {
      { "INBOX", 5, 1, 99995 }, { "INBOX", 5, 2, 99988 },
      { "INBOX", 5, 14285, 7 }, { "INBOX", 5, 14286, 0 },
      { "INBOX", 5, 0, 0 },     { "INBOX", 4, 1, 99996 },
      { "INBOX", 6, 1, 0 },     { "Nope", 5, 1, 0 },
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        guint32 uid = 1;

        g_assert_true (mh_store_nth_newest_uid (store, cases[i].mailbox,
                                                cases[i].uidvalidity,
                                                cases[i].n, &uid, &error));
        g_assert_no_error (error);
        g_assert_cmpuint (uid, ==, cases[i].want);
      }
  }
}

/* Collects keys; stops once @data holds two entries after a NULL
 * marker at index 0 (the early-stop case). */
static gboolean
collect_key (const MhStoreMessage *msg, gpointer data)
{
  GPtrArray *keys = data;

  g_ptr_array_add (keys, g_strdup (msg->key));
  return !(keys->len >= 2 && keys->pdata[0] == NULL);
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

  /* The row-at-a-time walk sees the same rows in the same order, and
   * stops when asked to. */
  {
    g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);

    g_assert_true (mh_store_foreach_message (store, collect_key, keys,
                                             &error));
    g_assert_no_error (error);
    g_assert_cmpuint (keys->len, ==, msgs->len);
    for (guint i = 0; i < keys->len; i++)
      g_assert_cmpstr (keys->pdata[i], ==,
                       ((MhStoreMessage *) msgs->pdata[i])->key);
    g_ptr_array_set_size (keys, 0);
    g_ptr_array_add (keys, NULL); /* collect_key stops at 2 entries */
    g_assert_true (mh_store_foreach_message (store, collect_key, keys,
                                             &error));
    g_assert_cmpuint (keys->len, ==, 2);
    /* The statement was reset: the store still answers. */
    g_clear_pointer (&msgs, g_ptr_array_unref);
    g_assert_true (mh_store_list_messages (store, &msgs, &error));
    g_assert_cmpuint (msgs->len, ==, 5);
  }

  /* Each row read has its row id, and that id finds the same message. */
  for (guint i = 0; i < msgs->len; i++)
    {
      const MhStoreMessage *m = msgs->pdata[i];
      g_autoptr(MhStoreMessage) again = NULL;

      g_assert_cmpint (m->rowid, >, 0);
      for (guint j = 0; j < i; j++)
        g_assert_cmpint (((MhStoreMessage *) msgs->pdata[j])->rowid, !=,
                         m->rowid);
      g_assert_true (mh_store_lookup_rowid (store, m->rowid, &again, &error));
      g_assert_no_error (error);
      g_assert_nonnull (again);
      g_assert_cmpstr (again->key, ==, m->key);
      g_assert_cmpstr (again->dir, ==, m->dir);
    }
  {
    g_autoptr(MhStoreMessage) none = NULL;

    g_assert_true (mh_store_lookup_rowid (store, 1 << 30, &none, &error));
    g_assert_null (none);
  }
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

static gboolean
append_thread (const char *root_id, const char *dir, gpointer data)
{
  g_string_append_printf (data, "%s=%s ", root_id, dir);
  return TRUE;
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

  /* By row number, as the conversation step places a message it read. */
  g_assert_true (mh_store_set_thread_dir (store, msg, "T3", &error));
  g_clear_pointer (&msg, mh_store_message_free);
  g_assert_true (mh_store_lookup_key (store, key1, &msg, &error));
  g_assert_cmpstr (msg->thread_dir, ==, "T3");
  g_assert_cmpstr (msg->dir, ==, "M2");
  msg->rowid += 1000;
  g_assert_false (mh_store_set_thread_dir (store, msg, "T4", &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_assert_nonnull (strstr (error->message, key1));
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

  /* The row-at-a-time walk and the count agree with the list. */
  g_assert_true (mh_store_set_thread (store, "root3", "T3", &error));
  {
    g_autoptr(GString) seen = g_string_new (NULL);
    guint64 count = 0;

    g_assert_true (mh_store_foreach_thread (store, append_thread, seen,
                                            &error));
    g_assert_no_error (error);
    g_assert_cmpstr (seen->str, ==, "root1=T1b root3=T3 ");
    g_assert_true (mh_store_count_threads (store, &count, &error));
    g_assert_cmpuint (count, ==, 2);
  }
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
  ADD ("mailbox/uidvalidity", test_uidvalidity);
  ADD ("mailbox/pending-large", test_pending_large);
  ADD ("message/message-id", test_message_id);
  ADD ("message/gm-msgid", test_gm_msgid);
  ADD ("message/replace", test_replace);
  ADD ("message/limits", test_limits);
  ADD ("message/locations", test_locations);
  ADD ("message/attachments", test_attachments);
  ADD ("thread/dirs", test_thread_dirs);
#undef ADD

  return g_test_run ();
}
