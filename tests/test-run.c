/* test-run.c - `mailharvest run` as a whole process against the test
 * Dovecot (tests/dovecot/with-dovecot): profiles, latest N, re-runs that
 * change nothing, mail arriving between runs, read-only flags, a wrong
 * password and COMPRESS=DEFLATE (runs killed or failing part way are in
 * test-run-resume.c, a connection cut inside a FETCH in test-run-cut.c).
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

#include "run-cases.h"

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
  /* Dovecot follows the client's order of suites: ours puts AES-128-GCM
   * first (tls-suites.h), OpenSSL's default would get AES-256-GCM. */
  g_assert_nonnull (strstr (r.out,
                            "\"tls\" : \"TLSv1.3 TLS_AES_128_GCM_SHA256\""));
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

/* Removes the message @id from the Maildir folder @folder (NULL: INBOX)
 * of @root, as an expunge by another client would. */
static void
expunge_id (const char *root, const char *folder, const char *id)
{
  g_autofree char *needle = g_strdup_printf ("Message-ID: <%s@test.example>",
                                             id);
  guint found = 0;

  for (guint k = 0; k < 2; k++)
    {
      g_autofree char *dir = g_build_filename (
          root, folder != NULL ? folder : "", k == 0 ? "cur" : "new", NULL);
      g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
      const char *name;

      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *path = g_build_filename (dir, name, NULL);
          g_autofree char *text = NULL;

          if (g_file_get_contents (path, &text, NULL, NULL)
              && strstr (text, needle) != NULL)
            {
              g_assert_cmpint (g_unlink (path), ==, 0);
              found++;
            }
        }
    }
  g_assert_cmpuint (found, ==, 1);
}

/* The search of the tail from the archived message @id on. */
static char *
tail_search (const char *acct, const char *id)
{
  g_autoptr(JsonNode) m = mh_test_message_json (acct, id);

  return g_strdup_printf ("UID SEARCH RETURN (ALL) UID %" G_GINT64_FORMAT
                          ":*", mh_test_member_int (m, "uid"));
}

/* "latest = N" never asks for every UID: a first run asks for the newest
 * N by sequence number ("S:*"), a later one only for the tail of the
 * mailbox ("UID U:*", U the N-th highest UID archived), and then by
 * sequence number when messages were expunged from that tail. */
static void
test_latest_tail (Fixture *fixture, gconstpointer data)
{
  const char *a = mh_test_alice_dir ();
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = write_config ("tail.ini", out, ACC_ALICE_INBOX,
                                       "3", 0);
  g_autofree char *acct = g_build_filename (out, "alice", NULL);
  g_autofree char *ids = NULL;
  g_autofree char *want = NULL;
  MhTestRun r;

  for (guint i = 1; i <= 8; i++)
    {
      g_autofree char *id = g_strdup_printf ("t%u", i);

      mh_test_put (a, NULL, id, NULL, id, i, "");
    }
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "-v", "--progress=never", NULL });
  g_assert_nonnull (strstr (r.err, "UID SEARCH RETURN (ALL) 6:*"));
  g_assert_null (strstr (r.err, "UID SEARCH RETURN (ALL) ALL"));
  g_assert_cmpint (num (r.out, "alice", "fetched"), ==, 3);
  mh_test_run_clear (&r);

  /* Two new messages: the tail from t6 on names five, the newest three
   * are fetched or there. */
  mh_test_put (a, NULL, "t9", NULL, "t9", 9, "");
  mh_test_put (a, NULL, "t10", NULL, "t10", 10, "");
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "-v", "--progress=never", NULL });
  want = tail_search (acct, "t6");
  g_assert_nonnull (strstr (r.err, want));
  g_clear_pointer (&want, g_free);
  g_assert_null (strstr (r.err, "UID SEARCH RETURN (ALL) ALL"));
  g_assert_cmpint (num (r.out, "alice", "selected"), ==, 3);
  g_assert_cmpint (num (r.out, "alice", "fetched"), ==, 2);
  mh_test_run_clear (&r);
  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, "t10 t6 t7 t8 t9");
  g_clear_pointer (&ids, g_free);

  /* The three newest expunged: the tail from t8's UID on names one
   * message (t7, the highest left), so the search asks for the newest
   * three by sequence number (5:* of seven), and t5 comes in. */
  expunge_id (a, NULL, "t8");
  expunge_id (a, NULL, "t9");
  expunge_id (a, NULL, "t10");
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "-v", "--progress=never", NULL });
  want = tail_search (acct, "t8");
  g_assert_nonnull (strstr (r.err, want));
  g_assert_nonnull (strstr (r.err, "UID SEARCH RETURN (ALL) 5:*"));
  g_assert_null (strstr (r.err, "UID SEARCH RETURN (ALL) ALL"));
  g_assert_cmpint (num (r.out, "alice", "selected"), ==, 3);
  g_assert_cmpint (num (r.out, "alice", "fetched"), ==, 1);
  mh_test_run_clear (&r);
  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, "t10 t5 t6 t7 t8 t9");
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

