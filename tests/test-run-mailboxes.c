/* test-run-mailboxes.c - `mailharvest run` against the test Dovecot when
 * a mailbox the account names is not there (renamed or removed on the
 * server, or a typo): the others are archived all the same. */
#include <string.h>

#include "run-cases.h"

static void
test_missing_mailbox (Fixture *fixture, gconstpointer data)
{
  g_autofree char *ref = mh_test_new_dir (work_dir, "ref");
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *gone = mh_test_new_dir (work_dir, "gone");
  g_autofree char *cfg_ref = write_config ("ref.ini", ref, ACC_ALICE_INBOX,
                                           NULL, 0);
  g_autofree char *cfg = write_config ("c.ini", out, ACC_ALICE_MISSING,
                                       NULL, 0);
  g_autofree char *cfg_gone = write_config ("g.ini", gone, ACC_ALICE_GONE,
                                            NULL, 0);
  g_autofree char *gone_acct = g_build_filename (gone, "alice", "threads",
                                                 NULL);
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  MhTestRun r;

  std_mail ();
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg_ref, "--progress=never", NULL });
  mh_test_run_clear (&r);
  want = mh_test_listing (ref);

  /* INBOX is archived as if the config named only it; the account is
   * not complete (status 1), and the missing mailbox is named. */
  mh_test_run_expect (&r, 1, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  if (strstr (r.err, "mailbox \"Archive/Gone\" not found on ") == NULL)
    g_test_message ("stderr: %s", r.err);
  g_assert_nonnull (strstr (r.err, "mailbox \"Archive/Gone\" not found on "));
  g_assert_cmpint (num (r.out, "alice", "failed"), ==, 0);
  g_assert_cmpint (num (r.out, "alice", "added"), >, 0);
  mh_test_run_clear (&r);
  got = mh_test_listing (out);
  mh_test_assert_same_listing (got, want);

  /* None of its mailboxes there: the account fails and nothing is
   * archived. */
  mh_test_run_expect (&r, 1, NULL, (const char *const[]) {
      "run", "-c", cfg_gone, "--progress=never", NULL });
  g_assert_nonnull (strstr (r.err, "mailbox \"Archive/Gone\" not found on "));
  mh_test_run_clear (&r);
  if (g_file_test (gone_acct, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) d = g_dir_open (gone_acct, 0, NULL);

      g_assert_nonnull (d);
      g_assert_null (g_dir_read_name (d));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/run/missing-mailbox", Fixture, NULL, setup,
              test_missing_mailbox, teardown);
  return g_test_run ();
}
