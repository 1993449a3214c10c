/* test-run-gmail.c - `mailharvest run` where the mailbox's UIDs change
 * under the archive, and the Gmail path.
 *
 * The Gmail cases run the binary against the scripted server of
 * gmail-server.h (Dovecot cannot do X-GM-EXT-1): messages stored with
 * their Gmail ids and labels, a new UIDVALIDITY answered from X-GM-MSGID
 * without downloading a body again, Gmail's thread id joining messages
 * that no header links, and a throttled body FETCH waited out.  The
 * UIDVALIDITY case runs against the test Dovecot
 * (tests/dovecot/with-dovecot), whose INBOX is made to forget its UIDs
 * between two runs.
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

/* The parsed message.json of message @id (without "@domain") in
 * ACCOUNT_DIR, found through threads.json. */
static JsonNode *
message_json (const char *acct_dir, const char *id)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonParser) mp = json_parser_new ();
  g_autofree char *want = g_strdup_printf ("<%s@test.example>", id);
  JsonArray *threads = mh_test_load_threads (parser, acct_dir);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < json_array_get_length (threads); i++)
    {
      JsonObject *t = json_array_get_object_element (threads, i);
      JsonArray *msgs = json_object_get_array_member (t, "messages");

      for (guint j = 0; j < json_array_get_length (msgs); j++)
        {
          JsonObject *m = json_array_get_object_element (msgs, j);
          const char *mid = json_object_get_string_member (m, "message_id");
          g_autofree char *path = NULL;

          if (g_strcmp0 (mid, want) != 0
              && !(g_str_has_prefix (mid, id)
                   && strcmp (mid + strlen (id), "@test.example") == 0))
            continue;
          path = g_build_filename (acct_dir, "threads",
                                   json_object_get_string_member (t, "dir"),
                                   json_object_get_string_member (m, "dir"),
                                   "message.json", NULL);
          json_parser_load_from_file (mp, path, &error);
          g_assert_no_error (error);
          return json_node_copy (json_parser_get_root (mp));
        }
    }
  g_error ("no message %s in %s/threads.json", id, acct_dir);
  return NULL;
}

static gint64
member_int (JsonNode *node, const char *name)
{
  return json_object_get_int_member (json_node_get_object (node), name);
}

/* The locations of a message.json as "MAILBOX UIDVALIDITY UID" lines
 * joined with '|'. */
static char *
locations_of (JsonNode *node)
{
  JsonArray *a = json_object_get_array_member (json_node_get_object (node),
                                               "mailboxes");
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);

      g_string_append_printf (s, "%s%s %" G_GINT64_FORMAT " %"
                              G_GINT64_FORMAT, i > 0 ? "|" : "",
                              json_object_get_string_member (o, "mailbox"),
                              json_object_get_int_member (o, "uidvalidity"),
                              json_object_get_int_member (o, "uid"));
    }
  return g_string_free (s, FALSE);
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

/* A listing in which message.json lines keep only their path: what must
 * not change when only the locations of messages change. */
