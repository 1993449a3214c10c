/* test-run-uidvalidity.c - `mailharvest run` when the real Dovecot gives
 * a mailbox a new UIDVALIDITY between two runs (the test removes INBOX's
 * uidlist and index, so Dovecot numbers its messages again): messages
 * whose size and header block match their archived message.eml are not
 * fetched again, nothing is added or duplicated, and the manifests get
 * the new UIDs; a message whose bytes changed is fetched.
 */
#include <signal.h>
#include <string.h>
#include <sys/types.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "run-harness.h"

typedef struct {
  int unused;
} Fixture;

static char *work_dir;

static void
setup (Fixture *fixture, gconstpointer data)
{
  work_dir = mh_test_work_dir_new ("test-run-uidvalidity-XXXXXX");
}

static void
teardown (Fixture *fixture, gconstpointer data)
{
  mh_test_work_dir_clear (&work_dir);
}

/* ---- UIDVALIDITY changed on a real server --------------------------- */

/* The value of @key= in the mail_location of the fixture's dovecot.conf,
 * for @user. */
static char *
dovecot_location_dir (const char *key, const char *user)
{
  g_autofree char *conf = g_build_filename (
      mh_test_env ("MH_TEST_DOVECOT_DIR"), "dovecot.conf", NULL);
  g_autofree char *text = NULL;
  g_autofree char *prefix = g_strdup_printf ("%s=", key);
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (conf, &text, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) parts = NULL;

      if (!g_str_has_prefix (lines[i], "mail_location"))
        continue;
      parts = g_strsplit (lines[i], ":", -1);
      for (guint k = 0; parts[k] != NULL; k++)
        if (g_str_has_prefix (parts[k], prefix))
          {
            g_autoptr(GString) dir = g_string_new (parts[k] + strlen (prefix));

            g_string_replace (dir, "%u", user, 0);
            return g_string_free (g_steal_pointer (&dir), FALSE);
          }
    }
  g_error ("no %s in the mail_location of %s", key, conf);
  return NULL;
}

typedef struct {
  const char *needle;
  char *path;
} FindMail;

static void
find_mail (const char *dir, const char *name, gpointer data)
{
  FindMail *f = data;
  g_autofree char *p = g_build_filename (dir, name, NULL);
  g_autofree char *text = NULL;

  /* INBOX is the Maildir root: its cur/ and new/, not a folder's. */
  if (strcmp (dir, mh_test_alice_dir ()) <= 0
      || strchr (dir + strlen (mh_test_alice_dir ()) + 1, '/') != NULL)
    return;
  if (g_file_get_contents (p, &text, NULL, NULL)
      && strstr (text, f->needle) != NULL)
    {
      g_assert_null (f->path);
      f->path = g_steal_pointer (&p);
    }
}

/* Waits (at most 10 s) until the imap processes that served alice are
 * gone: one still closing its session could write the index files back
 * after renumber_inbox() removed them.  Their pids are in the log. */
static void
wait_sessions_gone (const char *user)
{
  g_autofree char *log = g_build_filename (
      mh_test_env ("MH_TEST_DOVECOT_DIR"), "dovecot.log", NULL);
  g_autofree char *prefix = g_strdup_printf ("imap(%s)<", user);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  if (!g_file_get_contents (log, &text, NULL, NULL))
    return;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *p = strstr (lines[i], prefix);
      guint64 pid;

      if (p == NULL || strstr (p, "Disconnected") == NULL)
        continue;
      pid = g_ascii_strtoull (p + strlen (prefix), NULL, 10);
      while (pid > 1 && pid <= G_MAXINT && kill ((pid_t) pid, 0) == 0
             && g_get_monotonic_time () < deadline)
        g_usleep (20000);
    }
}

/* Makes Dovecot forget alice's INBOX UIDs: its uidlist and index go, so
 * the next session gets a new UIDVALIDITY and numbers the messages again
 * in file-name order; v1's file is renamed to sort last, so that its new
 * UID differs from its old one. */
