/* test-imap-session.c - LIST, EXAMINE and a 1,000-message UID FETCH against
 * the real Dovecot started by tests/dovecot/with-dovecot.  The test writes
 * its own mail into alice's Maildir. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mailharvest/error.h"
#include "mailharvest/imap-session.h"

#include "testlib.h"

#define N_MESSAGES 1000

/* Creates @rel (with cur/new/tmp) below the Maildir root, owned by the
 * mail user; returns its path. */
static char *
make_folder (const char *rel)
{
  char *dir = g_build_filename (mh_test_env ("MH_TEST_MAIL_DIR"), rel, NULL);
  const char *subs[] = { "", "cur", "new", "tmp" };

  for (guint i = 0; i < G_N_ELEMENTS (subs); i++)
    {
      g_autofree char *p = g_build_filename (dir, subs[i], NULL);

      g_assert_cmpint (g_mkdir_with_parents (p, 0700), ==, 0);
      mh_test_chown_mail (p);
    }
  /* g_mkdir_with_parents also made the parents ("[Gmail]"): Dovecot must
   * be able to read them too. */
  {
    g_autofree char *parent = g_path_get_dirname (dir);
    gsize root_len = strlen (mh_test_env ("MH_TEST_MAIL_DIR"));

    while (strlen (parent) > root_len)
      {
        char *up = g_path_get_dirname (parent);

        mh_test_chown_mail (parent);
        g_free (parent);
        parent = up;
      }
  }
  return dir;
}

/* Delivers @data as a Maildir file of @folder: written into tmp/, owned by
 * the mail user, then renamed into cur/ with no flags. */
