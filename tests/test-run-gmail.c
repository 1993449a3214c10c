/* test-run-gmail.c - `mailharvest run` on the Gmail path.
 *
 * The binary runs against the scripted server of gmail-server.h (Dovecot
 * cannot do X-GM-EXT-1): messages stored with their Gmail ids and labels,
 * a new UIDVALIDITY answered from X-GM-MSGID without downloading a body
 * again, Gmail's thread id joining messages that no header links, and a
 * throttled body FETCH waited out.  test-run-uidvalidity.c has the same
 * change of UIDVALIDITY on the real Dovecot.
 */
#include <signal.h>
#include <string.h>
#include <sys/types.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "gmail-server.h"
#include "run-harness.h"

#define GM_USER "me@example.com"
#define GM_ALL_MAIL "[Gmail]/All Mail"

/* Gmail ids are 64-bit numbers near 2^60; the thread id of a thread is
 * the message id of its first message. */
#define GM_ID1 G_GUINT64_CONSTANT (1781234567890123001)
#define GM_ID2 G_GUINT64_CONSTANT (1781234567890123002)
#define GM_ID3 G_GUINT64_CONSTANT (1781234567890123003)

typedef struct {
  int unused;
} Fixture;

static char *work_dir;

static void
setup (Fixture *fixture, gconstpointer data)
{
  work_dir = mh_test_work_dir_new ("test-run-gmail-XXXXXX");
}

static void
teardown (Fixture *fixture, gconstpointer data)
{
  mh_test_work_dir_clear (&work_dir);
}

/* A config with account "gm" (profile gmail) on the scripted server. */
static char *
gmail_config (const char *name, const char *output, GmServer *server)
{
  g_autofree char *text = g_strdup_printf (
      "[defaults]\noutput = %s\nlatest = all\n\n"
      "[account gm]\nprofile = gmail\nhost = 127.0.0.1\nport = %u\n"
      "security = none\ntimeout = 20\nusername = " GM_USER "\n"
      "password_env = MH_T_PW_ALICE\n",
      output, gm_server_get_port (server));

  return mh_test_write_file (work_dir, name, text);
}

/* "msgid thrid label|label" of the "gmail" member of a message.json. */
static char *
gmail_of (JsonNode *node)
{
  JsonObject *o = json_node_get_object (node);
  JsonObject *g;
  JsonArray *labels;
  GString *s;

  g_assert_true (json_object_has_member (o, "gmail"));
  g = json_object_get_object_member (o, "gmail");
  labels = json_object_get_array_member (g, "labels");
  s = g_string_new (NULL);
  g_string_append_printf (s, "%s %s ",
                          json_object_get_string_member (g, "msgid"),
                          json_object_get_string_member (g, "thrid"));
  for (guint i = 0; i < json_array_get_length (labels); i++)
    g_string_append_printf (s, "%s%s", i > 0 ? "|" : "",
                            json_array_get_string_element (labels, i));
  return g_string_free (s, FALSE);
}

/* ---- the Gmail mail ---------------------------------------------------- */

/* g1 and g2 share Gmail's thread id, without a header that links them
 * (other subjects, no References); g3 is a thread of its own.  Their
 * UIDs are @base + 1..3. */
static void
gmail_mail (GmServer *server, guint32 uidvalidity, guint32 base,
            guint64 g2_thrid)
{
  g_autofree char *g1 = mh_test_mail_text ("g1", NULL, "Trip to Lisbon", 1,
                                           "Carol <carol@example.net>", 0,
                                           FALSE);
  g_autofree char *g2 = mh_test_mail_text ("g2", NULL, "Hotel booking", 2,
                                           "Dave <dave@example.org>", 0,
                                           TRUE);
  g_autofree char *g3 = mh_test_mail_text ("g3", NULL, "Books", 3,
                                           "Erin <erin@example.com>", 0,
                                           FALSE);

  gm_server_clear (server);
  gm_server_set_uidvalidity (server, uidvalidity);
  gm_server_add (server, base + 1, GM_ID1, GM_ID1,
                 "\\Inbox \\Important \"Project X\"", "\\Seen", g1);
  gm_server_add (server, base + 2, GM_ID2, g2_thrid, "\\Inbox", "", g2);
  gm_server_add (server, base + 3, GM_ID3, GM_ID3, "", "\\Flagged \\Seen",
                 g3);
}

