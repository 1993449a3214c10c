/* gmail-testlib.h - what test-run-gmail.c and test-run-gmail-faults.c
 * share: the fixture's work dir, a config for the scripted Gmail server
 * of gmail-server.h, its mail, and the checks on the commands it got. */
#pragma once

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

/* Every test gets a scripted server, an output dir, a config for the
 * account "gm" on that server, and the account's archive dir. */
typedef struct {
  GmServer *server;
  char *out;
  char *cfg;
  char *acct;
} Fixture;

static char *work_dir;

static inline char *gmail_config (const char *name, const char *output,
                                  GmServer *server);

static inline void
setup (Fixture *fixture, gconstpointer data)
{
  work_dir = mh_test_work_dir_new ("test-run-gmail-XXXXXX");
  fixture->server = gm_server_new (GM_USER, mh_test_env ("MH_TEST_PASSWORD"));
  fixture->out = mh_test_new_dir (work_dir, "out");
  fixture->cfg = gmail_config ("c.ini", fixture->out, fixture->server);
  fixture->acct = g_build_filename (fixture->out, "gm", NULL);
}

static inline void
teardown (Fixture *fixture, gconstpointer data)
{
  g_clear_pointer (&fixture->server, gm_server_free);
  g_clear_pointer (&fixture->out, g_free);
  g_clear_pointer (&fixture->cfg, g_free);
  g_clear_pointer (&fixture->acct, g_free);
  mh_test_work_dir_clear (&work_dir);
}

/* A config with account "gm" (profile gmail) on the scripted server. */
static inline char *
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

/* `mailharvest run -c CFG --json --progress=never` on the fixture's
 * config, expecting exit status @want. */
static inline void
run_gm (Fixture *fixture, int want, MhTestRun *r)
{
  mh_test_run_expect (r, want, NULL, (const char *const[]) {
      "run", "-c", fixture->cfg, "--json", "--progress=never", NULL });
}

/* "msgid thrid label|label" of the "gmail" member of a message.json. */
static inline char *
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
static inline void
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
static inline void
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
static inline guint
count_messages (const char *acct)
{
  g_autofree char *ids = mh_test_archive_ids (acct);
  g_auto(GStrv) v = g_strsplit (ids, " ", -1);

  return ids[0] == '\0' ? 0 : g_strv_length (v);
}

/* Asserts that the server understood every command and that the client
 * stayed read-only; returns how many body FETCH commands there were. */
static inline guint
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
