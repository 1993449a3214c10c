/* test-run.c - `mailharvest run` as a whole process against the test
 * Dovecot (tests/dovecot/with-dovecot): profiles, latest N, re-runs that
 * change nothing, mail arriving between runs, runs killed at many points,
 * read-only flags, a connection cut inside a FETCH and a wrong password.
 *
 * Every case starts from empty Maildirs, writes its own mail, and runs
 * the binary in $MH_BINARY with a config in a temporary dir.  Archives
 * are compared as listings: every path, and for files size and SHA-256,
 * without state.sqlite (checked on its own where it matters).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "run-harness.h"

typedef struct {
  int unused;
} Fixture;

static char *work_dir;

/* A number in the --json summary of @account. */
static gint64
num (const char *json, const char *account, const char *key)
{
  return mh_test_summary_int (json, account, key);
}

typedef enum {
  ACC_ALICE_OUTLOOK = 1 << 0,
  ACC_BOB_GMAIL = 1 << 1,
  ACC_BOB_WRONG = 1 << 2,
} Accounts;

/* Writes a config for @accounts into the work dir and returns its path.
 * @port 0 is the Dovecot TLS port; @latest NULL is "all". */
static char *
write_config (const char *name, const char *output, Accounts accounts,
              const char *latest, guint port)
{
  GString *s = g_string_new (NULL);
  char *path = g_build_filename (work_dir, name, NULL);
  const char *tls_port = mh_test_env ("MH_TEST_IMAPS_PORT");
  g_autofree char *port_s = port != 0 ? g_strdup_printf ("%u", port)
                                      : g_strdup (tls_port);
  g_autoptr(GError) error = NULL;

  g_string_append_printf (s,
                          "[defaults]\noutput = %s\nlatest = %s\n"
                          "ca_file = %s\nhost = 127.0.0.1\nport = %s\n"
                          "security = tls\ntimeout = 20\n\n",
                          output, latest != NULL ? latest : "all",
                          mh_test_env ("MH_TEST_CA_FILE"), port_s);
  if (accounts & ACC_ALICE_OUTLOOK)
    g_string_append_printf (s, "[account alice]\nprofile = outlook\n"
                               "username = %s\n"
                               "password_env = MH_T_PW_ALICE\n\n",
                            mh_test_env ("MH_TEST_USER"));
  if (accounts & ACC_BOB_GMAIL)
    g_string_append_printf (s, "[account bob]\nprofile = gmail\n"
                               "username = %s\n"
                               "password_env = MH_T_PW_BOB\n\n",
                            mh_test_env ("MH_TEST_USER2"));
  if (accounts & ACC_BOB_WRONG)
    g_string_append_printf (s, "[account bob]\nprofile = gmail\n"
                               "username = %s\n"
                               "password_env = MH_T_PW_WRONG\n\n",
                            mh_test_env ("MH_TEST_USER2"));
  g_file_set_contents (path, s->str, -1, &error);
  g_assert_no_error (error);
  g_string_free (s, TRUE);
  return path;
}

/* ---- the mail of the cases --------------------------------------------- */

/* A small account: two conversations across INBOX and Sent (replies
 * from both sides), a message in both folders with the same bytes and
 * one whose Inbox copy has a Received line more, one with an
 * attachment, unseen, seen and flagged ones; and a Gmail-like account
 * with three. */
