/* test-config.c - the configuration loader and the secret lookups. */
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "mailharvest/config.h"
#include "mailharvest/error.h"
#include "mailharvest/secret.h"

#include "testlib.h"

#define CANARY "canary-s3cr3t-7f1d"

static char *
data_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "data", "config", name, NULL);
}

static MhConfig *
load_ok (const char *name)
{
  g_autofree char *path = data_path (name);
  g_autoptr(GError) error = NULL;
  MhConfig *cfg = mh_config_load (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (cfg);
  return cfg;
}

static const MhAccount *
account (const MhConfig *cfg, guint i)
{
  g_assert_cmpuint (i, <, cfg->accounts->len);
  return cfg->accounts->pdata[i];
}

static void
test_gmail (void)
{
  g_autoptr(MhConfig) cfg = load_ok ("gmail.ini");
  g_autofree char *dir = data_path ("");
  g_autofree char *want = g_build_filename (dir, "gmail-archive", NULL);
  const MhAccount *a;

  g_assert_cmpuint (cfg->accounts->len, ==, 1);
  a = account (cfg, 0);
  g_assert_cmpstr (a->name, ==, "me");
  g_assert_cmpint (a->profile, ==, MH_PROFILE_GMAIL);
  g_assert_cmpstr (a->host, ==, "imap.gmail.com");
  g_assert_cmpuint (a->port, ==, 993);
  g_assert_cmpint (a->security, ==, MH_SECURITY_TLS);
  g_assert_cmpint (a->auth, ==, MH_AUTH_XOAUTH2);
  g_assert_cmpstr (a->username, ==, "me@gmail.com");
  g_assert_cmpstr (a->oauth2_token_command, ==, "oama access me@gmail.com");
  g_assert_null (a->password_env);
  g_assert_null (a->password_command);
  g_assert_null (a->password_file);
  g_assert_null (a->mailboxes);
  g_assert_true (a->tls_verify);
  g_assert_cmpint (a->compress, ==, MH_COMPRESS_AUTO);
  g_assert_cmpint (a->latest, ==, MH_CONFIG_DEFAULT_LATEST);
  g_assert_null (a->since);
  g_assert_cmpuint (a->timeout, ==, 60);
  g_assert_cmpint (a->subject_threading, ==, MH_THREAD_SUBJECT_GUARDED);
  g_assert_cmpuint (a->subject_window_days, ==, 30);
  /* The inline "; relative to ..." comment is not part of the value. */
  g_assert_cmpstr (cfg->output, ==, want);
}

static void
test_outlook (void)
{
  g_autoptr(MhConfig) cfg = load_ok ("outlook.ini");
  g_autofree char *dir = data_path ("");
  g_autofree char *want = g_build_filename (dir, "archive", NULL);
  const MhAccount *a = account (cfg, 0);

  g_assert_cmpint (a->profile, ==, MH_PROFILE_OUTLOOK);
  g_assert_cmpstr (a->host, ==, "outlook.office365.com");
  g_assert_cmpuint (a->port, ==, 993);
  g_assert_cmpint (a->auth, ==, MH_AUTH_AUTO);
  g_assert_cmpstr (a->username, ==, "someone@example.onmicrosoft.com");
  g_assert_cmpstr (a->oauth2_token_command, ==, "printf '%s\\n' token");
  g_assert_cmpint (a->latest, ==, 0);
  g_assert_null (a->mailboxes);
  g_assert_cmpstr (cfg->output, ==, want);
}

static void
test_generic (void)
{
  g_autoptr(MhConfig) cfg = load_ok ("generic.ini");
  g_autofree char *dir = data_path ("");
  g_autofree char *pw = g_build_filename (dir, "secrets", "work.pw", NULL);
  g_autofree char *ca = g_build_filename (g_get_home_dir (), "ca",
                                          "company.pem", NULL);
  const MhAccount *a = account (cfg, 0);
  const char *const boxes[] = { "INBOX", "Sent", "[Gmail]/All Mail",
                                "Entwürfe", NULL };

  g_assert_cmpint (a->profile, ==, MH_PROFILE_GENERIC);
  g_assert_cmpstr (a->host, ==, "mail.example.com");
  g_assert_cmpint (a->security, ==, MH_SECURITY_STARTTLS);
  g_assert_cmpuint (a->port, ==, 143);
  g_assert_cmpint (a->auth, ==, MH_AUTH_LOGIN);
  g_assert_cmpstr (a->password_file, ==, pw);
  g_assert_cmpstr (a->ca_file, ==, ca);
  g_assert_false (a->tls_verify);
  g_assert_cmpint (a->compress, ==, MH_COMPRESS_NO);
  g_assert_nonnull (a->mailboxes);
  g_assert_true (g_strv_equal ((const char *const *) a->mailboxes, boxes));
  g_assert_cmpint (a->latest, ==, 200);
  g_assert_cmpstr (a->since, ==, "2024-02-29");
  g_assert_cmpuint (a->timeout, ==, 15);
  g_assert_cmpint (a->subject_threading, ==, MH_THREAD_SUBJECT_RFC5256);
  g_assert_cmpuint (a->subject_window_days, ==, 14);
}

static void
test_defaults (void)
{
  g_autoptr(MhConfig) cfg = load_ok ("defaults.ini");
  const MhAccount *a, *b;

  g_assert_cmpstr (cfg->output, ==, "/srv/mail/archive");
  g_assert_cmpuint (cfg->accounts->len, ==, 2);
  a = account (cfg, 0);
  b = account (cfg, 1);
  g_assert_cmpstr (a->name, ==, "first");
  g_assert_cmpstr (a->host, ==, "127.0.0.1");
  g_assert_cmpint (a->security, ==, MH_SECURITY_NONE);
  g_assert_cmpuint (a->port, ==, 1143);
  g_assert_cmpstr (a->username, ==, "shared@example.com");
  g_assert_cmpstr (a->password_command, ==, "pass show mail/shared");
  g_assert_cmpint (a->latest, ==, 50);
  g_assert_cmpint (a->subject_threading, ==, MH_THREAD_SUBJECT_OFF);
  g_assert_nonnull (a->mailboxes);
  g_assert_cmpstr (a->mailboxes[0], ==, "INBOX");
  g_assert_null (a->mailboxes[1]);

  /* An account's own secret source replaces the default one instead of
   * counting as a second source. */
  g_assert_cmpstr (b->name, ==, "second");
  g_assert_cmpstr (b->username, ==, "other@example.com");
  g_assert_cmpstr (b->password_env, ==, "SECOND_PASSWORD");
  g_assert_null (b->password_command);
  g_assert_cmpint (b->latest, ==, 7);
  g_assert_cmpint (b->security, ==, MH_SECURITY_TLS);
  g_assert_cmpuint (b->port, ==, 993);
  g_assert_cmpstr (b->host, ==, "localhost");
}

typedef struct {
  const char *file;
  const char *where; /* "[section] key" or "[section]" after "FILE: " */
} BadCase;

static const BadCase bad_cases[] = {
  { "bad-port.ini", "[account work] port: expected a number from 1 to "
                    "65535, got \"99999\"" },
  { "bad-security.ini", "[account work] security: expected one of tls, "
                        "starttls, none, got \"ssl\"" },
  { "none-remote.ini", "[account work] security: none is only allowed" },
  { "no-host.ini", "[account work] host: required" },
  { "two-secrets.ini", "[account work] password_command: only one secret "
                       "source" },
  { "bad-profile.ini", "[account work] profile: expected one of generic, "
                       "gmail, outlook, got \"yahoo\"" },
  { "bad-latest.ini", "[account work] latest: expected a number from 1 to "
                      "100000000 or \"all\", got \"abc\"" },
  { "zero-latest.ini", "[account work] latest: " },
  { "bad-since.ini", "[account work] since: expected a date YYYY-MM-DD" },
  { "bad-since-leap.ini", "[account work] since: " },
  { "dup-account.ini", "[account work]: defined twice (lines 1 and 11)" },
  { "dup-key.ini", "[account work] port: given twice (lines 5 and 6)" },
  { "unknown-key.ini", "[account work] hots: unknown key" },
  { "unknown-section.ini", "[acount typo]: unknown section" },
  { "no-secret.ini", "[account work] password_command: no secret source" },
  { "no-username.ini", "[account work] username: required" },
  { "xoauth2-no-command.ini", "[account work] auth: xoauth2 needs "
                              "oauth2_token_command" },
  { "plain-with-token.ini", "[account work] auth: plain needs a password" },
  { "bad-auth.ini", "[account work] auth: expected one of auto, plain, "
                    "login, xoauth2, oauthbearer, got \"cram-md5\"" },
  { "bad-tls-verify.ini", "[account work] tls_verify: expected true or "
                          "false, got \"maybe\"" },
  { "bad-compress.ini", "[account work] compress: expected one of auto, "
                        "yes, no, got \"maybe\"" },
  { "bad-timeout.ini", "[account work] timeout: expected a number from 1 "
                       "to 3600, got \"0\"" },
  { "bad-window.ini", "[account work] subject_window_days: expected a "
                      "number from 1 to 3650" },
  { "bad-threading.ini", "[account work] subject_threading: expected one "
                         "of guarded, off, rfc5256" },
  { "bad-default.ini", "[defaults] latest: expected a number" },
  { "output-in-account.ini", "[account work] output: output belongs in "
                             "[defaults]" },
  { "mailboxes-gmail.ini", "[account work] mailboxes: the gmail profile" },
  { "bad-name.ini", "[account ../evil]: an account name is" },
  { "bad-env-name.ini", "[account work] password_env: expected the name" },
  { "empty-mailbox.ini", "[account work] mailboxes: empty mailbox name" },
  { "bad-host.ini", "[account work] host: expected a host name" },
  { "pasted-secret.ini", "line 5: expected KEY = VALUE" },
};

static void
test_bad (gconstpointer data)
{
  const BadCase *c = data;
  g_autofree char *path = data_path (c->file);
  g_autofree char *want = g_strdup_printf ("%s: %s", path, c->where);
  g_autoptr(GError) error = NULL;
  g_autoptr(MhConfig) cfg = mh_config_load (path, &error);

  g_assert_null (cfg);
  g_assert_error (error, MH_ERROR, MH_ERROR_CONFIG);
  if (!g_str_has_prefix (error->message, want))
    g_error ("message \"%s\" does not start with \"%s\"", error->message,
             want);
  g_assert_null (strstr (error->message, "hunter2"));
}

static void
test_missing_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MhConfig) cfg = mh_config_load ("/nonexistent/config.ini",
                                            &error);

  g_assert_null (cfg);
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/config.ini"));
  g_clear_error (&error);

  /* Not a regular file: refused before anything is read. */
  cfg = mh_config_load (g_get_tmp_dir (), &error);
  g_assert_null (cfg);
  g_assert_error (error, MH_ERROR, MH_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "not a regular file"));
}

