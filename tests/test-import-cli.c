/* test-import-cli.c - `mailharvest import` as a user runs it: a missing
 * path, the hostile corpus through the command line, and usage errors. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "mailharvest/import.h"
#include "mailharvest/message.h"

#include "import-testlib.h"

static void
test_missing_path (Fixture *f, gconstpointer data)
{
  static const char *const paths[] = { "no-such-file", NULL };
  g_autoptr(GPtrArray) full = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  MhImportOptions options = { 0 };
  MhImportStats stats;

  g_ptr_array_add (full, corpus (paths[0]));
  g_ptr_array_add (full, NULL);
  options.output = f->out;
  options.account = "local";
  options.paths = (const char *const *) full->pdata;
  g_assert_false (mh_import (&options, &stats, &error));
  g_assert_nonnull (error);
  /* Nothing done: not even the output dir. */
  g_assert_false (g_file_test (f->out, G_FILE_TEST_EXISTS));
  mh_import_stats_clear (&stats);
}

/* The whole hostile corpus through the command, with a symbolic link
 * planted where one thread dir goes: no file outside OUT, the sibling
 * stays empty, and the thread dir that cannot be laid out is named. */
static void
test_hostile_cli (Fixture *f, gconstpointer data)
{
  g_autofree char *hostile = g_test_build_filename (G_TEST_DIST, "data",
                                                    "mime", "hostile", NULL);
  g_autofree char *threads = g_build_filename (f->out, "local", "threads",
                                               NULL);
  g_autofree char *trap = g_build_filename (
      threads, "2023-11-14_dotdot_fcc622e04e", NULL);
  g_autofree char *err = NULL;
  g_autofree char *list = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GDir) sib = NULL;
  const char *args[] = { "import", "-o", f->out, hostile, NULL };
  GStatBuf st;

  g_assert_cmpint (g_mkdir_with_parents (threads, 0755), ==, 0);
  g_assert_cmpint (symlink (f->sibling, trap), ==, 0);

  g_assert_cmpint (run_cli (args, &err), ==, 1);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "cannot lay out the threads: "
                                "2023-11-14_dotdot_fcc622e04e: "));
  g_assert_nonnull (strstr (err, "imported 16 messages into "));
  g_assert_nonnull (strstr (err, "1 failed"));

  /* The link is still a link and nothing went through it. */
  g_assert_cmpint (g_lstat (trap, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  sib = g_dir_open (f->sibling, 0, NULL);
  g_assert_null (g_dir_read_name (sib));
  g_assert_cmpint (g_unlink (trap), ==, 0);

  /* Then a clean run places the 16 recorded messages, every name
   * harmless (walk() checks). */
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (args, &err), ==, 0);
  g_assert_nonnull (strstr (err, "imported 0 messages into "));
  g_assert_nonnull (strstr (err, "skipped 16 already archived"));
  list = listing (f->base);
  lines = g_strsplit (list, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), >, 16 * 4);
  for (gsize i = 0; lines[i] != NULL; i++)
    g_assert_true (g_str_has_prefix (lines[i], "out/local/")
                   || strcmp (lines[i], "out/") == 0
                   || strcmp (lines[i], "sibling/") == 0);
}

static void
test_cli_usage (Fixture *f, gconstpointer data)
{
  g_autofree char *mbox = corpus ("mboxrd.mbox");
  g_autofree char *missing = corpus ("no-such-file");
  g_autofree char *err = NULL;
  const char *none[] = { "import", "-o", f->out, NULL };
  const char *bad_option[] = { "import", "--frobnicate", mbox, NULL };
  const char *absent[] = { "import", "-o", f->out, missing, NULL };
  const char *ok[] = { "import", "-o", f->out, "--account", "me/../x",
                       mbox, NULL };
  g_autofree char *account = g_build_filename (f->out, "x", NULL);

  g_assert_cmpint (run_cli (none, NULL), ==, 2);
  g_assert_cmpint (run_cli (bad_option, NULL), ==, 2);
  g_assert_cmpint (run_cli (absent, &err), ==, 2);
  g_assert_nonnull (strstr (err, "no-such-file"));
  g_assert_false (g_file_test (f->out, G_FILE_TEST_EXISTS));
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_cli (ok, &err), ==, 0);
  /* The account name is made safe like any other name. */
  g_assert_true (g_file_test (account, G_FILE_TEST_IS_DIR));
  g_assert_nonnull (strstr (err, "/x (0 attachments, 0 warnings)\n"));
  /* Three unrelated messages: three conversations. */
  g_assert_true (g_str_has_suffix (err, "/x: 3 conversations, 3 messages\n"));
  g_assert_true (g_str_has_prefix (err, "imported 3 messages into "));
}

/* `mailharvest threads -o OUT -a ACCOUNT`: its status, stdout and
 * stderr. */