static void
std_mail (void)
{
  const char *a = mh_test_alice_dir (), *b = mh_test_bob_dir ();
  g_autofree char *dup = mh_test_mail_text ("both1", NULL, "Copied to Sent",
                                            9, "Alice <alice@example.com>",
                                            200, TRUE);
  g_autofree char *copy = mh_test_mail_text ("both2", "a1",
                                             "Re: Quarterly report", 12,
                                             "Alice <alice@example.com>", 0,
                                             FALSE);
  g_autofree char *received = g_strconcat ("Received: from mx.example.com "
                                           "by imap.example.com;\r\n "
                                           "Fri, 1 Mar 2024 12:00:00 +0000"
                                           "\r\n", copy, NULL);

  mh_test_put (a, NULL, "a1", NULL, "Quarterly report", 1, "S");
  mh_test_put (a, NULL, "b1", NULL, "Lunch plans", 2, "");
  mh_test_put (a, "Sent", "a2", "a1", "Re: Quarterly report", 3, "S");
  mh_test_put (a, NULL, "a3", "a1 a2", "Re: Quarterly report", 4, NULL);
  mh_test_put (a, NULL, "c1", NULL, "Invoice 4711", 5, "FS");
  mh_test_put (a, "Sent", "b2", "b1", "Re: Lunch plans", 6, "S");
  mh_test_put (a, NULL, "b3", "b1 b2", "Re: Lunch plans", 7, "");
  mh_test_put (a, NULL, "e1", NULL, "Standalone note", 8, NULL);
  mh_test_deliver (a, NULL, dup, "S");
  mh_test_deliver (a, "Sent", dup, "S");
  /* The same message once more, its Inbox copy with other bytes. */
  mh_test_deliver (a, "Sent", copy, "S");
  mh_test_deliver (a, NULL, received, "");
  mh_test_put (a, NULL, "a4", "a1 a2 a3", "Re: Quarterly report", 10, "");
  mh_test_put (a, "Sent", "f2", "f1", "Re: Old matter", 30, "S");
  mh_test_put (a, NULL, "m1", NULL, "Budget 2024", 14, "S");
  mh_test_put (a, NULL, "m3", "m2", "Re: Spending caps", 16, "");
  mh_test_put (b, "[Gmail]/All Mail", "g1", NULL, "Trip", 1, "S");
  mh_test_put (b, "[Gmail]/All Mail", "g2", "g1", "Re: Trip", 2, "");
  mh_test_put (b, "[Gmail]/All Mail", "g3", NULL, "Books", 3, NULL);
}

/* Arrives later: a reply joining a conversation, the missing older start
 * of another (a day earlier, so its thread dir gets a new name), the
 * missing link between two (they become one), and a new one. */
static void
std_mail_later (void)
{
  const char *a = mh_test_alice_dir (), *b = mh_test_bob_dir ();

  mh_test_put (a, NULL, "a5", "a1 a2 a3 a4", "Re: Quarterly report", 11, "");
  mh_test_put (a, NULL, "f1", NULL, "Old matter", 0, NULL);
  mh_test_put (a, NULL, "h1", NULL, "Brand new", 13, NULL);
  mh_test_put (a, "Sent", "m2", "m1", "Re: Budget 2024", 15, "S");
  mh_test_put (b, "[Gmail]/All Mail", "g4", "g1 g2", "Re: Trip", 4, NULL);
}

static const char *const std_ids_alice =
    "a1 a2 a3 a4 b1 b2 b3 both1 both2 c1 e1 f2 m1 m3";
static const char *const std_ids_alice_later =
    "a1 a2 a3 a4 a5 b1 b2 b3 both1 both2 c1 e1 f1 f2 h1 m1 m2 m3";

/* ---- fixture ----------------------------------------------------------- */
static void
setup (Fixture *fixture, gconstpointer data)
{
  work_dir = mh_test_work_dir_new ("test-run-XXXXXX");
  mh_test_mail_reset ();
}

static void
teardown (Fixture *fixture, gconstpointer data)
{
  mh_test_work_dir_clear (&work_dir);
}

/* ---- 1. profiles and latest N ------------------------------------------ */

