/* test-run-gmail-faults.c - `mailharvest run` against the scripted Gmail
 * server of gmail-server.h misbehaving: throttling, messages it will not
 * send, sessions it cannot serve, and connections cut now and then.
 * Each run still ends with every message it could get, and fails only
 * what it could not, by name; the budgets count failures in a row.
 */
#include "gmail-testlib.h"

/* ---- (a) a throttled body FETCH ---------------------------------------- */

static void
test_gmail_throttled (Fixture *fixture, gconstpointer data)
{
  g_autofree char *ref = mh_test_new_dir (work_dir, "ref");
  g_autofree char *cfg_ref = gmail_config ("ref.ini", ref, fixture->server);
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  g_autofree char *ids = NULL;
  g_auto(GStrv) cmds = NULL;
  MhTestRun r;

  gmail_mail (fixture->server, 7, 10, GM_ID1);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg_ref, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "reconnects"), ==, 0);
  mh_test_run_clear (&r);
  g_strfreev (gm_server_take_commands (fixture->server));

  gm_server_set_session_fault (fixture->server, GM_THROTTLE_FETCHES, 1);
  run_gm (fixture, 0, &r);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "reconnects"), ==, 1);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 3);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "failed"), ==, 0);
  /* The wait came from the server's hint, not from the reconnect
   * backoff. */
  g_assert_nonnull (strstr (r.err, "waiting as the server asks"));
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (fixture->server);
  /* The throttled FETCH and the one after the wait. */
  g_assert_cmpuint (check_commands (fixture->server, cmds), ==, 2);
  g_assert_cmpuint (gm_server_count (cmds, " LOGIN ")
                    + gm_server_count (cmds, " AUTHENTICATE "), ==, 2);

  ids = mh_test_archive_ids (fixture->acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
  want = mh_test_listing (ref);
  got = mh_test_listing (fixture->out);
  mh_test_assert_same_listing (got, want);
  mh_test_assert_clean (fixture->out);
}

/* A server that throttles every body FETCH: the mailbox fails after a
 * bounded number of waits, the run ends with status 1 instead of
 * hanging, and the next run completes the archive. */
static void
test_gmail_throttled_always (Fixture *fixture, gconstpointer data)
{
  g_autofree char *ids = NULL;
  g_auto(GStrv) cmds = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *summary;
  guint fetches;
  MhTestRun r;

  gmail_mail (fixture->server, 7, 10, GM_ID1);
  gm_server_set_session_fault (fixture->server, GM_THROTTLE_FETCHES, 1000);
  run_gm (fixture, 1, &r);
  json_parser_load_from_data (parser, r.out, -1, NULL);
  summary = json_array_get_object_element (
      json_object_get_array_member (
          json_node_get_object (json_parser_get_root (parser)), "accounts"),
      0);
  g_assert_false (json_object_get_boolean_member (summary, "ok"));
  g_assert_nonnull (strstr (json_object_get_string_member (summary, "error"),
                            "throttled"));
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 0);
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (fixture->server);
  fetches = check_commands (fixture->server, cmds);
  g_assert_cmpuint (fetches, >, 1);
  g_assert_cmpuint (fetches, <=, 10);
  mh_test_assert_clean (fixture->out);

  gm_server_set_session_fault (fixture->server, GM_THROTTLE_FETCHES, 0);
  run_gm (fixture, 0, &r);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 3);
  mh_test_run_clear (&r);
  ids = mh_test_archive_ids (fixture->acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
}

/* Throttled again and again, but with messages between: every body
 * FETCH sends two messages and is then throttled.  Seven waits, more
 * than the five a mailbox waits out in a row, and the run completes. */
static void
test_gmail_throttled_between (Fixture *fixture, gconstpointer data)
{
  g_auto(GStrv) cmds = NULL;
  MhTestRun r;

  add_reports (fixture->server, 14);
  gm_server_set_session_fault (fixture->server, GM_THROTTLE_AFTER, 2);
  run_gm (fixture, 0, &r);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 14);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "failed"), ==, 0);
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (fixture->server);
  g_assert_cmpuint (check_commands (fixture->server, cmds), ==, 7);
  g_assert_cmpuint (count_messages (fixture->acct), ==, 14);
  mh_test_assert_clean (fixture->out);
}

/* ---- (b) messages the server will not send ---------------------------- */

