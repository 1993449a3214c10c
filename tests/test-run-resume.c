/* test-run-resume.c - `mailharvest run` stopped part way against the
 * test Dovecot: killed at every step of adding and placing a message, or
 * stopped by a full disk, and then run again, it ends with the archive
 * an undisturbed run makes. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "mailharvest/writer.h"
#include "run-cases.h"

/* ---- runs killed at many points ------------------------------------- */

/* Runs again into @out, undisturbed: no message fails, and the archive
 * is @want with nothing left in the work dirs. */
static void
resume (const char *cfg, const char *out, const char *want)
{
  g_autofree char *got = NULL;
  MhTestRun r;

  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "-o", out, "--json", "--progress=never", NULL });
  g_assert_cmpint (num (r.out, "alice", "failed"), ==, 0);
  mh_test_run_clear (&r);
  got = mh_test_listing (out);
  mh_test_assert_same_listing (got, want);
  mh_test_assert_clean (out);
}

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

  resume (cfg, out, want);
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
   * its thread dir, or a new conversation's staging dir renamed to its
   * thread dir: in this mail alice's first run has 8 such, bob's 2),
   * "json-written" (a thread.json or threads.json
   * written under its temporary name), "location-written" (a
   * message.json listing one more location, not yet renamed),
   * "lists-written" (threads.json and index.html in place, the store's
   * record of where each conversation stands in them not yet
   * committed: the next run must not copy from the new files by the old
   * record). */
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
    { "placed:9", FALSE },
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
    { "lists-written:1", FALSE },
    { "lists-written:1", TRUE },
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

/* ---- a message dir removed by hand --------------------------------- */

/* Loads the standard mail and runs @cfg undisturbed: the listing of the
 * archive in @ref, the one the runs of a test must end with. */
static char *
undisturbed (const char *cfg, const char *ref)
{
  MhTestRun r;

  std_mail ();
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--progress=never", NULL });
  mh_test_run_clear (&r);
  return mh_test_listing (ref);
}

/* Killed with every message recorded and none placed, then one message
 * dir removed from its staging dir in .incoming: the next run says so
 * and forgets that message instead of failing every run from then on,
 * and the run after fetches it again and ends with the archive an
 * undisturbed run makes. */
static void
test_lost_dir (Fixture *fixture, gconstpointer data)
{
  g_autofree char *ref = mh_test_new_dir (work_dir, "ref");
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *incoming = g_build_filename (out, "alice", ".incoming",
                                                NULL);
  g_autofree char *cfg = write_config ("c.ini", ref, ACC_ALICE_OUTLOOK,
                                       NULL, 0);
  g_autofree char *want = NULL;
  g_autoptr(GPtrArray) staged = NULL;
  const char *victim;
  g_autofree char *path = NULL;
  MhTestRun r;

  want = undisturbed (cfg, ref);

  mh_test_run (&r, "finishing:1", (const char *const[]) {
      "run", "-c", cfg, "-o", out, "--progress=never", NULL });
  g_assert_cmpint (r.signal, ==, SIGKILL);
  mh_test_run_clear (&r);
  /* One message dir, STAGE/NAME: the run names NAME. */
  staged = mh_test_staged_dirs (incoming);
  g_assert_cmpuint (staged->len, >, 0);
  path = g_build_filename (incoming, staged->pdata[0], NULL);
  victim = strchr (staged->pdata[0], '/') + 1;
  g_assert_true (mh_writer_remove_tree (AT_FDCWD, path, NULL));

  /* The account is not complete until the next run (status 1), but no
   * message failed, and the dir is named. */
  mh_test_run_expect (&r, 1, NULL, (const char *const[]) {
      "run", "-c", cfg, "-o", out, "--json", "--progress=never", NULL });
  if (strstr (r.err, victim) == NULL)
    g_test_message ("stderr: %s", r.err);
  g_assert_nonnull (strstr (r.err, victim));
  g_assert_nonnull (strstr (r.err, "missing from the archive"));
  g_assert_cmpint (num (r.out, "alice", "failed"), ==, 0);
  mh_test_run_clear (&r);

  resume (cfg, out, want);
}

/* ---- the disk fills up --------------------------------------------- */

/* The disk fills up: a message dir cannot be created (disk-full), or the
 * file a fetched body goes to (fetch-full).  The run says the disk is
 * full and stops that account instead of failing every message after it
 * one by one; the next run, with space again, ends with the archive an
 * undisturbed run makes. */
