/* run-cases.h - what test-run.c, test-run-resume.c and the other
 * test-run-*.c share: the fixture, a config for the test accounts, and
 * the mail of the cases. */
#pragma once

#include <string.h>

#include <glib/gstdio.h>

#include "run-harness.h"

typedef struct {
  int unused;
} Fixture;

static char *work_dir;

/* A number in the --json summary of @account. */
static inline gint64
num (const char *json, const char *account, const char *key)
{
  return mh_test_summary_int (json, account, key);
}

typedef enum {
  ACC_ALICE_OUTLOOK = 1 << 0,
  ACC_BOB_GMAIL = 1 << 1,
  ACC_BOB_WRONG = 1 << 2,
  ACC_COMPRESS = 1 << 3,  /* compress = yes in [defaults] */
  ACC_SMALL_LIMIT = 1 << 4, /* max_message_size = 64K in [defaults] */
  ACC_ALICE_INBOX = 1 << 5, /* alice, generic profile, INBOX only */
  ACC_ALICE_MISSING = 1 << 6, /* alice, INBOX and a folder not there */
  ACC_ALICE_GONE = 1 << 7,  /* alice, only a folder not there */
} Accounts;

/* Writes a config for @accounts into the work dir and returns its path.
 * @port 0 is the Dovecot TLS port; @latest NULL is "all". */
static inline char *
write_config (const char *name, const char *output, Accounts accounts,
              const char *latest, guint port)
{
  GString *s = g_string_new (NULL);
  char *path = g_build_filename (work_dir, name, NULL);
  const char *tls_port = mh_test_env ("MH_TEST_IMAPS_PORT");
  g_autofree char *port_s = port != 0 ? g_strdup_printf ("%u", port)
                                      : g_strdup (tls_port);
  g_autoptr(GError) error = NULL;

  g_string_append_printf (s,
                          "[defaults]\noutput = %s\nlatest = %s\n"
                          "ca_file = %s\nhost = 127.0.0.1\nport = %s\n"
                          "security = tls\ntimeout = 20\n\n",
                          output, latest != NULL ? latest : "all",
                          mh_test_env ("MH_TEST_CA_FILE"), port_s);
  if (accounts & ACC_COMPRESS)
    g_string_insert (s, strlen ("[defaults]\n"), "compress = yes\n");
  if (accounts & ACC_SMALL_LIMIT)
    g_string_insert (s, strlen ("[defaults]\n"), "max_message_size = 64K\n");
  if (accounts & ACC_ALICE_OUTLOOK)
    g_string_append_printf (s, "[account alice]\nprofile = outlook\n"
                               "username = %s\n"
                               "password_env = MH_T_PW_ALICE\n\n",
                            mh_test_env ("MH_TEST_USER"));
  if (accounts & ACC_ALICE_INBOX)
    g_string_append_printf (s, "[account alice]\nprofile = generic\n"
                               "mailboxes = INBOX\nusername = %s\n"
                               "password_env = MH_T_PW_ALICE\n\n",
                            mh_test_env ("MH_TEST_USER"));
  if (accounts & (ACC_ALICE_MISSING | ACC_ALICE_GONE))
    g_string_append_printf (s, "[account alice]\nprofile = generic\n"
                               "mailboxes = %sArchive/Gone\n"
                               "username = %s\n"
                               "password_env = MH_T_PW_ALICE\n\n",
                            accounts & ACC_ALICE_MISSING ? "INBOX, " : "",
                            mh_test_env ("MH_TEST_USER"));
  if (accounts & ACC_BOB_GMAIL)
    g_string_append_printf (s, "[account bob]\nprofile = gmail\n"
                               "username = %s\n"
                               "password_env = MH_T_PW_BOB\n\n",
                            mh_test_env ("MH_TEST_USER2"));
  if (accounts & ACC_BOB_WRONG)
    g_string_append_printf (s, "[account bob]\nprofile = gmail\n"
                               "username = %s\n"
                               "password_env = MH_T_PW_WRONG\n\n",
                            mh_test_env ("MH_TEST_USER2"));
  g_file_set_contents (path, s->str, -1, &error);
  g_assert_no_error (error);
  g_string_free (s, TRUE);
  return path;
}

/* ---- the mail of the cases --------------------------------------------- */