/* Gmail answers "NO Some messages could not be FETCHed (Failure)" when it
 * cannot read a message of the set, after sending the others; a server
 * may also leave a message out of an OK answer.  Either is a failed
 * message named by UID (each refused one asked for once more on its
 * own), not a failed mailbox, and not a silent skip; the next run, once
 * the server sends them, completes the archive. */
static void
test_gmail_refused (Fixture *fixture, gconstpointer data)
{
  g_autofree char *ids = NULL;
  g_auto(GStrv) cmds = NULL;
  MhTestRun r;

  gmail_mail (fixture->server, 7, 10, GM_ID1);
  gm_server_set_fault (fixture->server, 12, GM_FAULT_REFUSE);
  gm_server_set_fault (fixture->server, 13, GM_FAULT_LEAVE_OUT);
  run_gm (fixture, 1, &r);
  mh_test_assert_err_line (&r, "mailharvest: gm: error: \\[Gmail\\]/All "
                               "Mail UID 12: the server refused to send it "
                               "\\(.*Some messages could not be FETCHed "
                               "\\(Failure\\)\\)");
  mh_test_assert_err_line (&r, "mailharvest: gm: error: \\[Gmail\\]/All "
                               "Mail UID 13: the server left it out of its "
                               "answer");
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 1);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "failed"), ==, 2);
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (fixture->server);
  /* The batch, then each of the two that did not come on its own, then
   * the question whether 13 still exists. */
  g_assert_cmpuint (check_commands (fixture->server, cmds), ==, 3);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH 12 (UID FLAGS"), ==, 1);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH 13 (UID FLAGS"), ==, 1);
  g_assert_cmpuint (gm_server_count (cmds, "UID SEARCH UID 13"), ==, 1);
  ids = mh_test_archive_ids (fixture->acct);
  g_assert_cmpstr (ids, ==, "g1");
  g_clear_pointer (&ids, g_free);
  mh_test_assert_clean (fixture->out);

  gm_server_set_fault (fixture->server, 0, GM_FAULT_NONE);
  run_gm (fixture, 0, &r);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 2);
  mh_test_run_clear (&r);
  ids = mh_test_archive_ids (fixture->acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
}

/* The same faults in the metadata pass (X-GM-MSGID before any body):
 * what it refuses or leaves out is not known to be stored, so the body
 * fetch asks for it.  Before, the NO failed the mailbox and a message
 * left out of that answer was skipped in silence. */
static void
test_gmail_meta_refused (Fixture *fixture, gconstpointer data)
{
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *ids = NULL;
  g_auto(GStrv) cmds = NULL;
  MhTestRun r;

  gmail_mail (fixture->server, 7, 10, GM_ID1);
  gm_server_set_fault (fixture->server, 12, GM_FAULT_REFUSE_META);
  gm_server_set_fault (fixture->server, 13, GM_FAULT_LEAVE_OUT_META);
  run_gm (fixture, 0, &r);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 3);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "failed"), ==, 0);
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (fixture->server);
  g_assert_cmpuint (check_commands (fixture->server, cmds), ==, 1);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH 11:13 (UID FLAGS "
                                     "INTERNALDATE RFC822.SIZE X-GM-MSGID "
                                     "X-GM-THRID X-GM-LABELS)"), ==, 1);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH 11:13 (UID FLAGS "
                                     "INTERNALDATE RFC822.SIZE X-GM-MSGID "
                                     "X-GM-THRID X-GM-LABELS BODY.PEEK[])"),
                    ==, 1);
  g_clear_pointer (&cmds, g_strfreev);
  ids = mh_test_archive_ids (fixture->acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
  g_clear_pointer (&ids, g_free);
  before = mh_test_listing_without_manifests (fixture->out);

  /* A new UIDVALIDITY: the refused and the left-out message are fetched
   * again, and found to be the ones stored (no second copy). */
  gmail_mail (fixture->server, 8, 100, GM_ID1);
  gm_server_set_fault (fixture->server, 102, GM_FAULT_REFUSE_META);
  gm_server_set_fault (fixture->server, 103, GM_FAULT_LEAVE_OUT_META);
  run_gm (fixture, 0, &r);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "duplicates"), ==, 3);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "failed"), ==, 0);
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (fixture->server);
  g_assert_cmpuint (check_commands (fixture->server, cmds), ==, 1);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH 102:103 (UID FLAGS "
                                     "INTERNALDATE RFC822.SIZE X-GM-MSGID "
                                     "X-GM-THRID X-GM-LABELS BODY.PEEK[])"),
                    ==, 1);
  after = mh_test_listing_without_manifests (fixture->out);
  mh_test_assert_same_listing (after, before);
  ids = mh_test_archive_ids (fixture->acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
  mh_test_assert_clean (fixture->out);
}