/* max_message_size: bytes, or K, M or G of 1024; 64 KiB to 16 GiB. */
static void
test_message_size (void)
{
  static const struct {
    const char *value;
    guint64 want;  /* 0: refused */
  } cases[] = {
    { NULL, G_GUINT64_CONSTANT (1) << 30 },
    { "65536", 65536 },
    { "64K", 65536 },
    { "64k", 65536 },
    { "50M", G_GUINT64_CONSTANT (50) << 20 },
    { "16G", G_GUINT64_CONSTANT (16) << 30 },
    { "65535", 0 },
    { "63K", 0 },
    { "17G", 0 },
    { "16385M", 0 },
    { "0", 0 },
    { "K", 0 },
    { "1.5G", 0 },
    { "-1G", 0 },
    { "10T", 0 },
    { "1 G", 0 },
    { "18446744073709551615G", 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MhConfig) cfg = NULL;
      g_autofree char *text = NULL;

      text = g_strdup_printf ("[account a]\nhost = mail.example.com\n"
                              "username = me\npassword_env = MH_PW\n%s%s\n",
                              cases[i].value != NULL
                                ? "max_message_size = " : "",
                              cases[i].value != NULL ? cases[i].value : "");
      cfg = mh_config_load_from_data (text, strlen (text), "size.ini",
                                      &error);
      if (cases[i].want == 0)
        {
          g_assert_null (cfg);
          g_assert_error (error, MH_ERROR, MH_ERROR_CONFIG);
          g_assert_true (g_str_has_prefix (
            error->message, "size.ini: [account a] max_message_size: "
                            "expected a size from 64K to 16G"));
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpuint (account (cfg, 0)->max_message_size, ==,
                        cases[i].want);
    }
}

static void
test_limits (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) big = g_string_new ("[account a]\n");
  g_autoptr(MhConfig) cfg = NULL;
  const char nul[] = "[account a]\nhost = x\0y\n";

  while (big->len <= MH_CONFIG_MAX_SIZE)
    g_string_append (big, "# padding padding padding padding padding\n");
  cfg = mh_config_load_from_data (big->str, big->len, "big.ini", &error);
  g_assert_null (cfg);
  g_assert_error (error, MH_ERROR, MH_ERROR_CONFIG);
  g_assert_true (g_str_has_prefix (error->message, "big.ini: larger"));
  g_clear_error (&error);

  cfg = mh_config_load_from_data (nul, sizeof nul - 1, "nul.ini", &error);
  g_assert_null (cfg);
  g_assert_error (error, MH_ERROR, MH_ERROR_CONFIG);
  g_clear_error (&error);

  cfg = mh_config_load_from_data ("[account a]\nhost = \xff\n", 21,
                                  "latin1.ini", &error);
  g_assert_null (cfg);
  g_assert_error (error, MH_ERROR, MH_ERROR_CONFIG);
  g_clear_error (&error);

  /* A long hostile value is quoted escaped and cut short. */
  {
    g_autoptr(GString) s = g_string_new ("[account a]\nhost = h\n"
                                         "username = u\npassword_env = P\n"
                                         "port = \x1b[2J");
    for (int i = 0; i < 1000; i++)
      g_string_append_c (s, '9');
    cfg = mh_config_load_from_data (s->str, s->len, "long.ini", &error);
    g_assert_null (cfg);
    g_assert_error (error, MH_ERROR, MH_ERROR_CONFIG);
    g_assert_null (strchr (error->message, '\x1b'));
    g_assert_cmpuint (strlen (error->message), <, 200);
  }
}

