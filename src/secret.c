/* secret.c - passwords and tokens from the environment, a command or a
 * file.  Buffers that held a secret are overwritten before they are
 * freed, and no message ever quotes one. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>

#include "mailharvest/error.h"
#include "mailharvest/secret.h"

#define GRACE_MS 500 /* stdout may stay open this long after the exit */

void
mh_secret_free (char *secret)
{
  if (secret == NULL)
    return;
  explicit_bzero (secret, strlen (secret));
  g_free (secret);
}

static void
wipe_bytes (GByteArray *buf)
{
  if (buf == NULL)
    return;
  if (buf->len > 0)
    explicit_bzero (buf->data, buf->len);
  g_byte_array_unref (buf);
}

/* The first line of @data (@len bytes): everything before the first "\n",
 * without a trailing "\r".  NULL if that is empty. */
static char *
first_line (const guint8 *data, gsize len)
{
  const guint8 *nl;
  gsize n;

  if (len == 0)
    return NULL;
  nl = memchr (data, '\n', len);
  n = nl != NULL ? (gsize) (nl - data) : len;

  if (n > 0 && data[n - 1] == '\r')
    n--;
  if (n == 0 || memchr (data, '\0', n) != NULL)
    return NULL;
  return g_strndup ((const char *) data, n);
}

/* ------------------------------------------------------------------ */
/* Commands.                                                           */

typedef struct {
  GByteArray *out;       /* the first MH_SECRET_MAX_SIZE bytes of stdout */
  guint8 chunk[4096];
  gboolean read_done;
  gboolean wait_done;
  gboolean timed_out;
  GCancellable *cancel;
} Run;

static void on_read (GObject *src, GAsyncResult *res, gpointer data);

static void
read_more (GInputStream *in, Run *run)
{
  g_input_stream_read_async (in, run->chunk, sizeof run->chunk,
                             G_PRIORITY_DEFAULT, run->cancel, on_read, run);
}

static void
on_read (GObject *src, GAsyncResult *res, gpointer data)
{
  Run *run = data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (src), res, NULL);

  if (n <= 0)
    {
      run->read_done = TRUE;
      explicit_bzero (run->chunk, sizeof run->chunk);
      return;
    }
  /* Keep reading past the limit, so that a chatty command is not blocked
   * on a full pipe, but keep only the start. */
  if (run->out->len < MH_SECRET_MAX_SIZE)
    g_byte_array_append (run->out, run->chunk,
                         MIN ((guint) n, MH_SECRET_MAX_SIZE - run->out->len));
  read_more (G_INPUT_STREAM (src), run);
}

static void
on_wait (GObject *src, GAsyncResult *res, gpointer data)
{
  Run *run = data;

  g_subprocess_wait_finish (G_SUBPROCESS (src), res, NULL);
  run->wait_done = TRUE;
}

/* The command has exited but something it started still holds its stdout
 * open (a daemon): what was printed until now is all there will be. */
static gboolean
on_grace (gpointer data)
{
  Run *run = data;

  g_cancellable_cancel (run->cancel);
  return G_SOURCE_REMOVE;
}

static gboolean
on_timeout (gpointer data)
{
  Run *run = data;

  run->timed_out = TRUE;
  g_cancellable_cancel (run->cancel);
  return G_SOURCE_REMOVE;
}

char *
mh_secret_run_command (const char *account, const char *key,
                       const char *command, guint timeout_ms,
                       GError **error)
{
  g_autoptr(GMainContext) ctx = g_main_context_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_autoptr(GSource) timer = NULL;
  g_autoptr(GSource) grace = NULL;
  g_autoptr(GError) local = NULL;
  const char *argv[] = { "/bin/sh", "-c", command, NULL };
  Run run = { 0 };
  char *line = NULL;
  int status;

  g_return_val_if_fail (account != NULL && key != NULL, NULL);
  g_return_val_if_fail (command != NULL, NULL);

  /* stdin and stderr stay the user's: a password manager may prompt. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                        | G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  proc = g_subprocess_launcher_spawnv (launcher, argv, &local);
  if (proc == NULL)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_AUTH,
                   "account %s: %s could not be started: %s", account, key,
                   local->message);
      return NULL;
    }

  /* A private main context keeps this call synchronous for the caller
   * while the timeout, the pipe and the exit are watched together. */
  g_main_context_push_thread_default (ctx);
  run.out = g_byte_array_new ();
  run.cancel = cancel;
  read_more (g_subprocess_get_stdout_pipe (proc), &run);
  g_subprocess_wait_async (proc, cancel, on_wait, &run);
  timer = g_timeout_source_new (timeout_ms);
  g_source_set_callback (timer, on_timeout, &run, NULL);
  g_source_attach (timer, ctx);
  while (!(run.read_done && run.wait_done))
    {
      if (run.wait_done && grace == NULL)
        {
          grace = g_timeout_source_new (GRACE_MS);
          g_source_set_callback (grace, on_grace, &run, NULL);
          g_source_attach (grace, ctx);
        }
      g_main_context_iteration (ctx, TRUE);
    }
  g_source_destroy (timer);
  if (grace != NULL)
    g_source_destroy (grace);
  g_main_context_pop_thread_default (ctx);

  if (run.timed_out)
    {
      /* The shell is killed; a grandchild that kept stdout open is left
       * behind, but nothing waits for it any more. */
      g_subprocess_force_exit (proc);
      g_subprocess_wait (proc, NULL, NULL);
      wipe_bytes (run.out);
      g_set_error (error, MH_ERROR, MH_ERROR_TIMEOUT,
                   "account %s: %s did not finish within %u s and was "
                   "killed", account, key, (timeout_ms + 999) / 1000);
      return NULL;
    }
  status = g_subprocess_get_status (proc);
  if (WIFSIGNALED (status))
    {
      wipe_bytes (run.out);
      g_set_error (error, MH_ERROR, MH_ERROR_AUTH,
                   "account %s: %s was killed by signal %d", account, key,
                   WTERMSIG (status));
      return NULL;
    }
  if (WEXITSTATUS (status) != 0)
    {
      /* Its output is not shown: it may be the secret itself. */
      wipe_bytes (run.out);
      g_set_error (error, MH_ERROR, MH_ERROR_AUTH,
                   "account %s: %s failed with exit status %d", account, key,
                   WEXITSTATUS (status));
      return NULL;
    }
  line = first_line (run.out->data, run.out->len);
  wipe_bytes (run.out);
  if (line == NULL)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_AUTH,
                   "account %s: %s printed nothing on its first line",
                   account, key);
      return NULL;
    }
  return line;
}