static void
deliver (const char *folder, guint n, const char *data, gsize len)
{
  g_autofree char *name = g_strdup_printf ("%u.M%uP1.mhtest:2,",
                                           1700000000 + n, n);
  g_autofree char *tmp = g_build_filename (folder, "tmp", name, NULL);
  g_autofree char *cur = g_build_filename (folder, "cur", name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (tmp, data, (gssize) len, &error);
  g_assert_no_error (error);
  mh_test_chown_mail (tmp);
  g_assert_cmpint (g_rename (tmp, cur), ==, 0);
}

static void
append_base64 (GString *msg, GRand *rand, gsize raw_len)
{
  g_autofree guchar *raw = g_malloc (raw_len);
  g_autofree char *b64 = NULL;
  gsize len;

  for (gsize i = 0; i < raw_len; i++)
    raw[i] = (guchar) g_rand_int_range (rand, 0, 256);
  b64 = g_base64_encode (raw, raw_len);
  len = strlen (b64);
  for (gsize i = 0; i < len; i += 76)
    {
      g_string_append_len (msg, b64 + i, (gssize) MIN (76, len - i));
      g_string_append (msg, "\r\n");
    }
}

/* Message @n: plain text, multipart with a binary attachment, or (every
 * 100th) about 1 MB of base64.  CRLF line ends, as IMAP sends them. */
static GString *
make_message (guint n, GRand *rand)
{
  GString *msg = g_string_new (NULL);

  g_string_append_printf (msg,
                          "From: Sender %u <s%u@example.org>\r\n"
                          "To: alice@example.org\r\n"
                          "Subject: Test message %u\r\n"
                          "Message-ID: <%u@mhtest.example>\r\n"
                          "Date: Tue, 14 Nov 2023 22:13:%02u +0000\r\n"
                          "MIME-Version: 1.0\r\n",
                          n, n, n, n, n % 60);
  if (n % 100 == 50)
    {
      g_string_append (msg, "Content-Type: application/octet-stream\r\n"
                            "Content-Transfer-Encoding: base64\r\n\r\n");
      append_base64 (msg, rand, 750 * 1024 + n);
    }
  else if (n % 3 == 1)
    {
      g_string_append (msg, "Content-Type: multipart/mixed; boundary=b\r\n"
                            "\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
                            "See attached.\r\n--b\r\n"
                            "Content-Type: application/octet-stream\r\n"
                            "Content-Transfer-Encoding: base64\r\n\r\n");
      append_base64 (msg, rand, (gsize) g_rand_int_range (rand, 1, 20000));
      g_string_append (msg, "--b--\r\n");
    }
  else
    {
      guint lines = (guint) g_rand_int_range (rand, 1, 400);

      g_string_append (msg, "Content-Type: text/plain; charset=utf-8\r\n"
                            "\r\n");
      for (guint i = 0; i < lines; i++)
        g_string_append_printf (msg, "Line %u of message %u: gr\xc3\xbc\xc3"
                                     "\x9f\x65 %u\r\n",
                                i, n, g_rand_int (rand));
    }
  return msg;
}

static int
cmp_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The names in cur/ and new/ of @folder, sorted: the flags live there. */
static char **
maildir_names (const char *folder)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *subs[] = { "cur", "new" };

  for (guint i = 0; i < G_N_ELEMENTS (subs); i++)
    {
      g_autofree char *p = g_build_filename (folder, subs[i], NULL);
      g_autoptr(GDir) dir = g_dir_open (p, 0, NULL);
      const char *name;

      g_assert_nonnull (dir);
      while ((name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (names, g_strdup_printf ("%s/%s", subs[i], name));
    }
  g_ptr_array_sort (names, cmp_names);
  g_ptr_array_add (names, NULL);
  return g_strdupv ((char **) names->pdata);
}

static void
test_list (void)
{
  g_autofree char *drafts = make_folder ("Entw&APw-rfe");
  g_autoptr(MhImapSession) s = NULL;
  g_autoptr(GPtrArray) boxes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) msg = g_string_new ("Subject: hi\r\n\r\nhello\r\n");
  const MhImapMailbox *mb;
  MhImapExamine ex;

  g_free (make_folder ("[Gmail]/All Mail"));
  deliver (drafts, 1, msg->str, msg->len);
  s = mh_test_login ();
  g_assert_true (mh_imap_session_has_capability (s, "SPECIAL-USE"));
  boxes = mh_imap_session_list (s, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < boxes->len; i++)
    {
      mb = g_ptr_array_index (boxes, i);
      g_test_message ("%s (%s) role %s", mb->name, mb->name_utf8,
                      mb->role != NULL ? mb->role : "-");
    }
  mb = mh_test_find_box (boxes, "INBOX");
  g_assert_nonnull (mb);
  g_assert_null (mb->role);
  mb = mh_test_find_box (boxes, "Sent");
  g_assert_nonnull (mb);
  g_assert_cmpstr (mb->role, ==, "\\Sent");
  mb = mh_test_find_box (boxes, "[Gmail]/All Mail");
  g_assert_nonnull (mb);
  g_assert_cmpstr (mb->role, ==, "\\All");
  g_assert_cmpint (mb->delimiter, ==, '/');
  mb = mh_test_find_box (boxes, "Entw&APw-rfe");
  g_assert_nonnull (mb);
  g_assert_cmpstr (mb->name_utf8, ==, "Entw\xc3\xbcrfe");
  g_assert_true (mh_imap_session_examine (s, mb->name, &ex, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ex.exists, ==, 1);
  g_assert_cmpuint (ex.uidvalidity, >, 0);
  g_assert_cmpuint (ex.uidnext, ==, 2);
  g_assert_true (ex.read_only);
  g_assert_true (mh_imap_session_logout (s, &error));
  g_assert_no_error (error);
}

typedef struct {
  GHashTable *expected; /* sha256 hex -> size */
  guint matched;
  guint64 bytes;
} FetchCheck;

typedef struct {
  GChecksum *sum;
  guint64 len;
} Body;

static gpointer
body_begin (guint64 total, gpointer user_data, GError **error)
{
  Body *b = g_new0 (Body, 1);

  b->sum = g_checksum_new (G_CHECKSUM_SHA256);
  return b;
}

static gboolean
body_write (gpointer handle, const guint8 *data, gsize len,
            gpointer user_data, GError **error)
{
  Body *b = handle;

  g_checksum_update (b->sum, data, (gssize) len);
  b->len += len;
  return TRUE;
}

static void
body_free (Body *b)
{
  g_checksum_free (b->sum);
  g_free (b);
}

static gboolean
body_done (const MhImapMessageInfo *info, gpointer handle,
           gpointer user_data, GError **error)
{
  FetchCheck *fc = user_data;
  Body *b = handle;

  g_assert_nonnull (b);
  g_assert_true (info->has_body);
  g_assert_cmpuint (info->size, ==, b->len);
  for (guint i = 0; info->flags[i] != NULL; i++)
    g_assert_cmpstr (info->flags[i], !=, "\\Seen");
  if (!g_hash_table_remove (fc->expected, g_checksum_get_string (b->sum)))
    g_error ("UID %u (%" G_GUINT64_FORMAT " bytes) matches no Maildir file",
             info->uid, b->len);
  fc->matched++;
  fc->bytes += b->len;
  body_free (b);
  return TRUE;
}

static void
body_abort (gpointer handle, gpointer user_data)
{
  body_free (handle);
}

static gboolean
meta_done (const MhImapMessageInfo *info, gpointer handle,
           gpointer user_data, GError **error)
{
  guint64 *total = user_data;

  g_assert_null (handle);
  g_assert_false (info->has_body);
  g_assert_cmpint (info->internaldate, >, 0);
  for (guint i = 0; info->flags[i] != NULL; i++)
    g_assert_cmpstr (info->flags[i], !=, "\\Seen");
  *total += info->size;
  return TRUE;
}

static void
test_fetch_all (void)
{
  const char *inbox = mh_test_env ("MH_TEST_MAIL_DIR");
  g_autoptr(GHashTable) expected = g_hash_table_new_full (g_str_hash,
                                                          g_str_equal,
                                                          g_free, NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (20231114);
  g_autoptr(MhImapSession) s = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) uids = NULL;
  g_auto(GStrv) before = NULL;
  g_auto(GStrv) after = NULL;
  const MhImapFetchSink meta_sink = { NULL, NULL, meta_done, NULL, NULL,
                                      NULL };
  const MhImapFetchSink body_sink = { body_begin, body_write, body_done,
                                      body_abort, NULL, NULL };
  MhImapFetchOptions opts = { 0 };
  FetchCheck fc = { 0 };
  guint64 total = 0;
  guint64 meta_total = 0;
  guint delivered = 0;
  MhImapExamine ex;
  MhImapStatus st;

  for (guint n = 1; n <= N_MESSAGES; n++)
    {
      g_autoptr(GString) msg = make_message (n, rand);

      g_hash_table_add (expected, g_compute_checksum_for_data (
                                    G_CHECKSUM_SHA256,
                                    (const guchar *) msg->str, msg->len));
      total += msg->len;
      deliver (inbox, n, msg->str, msg->len);
    }
  g_assert_cmpuint (g_hash_table_size (expected), ==, N_MESSAGES);
  before = maildir_names (inbox);

  s = mh_test_login ();
  g_assert_true (mh_imap_session_status (s, "INBOX", &st, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (st.messages, ==, N_MESSAGES);
  g_assert_true (mh_imap_session_examine (s, "INBOX", &ex, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ex.exists, ==, N_MESSAGES);
  g_assert_cmpuint (ex.uidvalidity, ==, st.uidvalidity);
  uids = mh_imap_session_uid_search (s, "ALL", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (uids->len, ==, N_MESSAGES);

  /* Metadata first: no body is requested. */
  g_assert_true (mh_imap_session_uid_fetch (s, (const guint32 *) (void *)
                                            uids->data, uids->len, &opts,
                                            &meta_sink, &meta_total,
                                            &delivered, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (delivered, ==, N_MESSAGES);
  g_assert_cmpuint (meta_total, ==, total);
  g_assert_cmpuint (mh_imap_session_get_command_count (
                      s, MH_IMAP_CMD_FETCH_BODY), ==, 0);

  opts.body = TRUE;
  fc.expected = expected;
  g_assert_true (mh_imap_session_uid_fetch (s, (const guint32 *) (void *)
                                            uids->data, uids->len, &opts,
                                            &body_sink, &fc, &delivered,
                                            &error));
  g_assert_no_error (error);
  g_assert_cmpuint (delivered, ==, N_MESSAGES);
  g_assert_cmpuint (fc.matched, ==, N_MESSAGES);
  g_assert_cmpuint (g_hash_table_size (expected), ==, 0);
  g_assert_cmpuint (fc.bytes, ==, total);
  g_assert_cmpuint (mh_imap_session_get_command_count (
                      s, MH_IMAP_CMD_FETCH_BODY), >=, N_MESSAGES / 25);
  g_assert_cmpuint (mh_imap_session_get_bytes_received (s), >, total);
  g_assert_true (mh_imap_session_logout (s, &error));
  g_assert_no_error (error);
  g_clear_pointer (&s, mh_imap_session_free);

  /* Read-only: no \Seen (or any other flag) was stored. */
  after = maildir_names (inbox);
  g_assert_cmpuint (g_strv_length (before), ==, N_MESSAGES);
  g_assert_cmpuint (g_strv_length (after), ==, N_MESSAGES);
  for (guint i = 0; i < N_MESSAGES; i++)
    g_assert_cmpstr (before[i], ==, after[i]);
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0");

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/imap-session/list", test_list);
  g_test_add_func ("/imap-session/fetch-all", test_fetch_all);
  return g_test_run ();
}