static void
test_profiles_latest (Fixture *fixture, gconstpointer data)
{
  const char *a = mh_test_alice_dir (), *b = mh_test_bob_dir ();
  g_autofree char *out1 = mh_test_new_dir (work_dir, "all");
  g_autofree char *out2 = mh_test_new_dir (work_dir, "latest3");
  g_autofree char *out3 = mh_test_new_dir (work_dir, "n2");
  g_autofree char *cfg_all = write_config ("all.ini", out1,
                                           ACC_ALICE_OUTLOOK | ACC_BOB_GMAIL,
                                           "all", 0);
  g_autofree char *cfg_3 = write_config ("latest3.ini", out2,
                                         ACC_ALICE_OUTLOOK | ACC_BOB_GMAIL,
                                         "3", 0);
  g_autofree char *alice1 = g_build_filename (out1, "alice", NULL);
  g_autofree char *bob1 = g_build_filename (out1, "bob", NULL);
  g_autofree char *alice2 = g_build_filename (out2, "alice", NULL);
  g_autofree char *bob2 = g_build_filename (out2, "bob", NULL);
  g_autofree char *alice3 = g_build_filename (out3, "alice", NULL);
  g_autofree char *bob3 = g_build_filename (out3, "bob", NULL);
  g_autofree char *ids = NULL;
  g_autofree char *mbs = NULL;
  MhTestRun r;

  /* Dates run against the UIDs: "newest" must mean the highest UIDs,
   * the last to arrive, whatever the Date headers say. */
  for (guint i = 1; i <= 5; i++)
    {
      g_autofree char *id = g_strdup_printf ("in%u", i);

      mh_test_put (a, NULL, id, NULL, id, 100 - i, i % 2 ? "S" : "");
    }
  for (guint i = 1; i <= 4; i++)
    {
      g_autofree char *id = g_strdup_printf ("sent%u", i);

      mh_test_put (a, "Sent", id, NULL, id, 100 - i, "S");
    }
  mh_test_put (a, "Drafts", "draft1", NULL, "draft", 1, "D");
  mh_test_put (a, "Trash", "trash1", NULL, "trash", 1, "S");
  mh_test_put (a, "Junk", "junk1", NULL, "junk", 1, NULL);
  mh_test_put (b, NULL, "bobinbox1", NULL, "only in INBOX", 1, "");
  mh_test_put (b, NULL, "bobinbox2", NULL, "only in INBOX", 2, NULL);
  for (guint i = 1; i <= 5; i++)
    {
      g_autofree char *id = g_strdup_printf ("all%u", i);

      mh_test_put (b, "[Gmail]/All Mail", id, NULL, id, 100 - i, "");
    }
  mh_test_put (b, "[Gmail]/Drafts", "bobdraft", NULL, "draft", 1, NULL);

  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg_all, "--json", "--progress=never", NULL });
  mbs = mh_test_summary_mailboxes (r.out, "alice");
  g_assert_cmpstr (mbs, ==, "INBOX|Sent");
  g_clear_pointer (&mbs, g_free);
  mbs = mh_test_summary_mailboxes (r.out, "bob");
  g_assert_cmpstr (mbs, ==, "[Gmail]/All Mail");
  g_assert_cmpint (num (r.out, "alice", "selected"), ==, 9);
  g_assert_cmpint (num (r.out, "bob", "selected"), ==, 5);
  ids = mh_test_archive_ids (alice1);
  g_assert_cmpstr (ids, ==, "in1 in2 in3 in4 in5 sent1 sent2 sent3 sent4");
  g_clear_pointer (&ids, g_free);
  ids = mh_test_archive_ids (bob1);
  g_assert_cmpstr (ids, ==, "all1 all2 all3 all4 all5");
  g_clear_pointer (&ids, g_free);
  mh_test_run_clear (&r);

  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg_3, "--json", "--progress=never", NULL });
  g_assert_cmpint (num (r.out, "alice", "selected"), ==, 6);
  g_assert_cmpint (num (r.out, "alice", "fetched"), ==, 6);
  g_assert_cmpint (num (r.out, "bob", "fetched"), ==, 3);
  ids = mh_test_archive_ids (alice2);
  g_assert_cmpstr (ids, ==, "in3 in4 in5 sent2 sent3 sent4");
  g_clear_pointer (&ids, g_free);
  ids = mh_test_archive_ids (bob2);
  g_assert_cmpstr (ids, ==, "all3 all4 all5");
  g_clear_pointer (&ids, g_free);
  mh_test_run_clear (&r);

  /* -n wins over the config, -o over its output. */
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg_3, "-n", "2", "-o", out3, "--json",
      "--progress=never", NULL });
  ids = mh_test_archive_ids (alice3);
  g_assert_cmpstr (ids, ==, "in4 in5 sent3 sent4");
  g_clear_pointer (&ids, g_free);
  ids = mh_test_archive_ids (bob3);
  g_assert_cmpstr (ids, ==, "all4 all5");
  g_clear_pointer (&ids, g_free);
  mh_test_run_clear (&r);

  /* The same archive grown with -n 4: only what is missing is fetched. */
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg_3, "-n", "4", "-o", out3, "--json",
      "--progress=never", NULL });
  g_assert_cmpint (num (r.out, "alice", "fetched"), ==, 4);
  g_assert_cmpint (num (r.out, "bob", "fetched"), ==, 2);
  ids = mh_test_archive_ids (alice3);
  g_assert_cmpstr (ids, ==, "in2 in3 in4 in5 sent1 sent2 sent3 sent4");
  g_clear_pointer (&ids, g_free);
  mh_test_run_clear (&r);
  mh_test_assert_clean (out3);
}

/* ---- 2. a second run with nothing new ---------------------------------- */

static GBytes *
read_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *data = NULL;
  gsize len = 0;

  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