static void
test_empty (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MhConfig) cfg = mh_config_load_from_data ("", 0, "/x/e.ini",
                                                      &error);

  g_assert_no_error (error);
  g_assert_cmpuint (cfg->accounts->len, ==, 0);
  g_assert_cmpstr (cfg->output, ==, "/x/archive");
}

static void
test_select (void)
{
  g_autoptr(MhConfig) cfg = load_ok ("select.ini");
  g_autoptr(GError) error = NULL;
  const char *const bad[] = { "a", "zz", NULL };
  const char *const pick[] = { "c", "a", NULL };

  g_assert_false (mh_config_select (cfg, bad, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "\"zz\""));
  g_assert_nonnull (strstr (error->message, "a, b, c"));
  g_assert_cmpuint (cfg->accounts->len, ==, 3);

  g_assert_true (mh_config_select (cfg, NULL, NULL));
  g_assert_cmpuint (cfg->accounts->len, ==, 3);

  g_assert_true (mh_config_select (cfg, pick, NULL));
  g_assert_cmpuint (cfg->accounts->len, ==, 2);
  g_assert_cmpstr (account (cfg, 0)->name, ==, "a");
  g_assert_cmpstr (account (cfg, 1)->name, ==, "c");
  g_assert_null (mh_config_find_account (cfg, "b"));
  g_assert_nonnull (mh_config_find_account (cfg, "c"));
}

