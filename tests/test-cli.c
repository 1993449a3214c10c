/* test-cli.c - the mailharvest binary's command line: help, version,
 * exit statuses and messages for usage and config errors, and
 * `mailharvest folders` against the test Dovecot (run under
 * tests/dovecot/with-dovecot; $MH_BINARY is the binary).
 */
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "run-harness.h"

typedef struct {
  int unused;
} Fixture;

static char *work_dir;

#define ARGS(...) ((const char *const[]) { __VA_ARGS__, NULL })

/* Runs the binary with @args and asserts its exit status. */
static void
expect (MhTestRun *r, int want, const char *const *args)
{
  mh_test_run_expect (r, want, NULL, args);
}

static void
setup (Fixture *fixture, gconstpointer data)
{
  work_dir = mh_test_work_dir_new ("test-cli-XXXXXX");
}

static void
teardown (Fixture *fixture, gconstpointer data)
{
  mh_test_work_dir_clear (&work_dir);
}

/* ---- help, version, usage errors --------------------------------------- */

static void
test_help (Fixture *fixture, gconstpointer data)
{
  MhTestRun r;

  expect (&r, 0, ARGS ("--help"));
  g_assert_true (g_str_has_prefix (r.out, "Usage: mailharvest COMMAND"));
  g_assert_nonnull (strstr (r.out, "\n  run "));
  g_assert_nonnull (strstr (r.out, "\n  folders "));
  g_assert_nonnull (strstr (r.out, "\n  import "));
  g_assert_nonnull (strstr (r.out, "\n  threads "));
  g_assert_cmpstr (r.err, ==, "");
  mh_test_run_clear (&r);

  expect (&r, 0, ARGS ("run", "--help"));
  g_assert_nonnull (strstr (r.out, "--latest"));
  g_assert_nonnull (strstr (r.out, "--json"));
  g_assert_nonnull (strstr (r.out, "--config"));
  mh_test_run_clear (&r);

  expect (&r, 0, ARGS ("folders", "--help"));
  g_assert_nonnull (strstr (r.out, "--account"));
  mh_test_run_clear (&r);

  /* No command: the usage, on stderr, and status 2. */
  expect (&r, 2, (const char *const[]) { NULL });
  g_assert_nonnull (strstr (r.err, "Usage: mailharvest COMMAND"));
  g_assert_cmpstr (r.out, ==, "");
  mh_test_run_clear (&r);
}

static void
test_version (Fixture *fixture, gconstpointer data)
{
  MhTestRun r;

  expect (&r, 0, ARGS ("--version"));
  g_assert_cmpstr (r.out, ==, "mailharvest " MH_VERSION "\n");
  mh_test_run_clear (&r);
}

static void
test_unknown_command (Fixture *fixture, gconstpointer data)
{
  MhTestRun r;

  expect (&r, 2, ARGS ("frobnicate"));
  g_assert_nonnull (strstr (r.err, "unknown command 'frobnicate'"));
  g_assert_cmpstr (r.out, ==, "");
  mh_test_run_clear (&r);

  expect (&r, 2, ARGS ("run", "--no-such-option"));
  g_assert_nonnull (strstr (r.err, "--no-such-option"));
  mh_test_run_clear (&r);

  expect (&r, 2, ARGS ("run", "-n", "many"));
  g_assert_nonnull (strstr (r.err, "many"));
  mh_test_run_clear (&r);
}

/* A config error: status 2, nothing on stdout, and a message on stderr
 * that names the file, the section and the key. */
static void
check_config_error (const char *command, const char *name, const char *text,
                    const char *const *wanted)
{
  g_autofree char *path = mh_test_write_file (work_dir, name, text);
  MhTestRun r;

  expect (&r, 2, ARGS (command, "-c", path));
  g_assert_cmpstr (r.out, ==, "");
  for (guint i = 0; wanted[i] != NULL; i++)
    {
      if (strstr (r.err, wanted[i]) == NULL)
        g_test_message ("stderr: %s", r.err);
      g_assert_nonnull (strstr (r.err, wanted[i]));
    }
  mh_test_run_clear (&r);
}