static gint64
mtime_ns (const char *path)
{
  struct stat st;

  g_assert_cmpint (stat (path, &st), ==, 0);
  return (gint64) st.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000)
         + st.st_mtim.tv_nsec;
}

static void
test_rerun_unchanged (Fixture *fixture, gconstpointer data)
{
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = write_config ("c.ini", out,
                                       ACC_ALICE_OUTLOOK | ACC_BOB_GMAIL,
                                       NULL, 0);
  g_autofree char *db_a = g_build_filename (out, "alice", "state.sqlite",
                                            NULL);
  g_autofree char *db_b = g_build_filename (out, "bob", "state.sqlite", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GBytes) db_a1 = NULL;
  g_autoptr(GBytes) db_b1 = NULL;
  g_autoptr(GBytes) db_a2 = NULL;
  g_autoptr(GBytes) db_b2 = NULL;
  gint64 mtime_a1, mtime_b1;
  MhTestRun r;

  std_mail ();
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "-v", "--progress=never", NULL });
  /* The trace shows the fetches, so their absence below means
   * something. */
  g_assert_nonnull (strstr (r.err, "BODY.PEEK[]"));
  g_assert_cmpint (num (r.out, "alice", "body_fetch_commands"), >,
                   0);
  g_assert_cmpint (num (r.out, "alice", "added"), ==, 14);
  g_assert_cmpint (num (r.out, "alice", "duplicates"), ==, 2);
  mh_test_run_clear (&r);
  /* With times: a file rewritten with the same bytes counts as changed,
   * since backup and sync tools would copy it again. */
  before = mh_test_listing_full (out, TRUE);
  db_a1 = read_bytes (db_a);
  db_b1 = read_bytes (db_b);
  mtime_a1 = mtime_ns (db_a);
  mtime_b1 = mtime_ns (db_b);

  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "-v", "--progress=never", NULL });
  g_assert_cmpint (num (r.out, "alice", "body_fetch_commands"), ==,
                   0);
  g_assert_cmpint (num (r.out, "bob", "body_fetch_commands"), ==, 0);
  g_assert_cmpint (num (r.out, "alice", "fetched"), ==, 0);
  g_assert_cmpint (num (r.out, "alice", "messages"), ==, 14);
  g_assert_null (strstr (r.err, "BODY.PEEK"));
  g_assert_nonnull (strstr (r.err, "EXAMINE"));
  mh_test_run_clear (&r);

  after = mh_test_listing_full (out, TRUE);
  mh_test_assert_same_listing (after, before);
  /* Not even the store changes: a run that finds nothing new writes no
   * row, and SQLite's WAL is folded back into an identical file. */
  db_a2 = read_bytes (db_a);
  db_b2 = read_bytes (db_b);
  g_assert_true (g_bytes_equal (db_a1, db_a2));
  g_assert_true (g_bytes_equal (db_b1, db_b2));
  g_assert_cmpint (mtime_ns (db_a), ==, mtime_a1);
  g_assert_cmpint (mtime_ns (db_b), ==, mtime_b1);
  mh_test_assert_clean (out);
}

/* ---- 3. mail arriving between runs ------------------------------------- */

static void
assert_thread (const char *acct_dir, const char *id, const char *want)
{
  g_autofree char *dir = mh_test_thread_dir_of (acct_dir, id);

  g_assert_cmpstr (dir, ==, want);
}