/* ------------------------------------------------------------------ */
/* Files and the environment.                                          */

static char *
read_file (const MhAccount *acct, const char *path, GError **error)
{
  GByteArray *buf = NULL;
  struct stat st;
  char *line;
  int fd;

  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, MH_ERROR, MH_ERROR_CONFIG,
                   "account %s: password_file %s: %s", acct->name, path,
                   g_strerror (e));
      return NULL;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, MH_ERROR, MH_ERROR_CONFIG,
                   "account %s: password_file %s is not a regular file",
                   acct->name, path);
      return NULL;
    }
  /* Like ssh with its keys: a secret others can read is no secret. */
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
      close (fd);
      g_set_error (error, MH_ERROR, MH_ERROR_CONFIG,
                   "account %s: password_file %s is accessible by other "
                   "users (mode %04o); run chmod 600 on it", acct->name,
                   path, (unsigned) (st.st_mode & 07777));
      return NULL;
    }
  buf = g_byte_array_sized_new (4096);
  for (;;)
    {
      guint8 chunk[4096];
      gssize n = read (fd, chunk, sizeof chunk);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          close (fd);
          wipe_bytes (buf);
          g_set_error (error, MH_ERROR, MH_ERROR_CONFIG,
                       "account %s: password_file %s: %s", acct->name, path,
                       g_strerror (e));
          return NULL;
        }
      if (n > 0)
        g_byte_array_append (buf, chunk,
                             MIN ((guint) n, MH_SECRET_MAX_SIZE - buf->len));
      explicit_bzero (chunk, sizeof chunk);
      /* The first line is all that is needed. */
      if (n == 0 || buf->len >= MH_SECRET_MAX_SIZE
          || memchr (buf->data, '\n', buf->len) != NULL)
        break;
    }
  close (fd);
  line = first_line (buf->data, buf->len);
  wipe_bytes (buf);
  if (line == NULL)
    g_set_error (error, MH_ERROR, MH_ERROR_CONFIG,
                 "account %s: password_file %s has an empty first line",
                 acct->name, path);
  return line;
}

char *
mh_secret_password (const MhAccount *acct, GError **error)
{
  g_return_val_if_fail (acct != NULL, NULL);

  if (acct->password_env != NULL)
    {
      const char *value = g_getenv (acct->password_env);

      if (value == NULL || *value == '\0')
        {
          g_set_error (error, MH_ERROR, MH_ERROR_CONFIG,
                       "account %s: password_env: the environment "
                       "variable %s is %s", acct->name, acct->password_env,
                       value == NULL ? "not set" : "empty");
          return NULL;
        }
      return g_strdup (value);
    }
  if (acct->password_command != NULL)
    return mh_secret_run_command (acct->name, "password_command",
                                  acct->password_command,
                                  MH_SECRET_COMMAND_TIMEOUT_MS, error);
  if (acct->password_file != NULL)
    return read_file (acct, acct->password_file, error);
  g_set_error (error, MH_ERROR, MH_ERROR_CONFIG,
               "account %s: no password source (password_env, "
               "password_command or password_file)", acct->name);
  return NULL;
}

char *
mh_secret_oauth2_token (const MhAccount *acct, GError **error)
{
  g_return_val_if_fail (acct != NULL, NULL);

  if (acct->oauth2_token_command == NULL)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_CONFIG,
                   "account %s: no oauth2_token_command", acct->name);
      return NULL;
    }
  return mh_secret_run_command (acct->name, "oauth2_token_command",
                                acct->oauth2_token_command,
                                MH_SECRET_COMMAND_TIMEOUT_MS, error);
}