static void
test_config_errors (Fixture *fixture, gconstpointer data)
{
  g_autofree char *out = g_build_filename (work_dir, "out", NULL);

  check_config_error ("run", "port.ini",
                      "[account work]\nhost = 127.0.0.1\nport = abc\n"
                      "username = u\npassword_env = X\n",
                      (const char *const[]) { "port.ini", "[account work]",
                                              "port", "abc", NULL });
  check_config_error ("folders", "nohost.ini",
                      "[account home]\nusername = u\npassword_env = X\n",
                      (const char *const[]) { "nohost.ini", "[account home]",
                                              "host", NULL });
  check_config_error ("run", "unknown.ini",
                      "[account work]\nhost = 127.0.0.1\nusername = u\n"
                      "password_env = X\nmailbox = INBOX\n",
                      (const char *const[]) { "unknown.ini",
                                              "[account work]", "mailbox",
                                              NULL });
  check_config_error ("run", "profile.ini",
                      "[account work]\nhost = 127.0.0.1\nusername = u\n"
                      "password_env = X\nprofile = yahoo\n",
                      (const char *const[]) { "profile.ini",
                                              "[account work]", "profile",
                                              "yahoo", NULL });
  /* Nothing was done: no output dir appeared. */
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

static void
test_missing_config (Fixture *fixture, gconstpointer data)
{
  g_autofree char *path = g_build_filename (work_dir, "absent.ini", NULL);
  MhTestRun r;

  expect (&r, 2, ARGS ("run", "-c", path));
  g_assert_nonnull (strstr (r.err, path));
  g_assert_cmpstr (r.out, ==, "");
  mh_test_run_clear (&r);

  expect (&r, 2, ARGS ("folders", "-c", path));
  g_assert_nonnull (strstr (r.err, path));
  mh_test_run_clear (&r);

  /* Without -c: the default path below the (isolated) config dir. */
  expect (&r, 2, ARGS ("run"));
  g_assert_nonnull (strstr (r.err, "config.ini"));
  mh_test_run_clear (&r);
}

/* ---- folders against the test Dovecot ---------------------------------- */

/* Delivers @count messages into @folder below the Maildir @root (the
 * folder's on-disk name, modified UTF-7 in LAYOUT=fs; NULL is INBOX). */
static void
deliver (const char *root, const char *folder, guint count)
{
  static guint seq;

  for (guint i = 0; i < count; i++)
    {
      g_autofree char *text = g_strdup_printf (
          "From: a@example.org\r\nTo: b@example.org\r\n"
          "Subject: message %u\r\nMessage-ID: <cli%u@test.example>\r\n"
          "Date: Fri, 01 Mar 2024 08:00:00 +0000\r\n\r\nHello.\r\n",
          seq, seq);

      seq++;
      mh_test_deliver (root, folder, text, "S");
    }
}

static char *
folders_config (void)
{
  g_autofree char *text = g_strdup_printf (
      "[defaults]\nca_file = %s\nhost = 127.0.0.1\nport = %s\n"
      "security = tls\n\n"
      "[account alice]\nprofile = outlook\nusername = %s\n"
      "password_env = MH_T_PW_ALICE\n\n"
      "[account bob]\nprofile = gmail\nusername = %s\n"
      "password_env = MH_T_PW_BOB\n",
      mh_test_env ("MH_TEST_CA_FILE"), mh_test_env ("MH_TEST_IMAPS_PORT"),
      mh_test_env ("MH_TEST_USER"), mh_test_env ("MH_TEST_USER2"));

  return mh_test_write_file (work_dir, "folders.ini", text);
}

/* `folders` output as "ACCOUNT|NAME|ROLE|COUNT" lines: each account's
 * header "NAME (HOST)" is followed by "  MAILBOX [ROLE] COUNT" lines. */
static char *
parse_folders (const char *out)
{
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
  g_autofree char *account = NULL;
  GString *s = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *l = g_strdup (lines[i]);
      char *count, *role = NULL, *sp;

      if (l[0] == '\0')
        continue;
      if (l[0] != ' ')
        {
          sp = strchr (l, ' ');
          g_assert_nonnull (sp);
          g_free (account);
          account = g_strndup (l, (gsize) (sp - l));
          continue;
        }
      g_assert_nonnull (account);
      g_strstrip (l);
      sp = strrchr (l, ' ');
      g_assert_nonnull (sp);
      count = sp + 1;
      *sp = '\0';
      g_strchomp (l);
      sp = strrchr (l, ' ');
      if (sp != NULL && sp[1] == '\\')
        {
          role = sp + 1;
          *sp = '\0';
          g_strchomp (l);
        }
      g_string_append_printf (s, "%s|%s|%s|%s\n", account, l,
                              role != NULL ? role : "", count);
    }
  return g_string_free (s, FALSE);
}