/* COMPRESS=DEFLATE: this program's server offers it (tests/meson.build).
 * By default (auto) a run leaves it off on loopback, where it would only
 * cost CPU; with compress = yes it turns it on after login, every later
 * byte both ways goes through deflate, and the archive is exactly the
 * uncompressed run's. */
static void
test_compress (Fixture *fixture, gconstpointer data)
{
  g_autofree char *out1 = mh_test_new_dir (work_dir, "plain");
  g_autofree char *out2 = mh_test_new_dir (work_dir, "deflate");
  g_autofree char *cfg1 = write_config ("plain.ini", out1,
                                        ACC_ALICE_OUTLOOK | ACC_BOB_GMAIL,
                                        NULL, 0);
  g_autofree char *cfg2 = write_config ("deflate.ini", out2,
                                        ACC_ALICE_OUTLOOK | ACC_BOB_GMAIL
                                        | ACC_COMPRESS, NULL, 0);
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  const char *used;
  gsize at;
  MhTestRun r;

  std_mail ();
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg1, "--json", "-v", "--progress=never", NULL });
  g_assert_nonnull (strstr (r.err, "COMPRESS=DEFLATE"));
  g_assert_null (strstr (r.err, "COMPRESS DEFLATE"));
  g_assert_nonnull (strstr (r.out, "\"compressed\" : false"));
  g_assert_null (strstr (r.out, "\"compressed\" : true"));
  mh_test_run_clear (&r);

  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg2, "--json", "-v", "--progress=never", NULL });
  /* Turned on for both accounts, before the first mailbox. */
  used = strstr (r.err, "COMPRESS DEFLATE");
  g_assert_nonnull (used);
  at = (gsize) (used - r.err);
  g_assert_nonnull (strstr (r.err + at + 1, "COMPRESS DEFLATE"));
  g_assert_nonnull (strstr (r.err + at, "EXAMINE"));
  g_assert_nonnull (strstr (r.err + at, "BODY.PEEK[]"));
  g_assert_cmpint (num (r.out, "alice", "added"), ==, 14);
  g_assert_cmpint (num (r.out, "alice", "duplicates"), ==, 2);
  g_assert_null (strstr (r.out, "\"compressed\" : false"));
  g_assert_nonnull (strstr (r.out, "\"compressed\" : true"));
  mh_test_run_clear (&r);

  want = mh_test_listing (out1);
  got = mh_test_listing (out2);
  mh_test_assert_same_listing (got, want);
  mh_test_assert_clean (out2);
}

/* max_message_size: a bigger message is read past and reported as failed,
 * naming its mailbox and UID; the rest of the mailbox is archived, and a
 * run with a higher limit fetches it. */
static void
test_too_big (Fixture *fixture, gconstpointer data)
{
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *small = write_config ("small.ini", out,
                                         ACC_ALICE_OUTLOOK | ACC_SMALL_LIMIT,
                                         NULL, 0);
  g_autofree char *cfg = write_config ("c.ini", out, ACC_ALICE_OUTLOOK,
                                       NULL, 0);
  g_autofree char *alice = g_build_filename (out, "alice", NULL);
  g_autofree char *big = mh_test_mail_text ("big1", NULL, "Scans", 20,
                                            "Bob <bob@example.com>",
                                            100 * 1024, FALSE);
  g_autofree char *ids = NULL;
  g_autofree char *want = g_strconcat (std_ids_alice, NULL);
  MhTestRun r;

  std_mail ();
  mh_test_deliver (mh_test_alice_dir (), NULL, big, NULL);
  g_assert_cmpuint (strlen (big), >, 64 * 1024);
  mh_test_run_expect (&r, 1, NULL, (const char *const[]) {
      "run", "-c", small, "--json", "--progress=never", NULL });
  mh_test_assert_err_line (&r, "mailharvest: alice: error: INBOX UID "
                               "[0-9]+: the message has [0-9]+ bytes, more "
                               "than max_message_size \\(65536\\); not "
                               "fetched");
  g_assert_cmpint (num (r.out, "alice", "failed"), ==, 1);
  g_assert_cmpint (num (r.out, "alice", "added"), ==, 14);
  mh_test_run_clear (&r);
  ids = mh_test_archive_ids (alice);
  g_assert_cmpstr (ids, ==, want);
  g_clear_pointer (&ids, g_free);
  mh_test_assert_clean (out);

  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (num (r.out, "alice", "added"), ==, 1);
  g_assert_cmpint (num (r.out, "alice", "failed"), ==, 0);
  mh_test_run_clear (&r);
  ids = mh_test_archive_ids (alice);
  g_clear_pointer (&want, g_free);
  want = g_strconcat ("a1 a2 a3 a4 b1 b2 b3 big1", std_ids_alice
                      + strlen ("a1 a2 a3 a4 b1 b2 b3"), NULL);
  g_assert_cmpstr (ids, ==, want);
  mh_test_assert_clean (out);
}