static void
renumber_inbox (void)
{
  const char *user = mh_test_env ("MH_TEST_USER");
  g_autofree char *control = dovecot_location_dir ("CONTROL", user);
  g_autofree char *index = dovecot_location_dir ("INDEX", user);
  g_autofree char *c_inbox = g_build_filename (control, "INBOX", NULL);
  g_autofree char *i_inbox = g_build_filename (index, "INBOX", NULL);
  g_autofree char *uidlist = g_build_filename (c_inbox, "dovecot-uidlist",
                                               NULL);
  g_autofree char *dir = NULL;
  g_autofree char *renamed = NULL;
  FindMail f = { "Message-ID: <v1@test.example>", NULL };
  const char *flags;

  g_assert_true (g_file_test (uidlist, G_FILE_TEST_IS_REGULAR));
  wait_sessions_gone (user);
  mh_test_walk_mail (mh_test_alice_dir (), 0, find_mail, &f);
  g_assert_nonnull (f.path);
  dir = g_path_get_dirname (f.path);
  flags = strstr (f.path, ":2,");
  renamed = g_strdup_printf ("%s/1700000000.M9999P1.mh%s", dir,
                             flags != NULL ? flags : "");
  g_assert_cmpint (g_rename (f.path, renamed), ==, 0);
  g_free (f.path);
  mh_test_rm_rf (c_inbox, 0);
  mh_test_rm_rf (i_inbox, 0);
  g_assert_false (g_file_test (uidlist, G_FILE_TEST_EXISTS));
}

/* A configuration of alice's account (Outlook profile: INBOX and Sent)
 * writing into @out. */
static char *
write_config (const char *out)
{
  g_autofree char *text = g_strdup_printf (
      "[defaults]\noutput = %s\nlatest = all\nca_file = %s\n"
      "host = 127.0.0.1\nport = %s\nsecurity = tls\ntimeout = 20\n\n"
      "[account alice]\nprofile = outlook\nusername = %s\n"
      "password_env = MH_T_PW_ALICE\n",
      out, mh_test_env ("MH_TEST_CA_FILE"),
      mh_test_env ("MH_TEST_IMAPS_PORT"), mh_test_env ("MH_TEST_USER"));

  return mh_test_write_file (work_dir, "c.ini", text);
}

/* The UIDVALIDITY the server gave INBOX in a -v trace. */
static guint64
traced_uidvalidity (const char *err)
{
  const char *examine = strstr (err, "EXAMINE \"INBOX\"");
  const char *v = examine != NULL ? strstr (examine, "[UIDVALIDITY ")
                                  : NULL;

  g_assert_nonnull (v);
  return g_ascii_strtoull (v + strlen ("[UIDVALIDITY "), NULL, 10);
}

static void
test_uidvalidity_dovecot (Fixture *fixture, gconstpointer data)
{
  const char *a = mh_test_alice_dir ();
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *acct = g_build_filename (out, "alice", NULL);
  g_autofree char *cfg = write_config (out);
  g_autofree char *both = mh_test_mail_text ("vboth", NULL, "In both", 5,
                                             "Alice <alice@example.com>", 0,
                                             FALSE);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *full = NULL;
  g_autofree char *full2 = NULL;
  g_autofree char *ids = NULL;
  g_autoptr(JsonNode) v4_before = NULL;
  g_autoptr(JsonNode) v4_after = NULL;
  guint64 old_v, new_v;
  MhTestRun r;
  /* INBOX in file-name order: v1 v2 vboth v3, and after the renaming
   * v2 vboth v3 v1, numbered from 1 again. */
  static const struct {
    const char *id;
    guint uid;
  } inbox[] = { { "v2", 1 }, { "vboth", 2 }, { "v3", 3 }, { "v1", 4 } };

  mh_test_mail_reset ();
  mh_test_put (a, NULL, "v1", NULL, "Status", 1, "S");
  mh_test_put (a, NULL, "v2", NULL, "Lunch", 2, NULL);
  mh_test_deliver (a, NULL, both, "S");
  mh_test_deliver (a, "Sent", both, "S");
  mh_test_put (a, "Sent", "v4", "v1", "Re: Status", 3, "S");
  mh_test_put (a, NULL, "v3", "v1 v4", "Re: Status", 4, "");

  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "-v", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "added"), ==, 5);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "duplicates"), ==,
                   1);
  old_v = traced_uidvalidity (r.err);
  mh_test_run_clear (&r);
  before = mh_test_listing_without_manifests (out);
  v4_before = mh_test_message_json (acct, "v4");

  renumber_inbox ();
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "-v", "--progress=never", NULL });
  new_v = traced_uidvalidity (r.err);
  g_assert_cmpuint (new_v, !=, old_v);
  g_assert_nonnull (strstr (r.err, "UIDVALIDITY changed"));
  /* Without X-GM-MSGID each message is found in the archive by its size
   * and header block: no body comes again, nothing is added. */
  g_assert_nonnull (strstr (r.err, "BODY.PEEK[HEADER]<0.65536>"));
  g_assert_nonnull (strstr (r.err, "4 messages found in the archive"));
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "fetched"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "relinked"), ==, 4);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "body_fetch_commands"),
                   ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "added"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "duplicates"), ==,
                   0);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "failed"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "messages"), ==, 5);
  mh_test_run_clear (&r);

  after = mh_test_listing_without_manifests (out);
  mh_test_assert_same_listing (after, before);
  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, "v1 v2 v3 v4 vboth");
  /* The store forgot the old INBOX UIDs and message.json lists the
   * store's locations: the new ones, and Sent's as they were. */
  for (guint i = 0; i < G_N_ELEMENTS (inbox); i++)
    {
      g_autoptr(JsonNode) m = mh_test_message_json (acct, inbox[i].id);
      g_autofree char *locs = mh_test_locations_of (m);
      g_autofree char *want = g_strdup_printf ("INBOX %" G_GUINT64_FORMAT
                                               " %u", new_v, inbox[i].uid);

      if (strcmp (inbox[i].id, "vboth") == 0)
        g_assert_true (g_str_has_prefix (locs, want)
                       && g_str_has_prefix (locs + strlen (want), "|Sent "));
      else
        g_assert_cmpstr (locs, ==, want);
      g_assert_cmpint (mh_test_member_int (m, "uidvalidity"), ==, (gint64) new_v);
      g_assert_cmpint (mh_test_member_int (m, "uid"), ==, inbox[i].uid);
    }
  v4_after = mh_test_message_json (acct, "v4");
  g_assert_true (json_node_equal (v4_after, v4_before));

  /* And that is the state a further run starts from: nothing to do. */
  full = mh_test_listing_full (out, TRUE);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "fetched"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "relinked"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "duplicates"), ==,
                   0);
  mh_test_run_clear (&r);
  full2 = mh_test_listing_full (out, TRUE);
  mh_test_assert_same_listing (full2, full);
  mh_test_assert_clean (out);
}