static void
test_disk_full (Fixture *fixture, gconstpointer data)
{
  /* Where the disk is full, and how many messages fail for it: a body
   * without a file is not fetched at all, so none fails. */
  static const struct {
    const char *point;
    gint64 failed;
  } points[] = { { "disk-full:3", 1 }, { "fetch-full:3", 0 },
                 /* The disk stays full: the messages the parse workers
                  * had in hand meanwhile are not done, not failed. */
                 { "disk-full:3+", 1 } };
  g_autofree char *ref = mh_test_new_dir (work_dir, "ref");
  g_autofree char *cfg = write_config ("c.ini", ref, ACC_ALICE_OUTLOOK,
                                       NULL, 0);
  g_autofree char *want = NULL;
  g_autoptr(GRegex) re = NULL;
  MhTestRun r;

  want = undisturbed (cfg, ref);
  re = g_regex_new ("^mailharvest: alice: .*stopped: the disk is full",
                    G_REGEX_MULTILINE, 0, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    {
      g_autofree char *name = g_strdup_printf ("out%u", i);
      g_autofree char *out = mh_test_new_dir (work_dir, name);

      g_test_message ("MH_DEBUG_FAIL_AT=%s", points[i].point);
      g_setenv ("MH_DEBUG_FAIL_AT", points[i].point, TRUE);
      mh_test_run_expect (&r, 1, NULL, (const char *const[]) {
          "run", "-c", cfg, "-o", out, "--json", "--progress=never", NULL });
      g_unsetenv ("MH_DEBUG_FAIL_AT");
      if (!g_regex_match (re, r.err, 0, NULL))
        g_test_message ("stderr: %s", r.err);
      g_assert_true (g_regex_match (re, r.err, 0, NULL));
      g_assert_false (num (r.out, "alice", "ok"));
      /* Not every message after the one that met the full disk. */
      g_assert_cmpint (num (r.out, "alice", "failed"), ==, points[i].failed);
      mh_test_run_clear (&r);

      resume (cfg, out, want);
    }
}

/* ---- a layout cut short, then new mail ------------------------------- */

/* Killed while the first run lays conversations out (some message dirs
 * moved into thread dirs, the store's record of it rolled back), then
 * mail arrives that renames and merges conversations, and the next run
 * must still find every message dir where the cut-short step left it:
 * none forgotten as "missing", none swept away with a thread dir that
 * no conversation uses any more, and the archive the same as two
 * undisturbed runs make. */
static void
test_killed_placing_then_later (Fixture *fixture, gconstpointer data)
{
  /* Alice's first run places 8 times (see test_killed_runs). */
  static const char *const points[] = {
    "placed:1", "placed:2", "placed:3", "placed:4", "placed:5",
    "placed:6", "placed:7", "placed:8", "lists-written:1",
  };
  g_autofree char *ref = mh_test_new_dir (work_dir, "ref");
  g_autofree char *cfg = write_config ("c.ini", ref, ACC_ALICE_OUTLOOK,
                                       NULL, 0);
  g_autofree char *want = NULL;
  char *outs[G_N_ELEMENTS (points)];
  MhTestRun r;

  g_free (undisturbed (cfg, ref));
  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    {
      g_autofree char *name = g_strdup_printf ("cut%u", i);

      outs[i] = mh_test_new_dir (work_dir, name);
      mh_test_run (&r, points[i], (const char *const[]) {
          "run", "-c", cfg, "-o", outs[i], "--progress=never", NULL });
      if (r.signal != SIGKILL)
        g_test_message ("%s: status %d, stderr: %s", points[i], r.status,
                        r.err);
      g_assert_cmpint (r.signal, ==, SIGKILL);
      mh_test_run_clear (&r);
    }

  std_mail_later ();
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--progress=never", NULL });
  mh_test_run_clear (&r);
  want = mh_test_listing (ref);
  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    {
      g_autofree char *ids = NULL;
      g_autofree char *acct = g_build_filename (outs[i], "alice", NULL);

      g_test_message ("cut short at %s, then new mail", points[i]);
      resume (cfg, outs[i], want);
      ids = mh_test_archive_ids (acct);
      g_assert_cmpstr (ids, ==, std_ids_alice_later);
      g_free (outs[i]);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/run/killed", Fixture, NULL, setup, test_killed_runs,
              teardown);
  g_test_add ("/run/disk-full", Fixture, NULL, setup, test_disk_full,
              teardown);
  g_test_add ("/run/lost-dir", Fixture, NULL, setup, test_lost_dir,
              teardown);
  g_test_add ("/run/killed-placing-then-later", Fixture, NULL, setup,
              test_killed_placing_then_later, teardown);
  return g_test_run ();
}