/* A server that refuses every message: after MH_RUN_GAPS_PROBE (10)
 * refused again one by one, the mailbox fails instead of asking for the
 * rest one by one too. */
static void
test_gmail_refuses_all (Fixture *fixture, gconstpointer data)
{
  g_auto(GStrv) cmds = NULL;
  MhTestRun r;

  add_reports (fixture->server, 30);
  gm_server_set_fault (fixture->server, 0, GM_FAULT_REFUSE);
  run_gm (fixture, 1, &r);
  mh_test_assert_err_line (&r, "mailharvest: gm: FAILED: mailbox "
                               "\\[Gmail\\]/All Mail: the server refuses "
                               "to send the messages of \\[Gmail\\]/All "
                               "Mail \\(.*\\) \\(0 new, 10 failed\\)");
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 0);
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (fixture->server);
  /* Two batches of 25 and 5, then ten of the 30 on their own. */
  g_assert_cmpuint (check_commands (fixture->server, cmds), ==, 2 + 10);
  mh_test_assert_clean (fixture->out);
}

/* ---- (c) a session the server cannot serve ---------------------------- */

/* Exchange at times accepts the login and then answers every command
 * "BAD User is authenticated but not connected."; a new session may work.
 * The run retries the login and the LIST, as it does for a dropped
 * connection, and completes. */
static void
test_gmail_detached (Fixture *fixture, gconstpointer data)
{
  g_autofree char *ids = NULL;
  g_auto(GStrv) cmds = NULL;
  MhTestRun r;

  gmail_mail (fixture->server, 7, 10, GM_ID1);
  gm_server_set_session_fault (fixture->server, GM_DETACH_SESSIONS, 2);
  run_gm (fixture, 0, &r);
  mh_test_assert_err_line (&r, "mailharvest: gm: warning: cannot list the "
                               "folders \\(LIST: User is authenticated but "
                               "not connected\\. \\(Exchange logged in but "
                               "cannot reach the mailbox; .*\\)\\); "
                               "retrying");
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "reconnects"), ==, 2);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 3);
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (fixture->server);
  g_assert_cmpuint (gm_server_count (cmds, " LIST "), ==, 3);
  ids = mh_test_archive_ids (fixture->acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
}

/* ---- (d) a connection that drops now and then ------------------------ */

/* Fourteen messages over a connection cut after every second body: seven
 * drops, more than the five reconnects a mailbox gets in a row, but each
 * session brought messages, so the run goes on to the end. */
static void
test_gmail_cut_sessions (Fixture *fixture, gconstpointer data)
{
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  MhTestRun r;

  add_reports (fixture->server, 14);
  gm_server_set_session_fault (fixture->server, GM_CUT_AFTER, 2);
  g_setenv ("MH_DEBUG_BACKOFF_MS", "1", TRUE);
  run_gm (fixture, 0, &r);
  g_unsetenv ("MH_DEBUG_BACKOFF_MS");
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 14);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "reconnects"), ==, 7);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "failed"), ==, 0);
  mh_test_run_clear (&r);
  g_assert_cmpuint (count_messages (fixture->acct), ==, 14);
  mh_test_assert_clean (fixture->out);

  /* Nothing is left to do. */
  gm_server_set_session_fault (fixture->server, GM_CUT_AFTER, 0);
  before = mh_test_listing (fixture->out);
  run_gm (fixture, 0, &r);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 0);
  mh_test_run_clear (&r);
  after = mh_test_listing (fixture->out);
  mh_test_assert_same_listing (after, before);
}

/* Sessions that bring nothing: the connection is cut at the second
 * message on every try.  After the first session (one message), five
 * reconnects in a row bring nothing, and the mailbox fails; what came is
 * kept. */