static void
test_mail_between_runs (Fixture *fixture, gconstpointer data)
{
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *fresh = mh_test_new_dir (work_dir, "fresh");
  g_autofree char *cfg = write_config ("c.ini", out,
                                       ACC_ALICE_OUTLOOK | ACC_BOB_GMAIL,
                                       NULL, 0);
  g_autofree char *acct = g_build_filename (out, "alice", NULL);
  g_autofree char *bob = g_build_filename (out, "bob", NULL);
  g_autofree char *a_dir1 = NULL, *a_dir2 = NULL;
  g_autofree char *b_dir1 = NULL, *b_dir2 = NULL;
  g_autofree char *f_dir = NULL, *f1_dir = NULL;
  g_autofree char *m_dir1 = NULL, *m3_dir1 = NULL;
  g_autofree char *g_dir1 = NULL, *g_dir2 = NULL;
  g_autofree char *on_disk = NULL, *listed = NULL;
  g_autofree char *l_inc = NULL, *l_fresh = NULL;
  g_autofree char *ids = NULL;
  MhTestRun r;

  std_mail ();
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--progress=never", NULL });
  mh_test_run_clear (&r);
  a_dir1 = mh_test_thread_dir_of (acct, "a1");
  b_dir1 = mh_test_thread_dir_of (acct, "b1");
  g_dir1 = mh_test_thread_dir_of (bob, "g1");
  g_assert_nonnull (a_dir1);
  f_dir = mh_test_thread_dir_of (acct, "f2");
  g_assert_true (g_str_has_prefix (f_dir, "2024-02-29_"));
  assert_thread (acct, "a4", a_dir1);
  assert_thread (acct, "f1", NULL);
  m_dir1 = mh_test_thread_dir_of (acct, "m1");
  m3_dir1 = mh_test_thread_dir_of (acct, "m3");
  g_assert_cmpstr (m_dir1, !=, m3_dir1);

  std_mail_later ();
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (num (r.out, "alice", "added"), ==, 4);
  g_assert_cmpint (num (r.out, "bob", "added"), ==, 1);
  mh_test_run_clear (&r);

  /* The reply joins its conversation's dir, which keeps its name. */
  a_dir2 = mh_test_thread_dir_of (acct, "a5");
  g_assert_cmpstr (a_dir2, ==, a_dir1);
  assert_thread (acct, "a1", a_dir1);
  b_dir2 = mh_test_thread_dir_of (acct, "b1");
  g_assert_cmpstr (b_dir2, ==, b_dir1);
  g_dir2 = mh_test_thread_dir_of (bob, "g4");
  g_assert_cmpstr (g_dir2, ==, g_dir1);
  /* The older start of f joins f2 in one conversation, whose dir is
   * named after its first day now; the old dir is gone. */
  f1_dir = mh_test_thread_dir_of (acct, "f1");
  g_assert_true (g_str_has_prefix (f1_dir, "2024-02-28_"));
  assert_thread (acct, "f2", f1_dir);
  {
    g_autofree char *old = g_build_filename (acct, "threads", f_dir, NULL);

    g_assert_false (g_file_test (old, G_FILE_TEST_EXISTS));
  }
  /* m2 links m1 and m3: one conversation in m1's dir, m3's is gone. */
  assert_thread (acct, "m1", m_dir1);
  assert_thread (acct, "m2", m_dir1);
  assert_thread (acct, "m3", m_dir1);
  {
    g_autofree char *old = g_build_filename (acct, "threads", m3_dir1,
                                             NULL);

    g_assert_false (g_file_test (old, G_FILE_TEST_EXISTS));
  }
  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, std_ids_alice_later);
  /* No stale dir: exactly the conversations threads.json lists. */
  on_disk = mh_test_thread_dirs_on_disk (acct);
  listed = mh_test_thread_dirs_listed (acct);
  g_assert_cmpstr (on_disk, ==, listed);
  mh_test_assert_clean (out);

  /* And the archive is the one a single run of all the mail makes. */
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "-o", fresh, "--progress=never", NULL });
  mh_test_run_clear (&r);
  l_inc = mh_test_listing (out);
  l_fresh = mh_test_listing (fresh);
  mh_test_assert_same_listing (l_inc, l_fresh);
}

/* ---- 4. runs killed at many points ------------------------------------- */

typedef struct {
  const char *kill_at;
  gboolean later;       /* killed while adding std_mail_later() */
} KillCase;

/* Runs into a copy of @base (or a fresh dir), killed at @kc, then again
 * without the hook; the archive must equal @want. */
static void
kill_and_resume (const char *cfg, const char *base, const KillCase *kc,
                 guint n, const char *want)
{
  g_autofree char *name = g_strdup_printf ("kill%u", n);
  g_autofree char *out = g_build_filename (work_dir, name, NULL);
  g_autofree char *got = NULL;
  g_autofree char *ids = NULL;
  g_autofree char *acct = g_build_filename (out, "alice", NULL);
  MhTestRun r;

  g_test_message ("killed at %s%s", kc->kill_at,
                  kc->later ? " while adding new mail" : "");
  if (base != NULL)
    mh_test_copy_tree (base, out);
  else
    g_assert_cmpint (g_mkdir (out, 0755), ==, 0);
  mh_test_run (&r, kc->kill_at, (const char *const[]) {
      "run", "-c", cfg, "-o", out, "--progress=never", NULL });
  /* The kill point must have been reached, or this case proves
   * nothing. */
  if (r.signal != SIGKILL)
    g_test_message ("status %d, stderr: %s", r.status, r.err);
  g_assert_cmpint (r.signal, ==, SIGKILL);
  mh_test_run_clear (&r);

  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "-o", out, "--json", "--progress=never", NULL });
  g_assert_cmpint (num (r.out, "alice", "failed"), ==, 0);
  mh_test_run_clear (&r);
  got = mh_test_listing (out);
  mh_test_assert_same_listing (got, want);
  mh_test_assert_clean (out);
  /* Listings equal, but say it plainly: every message once. */
  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, kc->later ? std_ids_alice_later
                                      : std_ids_alice);
}