static void
find_x2 (const char *dir, const char *name, gpointer data)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);
  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents (p, &text, NULL, NULL));
  if (strstr (text, "<x2@test.example>") != NULL)
    *(char **) data = g_steal_pointer (&p);
}

/* A message the real Dovecot cannot read (its file made unreadable):
 * Dovecot sends what it has of its FETCH answer, then "* BYE FETCH
 * failed: Internal error occurred" and closes.  The run asks for it
 * last, on its own, then counts it as failed: the others of its mailbox
 * are archived, and once the file is readable a run fetches it.  Before,
 * each attempt ended on it and the mailbox failed after five reconnects. */
static void
test_unreadable_message (Fixture *fixture, gconstpointer data)
{
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = write_config ("c.ini", out, ACC_ALICE_OUTLOOK, NULL,
                                       0);
  g_autofree char *alice = g_build_filename (out, "alice", NULL);
  g_autofree char *file = NULL;
  g_autofree char *ids = NULL;
  const char *a = mh_test_alice_dir ();
  MhTestRun r;

  mh_test_put (a, NULL, "x1", NULL, "First", 1, NULL);
  mh_test_put (a, NULL, "x2", NULL, "Second", 2, NULL);
  mh_test_put (a, NULL, "x3", NULL, "Third", 3, NULL);
  mh_test_walk_mail (a, 0, find_x2, &file);
  g_assert_nonnull (file);
  g_assert_cmpint (g_chmod (file, 0), ==, 0);

  mh_test_run_expect (&r, 1, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  mh_test_assert_err_line (&r, "mailharvest: alice: error: INBOX UID "
                               "[0-9]+: the server ended the session twice "
                               "while sending it \\(the server closed the "
                               "session: .*\\)");
  g_assert_cmpint (num (r.out, "alice", "added"), ==, 2);
  g_assert_cmpint (num (r.out, "alice", "failed"), ==, 1);
  /* Once in the batch, once on its own. */
  g_assert_cmpint (num (r.out, "alice", "reconnects"), ==, 2);
  mh_test_run_clear (&r);
  ids = mh_test_archive_ids (alice);
  g_assert_cmpstr (ids, ==, "x1 x3");
  g_clear_pointer (&ids, g_free);
  mh_test_assert_clean (out);

  g_assert_cmpint (g_chmod (file, 0600), ==, 0);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (num (r.out, "alice", "added"), ==, 1);
  mh_test_run_clear (&r);
  ids = mh_test_archive_ids (alice);
  g_assert_cmpstr (ids, ==, "x1 x2 x3");
  mh_test_assert_clean (out);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/run/profiles-latest", Fixture, NULL, setup,
              test_profiles_latest, teardown);
  g_test_add ("/run/latest-tail", Fixture, NULL, setup,
              test_latest_tail, teardown);
  g_test_add ("/run/rerun-unchanged", Fixture, NULL, setup,
              test_rerun_unchanged, teardown);
  g_test_add ("/run/mail-between-runs", Fixture, NULL, setup,
              test_mail_between_runs, teardown);
  g_test_add ("/run/flags-unchanged", Fixture, NULL, setup,
              test_flags_unchanged, teardown);
  g_test_add ("/run/wrong-password", Fixture, NULL, setup, test_wrong_password,
              teardown);
  g_test_add ("/run/compress", Fixture, NULL, setup, test_compress, teardown);
  g_test_add ("/run/too-big", Fixture, NULL, setup, test_too_big, teardown);
  g_test_add ("/run/unreadable-message", Fixture, NULL, setup,
              test_unreadable_message, teardown);
  return g_test_run ();
}