/* @n messages "r1".. under UIDVALIDITY 7, UIDs 1.., each its own
 * conversation. */
static void
add_reports (GmServer *server, guint n)
{
  gm_server_set_uidvalidity (server, 7);
  for (guint i = 1; i <= n; i++)
    {
      g_autofree char *id = g_strdup_printf ("r%u", i);
      g_autofree char *text = mh_test_mail_text (id, NULL, "Report", i,
                                                 "Carol <carol@example.net>",
                                                 0, FALSE);

      gm_server_add (server, i, GM_ID1 + 100 + i, GM_ID1 + 100 + i, "", "",
                     text);
    }
}

/* How many messages threads.json of @acct lists (each with its dir). */
static guint
count_messages (const char *acct)
{
  g_autofree char *ids = mh_test_archive_ids (acct);
  g_auto(GStrv) v = g_strsplit (ids, " ", -1);

  return ids[0] == '\0' ? 0 : g_strv_length (v);
}

static GmServer *
new_server (void)
{
  return gm_server_new (GM_USER, mh_test_env ("MH_TEST_PASSWORD"));
}

/* Asserts that the server understood every command and that the client
 * stayed read-only; returns how many body FETCH commands there were. */
static guint
check_commands (GmServer *server, char **cmds)
{
  g_assert_cmpuint (gm_server_take_bad_count (server), ==, 0);
  g_assert_cmpuint (gm_server_count (cmds, " EXAMINE \"" GM_ALL_MAIL "\""),
                    >, 0);
  g_assert_cmpuint (gm_server_count (cmds, " SELECT "), ==, 0);
  g_assert_cmpuint (gm_server_count (cmds, " STORE "), ==, 0);
  g_assert_cmpuint (gm_server_count (cmds, "BODY["), ==, 0);
  return gm_server_count (cmds, "BODY.PEEK[]");
}

/* ---- (a) a first run --------------------------------------------------- */

static void
test_gmail_first_run (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GmServer) server = new_server ();
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = gmail_config ("c.ini", out, server);
  g_autofree char *acct = g_build_filename (out, "gm", NULL);
  g_autofree char *ids = NULL;
  g_autofree char *mbs = NULL;
  g_auto(GStrv) cmds = NULL;
  MhTestRun r;
  static const struct {
    const char *id;
    guint uid;
    const char *gmail;
    const char *flags;
  } want[] = {
    { "g1", 11, "1781234567890123001 1781234567890123001 "
                "\\Inbox|\\Important|Project X", "\\Seen" },
    { "g2", 12, "1781234567890123002 1781234567890123001 \\Inbox", "" },
    { "g3", 13, "1781234567890123003 1781234567890123003 ",
      "\\Flagged \\Seen" },
  };

  gmail_mail (server, 7, 10, GM_ID1);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  mbs = mh_test_summary_mailboxes (r.out, "gm");
  g_assert_cmpstr (mbs, ==, GM_ALL_MAIL);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "selected"), ==, 3);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "fetched"), ==, 3);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 3);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "failed"), ==, 0);
  /* Plaintext on loopback: no TLS session to describe. */
  g_assert_nonnull (strstr (r.out, "\"tls\" : null"));
  mh_test_run_clear (&r);

  /* One metadata FETCH found nothing stored, then the bodies came. */
  cmds = gm_server_take_commands (server);
  g_assert_cmpuint (check_commands (server, cmds), ==, 1);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH 11:13 (UID FLAGS "
                                     "INTERNALDATE RFC822.SIZE X-GM-MSGID "
                                     "X-GM-THRID X-GM-LABELS)"), ==, 1);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH 11:13 (UID FLAGS "
                                     "INTERNALDATE RFC822.SIZE X-GM-MSGID "
                                     "X-GM-THRID X-GM-LABELS BODY.PEEK[])"),
                    ==, 1);

  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      g_autoptr(JsonNode) m = mh_test_message_json (acct, want[i].id);
      g_autofree char *gm = gmail_of (m);
      g_autofree char *locs = mh_test_locations_of (m);
      g_autofree char *want_locs = g_strdup_printf (GM_ALL_MAIL " 7 %u",
                                                    want[i].uid);
      JsonArray *flags = json_object_get_array_member (
          json_node_get_object (m), "flags");
      GString *f = g_string_new (NULL);

      g_assert_cmpstr (gm, ==, want[i].gmail);
      g_assert_cmpstr (locs, ==, want_locs);
      g_assert_cmpint (mh_test_member_int (m, "uid"), ==, want[i].uid);
      g_assert_cmpint (mh_test_member_int (m, "uidvalidity"), ==, 7);
      for (guint k = 0; k < json_array_get_length (flags); k++)
        g_string_append_printf (f, "%s%s", k > 0 ? " " : "",
                                json_array_get_string_element (flags, k));
      g_assert_cmpstr (f->str, ==, want[i].flags);
      g_string_free (f, TRUE);
    }
  mh_test_assert_clean (out);
}

