/* test-imap-transcript.c - the IMAP session against scripted servers
 * (the scripts in tests/data/imap, played by fake-transport.c): greeting,
 * login and authentication, LIST, EXAMINE, SEARCH, STARTTLS, stalls and
 * the network helpers.  UID FETCH is in test-imap-transcript-fetch.c. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake-transport.h"
#include "mailharvest/error.h"
#include "mailharvest/imap-session.h"

#include "testlib.h"

static void
test_greeting_bye (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("greeting-bye.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;

  g_assert_false (mh_imap_session_open (s, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_BYE);
  g_assert_nonnull (strstr (error->message, "Too many connections"));
  fake_server_assert_done (fs);
}

static void
test_preauth (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("preauth.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) boxes = NULL;

  g_assert_true (mh_imap_session_open (s, &error));
  g_assert_true (mh_imap_session_is_authenticated (s));
  /* Already authenticated: nothing is sent, so the script stays in step. */
  g_assert_true (mh_imap_session_authenticate (s, "alice", "secret",
                                               MH_IMAP_AUTH_AUTO, &error));
  boxes = mh_imap_session_list (s, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (boxes->len, ==, 1);
  g_assert_cmpuint (mh_imap_session_get_command_count (s, MH_IMAP_CMD_LOGIN),
                    ==, 0);
  fake_server_assert_done (fs);
}