/* Replaces @from by @to in the one INBOX file that holds @needle. */
static void
rewrite_inbox_mail (const char *needle, const char *from, const char *to)
{
  FindMail f = { needle, NULL };
  g_autofree char *text = NULL;
  g_autoptr(GString) s = NULL;
  g_autoptr(GError) error = NULL;

  mh_test_walk_mail (mh_test_alice_dir (), 0, find_mail, &f);
  g_assert_nonnull (f.path);
  g_file_get_contents (f.path, &text, NULL, &error);
  g_assert_no_error (error);
  s = g_string_new (text);
  g_assert_cmpuint (g_string_replace (s, from, to, 1), ==, 1);
  g_file_set_contents (f.path, s->str, (gssize) s->len, &error);
  g_assert_no_error (error);
  mh_test_chown_mail (f.path);
  g_free (f.path);
}

/* Only an exact match is taken for the archived message: one header byte
 * changed at the same size, or the body changed at another size, and the
 * message is fetched again. */
static void
test_uidvalidity_changed_bytes (Fixture *fixture, gconstpointer data)
{
  const char *a = mh_test_alice_dir ();
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *acct = g_build_filename (out, "alice", NULL);
  g_autofree char *cfg = write_config (out);
  g_autoptr(JsonNode) v1 = NULL;
  g_autofree char *locs = NULL;
  g_autofree char *want = NULL;
  guint64 new_v;
  MhTestRun r;

  mh_test_mail_reset ();
  mh_test_put (a, NULL, "v1", NULL, "Status", 1, "S");
  mh_test_put (a, NULL, "v2", NULL, "Lunch", 2, NULL);
  mh_test_put (a, NULL, "v5", "v1", "Re: Status", 4, "");

  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "added"), ==, 3);
  mh_test_run_clear (&r);

  renumber_inbox ();
  rewrite_inbox_mail ("Message-ID: <v2@test.example>", "Subject: Lunch",
                      "Subject: Lunce");
  rewrite_inbox_mail ("Message-ID: <v5@test.example>", "This is v5,",
                      "This is v5 again,");
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "-v", "--progress=never", NULL });
  new_v = traced_uidvalidity (r.err);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "relinked"), ==, 1);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "fetched"), ==, 2);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "failed"), ==, 0);
  /* v2 and v5 are other bytes now: the body fetch asks for them alone,
   * v1 (the last UID after the renaming) is not in it. */
  g_assert_nonnull (strstr (r.err, "UID FETCH 1:2 (UID FLAGS INTERNALDATE "
                                   "RFC822.SIZE BODY.PEEK[])"));
  mh_test_run_clear (&r);

  v1 = mh_test_message_json (acct, "v1");
  locs = mh_test_locations_of (v1);
  want = g_strdup_printf ("INBOX %" G_GUINT64_FORMAT " 3", new_v);
  g_assert_cmpstr (locs, ==, want);
  mh_test_assert_clean (out);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/run-uidvalidity/dovecot", Fixture, NULL, setup,
              test_uidvalidity_dovecot, teardown);
  g_test_add ("/run-uidvalidity/changed-bytes", Fixture, NULL, setup,
              test_uidvalidity_changed_bytes, teardown);
  return g_test_run ();
}