/* ---- (b) a new UIDVALIDITY: matched by X-GM-MSGID, nothing fetched ---- */

static void
test_gmail_new_uidvalidity (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GmServer) server = new_server ();
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = gmail_config ("c.ini", out, server);
  g_autofree char *acct = g_build_filename (out, "gm", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *full = NULL;
  g_autofree char *full2 = NULL;
  g_autofree char *ids = NULL;
  g_auto(GStrv) cmds = NULL;
  MhTestRun r;

  gmail_mail (server, 7, 10, GM_ID1);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 3);
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (server);
  g_assert_cmpuint (check_commands (server, cmds), ==, 1);
  g_clear_pointer (&cmds, g_strfreev);
  before = mh_test_listing_without_manifests (out);

  /* The same three messages under a new UIDVALIDITY and new UIDs. */
  gmail_mail (server, 8, 100, GM_ID1);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "selected"), ==, 3);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "fetched"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "duplicates"), ==, 3);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm",
                                        "body_fetch_commands"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "messages"), ==, 3);
  g_assert_nonnull (strstr (r.err, "UIDVALIDITY changed to 8"));
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (server);
  g_assert_cmpuint (check_commands (server, cmds), ==, 0);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH 101:103 (UID FLAGS "
                                     "INTERNALDATE RFC822.SIZE X-GM-MSGID "
                                     "X-GM-THRID X-GM-LABELS)"), ==, 1);
  g_clear_pointer (&cmds, g_strfreev);

  /* Every message once, in the dirs it had; only the manifests'
   * locations changed: the old UIDs are forgotten, the new recorded. */
  after = mh_test_listing_without_manifests (out);
  mh_test_assert_same_listing (after, before);
  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
  for (guint i = 1; i <= 3; i++)
    {
      g_autofree char *id = g_strdup_printf ("g%u", i);
      g_autoptr(JsonNode) m = mh_test_message_json (acct, id);
      g_autofree char *locs = mh_test_locations_of (m);
      g_autofree char *want = g_strdup_printf (GM_ALL_MAIL " 8 %u", 100 + i);

      g_assert_cmpstr (locs, ==, want);
      g_assert_cmpint (mh_test_member_int (m, "uid"), ==, 100 + i);
      g_assert_cmpint (mh_test_member_int (m, "uidvalidity"), ==, 8);
    }

  /* The new locations are in the store: a third run fetches nothing,
   * not even metadata, and changes no byte. */
  full = mh_test_listing (out);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "duplicates"), ==, 0);
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (server);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH"), ==, 0);
  full2 = mh_test_listing (out);
  mh_test_assert_same_listing (full2, full);
  mh_test_assert_clean (out);
}

/* ---- (b2) a new UIDVALIDITY with "latest" smaller than the mailbox ----- */

/* The messages outside the newest N are not matched again, so the store
 * has no location for them any more: their message.json must not keep
 * listing the forgotten UIDs, and keeps its flags and Gmail fields. */
static void
test_gmail_new_uidvalidity_latest (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GmServer) server = new_server ();
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = gmail_config ("c.ini", out, server);
  g_autofree char *acct = g_build_filename (out, "gm", NULL);
  g_autoptr(JsonNode) g1 = NULL;
  g_autoptr(JsonNode) g3 = NULL;
  g_autofree char *gm1 = NULL;
  g_autofree char *locs1 = NULL;
  g_autofree char *locs3 = NULL;
  JsonObject *o1;
  MhTestRun r;

  gmail_mail (server, 7, 10, GM_ID1);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 3);
  mh_test_run_clear (&r);

  gmail_mail (server, 8, 100, GM_ID1);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "-n", "1", "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "duplicates"), ==, 1);
  mh_test_run_clear (&r);

  g3 = mh_test_message_json (acct, "g3");
  locs3 = mh_test_locations_of (g3);
  g_assert_cmpstr (locs3, ==, GM_ALL_MAIL " 8 103");
  g1 = mh_test_message_json (acct, "g1");
  o1 = json_node_get_object (g1);
  locs1 = mh_test_locations_of (g1);
  g_assert_cmpstr (locs1, ==, "");
  g_assert_true (json_object_get_null_member (o1, "uid"));
  g_assert_true (json_object_get_null_member (o1, "mailbox"));
  gm1 = gmail_of (g1);
  g_assert_cmpstr (gm1, ==, "1781234567890123001 1781234567890123001 "
                   "\\Inbox|\\Important|Project X");
  g_assert_cmpstr (json_array_get_string_element (
                       json_object_get_array_member (o1, "flags"), 0),
                   ==, "\\Seen");
  mh_test_assert_clean (out);
}