static void
test_killed_runs (Fixture *fixture, gconstpointer data)
{
  /* Kill points: "fetching" (a body half received), "written" (a message
   * dir written, not recorded), "recorded" (recorded, maybe not
   * committed), "synced" (a mailbox committed), "finishing" (all
   * mailboxes done, nothing placed), "placed" (a message dir moved into
   * its thread dir), "json-written" (a thread.json or threads.json
   * written under its temporary name), "location-written" (a
   * message.json listing one more location, not yet renamed). */
  static const KillCase cases[] = {
    { "fetching:1", FALSE },
    { "fetching:6", FALSE },
    { "written:1", FALSE },
    { "recorded:4", FALSE },
    { "synced:1", FALSE },
    { "finishing:1", FALSE },
    { "placed:1", FALSE },
    { "placed:7", FALSE },
    { "json-written:2", FALSE },
    { "location-written:1", FALSE },
    { "location-written:2", FALSE },
    /* alice is done, bob (the second account) is killed. */
    { "recorded:14", FALSE },
    { "finishing:2", FALSE },
    { "placed:15", FALSE },
    { "fetching:2", TRUE },
    { "written:2", TRUE },
    { "recorded:3", TRUE },
    { "finishing:1", TRUE },
    { "placed:1", TRUE },
    { "placed:2", TRUE },
    { "placed:3", TRUE },
    { "placed:4", TRUE },
    { "placed:6", TRUE },
    { "json-written:1", TRUE },
    { "json-written:4", TRUE },
  };
  g_autofree char *ref1 = g_build_filename (work_dir, "ref1", NULL);
  g_autofree char *ref2 = g_build_filename (work_dir, "ref2", NULL);
  g_autofree char *cfg = write_config ("c.ini", ref1,
                                       ACC_ALICE_OUTLOOK | ACC_BOB_GMAIL,
                                       NULL, 0);
  g_autofree char *want1 = NULL;
  g_autofree char *want2 = NULL;
  guint threads;
  MhTestRun r;

  std_mail ();
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  threads = (guint) num (r.out, "alice", "threads");
  mh_test_run_clear (&r);
  want1 = mh_test_listing (ref1);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    if (!cases[i].later)
      kill_and_resume (cfg, NULL, &cases[i], i, want1);
  /* alice's finish writes each thread.json, then threads.json, then
   * index.html. */
  for (guint i = 1; i <= 2; i++)
    {
      g_autofree char *at = g_strdup_printf ("json-written:%u", threads + i);
      KillCase kc = { at, FALSE };

      kill_and_resume (cfg, NULL, &kc, 100 + i, want1);
    }

  std_mail_later ();
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "-o", ref2, "--progress=never", NULL });
  mh_test_run_clear (&r);
  want2 = mh_test_listing (ref2);
  g_assert_cmpstr (want2, !=, want1);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    if (cases[i].later)
      kill_and_resume (cfg, ref1, &cases[i], i, want2);
}

/* ---- 5. the server's flags stay as they are ---------------------------- */

static void
assert_read_only_trace (const char *err)
{
  g_auto(GStrv) lines = g_strsplit (err, "\n", -1);
  guint sent = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *c = strstr (lines[i], " C: ");

      if (c == NULL)
        continue;
      sent++;
      g_assert_null (strstr (c, " SELECT "));
      g_assert_null (strstr (c, " STORE "));
      g_assert_null (strstr (c, "EXPUNGE"));
      g_assert_null (strstr (c, " COPY "));
      g_assert_null (strstr (c, " MOVE "));
      g_assert_null (strstr (c, "BODY["));
      g_assert_null (strstr (c, "RFC822 "));
    }
  g_assert_cmpuint (sent, >, 0);
}