static void
test_folders (Fixture *fixture, gconstpointer data)
{
  const char *alice = mh_test_env ("MH_TEST_MAIL_DIR");
  const char *bob = mh_test_env ("MH_TEST_MAIL_DIR2");
  g_autofree char *cfg = folders_config ();
  g_autofree char *got = NULL;
  MhTestRun r;

  deliver (alice, NULL, 2);
  deliver (alice, "Sent", 3);
  /* "Entwürfe" in modified UTF-7 (RFC 3501 5.1.3). */
  deliver (alice, "Entw&APw-rfe", 1);
  deliver (bob, NULL, 1);
  deliver (bob, "[Gmail]/All Mail", 4);

  expect (&r, 0, ARGS ("folders", "-c", cfg));
  g_assert_true (g_str_has_prefix (r.out, "alice (127.0.0.1)\n"));
  got = parse_folders (r.out);
  g_test_message ("folders:\n%s", got);
  g_assert_nonnull (strstr (got, "alice|INBOX||2\n"));
  g_assert_nonnull (strstr (got, "alice|Sent|\\Sent|3\n"));
  g_assert_nonnull (strstr (got, "alice|Entwürfe||1\n"));
  g_assert_nonnull (strstr (got, "alice|Drafts|\\Drafts|0\n"));
  g_assert_nonnull (strstr (got, "alice|Trash|\\Trash|0\n"));
  g_assert_nonnull (strstr (got, "alice|Junk|\\Junk|0\n"));
  g_assert_nonnull (strstr (got, "bob|[Gmail]/All Mail|\\All|4\n"));
  g_assert_nonnull (strstr (got, "bob|INBOX||1\n"));
  g_assert_null (strstr (got, "&APw-"));
  mh_test_run_clear (&r);
  g_clear_pointer (&got, g_free);

  /* -a narrows to one account. */
  expect (&r, 0, ARGS ("folders", "-c", cfg, "-a", "bob"));
  got = parse_folders (r.out);
  g_assert_nonnull (strstr (got, "bob|[Gmail]/All Mail|\\All|4\n"));
  g_assert_null (strstr (got, "alice|"));
  mh_test_run_clear (&r);

  /* An account the config lacks is a usage error. */
  expect (&r, 2, ARGS ("folders", "-c", cfg, "-a", "carol"));
  g_assert_nonnull (strstr (r.err, "carol"));
  mh_test_run_clear (&r);
}

/* A wrong password: status 1, the account named, the others listed. */
static void
test_folders_auth_failure (Fixture *fixture, gconstpointer data)
{
  g_autofree char *text = g_strdup_printf (
      "[defaults]\nca_file = %s\nhost = 127.0.0.1\nport = %s\n\n"
      "[account alice]\nusername = %s\npassword_env = MH_T_PW_ALICE\n\n"
      "[account bob]\nusername = %s\npassword_env = MH_T_PW_ALICE\n",
      mh_test_env ("MH_TEST_CA_FILE"), mh_test_env ("MH_TEST_IMAPS_PORT"),
      mh_test_env ("MH_TEST_USER"), mh_test_env ("MH_TEST_USER2"));
  g_autofree char *cfg = mh_test_write_file (work_dir, "wrong.ini", text);
  MhTestRun r;

  expect (&r, 1, ARGS ("folders", "-c", cfg));
  g_assert_true (g_str_has_prefix (r.out, "alice (127.0.0.1)\n"));
  g_assert_nonnull (strstr (r.err, "bob: "));
  g_assert_nonnull (strstr (r.err, "authentication"));
  g_assert_null (strstr (r.err, mh_test_env ("MH_TEST_PASSWORD")));
  mh_test_run_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/cli/help", Fixture, NULL, setup, test_help, teardown);
  g_test_add ("/cli/version", Fixture, NULL, setup, test_version, teardown);
  g_test_add ("/cli/unknown-command", Fixture, NULL, setup,
              test_unknown_command, teardown);
  g_test_add ("/cli/config-errors", Fixture, NULL, setup,
              test_config_errors, teardown);
  g_test_add ("/cli/missing-config", Fixture, NULL, setup,
              test_missing_config, teardown);
  g_test_add ("/cli/folders", Fixture, NULL, setup, test_folders, teardown);
  g_test_add ("/cli/folders-auth-failure", Fixture, NULL, setup,
              test_folders_auth_failure, teardown);
  return g_test_run ();
}