/* ---- (c) Gmail's thread id joins what no header links ------------------ */

static void
test_gmail_thread_id (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GmServer) server = new_server ();
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *apart = mh_test_new_dir (work_dir, "apart");
  g_autofree char *cfg = gmail_config ("c.ini", out, server);
  g_autofree char *cfg_apart = gmail_config ("apart.ini", apart, server);
  g_autofree char *acct = g_build_filename (out, "gm", NULL);
  g_autofree char *acct_apart = g_build_filename (apart, "gm", NULL);
  g_autofree char *d1 = NULL;
  g_autofree char *d2 = NULL;
  g_autofree char *d3 = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  MhTestRun r;

  gmail_mail (server, 7, 10, GM_ID1);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "threads"), ==, 2);
  mh_test_run_clear (&r);
  d1 = mh_test_thread_dir_of (acct, "g1");
  d2 = mh_test_thread_dir_of (acct, "g2");
  d3 = mh_test_thread_dir_of (acct, "g3");
  g_assert_nonnull (d1);
  g_assert_cmpstr (d1, ==, d2);
  g_assert_cmpstr (d3, !=, d1);
  g_assert_cmpuint (json_array_get_length (
                        mh_test_load_threads (parser, acct)), ==, 2);
  g_clear_pointer (&d1, g_free);
  g_clear_pointer (&d2, g_free);

  /* The control: with a thread id of its own, g2 is a conversation of
   * its own, so the join above came from X-GM-THRID alone. */
  gmail_mail (server, 7, 10, GM_ID2);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg_apart, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "threads"), ==, 3);
  mh_test_run_clear (&r);
  d1 = mh_test_thread_dir_of (acct_apart, "g1");
  d2 = mh_test_thread_dir_of (acct_apart, "g2");
  g_assert_cmpstr (d1, !=, d2);
}

/* ---- (d) a throttled body FETCH ---------------------------------------- */

static void
test_gmail_throttled (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GmServer) server = new_server ();
  g_autofree char *ref = mh_test_new_dir (work_dir, "ref");
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg_ref = gmail_config ("ref.ini", ref, server);
  g_autofree char *cfg = gmail_config ("c.ini", out, server);
  g_autofree char *acct = g_build_filename (out, "gm", NULL);
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  g_autofree char *ids = NULL;
  g_auto(GStrv) cmds = NULL;
  MhTestRun r;

  gmail_mail (server, 7, 10, GM_ID1);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg_ref, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "reconnects"), ==, 0);
  mh_test_run_clear (&r);
  g_strfreev (gm_server_take_commands (server));

  gm_server_throttle_body_fetches (server, 1);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "reconnects"), ==, 1);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 3);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "failed"), ==, 0);
  /* The wait came from the server's hint, not from the reconnect
   * backoff. */
  g_assert_nonnull (strstr (r.err, "waiting as the server asks"));
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (server);
  /* The throttled FETCH and the one after the wait. */
  g_assert_cmpuint (check_commands (server, cmds), ==, 2);
  g_assert_cmpuint (gm_server_count (cmds, " LOGIN ")
                    + gm_server_count (cmds, " AUTHENTICATE "), ==, 2);

  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
  want = mh_test_listing (ref);
  got = mh_test_listing (out);
  mh_test_assert_same_listing (got, want);
  mh_test_assert_clean (out);
}

/* A server that throttles every body FETCH: the mailbox fails after a
 * bounded number of waits, the run ends with status 1 instead of
 * hanging, and the next run completes the archive. */