static void
test_gmail_cut_no_progress (Fixture *fixture, gconstpointer data)
{
  g_autofree char *ids = NULL;
  MhTestRun r;

  gmail_mail (fixture->server, 7, 10, GM_ID1);
  gm_server_set_fault (fixture->server, 12, GM_FAULT_CUT);
  g_setenv ("MH_DEBUG_BACKOFF_MS", "1", TRUE);
  run_gm (fixture, 1, &r);
  g_unsetenv ("MH_DEBUG_BACKOFF_MS");
  mh_test_assert_err_line (&r, "mailharvest: gm: FAILED: mailbox "
                               "\\[Gmail\\]/All Mail: gave up after 5 "
                               "reconnects in a row without a message: .*");
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "reconnects"), ==, 5);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 1);
  mh_test_run_clear (&r);
  ids = mh_test_archive_ids (fixture->acct);
  g_assert_cmpstr (ids, ==, "g1");
  mh_test_assert_clean (fixture->out);
}

/* A connection cut after every message: each session brings one, so the
 * count in a row never runs out, but the mailbox gets 5 x 20 reconnects
 * in all, then fails; the next run goes on from there. */
static void
test_gmail_cut_every_message (Fixture *fixture, gconstpointer data)
{
  MhTestRun r;

  add_reports (fixture->server, 110);
  gm_server_set_session_fault (fixture->server, GM_CUT_AFTER, 1);
  g_setenv ("MH_DEBUG_BACKOFF_MS", "1", TRUE);
  run_gm (fixture, 1, &r);
  mh_test_assert_err_line (&r, "mailharvest: gm: FAILED: mailbox "
                               "\\[Gmail\\]/All Mail: gave up after 100 "
                               "reconnects: .*");
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "reconnects"), ==, 100);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 101);
  mh_test_run_clear (&r);
  g_assert_cmpuint (count_messages (fixture->acct), ==, 101);

  run_gm (fixture, 0, &r);
  g_unsetenv ("MH_DEBUG_BACKOFF_MS");
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 9);
  mh_test_run_clear (&r);
  g_assert_cmpuint (count_messages (fixture->acct), ==, 110);
  mh_test_assert_clean (fixture->out);
}

/* With "latest = 3" and nothing archived, the search asks for the newest
 * three by sequence number ("12:*" of 14), not for every UID.  When a
 * message is expunged between the EXAMINE and that search, the numbers
 * shift and the answer comes short: the run asks for every UID then, and
 * archives the newest three that are left.  With "latest = 20" all 14
 * are asked for; each run sends one EXAMINE. */
static void
test_gmail_latest_first_run (Fixture *fixture, gconstpointer data)
{
  static const struct {
    const char *latest;
    guint32 vanish;     /* the UID expunged at the search, or 0 */
    const char *first;  /* the first search */
    guint searches;     /* UID SEARCH commands in all */
    guint all;          /* of them "ALL" */
    const char *ids;
  } cases[] = {
    { "3", 0, " UID SEARCH 12:*", 1, 0, "r12 r13 r14" },
    { "3", 13, " UID SEARCH 12:*", 2, 1, "r11 r12 r14" },
    /* No more than asked for: ALL, after the one EXAMINE. */
    { "20", 0, " UID SEARCH ALL", 1, 1,
      "r1 r10 r11 r12 r13 r14 r2 r3 r4 r5 r6 r7 r8 r9" },
  };

  g_autofree char *r13 = mh_test_mail_text ("r13", NULL, "Report", 13,
                                            "Carol <carol@example.net>", 0,
                                            FALSE);

  add_reports (fixture->server, 14);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("out%u", i);
      g_autofree char *out = mh_test_new_dir (work_dir, name);
      g_autofree char *acct = g_build_filename (out, "gm", NULL);
      g_autofree char *ids = NULL;
      g_auto(GStrv) cmds = NULL;
      MhTestRun r;

      if (cases[i].vanish != 0)
        gm_server_set_fault (fixture->server, cases[i].vanish,
                             GM_FAULT_VANISH);
      if (i == 2)
        gm_server_add (fixture->server, 13, GM_ID1 + 113, GM_ID1 + 113, "",
                       "", r13);
      mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
          "run", "-c", fixture->cfg, "-n", cases[i].latest, "-o", out,
          "--json", "--progress=never", NULL });
      g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==,
                       i < 2 ? 3 : 14);
      mh_test_run_clear (&r);
      cmds = gm_server_take_commands (fixture->server);
      check_commands (fixture->server, cmds);
      g_assert_cmpuint (gm_server_count (cmds, " EXAMINE "), ==, 1);
      g_assert_cmpuint (gm_server_count (cmds, cases[i].first), ==, 1);
      g_assert_cmpuint (gm_server_count (cmds, " UID SEARCH "), ==,
                        cases[i].searches);
      g_assert_cmpuint (gm_server_count (cmds, " UID SEARCH ALL"), ==,
                        cases[i].all);
      ids = mh_test_archive_ids (acct);
      g_assert_cmpstr (ids, ==, cases[i].ids);
      mh_test_assert_clean (out);
    }
}

