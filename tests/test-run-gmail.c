/* test-run-gmail.c - `mailharvest run` on the Gmail path.
 *
 * The binary runs against the scripted server of gmail-server.h (Dovecot
 * cannot do X-GM-EXT-1): messages stored with their Gmail ids and labels,
 * a new UIDVALIDITY answered from X-GM-MSGID without downloading a body
 * again, and Gmail's thread id joining messages that no header links.
 * test-run-gmail-faults.c has the same server misbehaving;
 * test-run-uidvalidity.c has the change of UIDVALIDITY on the real
 * Dovecot.
 */
#include "gmail-testlib.h"

/* ---- (a) a first run --------------------------------------------------- */

static void
test_gmail_first_run (Fixture *fixture, gconstpointer data)
{
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

  gmail_mail (fixture->server, 7, 10, GM_ID1);
  run_gm (fixture, 0, &r);
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
  cmds = gm_server_take_commands (fixture->server);
  g_assert_cmpuint (check_commands (fixture->server, cmds), ==, 1);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH 11:13 (UID FLAGS "
                                     "INTERNALDATE RFC822.SIZE X-GM-MSGID "
                                     "X-GM-THRID X-GM-LABELS)"), ==, 1);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH 11:13 (UID FLAGS "
                                     "INTERNALDATE RFC822.SIZE X-GM-MSGID "
                                     "X-GM-THRID X-GM-LABELS BODY.PEEK[])"),
                    ==, 1);

  ids = mh_test_archive_ids (fixture->acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      g_autoptr(JsonNode) m = mh_test_message_json (fixture->acct, want[i].id);
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
  mh_test_assert_clean (fixture->out);
}

/* ---- (b) a new UIDVALIDITY: matched by X-GM-MSGID, nothing fetched ---- */

static void
test_gmail_new_uidvalidity (Fixture *fixture, gconstpointer data)
{
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *full = NULL;
  g_autofree char *full2 = NULL;
  g_autofree char *ids = NULL;
  g_auto(GStrv) cmds = NULL;
  MhTestRun r;

  gmail_mail (fixture->server, 7, 10, GM_ID1);
  run_gm (fixture, 0, &r);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 3);
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (fixture->server);
  g_assert_cmpuint (check_commands (fixture->server, cmds), ==, 1);
  g_clear_pointer (&cmds, g_strfreev);
  before = mh_test_listing_without_manifests (fixture->out);

  /* The same three messages under a new UIDVALIDITY and new UIDs. */
  gmail_mail (fixture->server, 8, 100, GM_ID1);
  run_gm (fixture, 0, &r);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "selected"), ==, 3);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "fetched"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "duplicates"), ==, 3);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm",
                                        "body_fetch_commands"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "messages"), ==, 3);
  g_assert_nonnull (strstr (r.err, "UIDVALIDITY changed to 8"));
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (fixture->server);
  g_assert_cmpuint (check_commands (fixture->server, cmds), ==, 0);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH 101:103 (UID FLAGS "
                                     "INTERNALDATE RFC822.SIZE X-GM-MSGID "
                                     "X-GM-THRID X-GM-LABELS)"), ==, 1);
  g_clear_pointer (&cmds, g_strfreev);

  /* Every message once, in the dirs it had; only the manifests'
   * locations changed: the old UIDs are forgotten, the new recorded. */
  after = mh_test_listing_without_manifests (fixture->out);
  mh_test_assert_same_listing (after, before);
  ids = mh_test_archive_ids (fixture->acct);
  g_assert_cmpstr (ids, ==, "g1 g2 g3");
  for (guint i = 1; i <= 3; i++)
    {
      g_autofree char *id = g_strdup_printf ("g%u", i);
      g_autoptr(JsonNode) m = mh_test_message_json (fixture->acct, id);
      g_autofree char *locs = mh_test_locations_of (m);
      g_autofree char *want = g_strdup_printf (GM_ALL_MAIL " 8 %u", 100 + i);

      g_assert_cmpstr (locs, ==, want);
      g_assert_cmpint (mh_test_member_int (m, "uid"), ==, 100 + i);
      g_assert_cmpint (mh_test_member_int (m, "uidvalidity"), ==, 8);
    }

  /* The new locations are in the store: a third run fetches nothing,
   * not even metadata, and changes no byte. */
  full = mh_test_listing (fixture->out);
  run_gm (fixture, 0, &r);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "duplicates"), ==, 0);
  mh_test_run_clear (&r);
  cmds = gm_server_take_commands (fixture->server);
  g_assert_cmpuint (gm_server_count (cmds, "UID FETCH"), ==, 0);
  full2 = mh_test_listing (fixture->out);
  mh_test_assert_same_listing (full2, full);
  mh_test_assert_clean (fixture->out);
}