static int
threads_cli (Fixture *f, const char *account, char **out, char **err)
{
  const char *argv[] = { binary (), "threads", "-o", f->out, "-a", account,
                         NULL };
  g_autoptr(GError) error = NULL;
  int status = -1;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
                               G_SPAWN_DEFAULT, NULL, NULL, out, err,
                               &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

/* Writes OUT/ACCOUNT/threads.json. */
static void
put_threads_json (Fixture *f, const char *account, const char *text)
{
  g_autofree char *dir = g_build_filename (f->out, account, NULL);
  g_autofree char *path = g_build_filename (dir, "threads.json", NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

/* `mailharvest threads` prints each conversation of threads.json as a
 * tree, reading the file one conversation at a time (a large archive's
 * is tens of MB): strings with brackets, commas and escapes are taken
 * whole, and a file that is not a list of conversations is an error
 * that names it. */
static void
test_threads_cli (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = corpus ("threads");
  const char *imp[] = { "import", "-o", f->out, "--account", "local", dir,
                        NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_cmpint (run_cli (imp, NULL), ==, 0);
  g_assert_cmpint (threads_cli (f, "local", &out, &err), ==, 0);
  g_assert_true (g_str_has_prefix (out, "local: 7 conversations\n"));
  g_assert_nonnull (strstr (out, "\nProject Zeta budget (2)\n"
                                 "  2024-03-01 09:00  alice@example.com  "
                                 "Project Zeta budget\n"
                                 "    2024-03-20 09:00  bob@example.org  "
                                 "Re: Project Zeta budget\n"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  put_threads_json (f, "hand",
      "[\n  {\"subject\": \"a, [b] {c} \\\"d\\\" \\\\ ]\",\n"
      "   \"messages\": [\n"
      "    {\"date\": \"2026-01-05T10:00:00Z\", \"from\": \"x}, {y\",\n"
      "     \"subject\": \"s],\", \"depth\": 0},\n"
      "    {\"date\": \"2026-01-05T11:00:00Z\", \"from\": \"z\",\n"
      "     \"subject\": \"t\", \"depth\": 1}]},\n"
      "  {\"subject\": \"second\", \"messages\": []}\n]\n");
  g_assert_cmpint (threads_cli (f, "hand", &out, &err), ==, 0);
  g_assert_cmpstr (out, ==,
                   "hand: 2 conversations\n"
                   "\na, [b] {c} \"d\" \\ ] (2)\n"
                   "  2026-01-05 10:00  x}, {y  s],\n"
                   "    2026-01-05 11:00  z  t\n"
                   "\nsecond (0)\n");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Control characters of a subject or sender (an escape sequence that
   * retitles the terminal, a bidirectional override) come out as '?'. */
  put_threads_json (f, "hostile",
      "[{\"subject\": \"hi\\u001b]0;owned\\u0007there\",\n"
      "  \"messages\": [{\"date\": \"2026-01-05T10:00:00Z\",\n"
      "    \"from\": \"ev\\u009bil\\u202e\", \"subject\": \"a\\rb\\nc\",\n"
      "    \"depth\": 0}]}]\n");
  g_assert_cmpint (threads_cli (f, "hostile", &out, &err), ==, 0);
  g_assert_cmpstr (out, ==,
                   "hostile: 1 conversations\n"
                   "\nhi?]0;owned?there (1)\n"
                   "  2026-01-05 10:00  ev?il?  a?b?c\n");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  put_threads_json (f, "broken", "[{\"subject\": \"x\", \"messages\": [");
  g_assert_cmpint (threads_cli (f, "broken", &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "broken/threads.json: not a list of "
                                 "threads"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Without -a: an account whose first run ended before threads.json
   * (a store, no list) is named as unfinished, not "no archive". */
  {
    g_autofree char *out2 = g_build_filename (f->base, "out2", NULL);
    g_autofree char *acct = g_build_filename (out2, "cut", NULL);
    g_autofree char *store = g_build_filename (acct, "state.sqlite", NULL);
    const char *all[] = { "threads", "-o", out2, NULL };

    g_assert_cmpint (g_mkdir_with_parents (acct, 0755), ==, 0);
    g_assert_cmpint (run_cli (all, &err), ==, 2);
    g_assert_nonnull (strstr (err, "threads: no archive in "));
    g_clear_pointer (&err, g_free);
    g_assert_true (g_file_set_contents (store, "", 0, NULL));
    g_assert_cmpint (run_cli (all, &err), ==, 1);
    g_assert_nonnull (strstr (err, "threads: cut has no conversations yet: "
                                   "its first run did not finish"));
  }
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0");
MH_TEST_LSAN_GLIB_SUPPRESSION;

/* --progress: a bar on stderr per mailbox, ending at 100% of each, then
 * cleared for the summary; none with "never", nor with "auto" when
 * stderr is not a terminal; a bad value is a usage error. */
static void
test_progress_cli (Fixture *f, gconstpointer data)
{
  g_autofree char *mbox = corpus ("mboxrd.mbox");
  g_autofree char *maildir = corpus ("Maildir");
  g_autofree char *out2 = g_build_filename (f->base, "out2", NULL);
  g_autofree char *err = NULL;
  const char *always[] = { "import", "--progress=always", "-o", f->out, mbox,
                           maildir, NULL };
  const char *never[] = { "import", "--progress", "never", "-o", out2, mbox,
                          maildir, NULL };
  const char *automatic[] = { "import", "-o", out2, mbox, maildir, NULL };
  const char *bad[] = { "import", "--progress=sometimes", "-o", f->out, mbox,
                        NULL };
  const char *first, *second, *third, *summary;

  g_assert_cmpint (run_cli (always, &err), ==, 0);
  /* The Maildir has a subfolder: three mailboxes. */
  first = strstr (err, "\r\033[K[1/3] mboxrd.mbox 100%, 3 messages");
  second = strstr (err, "\r\033[K[2/3] Maildir 100%, 6 messages");
  third = strstr (err, "\r\033[K[3/3] .Sent 100%, 7 messages");
  summary = strstr (err, "\r\033[Kimported 7 messages into ");
  g_assert_nonnull (first);
  g_assert_nonnull (second);
  g_assert_nonnull (third);
  g_assert_nonnull (summary);
  g_assert_true (first < second && second < third && third < summary);
  /* Nothing drawn after the summary. */
  g_assert_null (strchr (summary + 1, '\r'));
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_cli (never, &err), ==, 0);
  g_assert_null (strchr (err, '\033'));
  g_assert_true (g_str_has_prefix (err, "imported 7 messages into "));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (automatic, &err), ==, 0);
  g_assert_null (strchr (err, '\033'));
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_cli (bad, &err), ==, 2);
  g_assert_nonnull (strstr (err, "import: --progress expects auto, always "
                                 "or never"));
  g_clear_pointer (&err, g_free);

  /* A control character in a file name does not reach the terminal. */
  {
    g_autofree char *dir = g_build_filename (f->base, "esc", NULL);
    g_autofree char *named = g_build_filename (dir, "a\033]0;x.mbox", NULL);
    g_autofree char *text = NULL;
    gsize len;
    const char *esc[] = { "import", "--progress=always", "-o", f->out, dir,
                          NULL };

    g_assert_true (g_file_get_contents (mbox, &text, &len, NULL));
    g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
    g_assert_true (g_file_set_contents (named, text, (gssize) len, NULL));
    g_assert_cmpint (run_cli (esc, &err), ==, 0);
    g_assert_nonnull (strstr (err, "] a?]0;x.mbox 100%"));
    g_assert_null (strstr (err, "\033]"));
  }
}

/* A full disk stops the import, as it stops `run`: the message that met
 * it fails and the rest is not tried (each would fail the same way, or a
 * small one that still fits would get ahead of it); and the next import,
 * with space again, ends with the archive an undisturbed one makes. */
static void
test_disk_full_cli (Fixture *f, gconstpointer data)
{
  g_autofree char *mbox = corpus ("mboxrd.mbox");
  g_autofree char *maildir = corpus ("Maildir");
  g_autofree char *ref = g_build_filename (f->base, "ref", NULL);
  g_autofree char *err = NULL;
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  const char *undisturbed[] = { "import", "--progress=never", "-o", ref,
                                mbox, maildir, NULL };
  const char *args[] = { "import", "--progress=never", "-o", f->out, mbox,
                         maildir, NULL };
  g_auto(GStrv) lines = NULL;
  guint errors = 0;

  g_assert_cmpint (run_cli (undisturbed, &err), ==, 0);
  g_clear_pointer (&err, g_free);
  want = listing_files (ref);

  /* The second message dir made cannot be: which message of the mbox
   * that is depends on how the workers meet the point. */
  g_setenv ("MH_DEBUG_FAIL_AT", "disk-full:2", TRUE);
  g_assert_cmpint (run_cli (args, &err), ==, 1);
  g_unsetenv ("MH_DEBUG_FAIL_AT");
  lines = g_strsplit (err, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "mailharvest: import: "))
      errors++;
  g_test_message ("stderr: %s", err);
  /* The message, and the mbox's "stopped": nothing of the Maildir. */
  g_assert_cmpuint (errors, ==, 2);
  g_assert_true (g_regex_match_simple (
      "mboxrd\\.mbox: message [0-9]+: cannot create", err, 0, 0));
  g_assert_nonnull (strstr (err, "mboxrd.mbox: stopped: the disk is full"));
  g_assert_nonnull (strstr (err, "; 1 failed\n"));
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_cli (args, &err), ==, 0);
  got = listing_files (f->out);
  g_assert_cmpstr (got, ==, want);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  mh_message_init ();
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/import/missing-path", test_missing_path);
  ADD ("/import/hostile-cli", test_hostile_cli);
  ADD ("/import/cli-usage", test_cli_usage);
  ADD ("/import/threads-cli", test_threads_cli);
  ADD ("/import/progress-cli", test_progress_cli);
  ADD ("/import/disk-full-cli", test_disk_full_cli);
#undef ADD
  return g_test_run ();
}