static char *
listing_without_manifests (const char *dir)
{
  g_autofree char *full = mh_test_listing (dir);
  g_auto(GStrv) lines = g_strsplit (full, "\n", -1);
  GString *s = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *sp = strchr (lines[i], ' ');

      if (sp != NULL && sp - lines[i] > 13
          && strncmp (sp - 13, "/message.json", 13) == 0)
        *sp = '\0';
      if (lines[i][0] != '\0')
        g_string_append_printf (s, "%s\n", lines[i]);
    }
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
      g_autoptr(JsonNode) m = message_json (acct, want[i].id);
      g_autofree char *gm = gmail_of (m);
      g_autofree char *locs = locations_of (m);
      g_autofree char *want_locs = g_strdup_printf (GM_ALL_MAIL " 7 %u",
                                                    want[i].uid);
      JsonArray *flags = json_object_get_array_member (
          json_node_get_object (m), "flags");
      GString *f = g_string_new (NULL);

      g_assert_cmpstr (gm, ==, want[i].gmail);
      g_assert_cmpstr (locs, ==, want_locs);
      g_assert_cmpint (member_int (m, "uid"), ==, want[i].uid);
      g_assert_cmpint (member_int (m, "uidvalidity"), ==, 7);
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
  before = listing_without_manifests (out);

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
  after = listing_without_manifests (out);
  mh_test_assert_same_listing (after, before);
  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
  for (guint i = 1; i <= 3; i++)
    {
      g_autofree char *id = g_strdup_printf ("g%u", i);
      g_autoptr(JsonNode) m = message_json (acct, id);
      g_autofree char *locs = locations_of (m);
      g_autofree char *want = g_strdup_printf (GM_ALL_MAIL " 8 %u", 100 + i);

      g_assert_cmpstr (locs, ==, want);
      g_assert_cmpint (member_int (m, "uid"), ==, 100 + i);
      g_assert_cmpint (member_int (m, "uidvalidity"), ==, 8);
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

  g3 = message_json (acct, "g3");
  locs3 = locations_of (g3);
  g_assert_cmpstr (locs3, ==, GM_ALL_MAIL " 8 103");
  g1 = message_json (acct, "g1");
  o1 = json_node_get_object (g1);
  locs1 = locations_of (g1);
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

/* ---- 1. UIDVALIDITY changed on a real server --------------------------- */

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
  g_autofree char *text = g_strdup_printf (
      "[defaults]\noutput = %s\nlatest = all\nca_file = %s\n"
      "host = 127.0.0.1\nport = %s\nsecurity = tls\ntimeout = 20\n\n"
      "[account alice]\nprofile = outlook\nusername = %s\n"
      "password_env = MH_T_PW_ALICE\n",
      out, mh_test_env ("MH_TEST_CA_FILE"),
      mh_test_env ("MH_TEST_IMAPS_PORT"), mh_test_env ("MH_TEST_USER"));
  g_autofree char *cfg = mh_test_write_file (work_dir, "c.ini", text);
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
  before = listing_without_manifests (out);
  v4_before = message_json (acct, "v4");

  renumber_inbox ();
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "-v", "--progress=never", NULL });
  new_v = traced_uidvalidity (r.err);
  g_assert_cmpuint (new_v, !=, old_v);
  g_assert_nonnull (strstr (r.err, "UIDVALIDITY changed"));
  /* Without X-GM-MSGID the bodies come again, and each is found stored
   * by its bytes: nothing is added. */
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "fetched"), ==, 4);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "added"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "duplicates"), ==,
                   4);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "failed"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "messages"), ==, 5);
  mh_test_run_clear (&r);

  after = listing_without_manifests (out);
  mh_test_assert_same_listing (after, before);
  ids = mh_test_archive_ids (acct);
  g_assert_cmpstr (ids, ==, "v1 v2 v3 v4 vboth");
  /* The store forgot the old INBOX UIDs and message.json lists the
   * store's locations: the new ones, and Sent's as they were. */
  for (guint i = 0; i < G_N_ELEMENTS (inbox); i++)
    {
      g_autoptr(JsonNode) m = message_json (acct, inbox[i].id);
      g_autofree char *locs = locations_of (m);
      g_autofree char *want = g_strdup_printf ("INBOX %" G_GUINT64_FORMAT
                                               " %u", new_v, inbox[i].uid);

      if (strcmp (inbox[i].id, "vboth") == 0)
        g_assert_true (g_str_has_prefix (locs, want)
                       && g_str_has_prefix (locs + strlen (want), "|Sent "));
      else
        g_assert_cmpstr (locs, ==, want);
      g_assert_cmpint (member_int (m, "uidvalidity"), ==, (gint64) new_v);
      g_assert_cmpint (member_int (m, "uid"), ==, inbox[i].uid);
    }
  v4_after = message_json (acct, "v4");
  g_assert_true (json_node_equal (v4_after, v4_before));

  /* And that is the state a further run starts from: nothing to do. */
  full = mh_test_listing_full (out, TRUE);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "fetched"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "alice", "duplicates"), ==,
                   0);
  mh_test_run_clear (&r);
  full2 = mh_test_listing_full (out, TRUE);
  mh_test_assert_same_listing (full2, full);
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
  g_test_add ("/run-gmail/uidvalidity-dovecot", Fixture, NULL, setup,
              test_uidvalidity_dovecot, teardown);
  return g_test_run ();
}