static void
test_login_ok (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("login-ok.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;

  g_assert_true (mh_imap_session_open (s, &error));
  g_assert_true (mh_imap_session_authenticate (s, "alice", "pa\"ss\\word",
                                               MH_IMAP_AUTH_AUTO, &error));
  g_assert_no_error (error);
  g_assert_true (mh_imap_session_is_authenticated (s));
  g_assert_true (mh_imap_session_has_capability (s, "special-use"));
  g_assert_true (mh_imap_session_has_capability (s, "X-GM-EXT-1"));
  g_assert_cmpuint (mh_imap_session_get_command_count (s, MH_IMAP_CMD_LOGIN),
                    ==, 1);
  g_assert_cmpuint (mh_imap_session_get_command_count (
                      s, MH_IMAP_CMD_CAPABILITY), ==, 0);
  fake_server_assert_done (fs);
}

static void
test_login_literal (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("login-literal.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) trace = g_ptr_array_new_with_free_func (g_free);

  mh_imap_session_set_trace (s, mh_test_collect_trace, trace);
  g_assert_true (mh_imap_session_authenticate (s, "bob", "pässwort",
                                               MH_IMAP_AUTH_LOGIN, &error));
  g_assert_no_error (error);
  g_assert_true (mh_imap_session_has_capability (s, "AUTH=PLAIN"));
  g_assert_false (mh_test_trace_contains (trace, "sswort"));
  g_assert_true (mh_test_trace_contains (trace,
                                 "C: A001 LOGIN \"bob\" {9} <redacted>"));
  g_assert_true (mh_test_trace_contains (trace,
                                         "S: + Ready for literal data"));
  fake_server_assert_done (fs);
}

static void
test_login_no (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("login-no.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;

  g_assert_false (mh_imap_session_authenticate (s, "alice", "wrong-secret",
                                                MH_IMAP_AUTH_LOGIN, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_AUTH);
  g_assert_nonnull (strstr (error->message, "Authentication failed."));
  g_assert_null (strstr (error->message, "wrong-secret"));
  g_assert_false (mh_imap_session_is_authenticated (s));
  fake_server_assert_done (fs);
}

/* A server that echoes the rejected command: the password, as sent and
 * as it is, reaches neither the error nor the trace. */
static void
test_login_echo (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("login-echo.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) trace = g_ptr_array_new_with_free_func (g_free);

  mh_imap_session_set_trace (s, mh_test_collect_trace, trace);
  g_assert_false (mh_imap_session_authenticate (s, "alice", "pa\"ss\\word-42",
                                                MH_IMAP_AUTH_LOGIN, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_AUTH);
  g_assert_nonnull (strstr (error->message, "bad command"));
  g_assert_nonnull (strstr (error->message, "<redacted>"));
  g_assert_null (strstr (error->message, "word-42"));
  g_assert_true (mh_test_trace_contains (trace, "S: * BAD unparsed"));
  g_assert_false (mh_test_trace_contains (trace, "word-42"));
  fake_server_assert_done (fs);
}

/* ... also when the echo comes in the answer to a later command. */
static void
test_login_late_echo (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("login-late-echo.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) trace = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) boxes = NULL;

  mh_imap_session_set_trace (s, mh_test_collect_trace, trace);
  g_assert_true (mh_imap_session_authenticate (s, "alice", "late-echo-77",
                                               MH_IMAP_AUTH_LOGIN, &error));
  g_assert_no_error (error);
  boxes = mh_imap_session_list (s, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (boxes->len, ==, 1);
  g_assert_true (mh_test_trace_contains (trace, "S: * BAD earlier you sent"));
  g_assert_false (mh_test_trace_contains (trace, "late-echo-77"));
  fake_server_assert_done (fs);
}

/* ... also when the trace cuts a long answer inside the echoed password:
 * no start of it stays at the end of the cut line. */
static void
test_login_echo_cut (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("login-echo-cut.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) trace = g_ptr_array_new_with_free_func (g_free);

  mh_imap_session_set_trace (s, mh_test_collect_trace, trace);
  g_assert_false (mh_imap_session_authenticate (s, "alice", "cut-secret-99",
                                                MH_IMAP_AUTH_LOGIN, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_AUTH);
  g_assert_true (mh_test_trace_contains (trace, "xxx..."));
  g_assert_false (mh_test_trace_contains (trace, "cut-"));
  fake_server_assert_done (fs);
}

static void
test_auth_plain_echo (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("auth-plain-echo.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) trace = g_ptr_array_new_with_free_func (g_free);

  mh_imap_session_set_trace (s, mh_test_collect_trace, trace);
  g_assert_false (mh_imap_session_authenticate (s, "alice", "horse-battery",
                                                MH_IMAP_AUTH_PLAIN, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_AUTH);
  g_assert_nonnull (strstr (error->message, "rejected <redacted> for alice"));
  g_assert_true (mh_test_trace_contains (trace, "rejected <redacted>"));
  g_assert_false (mh_test_trace_contains (trace, "AGFsaWNlAGhvcnNlLWJhdHRlcnk"));
  fake_server_assert_done (fs);
}

static void
test_auth_plain_ir (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("auth-plain-ir.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) trace = g_ptr_array_new_with_free_func (g_free);

  mh_imap_session_set_trace (s, mh_test_collect_trace, trace);
  g_assert_true (mh_imap_session_authenticate (s, "alice", "secret",
                                               MH_IMAP_AUTH_AUTO, &error));
  g_assert_no_error (error);
  /* The capabilities of the tagged OK replace the greeting's. */
  g_assert_true (mh_imap_session_has_capability (s, "CONDSTORE"));
  g_assert_false (mh_imap_session_has_capability (s, "AUTH=XOAUTH2"));
  g_assert_false (mh_test_trace_contains (trace, "AGFsaWNlAHNlY3JldA"));
  g_assert_true (mh_test_trace_contains (trace,
                                 "C: A001 AUTHENTICATE PLAIN <redacted>"));
  fake_server_assert_done (fs);
}

static void
test_auth_plain_cont (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("auth-plain-cont.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) trace = g_ptr_array_new_with_free_func (g_free);

  mh_imap_session_set_trace (s, mh_test_collect_trace, trace);
  g_assert_true (mh_imap_session_authenticate (s, "alice", "secret",
                                               MH_IMAP_AUTH_PLAIN, &error));
  g_assert_no_error (error);
  g_assert_true (mh_imap_session_has_capability (s, "IDLE"));
  g_assert_false (mh_test_trace_contains (trace, "AGFsaWNlAHNlY3JldA"));
  g_assert_true (mh_test_trace_contains (trace, "C: <redacted>"));
  fake_server_assert_done (fs);
}

static void
test_xoauth2_fail (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("xoauth2-fail.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) trace = g_ptr_array_new_with_free_func (g_free);

  mh_imap_session_set_trace (s, mh_test_collect_trace, trace);
  g_assert_false (mh_imap_session_authenticate (s, "alice@example.com",
                                                "tok-SECRET-123",
                                                MH_IMAP_AUTH_XOAUTH2,
                                                &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_AUTH);
  g_assert_nonnull (strstr (error->message, "Invalid credentials"));
  g_assert_nonnull (strstr (error->message, "status 400"));
  g_assert_nonnull (strstr (error->message,
                            "scope https://mail.google.com/"));
  g_assert_null (strstr (error->message, "SECRET"));
  g_assert_false (mh_test_trace_contains (trace, "SECRET"));
  g_assert_false (mh_test_trace_contains (trace, "dXNlcj1hbGljZUBleGFtcGxl"));
  fake_server_assert_done (fs);
}

static void
test_oauthbearer (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("oauthbearer-ok.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;

  g_assert_true (mh_imap_session_authenticate (s, "alice@example.com",
                                               "tok-SECRET-123",
                                               MH_IMAP_AUTH_OAUTHBEARER,
                                               &error));
  g_assert_no_error (error);
  fake_server_assert_done (fs);
}

static void
test_oauthbearer_fail (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file (
    "oauthbearer-fail.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) trace = g_ptr_array_new_with_free_func (g_free);

  mh_imap_session_set_trace (s, mh_test_collect_trace, trace);
  g_assert_false (mh_imap_session_authenticate (s, "alice@example.com",
                                                "tok-SECRET-123",
                                                MH_IMAP_AUTH_OAUTHBEARER,
                                                &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_AUTH);
  g_assert_nonnull (strstr (error->message, "Invalid token"));
  g_assert_nonnull (strstr (error->message, "status invalid_token"));
  g_assert_nonnull (strstr (error->message, "scope email"));
  g_assert_false (mh_test_trace_contains (trace, "bixhPWFsaWNl"));
  g_assert_false (mh_test_trace_contains (trace, "AQ=="));
  fake_server_assert_done (fs);
}

static GPtrArray *
list_from (const char *script, FakeServer **fs_out)
{
  FakeServer *fs = fake_server_new_from_file (script);
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  GPtrArray *boxes;

  g_assert_true (mh_imap_session_open (s, &error));
  boxes = mh_imap_session_list (s, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mh_imap_session_get_command_count (s, MH_IMAP_CMD_LIST),
                    ==, 1);
  fake_server_assert_done (fs);
  *fs_out = fs;
  return boxes;
}

static void
test_list_special_use (void)
{
  g_autoptr(FakeServer) fs = NULL;
  g_autoptr(GPtrArray) boxes = list_from ("list-special-use.txt", &fs);
  const MhImapMailbox *mb;

  g_assert_cmpuint (boxes->len, ==, 7);
  mb = mh_test_find_box (boxes, "INBOX");
  g_assert_null (mb->role);
  g_assert_cmpint (mb->delimiter, ==, '/');
  g_assert_false (mb->noselect);
  g_assert_true (mh_test_find_box (boxes, "[Gmail]")->noselect);
  g_assert_cmpstr (mh_test_find_box (boxes, "[Gmail]/All Mail")->role, ==,
                   "\\All");
  g_assert_cmpstr (mh_test_find_box (boxes, "[Gmail]/Sent Mail")->role, ==,
                   "\\Sent");
  mb = mh_test_find_box (boxes, "[Gmail]/Sent Mail");
  g_assert_cmpuint (g_strv_length (mb->flags), ==, 2);
  g_assert_cmpstr (mh_test_find_box (boxes, "Entw&APw-rfe")->name_utf8, ==,
                   "Entw\xc3\xbcrfe");
  g_assert_cmpstr (mh_test_find_box (boxes, "Odd \"name\"")->name_utf8, ==,
                   "Odd \"name\"");
  /* An undecodable name keeps its raw form. */
  g_assert_cmpstr (mh_test_find_box (boxes, "Bad&AGE")->name_utf8, ==,
                   "Bad&AGE");
}

static void
test_list_plain (void)
{
  g_autoptr(FakeServer) fs = NULL;
  g_autoptr(GPtrArray) boxes = list_from ("list-plain.txt", &fs);
  const MhImapMailbox *mb;

  g_assert_cmpuint (boxes->len, ==, 3);
  g_assert_cmpstr (mh_test_find_box (boxes, "Trash")->role, ==, "\\Trash");
  g_assert_cmpint (mh_test_find_box (boxes, "Trash")->delimiter, ==, '.');
  mb = mh_test_find_box (boxes, "Gone");
  g_assert_true (mb->noselect);
  g_assert_cmpint (mb->delimiter, ==, '\0');
  g_assert_null (mh_test_find_box (boxes, "INBOX")->role);
  g_assert_cmpuint (
      g_strv_length (mh_test_find_box (boxes, "INBOX")->flags), ==, 0);
}

static void
test_list_xlist (void)
{
  g_autoptr(FakeServer) fs = NULL;
  g_autoptr(GPtrArray) boxes = list_from ("list-xlist.txt", &fs);

  g_assert_cmpuint (boxes->len, ==, 4);
  g_assert_null (mh_test_find_box (boxes, "Inbox")->role);
  g_assert_cmpstr (mh_test_find_box (boxes, "[Gmail]/All Mail")->role, ==,
                   "\\All");
  g_assert_cmpstr (mh_test_find_box (boxes, "[Gmail]/Spam")->role, ==,
                   "\\Junk");
  g_assert_cmpstr (mh_test_find_box (boxes, "[Gmail]/Sent Mail")->role, ==,
                   "\\Sent");
}

static void
test_examine (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("examine.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) uids = NULL;
  MhImapExamine ex;
  MhImapStatus st;

  g_assert_true (mh_imap_session_open (s, &error));
  g_assert_true (mh_imap_session_examine (s, "INBOX", &ex, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ex.exists, ==, 172);
  g_assert_cmpuint (ex.uidvalidity, ==, 3857529045u);
  g_assert_cmpuint (ex.uidnext, ==, 4392);
  g_assert_cmpuint (ex.highestmodseq, ==, G_GUINT64_CONSTANT (715194045007));
  g_assert_true (ex.read_only);
  g_assert_true (mh_imap_session_status (s, "Sent Items", &st, &error));
  g_assert_cmpuint (st.messages, ==, 12);
  g_assert_cmpuint (st.uidnext, ==, 44);
  g_assert_cmpuint (st.uidvalidity, ==, 7);
  uids = mh_imap_session_uid_search (s, "ALL", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (uids->len, ==, 3);
  g_assert_cmpuint (g_array_index (uids, guint32, 0), ==, 3);
  g_assert_cmpuint (g_array_index (uids, guint32, 1), ==, 5);
  g_assert_cmpuint (g_array_index (uids, guint32, 2), ==, 9);
  fake_server_assert_done (fs);
}

static void
test_esearch (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("esearch.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) uids = NULL;
  g_autoptr(GArray) none = NULL;
  const guint32 expected[] = { 1, 2, 3, 7, 10, 11, 12 };

  uids = mh_imap_session_uid_search (s, "SINCE 1-Jan-2024", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (uids->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpuint (g_array_index (uids, guint32, i), ==, expected[i]);
  none = mh_imap_session_uid_search (s, "UID 99:*", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (none->len, ==, 0);
  fake_server_assert_done (fs);
}

static void
test_examine_search (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("examine-search.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) uids = NULL;
  g_autoptr(GArray) none = NULL;
  g_autoptr(GArray) empty = NULL;
  const guint32 expected[] = { 3, 4, 5, 9 };
  MhImapExamine ex;

  uids = mh_imap_session_examine_search (s, "Sent", "ALL", &ex, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ex.exists, ==, 4);
  g_assert_cmpuint (ex.uidvalidity, ==, 77);
  g_assert_cmpuint (ex.uidnext, ==, 12);
  g_assert_true (ex.read_only);
  g_assert_cmpuint (uids->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpuint (g_array_index (uids, guint32, i), ==, expected[i]);

  /* A failed EXAMINE is the error, not the search's BAD that follows it,
   * and both answers are read: the session goes on. */
  none = mh_imap_session_examine_search (s, "Nope", "ALL", &ex, &error);
  g_assert_null (none);
  g_assert_error (error, MH_ERROR, MH_ERROR_SERVER_NO);
  g_assert_nonnull (strstr (error->message, "EXAMINE"));
  g_clear_error (&error);

  empty = mh_imap_session_examine_search (s, "INBOX", "ALL", &ex, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ex.exists, ==, 0);
  g_assert_cmpuint (empty->len, ==, 0);
  fake_server_assert_done (fs);
}

static void
test_greeting_garbage (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file (
    "greeting-garbage.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;

  g_assert_false (mh_imap_session_open (s, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_PROTOCOL);
  fake_server_assert_done (fs);
}

static void
test_logout_close (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("logout-close.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;

  g_assert_true (mh_imap_session_logout (s, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (mh_imap_session_get_bye_text (s), ==, "Logging out");
  fake_server_assert_done (fs);
}

/* LOGOUT goes out at once and its answer is read only by
 * mh_imap_session_logout(): the run lays out its conversations meanwhile.
 * No other command may follow it. */
static void
test_logout_begin (void)
{
  g_autoptr(FakeServer) fs = fake_server_new (
    "S: * PREAUTH [CAPABILITY IMAP4rev1] ready\n"
    "C: A001 LOGOUT\n"
    "S: * BYE Logging out\n"
    "S: A001 OK Logout completed\n");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;

  g_assert_true (mh_imap_session_logout_begin (s, &error));
  g_assert_no_error (error);
  g_assert_null (fake_server_get_problem (fs));
  /* Sent, and nothing of the answer read yet. */
  g_assert_null (mh_imap_session_get_bye_text (s));
  g_assert_cmpuint (mh_imap_session_get_command_count (
                      s, MH_IMAP_CMD_LOGOUT), ==, 1);
  g_assert_null (mh_imap_session_list (s, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_NET);
  g_clear_error (&error);
  /* A second begin sends nothing more. */
  g_assert_true (mh_imap_session_logout_begin (s, &error));
  g_assert_true (mh_imap_session_logout (s, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (mh_imap_session_get_bye_text (s), ==, "Logging out");
  g_assert_cmpuint (mh_imap_session_get_command_count (
                      s, MH_IMAP_CMD_LOGOUT), ==, 1);
  fake_server_assert_done (fs);
}

static void
test_stall (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("stall.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 200);
  g_autoptr(GError) error = NULL;

  g_assert_false (mh_imap_session_authenticate (s, "alice", "secret",
                                                MH_IMAP_AUTH_LOGIN, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_TIMEOUT);
  fake_server_assert_done (fs);
}

/* A real socket whose peer sends the greeting and then nothing. */
static void
test_stall_socket (void)
{
  int sv[2];
  g_autoptr(MhImapSession) s = NULL;
  g_autoptr(GError) error = NULL;
  const char greeting[] = "* OK [CAPABILITY IMAP4rev1] hi\r\n";
  char buf[256];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
  g_assert_cmpint (write (sv[1], greeting, strlen (greeting)), ==,
                   (gssize) strlen (greeting));
  s = mh_imap_session_new (mh_net_transport_new (sv[0]), NULL, 0, 200);
  g_assert_true (mh_imap_session_open (s, &error));
  g_assert_false (mh_imap_session_capability (s, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_TIMEOUT);
  g_assert_cmpint (read (sv[1], buf, sizeof buf), ==,
                   (gssize) strlen ("A001 CAPABILITY\r\n"));
  close (sv[1]);
}

static void
test_starttls_inject (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("starttls-inject.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;

  g_assert_true (mh_imap_session_open (s, &error));
  g_assert_true (mh_imap_session_starttls (s, &error));
  g_assert_no_error (error);
  g_assert_true (fake_server_tls_started (fs));
  g_assert_false (mh_imap_session_has_capability (s, "INJECTED"));
  g_assert_false (mh_imap_session_has_capability (s, "LOGINDISABLED"));
  g_assert_true (mh_imap_session_has_capability (s, "SASL-IR"));
  fake_server_assert_done (fs);
}

static void
test_starttls_no (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("starttls-no.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;

  g_assert_false (mh_imap_session_starttls (s, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_TLS);
  g_assert_nonnull (strstr (error->message, "not available right now"));
  g_assert_false (fake_server_tls_started (fs));
  /* Never go on in plaintext. */
  g_clear_error (&error);
  g_assert_false (mh_imap_session_authenticate (s, "alice", "secret",
                                                MH_IMAP_AUTH_AUTO, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_NET);
  fake_server_assert_done (fs);
}

/* A server that refuses COMPRESS leaves the session usable and plain; one
 * that does not offer it gets no command at all. */
static void
test_compress_no (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("compress-no.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;

  g_assert_true (mh_imap_session_open (s, &error));
  g_assert_false (mh_imap_session_compress (s, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_SERVER_NO);
  g_assert_false (mh_imap_session_is_compressed (s));
  g_clear_error (&error);
  g_assert_true (mh_imap_session_capability (s, &error));
  g_assert_no_error (error);
  fake_server_assert_done (fs);
}

static void
test_compress_missing (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file (
    "compress-missing.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;

  g_assert_true (mh_imap_session_open (s, &error));
  g_assert_false (mh_imap_session_compress (s, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_PROTOCOL);
  g_assert_false (mh_imap_session_is_compressed (s));
  fake_server_assert_done (fs);
}

static void
test_starttls_missing (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file (
    "starttls-missing.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;

  g_assert_true (mh_imap_session_open (s, &error));
  g_assert_false (mh_imap_session_starttls (s, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_TLS);
  g_assert_cmpuint (mh_imap_session_get_command_count (
                      s, MH_IMAP_CMD_STARTTLS), ==, 0);
  fake_server_assert_done (fs);
}

static void
test_throttled (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file ("throttled.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;
  GArray *uids;
  MhImapExamine ex;

  g_assert_true (mh_imap_session_open (s, &error));
  g_assert_false (mh_imap_session_examine (s, "INBOX", &ex, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_THROTTLED);
  g_assert_cmpuint (mh_imap_session_get_backoff_ms (s), ==, 299961);
  g_clear_error (&error);
  uids = mh_imap_session_uid_search (s, "ALL", &error);
  g_assert_null (uids);
  g_assert_error (error, MH_ERROR, MH_ERROR_THROTTLED);
  g_assert_nonnull (strstr (error->message, "bandwidth limits"));
  g_assert_cmpuint (mh_imap_session_get_backoff_ms (s), ==, 0);
  g_clear_error (&error);
  uids = mh_imap_session_uid_search (s, "ALL", &error);
  g_assert_null (uids);
  g_assert_error (error, MH_ERROR, MH_ERROR_SERVER_NO);
  g_assert_nonnull (strstr (error->message, "Internal error"));
  fake_server_assert_done (fs);
}

static void
test_refuse_plaintext (void)
{
  g_autoptr(FakeServer) fs = fake_server_new_from_file (
    "starttls-missing.txt");
  g_autoptr(MhImapSession) s = fake_server_session (fs, 0);
  g_autoptr(GError) error = NULL;

  mh_imap_session_set_refuse_credentials (s, TRUE);
  g_assert_false (mh_imap_session_authenticate (s, "alice", "secret",
                                                MH_IMAP_AUTH_AUTO, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_CONFIG);
  g_assert_cmpuint (mh_imap_session_get_command_count (s, MH_IMAP_CMD_LOGIN)
                    + mh_imap_session_get_command_count (
                      s, MH_IMAP_CMD_AUTHENTICATE), ==, 0);
  fake_server_assert_done (fs);
}

static void
test_loopback (void)
{
  g_assert_true (mh_net_host_is_loopback ("localhost"));
  g_assert_true (mh_net_host_is_loopback ("127.0.0.1"));
  g_assert_true (mh_net_host_is_loopback ("127.8.9.10"));
  g_assert_true (mh_net_host_is_loopback ("::1"));
  g_assert_false (mh_net_host_is_loopback ("128.0.0.1"));
  g_assert_false (mh_net_host_is_loopback ("localhost.example.org"));
  g_assert_false (mh_net_host_is_loopback ("::2"));
  g_assert_true (mh_net_host_is_ip_literal ("2001:db8::1"));
  g_assert_false (mh_net_host_is_ip_literal ("imap.example.org"));
}

/* Nothing listens on port 1 of the loopback address: connect fails with a
 * network error instead of hanging. */
static void
test_connect_refused (void)
{
  g_autoptr(GError) error = NULL;
  int fd = mh_net_connect ("127.0.0.1", 1, 200, &error);

  g_assert_cmpint (fd, ==, -1);
  g_assert_nonnull (error);
  g_assert_true (error->code == MH_ERROR_NET
                 || error->code == MH_ERROR_TIMEOUT);
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0");

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/imap-transcript/login-echo", test_login_echo);
  g_test_add_func ("/imap-transcript/login-late-echo",
                   test_login_late_echo);
  g_test_add_func ("/imap-transcript/login-echo-cut", test_login_echo_cut);
  g_test_add_func ("/imap-transcript/auth-plain-echo", test_auth_plain_echo);
  g_test_add_func ("/imap-transcript/greeting-bye", test_greeting_bye);
  g_test_add_func ("/imap-transcript/preauth", test_preauth);
  g_test_add_func ("/imap-transcript/login/ok", test_login_ok);
  g_test_add_func ("/imap-transcript/login/literal", test_login_literal);
  g_test_add_func ("/imap-transcript/login/no", test_login_no);
  g_test_add_func ("/imap-transcript/auth/plain-ir", test_auth_plain_ir);
  g_test_add_func ("/imap-transcript/auth/plain-continuation",
                   test_auth_plain_cont);
  g_test_add_func ("/imap-transcript/auth/xoauth2-fail", test_xoauth2_fail);
  g_test_add_func ("/imap-transcript/auth/oauthbearer", test_oauthbearer);
  g_test_add_func ("/imap-transcript/auth/oauthbearer-fail",
                   test_oauthbearer_fail);
  g_test_add_func ("/imap-transcript/auth/refuse-plaintext",
                   test_refuse_plaintext);
  g_test_add_func ("/imap-transcript/list/special-use",
                   test_list_special_use);
  g_test_add_func ("/imap-transcript/list/plain", test_list_plain);
  g_test_add_func ("/imap-transcript/list/xlist", test_list_xlist);
  g_test_add_func ("/imap-transcript/examine", test_examine);
  g_test_add_func ("/imap-transcript/esearch", test_esearch);
  g_test_add_func ("/imap-transcript/examine-search", test_examine_search);
  g_test_add_func ("/imap-transcript/greeting-garbage",
                   test_greeting_garbage);
  g_test_add_func ("/imap-transcript/logout-close", test_logout_close);
  g_test_add_func ("/imap-transcript/logout-begin", test_logout_begin);
  g_test_add_func ("/imap-transcript/stall/fake", test_stall);
  g_test_add_func ("/imap-transcript/stall/socket", test_stall_socket);
  g_test_add_func ("/imap-transcript/starttls/inject", test_starttls_inject);
  g_test_add_func ("/imap-transcript/starttls/no", test_starttls_no);
  g_test_add_func ("/imap-transcript/compress/no", test_compress_no);
  g_test_add_func ("/imap-transcript/compress/missing",
                   test_compress_missing);
  g_test_add_func ("/imap-transcript/starttls/missing",
                   test_starttls_missing);
  g_test_add_func ("/imap-transcript/throttled", test_throttled);
  g_test_add_func ("/imap-transcript/net/loopback", test_loopback);
  g_test_add_func ("/imap-transcript/net/connect-refused",
                   test_connect_refused);
  return g_test_run ();
}