static void
test_gmail_throttled_always (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GmServer) server = new_server ();
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = gmail_config ("c.ini", out, server);
  g_autofree char *acct = g_build_filename (out, "gm", NULL);
  g_autofree char *ids = NULL;
  g_auto(GStrv) cmds = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *summary;
  guint fetches;
  MhTestRun r;

  gmail_mail (server, 7, 10, GM_ID1);
  gm_server_throttle_body_fetches (server, 1000);
  mh_test_run_expect (&r, 1, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
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
  cmds = gm_server_take_commands (server);
  fetches = check_commands (server, cmds);
  g_assert_cmpuint (fetches, >, 1);
  g_assert_cmpuint (fetches, <=, 10);
  mh_test_assert_clean (out);

  gm_server_throttle_body_fetches (server, 0);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 3);
  mh_test_run_clear (&r);
  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
}

/* ---- (e) messages the server will not send ---------------------------- */

/* Gmail answers "NO Some messages could not be FETCHed (Failure)" when it
 * cannot read a message of the set, after sending the others; a server
 * may also leave a message out of an OK answer.  Either is a failed
 * message named by UID (each refused one asked for once more on its
 * own), not a failed mailbox, and not a silent skip; the next run, once
 * the server sends them, completes the archive. */
static void
test_gmail_refused (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GmServer) server = new_server ();
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = gmail_config ("c.ini", out, server);
  g_autofree char *acct = g_build_filename (out, "gm", NULL);
  g_autofree char *ids = NULL;
  g_auto(GStrv) cmds = NULL;
  MhTestRun r;

  gmail_mail (server, 7, 10, GM_ID1);
  gm_server_set_fault (server, 12, GM_FAULT_REFUSE);
  gm_server_set_fault (server, 13, GM_FAULT_LEAVE_OUT);
  mh_test_run_expect (&r, 1, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
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
  cmds = gm_server_take_commands (server);
  /* The batch, then each of the two that did not come on its own, then
   * the question whether 13 still exists. */
  g_assert_cmpuint (check_commands (server, cmds), ==, 3);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH 12 (UID FLAGS"), ==, 1);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH 13 (UID FLAGS"), ==, 1);
  g_assert_cmpuint (gm_server_count (cmds, "UID SEARCH UID 13"), ==, 1);
  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, "g1");
  g_clear_pointer (&ids, g_free);
  mh_test_assert_clean (out);

  gm_server_set_fault (server, 0, GM_FAULT_NONE);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 2);
  mh_test_run_clear (&r);
  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
}

/* The same faults in the metadata pass (X-GM-MSGID before any body):
 * what it refuses or leaves out is not known to be stored, so the body
 * fetch asks for it.  Before, the NO failed the mailbox and a message
 * left out of that answer was skipped in silence. */
static void
test_gmail_meta_refused (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GmServer) server = new_server ();
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = gmail_config ("c.ini", out, server);
  g_autofree char *acct = g_build_filename (out, "gm", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *ids = NULL;
  g_auto(GStrv) cmds = NULL;
  MhTestRun r;

  gmail_mail (server, 7, 10, GM_ID1);
  gm_server_set_fault (server, 12, GM_FAULT_REFUSE_META);
  gm_server_set_fault (server, 13, GM_FAULT_LEAVE_OUT_META);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 3);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "failed"), ==, 0);
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (server);
  g_assert_cmpuint (check_commands (server, cmds), ==, 1);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH 11:13 (UID FLAGS "
                                     "INTERNALDATE RFC822.SIZE X-GM-MSGID "
                                     "X-GM-THRID X-GM-LABELS)"), ==, 1);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH 11:13 (UID FLAGS "
                                     "INTERNALDATE RFC822.SIZE X-GM-MSGID "
                                     "X-GM-THRID X-GM-LABELS BODY.PEEK[])"),
                    ==, 1);
  g_clear_pointer (&cmds, g_strfreev);
  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
  g_clear_pointer (&ids, g_free);
  before = mh_test_listing_without_manifests (out);

  /* A new UIDVALIDITY: the refused and the left-out message are fetched
   * again, and found to be the ones stored (no second copy). */
  gmail_mail (server, 8, 100, GM_ID1);
  gm_server_set_fault (server, 102, GM_FAULT_REFUSE_META);
  gm_server_set_fault (server, 103, GM_FAULT_LEAVE_OUT_META);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "duplicates"), ==, 3);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "failed"), ==, 0);
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (server);
  g_assert_cmpuint (check_commands (server, cmds), ==, 1);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH 102:103 (UID FLAGS "
                                     "INTERNALDATE RFC822.SIZE X-GM-MSGID "
                                     "X-GM-THRID X-GM-LABELS BODY.PEEK[])"),
                    ==, 1);
  after = mh_test_listing_without_manifests (out);
  mh_test_assert_same_listing (after, before);
  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
  mh_test_assert_clean (out);
}