static void
test_flags_unchanged (Fixture *fixture, gconstpointer data)
{
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = write_config ("c.ini", out,
                                       ACC_ALICE_OUTLOOK | ACC_BOB_GMAIL,
                                       NULL, 0);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  MhTestRun r;

  std_mail ();
  before = mh_test_server_flags ();
  /* Unseen messages in cur/ and in new/: a FETCH of BODY[] without
   * .PEEK would mark them \Seen. */
  g_assert_nonnull (strstr (before, ".mh \n"));
  g_assert_nonnull (strstr (before, ".mh S\n"));
  g_assert_nonnull (strstr (before, ".mh FS\n"));

  for (guint i = 0; i < 2; i++)
    {
      mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
          "run", "-c", cfg, "-v", "--progress=never", NULL });
      assert_read_only_trace (r.err);
      mh_test_run_clear (&r);
      after = mh_test_server_flags ();
      g_assert_cmpstr (after, ==, before);
      g_clear_pointer (&after, g_free);
    }

  std_mail_later ();
  g_clear_pointer (&before, g_free);
  before = mh_test_server_flags ();
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "-v", "--progress=never", NULL });
  assert_read_only_trace (r.err);
  mh_test_run_clear (&r);
  after = mh_test_server_flags ();
  g_assert_cmpstr (after, ==, before);
}

/* ---- 6. the connection cut inside a FETCH ------------------------------ */

static void
test_cut_mid_fetch (Fixture *fixture, gconstpointer data)
{
  const char *a = mh_test_alice_dir ();
  g_autofree char *proxy_py = g_build_filename (mh_test_env ("MH_SOURCE_ROOT"),
                                                "scripts", "delay-proxy.py",
                                                NULL);
  g_autofree char *target = g_strdup_printf (
      "127.0.0.1:%s", mh_test_env ("MH_TEST_IMAPS_PORT"));
  g_autofree char *ref = mh_test_new_dir (work_dir, "ref");
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg_ref = write_config ("ref.ini", ref, ACC_ALICE_OUTLOOK,
                                           NULL, 0);
  g_autofree char *cfg = NULL;
  g_autofree char *big = NULL;
  g_autofree char *line = NULL;
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  g_autoptr(GSubprocess) proxy = NULL;
  g_autoptr(GDataInputStream) in = NULL;
  g_autoptr(GError) error = NULL;
  guint64 port = 0;
  MhTestRun r;

  /* The big message comes first: what precedes its body (TLS handshake,
   * login, LIST, EXAMINE, SEARCH) is a few kB, so a cut after 150 kB of
   * the server's bytes lands inside its 300 kB body. */
  big = mh_test_mail_text ("big1", NULL, "Large scan", 1,
                           "Scanner <s@example.org>", 300 * 1024, TRUE);
  mh_test_deliver (a, NULL, big, "");
  for (guint i = 1; i <= 8; i++)
    {
      g_autofree char *id = g_strdup_printf ("small%u", i);

      mh_test_put (a, i % 2 ? NULL : "Sent", id, i > 1 ? "small1" : NULL,
                   "Small talk", 1 + i, i % 3 ? "S" : NULL);
    }

  proxy = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                            "python3", proxy_py, "--target", target,
                            "--delay-ms", "0", "--cut-after-bytes", "150000",
                            "--max-seconds", "300", NULL);
  g_assert_no_error (error);
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proxy));
  line = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_ascii_string_to_unsigned (g_strstrip (line), 10, 1,
                                             65535, &port, NULL));
  cfg = write_config ("c.ini", out, ACC_ALICE_OUTLOOK, NULL, (guint) port);

  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_test_message ("through the proxy: %" G_GINT64_FORMAT " reconnects, %"
                  G_GINT64_FORMAT " bytes",
                  num (r.out, "alice", "reconnects"),
                  num (r.out, "alice", "bytes_received"));
  g_assert_cmpint (num (r.out, "alice", "reconnects"), >, 0);
  g_assert_cmpint (num (r.out, "alice", "added"), ==, 9);
  g_assert_cmpint (num (r.out, "alice", "failed"), ==, 0);
  /* The big body came once whole and once in part: what came before it
   * is a few kB, so 50 kB more than one copy means the cut was inside
   * it. */
  g_assert_cmpint (num (r.out, "alice", "bytes_received"), >,
                   300 * 1024 + 50000);
  mh_test_run_clear (&r);
  g_subprocess_force_exit (proxy);

  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg_ref, "--json", "--progress=never", NULL });
  g_assert_cmpint (num (r.out, "alice", "reconnects"), ==, 0);
  mh_test_run_clear (&r);
  want = mh_test_listing (ref);
  got = mh_test_listing (out);
  mh_test_assert_same_listing (got, want);
  mh_test_assert_clean (out);
}

