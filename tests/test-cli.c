/* test-cli.c - the mailharvest binary's command line: help, version,
 * exit statuses and messages for usage and config errors, and
 * `mailharvest folders` against the test Dovecot (run under
 * tests/dovecot/with-dovecot; $MH_BINARY is the binary).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

/* Dir depth created below a Maildir at most. */
#define MAX_DEPTH 8

typedef struct {
  int unused;
} Fixture;

static guint mail_seq;
static char *work_dir;

static const char *
env (const char *name)
{
  const char *v = g_getenv (name);

  if (v == NULL)
    g_error ("%s is not set: run this test under tests/dovecot/with-dovecot",
             name);
  return v;
}

typedef struct {
  int status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

/* Runs mailharvest with @args (NULL-terminated), the test passwords in
 * MH_T_PW_ALICE and MH_T_PW_BOB. */
static void
run_mh (Run *r, const char *const *args)
{
  g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) p = NULL;
  g_autoptr(GError) error = NULL;

  memset (r, 0, sizeof *r);
  g_ptr_array_add (argv, (gpointer) env ("MH_BINARY"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_subprocess_launcher_setenv (l, "MH_T_PW_ALICE", env ("MH_TEST_PASSWORD"),
                                TRUE);
  g_subprocess_launcher_setenv (l, "MH_T_PW_BOB", env ("MH_TEST_PASSWORD2"),
                                TRUE);
  p = g_subprocess_launcher_spawnv (l, (const char *const *) argv->pdata,
                                    &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (p));
  r->status = g_subprocess_get_exit_status (p);
}

static void
run_expect (Run *r, int want, const char *const *args)
{
  run_mh (r, args);
  if (r->status != want)
    g_test_message ("stdout: %s\nstderr: %s", r->out, r->err);
  g_assert_cmpint (r->status, ==, want);
}

static char *
write_file (const char *name, const char *text)
{
  char *path = g_build_filename (work_dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  return path;
}

static void
setup (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  work_dir = g_dir_make_tmp ("test-cli-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
rm_rf (const char *path, guint depth)
{
  g_autoptr(GDir) d = NULL;
  const char *name;

  g_assert_cmpuint (depth, <, MAX_DEPTH);
  if (!g_file_test (path, G_FILE_TEST_IS_DIR)
      || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      (void) g_unlink (path);
      return;
    }
  d = g_dir_open (path, 0, NULL);
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (path, name, NULL);

      rm_rf (p, depth + 1);
    }
  (void) g_rmdir (path);
}

static void
teardown (Fixture *fixture, gconstpointer data)
{
  rm_rf (work_dir, 0);
  g_clear_pointer (&work_dir, g_free);
}

/* ---- help, version, usage errors --------------------------------------- */

static void
test_help (Fixture *fixture, gconstpointer data)
{
  Run r;

  run_expect (&r, 0, (const char *const[]) { "--help", NULL });
  g_assert_true (g_str_has_prefix (r.out, "Usage: mailharvest COMMAND"));
  g_assert_nonnull (strstr (r.out, "\n  run "));
  g_assert_nonnull (strstr (r.out, "\n  folders "));
  g_assert_nonnull (strstr (r.out, "\n  import "));
  g_assert_nonnull (strstr (r.out, "\n  threads "));
  g_assert_cmpstr (r.err, ==, "");
  run_clear (&r);

  run_expect (&r, 0, (const char *const[]) { "run", "--help", NULL });
  g_assert_nonnull (strstr (r.out, "--latest"));
  g_assert_nonnull (strstr (r.out, "--json"));
  g_assert_nonnull (strstr (r.out, "--config"));
  run_clear (&r);

  run_expect (&r, 0, (const char *const[]) { "folders", "--help", NULL });
  g_assert_nonnull (strstr (r.out, "--account"));
  run_clear (&r);

  /* No command: the usage, on stderr, and status 2. */
  run_expect (&r, 2, (const char *const[]) { NULL });
  g_assert_nonnull (strstr (r.err, "Usage: mailharvest COMMAND"));
  g_assert_cmpstr (r.out, ==, "");
  run_clear (&r);
}

static void
test_version (Fixture *fixture, gconstpointer data)
{
  Run r;

  run_expect (&r, 0, (const char *const[]) { "--version", NULL });
  g_assert_cmpstr (r.out, ==, "mailharvest " MH_VERSION "\n");
  run_clear (&r);
}

static void
test_unknown_command (Fixture *fixture, gconstpointer data)
{
  Run r;

  run_expect (&r, 2, (const char *const[]) { "frobnicate", NULL });
  g_assert_nonnull (strstr (r.err, "unknown command 'frobnicate'"));
  g_assert_cmpstr (r.out, ==, "");
  run_clear (&r);

  run_expect (&r, 2, (const char *const[]) { "run", "--no-such-option",
                                             NULL });
  g_assert_nonnull (strstr (r.err, "--no-such-option"));
  run_clear (&r);

  run_expect (&r, 2, (const char *const[]) { "run", "-n", "many", NULL });
  g_assert_nonnull (strstr (r.err, "many"));
  run_clear (&r);
}

/* A config error: status 2, nothing on stdout, and a message on stderr
 * that names the file, the section and the key. */
static void
check_config_error (const char *command, const char *name, const char *text,
                    const char *const *expect)
{
  g_autofree char *path = write_file (name, text);
  Run r;

  run_expect (&r, 2, (const char *const[]) { command, "-c", path, NULL });
  g_assert_cmpstr (r.out, ==, "");
  for (guint i = 0; expect[i] != NULL; i++)
    {
      if (strstr (r.err, expect[i]) == NULL)
        g_test_message ("stderr: %s", r.err);
      g_assert_nonnull (strstr (r.err, expect[i]));
    }
  run_clear (&r);
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
  Run r;

  run_expect (&r, 2, (const char *const[]) { "run", "-c", path, NULL });
  g_assert_nonnull (strstr (r.err, path));
  g_assert_cmpstr (r.out, ==, "");
  run_clear (&r);

  run_expect (&r, 2, (const char *const[]) { "folders", "-c", path, NULL });
  g_assert_nonnull (strstr (r.err, path));
  run_clear (&r);

  /* Without -c: the default path below the (isolated) config dir. */
  run_expect (&r, 2, (const char *const[]) { "run", NULL });
  g_assert_nonnull (strstr (r.err, "config.ini"));
  run_clear (&r);
}

/* ---- folders against the test Dovecot ---------------------------------- */

static void
chown_mail (const char *path)
{
  guint64 uid = g_ascii_strtoull (env ("MH_TEST_MAIL_UID"), NULL, 10);
  guint64 gid = g_ascii_strtoull (env ("MH_TEST_MAIL_GID"), NULL, 10);

  if (chown (path, (uid_t) uid, (gid_t) gid) != 0 && errno != EPERM)
    g_error ("chown %s: %s", path, g_strerror (errno));
}

/* Delivers @count messages into @folder below the Maildir @root (the
 * folder's on-disk name, modified UTF-7 in LAYOUT=fs; NULL is INBOX),
 * creating it with cur, new and tmp. */
static void
deliver (const char *root, const char *folder, guint count)
{
  static const char *const subs[] = { "cur", "new", "tmp" };
  g_autofree char *dir = folder == NULL
                             ? g_strdup (root)
                             : g_build_filename (root, folder, NULL);

  if (folder != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (folder, "/", -1);
      g_autofree char *p = g_strdup (root);

      for (guint i = 0; parts[i] != NULL; i++)
        {
          char *next = g_build_filename (p, parts[i], NULL);

          g_free (p);
          p = next;
          if (g_mkdir (p, 0700) == 0)
            chown_mail (p);
        }
    }
  for (gsize i = 0; i < G_N_ELEMENTS (subs); i++)
    {
      g_autofree char *s = g_build_filename (dir, subs[i], NULL);

      if (g_mkdir (s, 0700) == 0)
        chown_mail (s);
    }
  for (guint i = 0; i < count; i++)
    {
      guint seq = ++mail_seq;
      g_autofree char *base = g_strdup_printf ("%u.M%uP1.mh",
                                               1600000000 + seq, seq);
      g_autofree char *tmp = g_build_filename (dir, "tmp", base, NULL);
      g_autofree char *final = g_build_filename (dir, "cur", NULL);
      g_autofree char *text = g_strdup_printf (
          "From: a@example.org\r\nTo: b@example.org\r\n"
          "Subject: message %u\r\nMessage-ID: <cli%u@test.example>\r\n"
          "Date: Fri, 01 Mar 2024 08:00:00 +0000\r\n\r\nHello.\r\n",
          seq, seq);
      g_autoptr(GError) error = NULL;

      g_free (final);
      final = g_strdup_printf ("%s/cur/%s:2,S", dir, base);
      g_file_set_contents (tmp, text, -1, &error);
      g_assert_no_error (error);
      chown_mail (tmp);
      g_assert_cmpint (g_rename (tmp, final), ==, 0);
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
      env ("MH_TEST_CA_FILE"), env ("MH_TEST_IMAPS_PORT"),
      env ("MH_TEST_USER"), env ("MH_TEST_USER2"));

  return write_file ("folders.ini", text);
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
  const char *alice = env ("MH_TEST_MAIL_DIR");
  const char *bob = env ("MH_TEST_MAIL_DIR2");
  g_autofree char *cfg = folders_config ();
  g_autofree char *got = NULL;
  Run r;

  deliver (alice, NULL, 2);
  deliver (alice, "Sent", 3);
  /* "Entwürfe" in modified UTF-7 (RFC 3501 5.1.3). */
  deliver (alice, "Entw&APw-rfe", 1);
  deliver (bob, NULL, 1);
  deliver (bob, "[Gmail]/All Mail", 4);

  run_expect (&r, 0, (const char *const[]) { "folders", "-c", cfg, NULL });
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
  run_clear (&r);
  g_clear_pointer (&got, g_free);

  /* -a narrows to one account. */
  run_expect (&r, 0, (const char *const[]) { "folders", "-c", cfg, "-a",
                                             "bob", NULL });
  got = parse_folders (r.out);
  g_assert_nonnull (strstr (got, "bob|[Gmail]/All Mail|\\All|4\n"));
  g_assert_null (strstr (got, "alice|"));
  run_clear (&r);

  /* An account the config lacks is a usage error. */
  run_expect (&r, 2, (const char *const[]) { "folders", "-c", cfg, "-a",
                                             "carol", NULL });
  g_assert_nonnull (strstr (r.err, "carol"));
  run_clear (&r);
}

/* A wrong password: status 1, the account named, the others listed. */
static void
test_folders_auth_failure (Fixture *fixture, gconstpointer data)
{
  g_autofree char *text = g_strdup_printf (
      "[defaults]\nca_file = %s\nhost = 127.0.0.1\nport = %s\n\n"
      "[account alice]\nusername = %s\npassword_env = MH_T_PW_ALICE\n\n"
      "[account bob]\nusername = %s\npassword_env = MH_T_PW_ALICE\n",
      env ("MH_TEST_CA_FILE"), env ("MH_TEST_IMAPS_PORT"),
      env ("MH_TEST_USER"), env ("MH_TEST_USER2"));
  g_autofree char *cfg = write_file ("wrong.ini", text);
  Run r;

  run_expect (&r, 1, (const char *const[]) { "folders", "-c", cfg, NULL });
  g_assert_true (g_str_has_prefix (r.out, "alice (127.0.0.1)\n"));
  g_assert_nonnull (strstr (r.err, "bob: "));
  g_assert_nonnull (strstr (r.err, "authentication"));
  g_assert_null (strstr (r.err, env ("MH_TEST_PASSWORD")));
  run_clear (&r);
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