/* A server that refuses every message: after MH_RUN_GAPS_PROBE (10)
 * refused again one by one, the mailbox fails instead of asking for the
 * rest one by one too. */
static void
test_gmail_refuses_all (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GmServer) server = new_server ();
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = gmail_config ("c.ini", out, server);
  g_auto(GStrv) cmds = NULL;
  MhTestRun r;

  add_reports (server, 30);
  gm_server_set_fault (server, 0, GM_FAULT_REFUSE);
  mh_test_run_expect (&r, 1, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  mh_test_assert_err_line (&r, "mailharvest: gm: FAILED: mailbox "
                               "\\[Gmail\\]/All Mail: the server refuses "
                               "to send the messages of \\[Gmail\\]/All "
                               "Mail \\(.*\\) \\(0 new, 10 failed\\)");
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 0);
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (server);
  /* Two batches of 25 and 5, then ten of the 30 on their own. */
  g_assert_cmpuint (check_commands (server, cmds), ==, 2 + 10);
  mh_test_assert_clean (out);
}

/* ---- (f) a session the server cannot serve ---------------------------- */

/* Exchange at times accepts the login and then answers every command
 * "BAD User is authenticated but not connected."; a new session may work.
 * The run retries the login and the LIST, as it does for a dropped
 * connection, and completes. */
static void
test_gmail_detached (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GmServer) server = new_server ();
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = gmail_config ("c.ini", out, server);
  g_autofree char *acct = g_build_filename (out, "gm", NULL);
  g_autofree char *ids = NULL;
  g_auto(GStrv) cmds = NULL;
  MhTestRun r;

  gmail_mail (server, 7, 10, GM_ID1);
  gm_server_detach_sessions (server, 2);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  mh_test_assert_err_line (&r, "mailharvest: gm: warning: cannot list the "
                               "folders \\(LIST: User is authenticated but "
                               "not connected\\. \\(Exchange logged in but "
                               "cannot reach the mailbox; .*\\)\\); "
                               "retrying");
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "reconnects"), ==, 2);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 3);
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (server);
  g_assert_cmpuint (gm_server_count (cmds, " LIST "), ==, 3);
  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
}

/* ---- (g) a connection that drops now and then ------------------------ */

/* Fourteen messages over a connection cut after every second body: seven
 * drops, more than the five reconnects a mailbox gets in a row, but each
 * session brought messages, so the run goes on to the end. */
static void
test_gmail_cut_sessions (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GmServer) server = new_server ();
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = gmail_config ("c.ini", out, server);
  g_autofree char *acct = g_build_filename (out, "gm", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  MhTestRun r;

  add_reports (server, 14);
  gm_server_cut_sessions (server, 2);
  g_setenv ("MH_DEBUG_BACKOFF_MS", "1", TRUE);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_unsetenv ("MH_DEBUG_BACKOFF_MS");
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 14);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "reconnects"), ==, 7);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "failed"), ==, 0);
  mh_test_run_clear (&r);
  g_assert_cmpuint (count_messages (acct), ==, 14);
  mh_test_assert_clean (out);

  /* Nothing is left to do. */
  gm_server_cut_sessions (server, 0);
  before = mh_test_listing (out);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 0);
  mh_test_run_clear (&r);
  after = mh_test_listing (out);
  mh_test_assert_same_listing (after, before);
}

/* Sessions that bring nothing: the connection is cut at the second
 * message on every try.  After the first session (one message), five
 * reconnects in a row bring nothing, and the mailbox fails; what came is
 * kept. */