/* A small account: two conversations across INBOX and Sent (replies
 * from both sides), a message in both folders with the same bytes and
 * one whose Inbox copy has a Received line more, one with an
 * attachment, unseen, seen and flagged ones; and a Gmail-like account
 * with three. */
static inline void
std_mail (void)
{
  const char *a = mh_test_alice_dir (), *b = mh_test_bob_dir ();
  g_autofree char *dup = mh_test_mail_text ("both1", NULL, "Copied to Sent",
                                            9, "Alice <alice@example.com>",
                                            200, TRUE);
  g_autofree char *copy = mh_test_mail_text ("both2", "a1",
                                             "Re: Quarterly report", 12,
                                             "Alice <alice@example.com>", 0,
                                             FALSE);
  g_autofree char *received = g_strconcat ("Received: from mx.example.com "
                                           "by imap.example.com;\r\n "
                                           "Fri, 1 Mar 2024 12:00:00 +0000"
                                           "\r\n", copy, NULL);

  mh_test_put (a, NULL, "a1", NULL, "Quarterly report", 1, "S");
  mh_test_put (a, NULL, "b1", NULL, "Lunch plans", 2, "");
  mh_test_put (a, "Sent", "a2", "a1", "Re: Quarterly report", 3, "S");
  mh_test_put (a, NULL, "a3", "a1 a2", "Re: Quarterly report", 4, NULL);
  mh_test_put (a, NULL, "c1", NULL, "Invoice 4711", 5, "FS");
  mh_test_put (a, "Sent", "b2", "b1", "Re: Lunch plans", 6, "S");
  mh_test_put (a, NULL, "b3", "b1 b2", "Re: Lunch plans", 7, "");
  mh_test_put (a, NULL, "e1", NULL, "Standalone note", 8, NULL);
  mh_test_deliver (a, NULL, dup, "S");
  mh_test_deliver (a, "Sent", dup, "S");
  /* The same message once more, its Inbox copy with other bytes. */
  mh_test_deliver (a, "Sent", copy, "S");
  mh_test_deliver (a, NULL, received, "");
  mh_test_put (a, NULL, "a4", "a1 a2 a3", "Re: Quarterly report", 10, "");
  mh_test_put (a, "Sent", "f2", "f1", "Re: Old matter", 30, "S");
  mh_test_put (a, NULL, "m1", NULL, "Budget 2024", 14, "S");
  mh_test_put (a, NULL, "m3", "m2", "Re: Spending caps", 16, "");
  mh_test_put (b, "[Gmail]/All Mail", "g1", NULL, "Trip", 1, "S");
  mh_test_put (b, "[Gmail]/All Mail", "g2", "g1", "Re: Trip", 2, "");
  mh_test_put (b, "[Gmail]/All Mail", "g3", NULL, "Books", 3, NULL);
}

/* Arrives later: a reply joining a conversation, the missing older start
 * of another (a day earlier, so its thread dir gets a new name), the
 * missing link between two (they become one), and a new one. */
static inline void
std_mail_later (void)
{
  const char *a = mh_test_alice_dir (), *b = mh_test_bob_dir ();

  mh_test_put (a, NULL, "a5", "a1 a2 a3 a4", "Re: Quarterly report", 11, "");
  mh_test_put (a, NULL, "f1", NULL, "Old matter", 0, NULL);
  mh_test_put (a, NULL, "h1", NULL, "Brand new", 13, NULL);
  mh_test_put (a, "Sent", "m2", "m1", "Re: Budget 2024", 15, "S");
  mh_test_put (b, "[Gmail]/All Mail", "g4", "g1 g2", "Re: Trip", 4, NULL);
}

static const char *const std_ids_alice =
    "a1 a2 a3 a4 b1 b2 b3 both1 both2 c1 e1 f2 m1 m3";
static const char *const std_ids_alice_later =
    "a1 a2 a3 a4 a5 b1 b2 b3 both1 both2 c1 e1 f1 f2 h1 m1 m2 m3";

/* ---- fixture ----------------------------------------------------------- */
static inline void
setup (Fixture *fixture, gconstpointer data)
{
  work_dir = mh_test_work_dir_new ("test-run-XXXXXX");
  mh_test_mail_reset ();
}

static inline void
teardown (Fixture *fixture, gconstpointer data)
{
  mh_test_work_dir_clear (&work_dir);
}