/* How often @needle occurs in @text. */
static guint
occurrences (const char *text, const char *needle)
{
  guint n = 0;

  for (const char *p = text; (p = strstr (p, needle)) != NULL; p++)
    n++;
  return n;
}

/* A config for the account "gm" that logs in with OAuth2 tokens from a
 * command: each call prints the next token, "tok-N" (N counting the
 * calls in the file "calls"), or "stale-N" for the calls listed in
 * @stale (" 2 4 "), which the server refuses. */
static char *
token_config (Fixture *fixture, const char *stale)
{
  g_autofree char *calls = g_build_filename (work_dir, "calls", NULL);
  g_autofree char *script_text = g_strdup_printf (
      "#!/bin/sh\n"
      "n=$(($(cat '%s' 2>/dev/null || echo 0) + 1))\n"
      "echo $n > '%s'\n"
      "case '%s' in *\" $n \"*) echo stale-$n ;; *) echo tok-$n ;; esac\n",
      calls, calls, stale);
  g_autofree char *script = mh_test_write_file (work_dir, "token.sh",
                                                script_text);
  g_autofree char *text = NULL;

  g_assert_cmpint (g_chmod (script, 0755), ==, 0);
  text = g_strdup_printf (
      "[defaults]\noutput = %s\nlatest = all\n\n"
      "[account gm]\nprofile = gmail\nhost = 127.0.0.1\nport = %u\n"
      "security = none\ntimeout = 20\nusername = " GM_USER "\n"
      "oauth2_token_command = %s\n",
      fixture->out, gm_server_get_port (fixture->server), script);
  return mh_test_write_file (work_dir, "token.ini", text);
}

/* How many times the token command of token_config() ran. */
static guint
token_calls (void)
{
  g_autofree char *calls = g_build_filename (work_dir, "calls", NULL);
  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents (calls, &text, NULL, NULL));
  return (guint) g_ascii_strtoull (text, NULL, 10);
}

/* Exchange Online ends a session when its OAuth2 token expires ("* BYE
 * Session invalidated - AccessTokenExpired"), here after every fifth
 * body: each new session runs the token command again for a fresh
 * token, and the run goes on to the end, without blaming the message
 * that was on its way.  No token reaches the trace, plain or as the SASL
 * payload. */
static void
test_gmail_token_expires (Fixture *fixture, gconstpointer data)
{
  g_autofree char *cfg = token_config (fixture, "");
  g_autofree char *ir = NULL;
  g_auto(GStrv) cmds = NULL;
  const char raw[] = "user=" GM_USER "\001auth=Bearer tok-1\001\001";
  MhTestRun r;

  add_reports (fixture->server, 14);
  gm_server_set_session_fault (fixture->server, GM_EXPIRE_TOKENS_AFTER, 5);
  g_setenv ("MH_DEBUG_BACKOFF_MS", "1", TRUE);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "-v", "--progress=never", NULL });
  g_unsetenv ("MH_DEBUG_BACKOFF_MS");
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 14);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "failed"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "reconnects"), ==, 2);
  g_assert_nonnull (strstr (r.err, "AccessTokenExpired"));
  /* No message is to blame. */
  g_assert_null (strstr (r.err, "ended the session while sending it"));
  g_assert_null (strstr (r.err, "tok-"));
  g_assert_null (strstr (r.out, "tok-"));
  ir = g_base64_encode ((const guchar *) raw, sizeof raw - 1);
  g_assert_null (strstr (r.err, ir));
  mh_test_run_clear (&r);
  g_assert_cmpuint (token_calls (), ==, 3);
  cmds = gm_server_take_commands (fixture->server);
  check_commands (fixture->server, cmds);
  g_assert_cmpuint (gm_server_count (cmds, " AUTHENTICATE XOAUTH2 "), ==, 3);
  g_assert_cmpuint (count_messages (fixture->acct), ==, 14);
  mh_test_assert_clean (fixture->out);
}

/* A token command that hands out an expired token after each expiry
 * (its cache thinks the token still good): the refusal makes the run ask
 * the command once more, every time, not once per run. */