static void
test_gmail_cut_no_progress (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GmServer) server = new_server ();
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = gmail_config ("c.ini", out, server);
  g_autofree char *acct = g_build_filename (out, "gm", NULL);
  g_autofree char *ids = NULL;
  MhTestRun r;

  gmail_mail (server, 7, 10, GM_ID1);
  gm_server_set_fault (server, 12, GM_FAULT_CUT);
  g_setenv ("MH_DEBUG_BACKOFF_MS", "1", TRUE);
  mh_test_run_expect (&r, 1, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_unsetenv ("MH_DEBUG_BACKOFF_MS");
  mh_test_assert_err_line (&r, "mailharvest: gm: FAILED: mailbox "
                               "\\[Gmail\\]/All Mail: gave up after 5 "
                               "reconnects in a row without a message: .*");
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "reconnects"), ==, 5);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 1);
  mh_test_run_clear (&r);
  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, "g1");
  mh_test_assert_clean (out);
}

/* A connection cut after every message: each session brings one, so the
 * count in a row never runs out, but the mailbox gets 5 x 20 reconnects
 * in all, then fails; the next run goes on from there. */
static void
test_gmail_cut_every_message (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GmServer) server = new_server ();
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = gmail_config ("c.ini", out, server);
  g_autofree char *acct = g_build_filename (out, "gm", NULL);
  MhTestRun r;

  add_reports (server, 110);
  gm_server_cut_sessions (server, 1);
  g_setenv ("MH_DEBUG_BACKOFF_MS", "1", TRUE);
  mh_test_run_expect (&r, 1, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  mh_test_assert_err_line (&r, "mailharvest: gm: FAILED: mailbox "
                               "\\[Gmail\\]/All Mail: gave up after 100 "
                               "reconnects: .*");
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "reconnects"), ==, 100);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 101);
  mh_test_run_clear (&r);
  g_assert_cmpuint (count_messages (acct), ==, 101);

  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_unsetenv ("MH_DEBUG_BACKOFF_MS");
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 9);
  mh_test_run_clear (&r);
  g_assert_cmpuint (count_messages (acct), ==, 110);
  mh_test_assert_clean (out);
}

/* Throttled again and again, but with messages between: every body
 * FETCH sends two messages and is then throttled.  Seven waits, more
 * than the five a mailbox waits out in a row, and the run completes. */
static void
test_gmail_throttled_between (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GmServer) server = new_server ();
  g_autofree char *out = mh_test_new_dir (work_dir, "out");
  g_autofree char *cfg = gmail_config ("c.ini", out, server);
  g_autofree char *acct = g_build_filename (out, "gm", NULL);
  g_auto(GStrv) cmds = NULL;
  MhTestRun r;

  add_reports (server, 14);
  gm_server_throttle_after (server, 2);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 14);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "failed"), ==, 0);
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (server);
  g_assert_cmpuint (check_commands (server, cmds), ==, 7);
  g_assert_cmpuint (count_messages (acct), ==, 14);
  mh_test_assert_clean (out);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/run-gmail/first-run", Fixture, NULL, setup,
              test_gmail_first_run, teardown);
  g_test_add ("/run-gmail/new-uidvalidity", Fixture, NULL, setup,
              test_gmail_new_uidvalidity, teardown);
  g_test_add ("/run-gmail/new-uidvalidity-latest", Fixture, NULL, setup,
              test_gmail_new_uidvalidity_latest, teardown);
  g_test_add ("/run-gmail/thread-id", Fixture, NULL, setup,
              test_gmail_thread_id, teardown);
  g_test_add ("/run-gmail/throttled", Fixture, NULL, setup,
              test_gmail_throttled, teardown);
  g_test_add ("/run-gmail/throttled-always", Fixture, NULL, setup,
              test_gmail_throttled_always, teardown);
  g_test_add ("/run-gmail/throttled-between", Fixture, NULL, setup,
              test_gmail_throttled_between, teardown);
  g_test_add ("/run-gmail/refused", Fixture, NULL, setup,
              test_gmail_refused, teardown);
  g_test_add ("/run-gmail/meta-refused", Fixture, NULL, setup,
              test_gmail_meta_refused, teardown);
  g_test_add ("/run-gmail/refuses-all", Fixture, NULL, setup,
              test_gmail_refuses_all, teardown);
  g_test_add ("/run-gmail/detached", Fixture, NULL, setup,
              test_gmail_detached, teardown);
  g_test_add ("/run-gmail/cut-sessions", Fixture, NULL, setup,
              test_gmail_cut_sessions, teardown);
  g_test_add ("/run-gmail/cut-no-progress", Fixture, NULL, setup,
              test_gmail_cut_no_progress, teardown);
  g_test_add ("/run-gmail/cut-every-message", Fixture, NULL, setup,
              test_gmail_cut_every_message, teardown);
  return g_test_run ();
}