static void
test_loopback (void)
{
  g_assert_true (mh_config_host_is_loopback ("localhost"));
  g_assert_true (mh_config_host_is_loopback ("LOCALHOST"));
  g_assert_true (mh_config_host_is_loopback ("127.0.0.1"));
  g_assert_true (mh_config_host_is_loopback ("127.200.3.4"));
  g_assert_true (mh_config_host_is_loopback ("::1"));
  g_assert_true (mh_config_host_is_loopback ("[::1]"));
  g_assert_false (mh_config_host_is_loopback ("128.0.0.1"));
  g_assert_false (mh_config_host_is_loopback ("0.0.0.0"));
  g_assert_false (mh_config_host_is_loopback ("localhost.example.com"));
  g_assert_false (mh_config_host_is_loopback ("127.0.0.1.example.com"));
  g_assert_false (mh_config_host_is_loopback ("::2"));
  g_assert_false (mh_config_host_is_loopback (NULL));
}

static void
test_names (void)
{
  g_assert_cmpstr (mh_profile_to_string (MH_PROFILE_OUTLOOK), ==,
                   "outlook");
  g_assert_cmpstr (mh_security_to_string (MH_SECURITY_STARTTLS), ==,
                   "starttls");
  g_assert_cmpstr (mh_auth_mech_to_string (MH_AUTH_OAUTHBEARER), ==,
                   "oauthbearer");
  g_assert_cmpstr (mh_subject_threading_to_string (MH_THREAD_SUBJECT_OFF),
                   ==, "off");
}

/* ------------------------------------------------------------------ */
/* Secrets.                                                            */