/* ---- 7. a wrong password ----------------------------------------------- */

static void
test_wrong_password (Fixture *fixture, gconstpointer data)
{
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = write_config ("c.ini", out,
                                       ACC_ALICE_OUTLOOK | ACC_BOB_WRONG,
                                       NULL, 0);
  g_autofree char *alice = g_build_filename (out, "alice", NULL);
  g_autofree char *ids = NULL;
  g_autoptr(GRegex) re = NULL;
  MhTestRun r;

  std_mail ();
  mh_test_run_expect (&r, 1, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  /* A line naming the account and saying what failed. */
  re = g_regex_new ("^mailharvest: bob: .*authentication .*failed",
                    G_REGEX_MULTILINE | G_REGEX_CASELESS, 0, NULL);
  if (!g_regex_match (re, r.err, 0, NULL))
    g_test_message ("stderr: %s", r.err);
  g_assert_true (g_regex_match (re, r.err, 0, NULL));
  g_assert_null (strstr (r.err, MH_TEST_WRONG_PASSWORD));
  g_assert_null (strstr (r.out, MH_TEST_WRONG_PASSWORD));
  g_assert_false (num (r.out, "bob", "ok"));
  g_assert_true (num (r.out, "alice", "ok"));
  g_assert_cmpint (num (r.out, "alice", "messages"), ==, 14);
  mh_test_run_clear (&r);
  ids = mh_test_archive_ids (alice);
  g_assert_cmpstr (ids, ==, std_ids_alice);
  mh_test_assert_clean (out);
}

/* ---- 8. the disk fills up --------------------------------------------- */

/* A message dir cannot be created for want of space: the run says the
 * disk is full and stops that account instead of failing every message
 * after it one by one; the next run, with space again, ends with the
 * archive an undisturbed run makes. */
static void
test_disk_full (Fixture *fixture, gconstpointer data)
{
  g_autofree char *ref = mh_test_new_dir (work_dir, "ref");
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = write_config ("c.ini", ref, ACC_ALICE_OUTLOOK,
                                       NULL, 0);
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  g_autoptr(GRegex) re = NULL;
  MhTestRun r;

  std_mail ();
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--progress=never", NULL });
  mh_test_run_clear (&r);
  want = mh_test_listing (ref);

  g_setenv ("MH_DEBUG_FAIL_AT", "disk-full:3", TRUE);
  mh_test_run_expect (&r, 1, NULL, (const char *const[]) {
      "run", "-c", cfg, "-o", out, "--json", "--progress=never", NULL });
  g_unsetenv ("MH_DEBUG_FAIL_AT");
  re = g_regex_new ("^mailharvest: alice: .*stopped: the disk is full",
                    G_REGEX_MULTILINE, 0, NULL);
  if (!g_regex_match (re, r.err, 0, NULL))
    g_test_message ("stderr: %s", r.err);
  g_assert_true (g_regex_match (re, r.err, 0, NULL));
  g_assert_false (num (r.out, "alice", "ok"));
  /* The one message that met the full disk, not every one after it. */
  g_assert_cmpint (num (r.out, "alice", "failed"), ==, 1);
  mh_test_run_clear (&r);

  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "-o", out, "--json", "--progress=never", NULL });
  g_assert_cmpint (num (r.out, "alice", "failed"), ==, 0);
  mh_test_run_clear (&r);
  got = mh_test_listing (out);
  mh_test_assert_same_listing (got, want);
  mh_test_assert_clean (out);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/run/profiles-latest", Fixture, NULL, setup,
              test_profiles_latest, teardown);
  g_test_add ("/run/rerun-unchanged", Fixture, NULL, setup,
              test_rerun_unchanged, teardown);
  g_test_add ("/run/mail-between-runs", Fixture, NULL, setup,
              test_mail_between_runs, teardown);
  g_test_add ("/run/killed", Fixture, NULL, setup, test_killed_runs,
              teardown);
  g_test_add ("/run/flags-unchanged", Fixture, NULL, setup,
              test_flags_unchanged, teardown);
  g_test_add ("/run/cut-mid-fetch", Fixture, NULL, setup, test_cut_mid_fetch,
              teardown);
  g_test_add ("/run/disk-full", Fixture, NULL, setup, test_disk_full,
              teardown);
  g_test_add ("/run/wrong-password", Fixture, NULL, setup, test_wrong_password,
              teardown);
  return g_test_run ();
}