/* ---- (b2) a new UIDVALIDITY with "latest" smaller than the mailbox ----- */

/* The messages outside the newest N are not matched again, so the store
 * has no location for them any more: their message.json must not keep
 * listing the forgotten UIDs, and keeps its flags and Gmail fields. */
static void
test_gmail_new_uidvalidity_latest (Fixture *fixture, gconstpointer data)
{
  g_autoptr(JsonNode) g1 = NULL;
  g_autoptr(JsonNode) g3 = NULL;
  g_autofree char *gm1 = NULL;
  g_autofree char *locs1 = NULL;
  g_autofree char *locs3 = NULL;
  JsonObject *o1;
  MhTestRun r;

  gmail_mail (fixture->server, 7, 10, GM_ID1);
  run_gm (fixture, 0, &r);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 3);
  mh_test_run_clear (&r);

  gmail_mail (fixture->server, 8, 100, GM_ID1);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", fixture->cfg, "-n", "1", "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "added"), ==, 0);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "duplicates"), ==, 1);
  mh_test_run_clear (&r);

  g3 = mh_test_message_json (fixture->acct, "g3");
  locs3 = mh_test_locations_of (g3);
  g_assert_cmpstr (locs3, ==, GM_ALL_MAIL " 8 103");
  g1 = mh_test_message_json (fixture->acct, "g1");
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
  mh_test_assert_clean (fixture->out);
}

/* ---- (c) Gmail's thread id joins what no header links ------------------ */

static void
test_gmail_thread_id (Fixture *fixture, gconstpointer data)
{
  g_autofree char *apart = mh_test_new_dir (work_dir, "apart");
  g_autofree char *cfg_apart = gmail_config ("apart.ini", apart, fixture->server);
  g_autofree char *acct_apart = g_build_filename (apart, "gm", NULL);
  g_autofree char *d1 = NULL;
  g_autofree char *d2 = NULL;
  g_autofree char *d3 = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  MhTestRun r;

  gmail_mail (fixture->server, 7, 10, GM_ID1);
  run_gm (fixture, 0, &r);
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "threads"), ==, 2);
  mh_test_run_clear (&r);
  d1 = mh_test_thread_dir_of (fixture->acct, "g1");
  d2 = mh_test_thread_dir_of (fixture->acct, "g2");
  d3 = mh_test_thread_dir_of (fixture->acct, "g3");
  g_assert_nonnull (d1);
  g_assert_cmpstr (d1, ==, d2);
  g_assert_cmpstr (d3, !=, d1);
  g_assert_cmpuint (json_array_get_length (
                        mh_test_load_threads (parser, fixture->acct)), ==, 2);
  g_clear_pointer (&d1, g_free);
  g_clear_pointer (&d2, g_free);

  /* The control: with a thread id of its own, g2 is a conversation of
   * its own, so the join above came from X-GM-THRID alone. */
  gmail_mail (fixture->server, 7, 10, GM_ID2);
  mh_test_run_expect (&r, 0, NULL, (const char *const[]) {
      "run", "-c", cfg_apart, "--json", "--progress=never", NULL });
  g_assert_cmpint (mh_test_summary_int (r.out, "gm", "threads"), ==, 3);
  mh_test_run_clear (&r);
  d1 = mh_test_thread_dir_of (acct_apart, "g1");
  d2 = mh_test_thread_dir_of (acct_apart, "g2");
  g_assert_cmpstr (d1, !=, d2);
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
  return g_test_run ();
}