/* An account whose only secret source is "@key = @value". */
static MhConfig *
secret_config (const char *key, const char *value)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("[account sec]\nhost = h\n"
                                           "username = u\n%s = %s\n",
                                           key, value);
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "s.ini",
                                            NULL);
  MhConfig *cfg = mh_config_load_from_data (text, strlen (text), path,
                                            &error);

  g_assert_no_error (error);
  return cfg;
}

/* Looks the secret up expecting failure with @code; the message must name
 * the account and must not contain the canary. */
static void
assert_secret_fails (const MhAccount *a, gboolean token, gint code,
                     const char *part)
{
  g_autoptr(GError) error = NULL;
  char *s = token ? mh_secret_oauth2_token (a, &error)
                  : mh_secret_password (a, &error);

  g_assert_null (s);
  g_assert_error (error, MH_ERROR, code);
  g_assert_nonnull (strstr (error->message, "account sec"));
  if (part != NULL && strstr (error->message, part) == NULL)
    g_error ("\"%s\" not in \"%s\"", part, error->message);
  g_assert_null (strstr (error->message, CANARY));
}

static void
assert_secret (const MhAccount *a, gboolean token, const char *want)
{
  g_autoptr(GError) error = NULL;
  char *s = token ? mh_secret_oauth2_token (a, &error)
                  : mh_secret_password (a, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (s, ==, want);
  mh_secret_free (s);
}

static void
test_secret_env (void)
{
  g_autoptr(MhConfig) cfg = secret_config ("password_env", "MH_TEST_PW");

  g_setenv ("MH_TEST_PW", CANARY " with spaces", TRUE);
  assert_secret (account (cfg, 0), FALSE, CANARY " with spaces");
  g_setenv ("MH_TEST_PW", "", TRUE);
  assert_secret_fails (account (cfg, 0), FALSE, MH_ERROR_CONFIG,
                       "MH_TEST_PW is empty");
  g_unsetenv ("MH_TEST_PW");
  assert_secret_fails (account (cfg, 0), FALSE, MH_ERROR_CONFIG,
                       "MH_TEST_PW is not set");
  /* A password account has no token. */
  assert_secret_fails (account (cfg, 0), TRUE, MH_ERROR_CONFIG,
                       "oauth2_token_command");
}

static void
test_secret_command (void)
{
  g_autoptr(MhConfig) ok = secret_config (
      "password_command", "printf '" CANARY "\\r\\nsecond line\\n'");
  g_autoptr(MhConfig) no_nl = secret_config ("password_command",
                                             "printf " CANARY);
  g_autoptr(MhConfig) fails = secret_config (
      "password_command", "echo " CANARY "; echo " CANARY " >&2; exit 3");
  g_autoptr(MhConfig) silent = secret_config ("password_command", "true");
  g_autoptr(MhConfig) blank = secret_config ("password_command",
                                             "printf '\\n" CANARY "\\n'");
  g_autoptr(MhConfig) killed = secret_config (
      "password_command", "echo " CANARY "; kill -9 $$");
  g_autoptr(MhConfig) missing = secret_config (
      "password_command", "/nonexistent/" CANARY);

  assert_secret (account (ok, 0), FALSE, CANARY);
  assert_secret (account (no_nl, 0), FALSE, CANARY);
  if (g_test_subprocess ())
    {
      /* The failing command's stderr goes to ours, untouched. */
      assert_secret_fails (account (fails, 0), FALSE, MH_ERROR_AUTH,
                           "password_command failed with exit status 3");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*" CANARY "*");
  g_test_trap_assert_stdout_unmatched ("*" CANARY "*");

  assert_secret_fails (account (silent, 0), FALSE, MH_ERROR_AUTH,
                       "printed nothing");
  assert_secret_fails (account (blank, 0), FALSE, MH_ERROR_AUTH,
                       "printed nothing");
  assert_secret_fails (account (killed, 0), FALSE, MH_ERROR_AUTH,
                       "signal 9");
  assert_secret_fails (account (missing, 0), FALSE, MH_ERROR_AUTH,
                       "exit status 127");
}

static void
test_secret_token (void)
{
  g_autoptr(MhConfig) cfg = secret_config ("oauth2_token_command",
                                           "echo ya29." CANARY);
  g_autoptr(MhConfig) fails = secret_config ("oauth2_token_command",
                                             "echo " CANARY "; exit 1");

  assert_secret (account (cfg, 0), TRUE, "ya29." CANARY);
  assert_secret_fails (account (fails, 0), TRUE, MH_ERROR_AUTH,
                       "oauth2_token_command failed with exit status 1");
  /* A token account has no password. */
  assert_secret_fails (account (cfg, 0), FALSE, MH_ERROR_CONFIG,
                       "no password source");
}

static void
test_secret_timeout (void)
{
  g_autoptr(GError) error = NULL;
  char *s;

  s = mh_secret_run_command ("sec", "password_command",
                             "echo " CANARY "; exec sleep 30", 300, &error);
  g_assert_null (s);
  g_assert_error (error, MH_ERROR, MH_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (error->message, "account sec"));
  g_assert_null (strstr (error->message, CANARY));
  g_clear_error (&error);

  /* A daemon left holding stdout does not hold up a finished command. */
  s = mh_secret_run_command ("sec", "password_command",
                             "sleep 5 2>/dev/null & echo " CANARY, 20000,
                             &error);
  g_assert_no_error (error);
  g_assert_cmpstr (s, ==, CANARY);
  mh_secret_free (s);
}

static void
test_secret_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("mh-secret-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "pw", NULL);
  g_autofree char *empty = g_build_filename (dir, "empty", NULL);
  g_autoptr(MhConfig) cfg = secret_config ("password_file", file);
  g_autoptr(MhConfig) cfg_empty = secret_config ("password_file", empty);
  g_autoptr(MhConfig) cfg_dir = secret_config ("password_file", dir);
  g_autoptr(MhConfig) cfg_rel = secret_config ("password_file", "rel.pw");
  g_autofree char *rel = g_build_filename (g_get_tmp_dir (), "rel.pw",
                                           NULL);

  g_assert_nonnull (dir);
  g_assert_true (g_file_set_contents (file, CANARY "\nignored\n", -1,
                                      NULL));
  g_assert_true (g_file_set_contents (empty, "\n" CANARY "\n", -1, NULL));
  g_assert_cmpint (g_chmod (file, 0600), ==, 0);
  g_assert_cmpint (g_chmod (empty, 0600), ==, 0);

  /* Relative to the configuration file's directory. */
  g_assert_cmpstr (account (cfg_rel, 0)->password_file, ==, rel);

  assert_secret (account (cfg, 0), FALSE, CANARY);
  g_assert_cmpint (g_chmod (file, 0640), ==, 0);
  assert_secret_fails (account (cfg, 0), FALSE, MH_ERROR_CONFIG,
                       "chmod 600");
  g_assert_cmpint (g_chmod (file, 0604), ==, 0);
  assert_secret_fails (account (cfg, 0), FALSE, MH_ERROR_CONFIG,
                       "mode 0604");
  assert_secret_fails (account (cfg_empty, 0), FALSE, MH_ERROR_CONFIG,
                       "empty first line");
  assert_secret_fails (account (cfg_dir, 0), FALSE, MH_ERROR_CONFIG,
                       "not a regular file");
  g_assert_cmpint (g_unlink (file), ==, 0);
  assert_secret_fails (account (cfg, 0), FALSE, MH_ERROR_CONFIG, file);

  g_unlink (empty);
  g_rmdir (dir);
}

static void
test_secret_free (void)
{
  mh_secret_free (NULL);
  mh_secret_free (g_strdup (CANARY));
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0");

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/config/gmail", test_gmail);
  g_test_add_func ("/config/outlook", test_outlook);
  g_test_add_func ("/config/generic", test_generic);
  g_test_add_func ("/config/defaults", test_defaults);
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/config/bad/%s",
                                               bad_cases[i].file);
      g_test_add_data_func (name, &bad_cases[i], test_bad);
    }
  g_test_add_func ("/config/missing-file", test_missing_file);
  g_test_add_func ("/config/limits", test_limits);
  g_test_add_func ("/config/message-size", test_message_size);
  g_test_add_func ("/config/empty", test_empty);
  g_test_add_func ("/config/select", test_select);
  g_test_add_func ("/config/loopback", test_loopback);
  g_test_add_func ("/config/names", test_names);
  g_test_add_func ("/secret/env", test_secret_env);
  g_test_add_func ("/secret/command", test_secret_command);
  g_test_add_func ("/secret/token", test_secret_token);
  g_test_add_func ("/secret/timeout", test_secret_timeout);
  g_test_add_func ("/secret/file", test_secret_file);
  g_test_add_func ("/secret/free", test_secret_free);
  return g_test_run ();
}