static void
test_gmail_token_stale (Fixture *fixture, gconstpointer data)
{
  g_autofree char *cfg = token_config (fixture, " 2 4 ");
  MhTestRun r;

  add_reports (fixture->server, 14);
  gm_server_set_session_fault (fixture->server, GM_EXPIRE_TOKENS_AFTER, 5);
  g_setenv ("MH_DEBUG_BACKOFF_MS", "1", TRUE);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_unsetenv ("MH_DEBUG_BACKOFF_MS");
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 14);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "failed"), ==, 0);
  g_assert_cmpuint (occurrences (r.err, "fetching a new token"), ==, 2);
  g_assert_null (strstr (r.err, "stale-"));
  mh_test_run_clear (&r);
  g_assert_cmpuint (token_calls (), ==, 5);
  g_assert_cmpuint (count_messages (fixture->acct), ==, 14);
}

/* Gmail refusing a login over its connection limit ("[ALERT] Too many
 * simultaneous connections") is a passing state, not wrong credentials:
 * the login is tried again after a wait, and the run goes on.  When it
 * lasts, the account fails with the server's words, without sending the
 * user to check a password that is right. */
static void
test_gmail_login_busy (Fixture *fixture, gconstpointer data)
{
  MhTestRun r;

  gmail_mail (fixture->server, 7, 10, GM_ID1);
  gm_server_set_session_fault (fixture->server, GM_REFUSE_LOGINS, 2);
  g_setenv ("MH_DEBUG_BACKOFF_MS", "1", TRUE);
  run_gm (fixture, 0, &r);
  g_assert_cmpuint (occurrences (r.err, "cannot take the login as "
                                        GM_USER " now: [ALERT] Too many "
                                        "simultaneous connections"), ==, 2);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 3);
  mh_test_run_clear (&r);

  gm_server_set_session_fault (fixture->server, GM_REFUSE_LOGINS, 100);
  gmail_mail (fixture->server, 7, 20, GM_ID1);
  run_gm (fixture, 1, &r);
  g_unsetenv ("MH_DEBUG_BACKOFF_MS");
  mh_test_assert_err_line (&r, "mailharvest: gm: FAILED: the server cannot "
                               "take the login as " GM_USER " now: "
                               "\\[ALERT\\] Too many simultaneous "
                               "connections\\. \\(Failure\\) .*");
  g_assert_cmpuint (occurrences (r.err, "; retrying"), ==, 5);
  g_assert_null (strstr (r.err, "check the username"));
  mh_test_run_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/run-gmail-faults/throttled", Fixture, NULL, setup,
              test_gmail_throttled, teardown);
  g_test_add ("/run-gmail-faults/throttled-always", Fixture, NULL, setup,
              test_gmail_throttled_always, teardown);
  g_test_add ("/run-gmail-faults/throttled-between", Fixture, NULL, setup,
              test_gmail_throttled_between, teardown);
  g_test_add ("/run-gmail-faults/refused", Fixture, NULL, setup,
              test_gmail_refused, teardown);
  g_test_add ("/run-gmail-faults/meta-refused", Fixture, NULL, setup,
              test_gmail_meta_refused, teardown);
  g_test_add ("/run-gmail-faults/refuses-all", Fixture, NULL, setup,
              test_gmail_refuses_all, teardown);
  g_test_add ("/run-gmail-faults/detached", Fixture, NULL, setup,
              test_gmail_detached, teardown);
  g_test_add ("/run-gmail-faults/cut-sessions", Fixture, NULL, setup,
              test_gmail_cut_sessions, teardown);
  g_test_add ("/run-gmail-faults/cut-no-progress", Fixture, NULL, setup,
              test_gmail_cut_no_progress, teardown);
  g_test_add ("/run-gmail-faults/cut-every-message", Fixture, NULL, setup,
              test_gmail_cut_every_message, teardown);
  g_test_add ("/run-gmail-faults/latest-first-run", Fixture, NULL, setup,
              test_gmail_latest_first_run, teardown);
  g_test_add ("/run-gmail-faults/token-expires", Fixture, NULL, setup,
              test_gmail_token_expires, teardown);
  g_test_add ("/run-gmail-faults/token-stale", Fixture, NULL, setup,
              test_gmail_token_stale, teardown);
  g_test_add ("/run-gmail-faults/login-busy", Fixture, NULL, setup,
              test_gmail_login_busy, teardown);
  return g_test_run ();
}
