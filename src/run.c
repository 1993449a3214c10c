/* run.c - the batch over accounts and mailboxes. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mailharvest/archive.h"
#include "mailharvest/error.h"
#include "mailharvest/rawbuf.h"
#include "mailharvest/imap-session.h"
#include "mailharvest/run.h"
#include "mailharvest/secret.h"
#include "mailharvest/utf7.h"
#include "run-private.h"

#define DEFAULT_RETRIES 5
#define DEFAULT_BACKOFF_MS 1000
#define DEFAULT_MAX_BACKOFF_MS (5 * 60 * 1000)
#define MAX_FAILURES_LISTED 1000

/* The first wait before a reconnect.  The tests shorten it with
 * MH_DEBUG_BACKOFF_MS, as they pick kill and fail points with the
 * MH_DEBUG_ variables (archive.c). */
static guint
default_backoff_ms (void)
{
  const char *v = g_getenv ("MH_DEBUG_BACKOFF_MS");
  guint64 ms;

  if (v != NULL && g_ascii_string_to_unsigned (v, 10, 1, 60000, &ms, NULL))
    return (guint) ms;
  return DEFAULT_BACKOFF_MS;
}

/* Frees what @r owns, not @r itself (a result may live on the stack). */
static void
run_result_clear (MhRunResult *r)
{
  g_clear_pointer (&r->account, g_free);
  g_clear_pointer (&r->error, g_free);
  g_clear_pointer (&r->mailboxes, g_ptr_array_unref);
  g_clear_pointer (&r->failures, g_ptr_array_unref);
  g_clear_pointer (&r->dir, g_free);
  g_clear_pointer (&r->tls, g_free);
}

void
mh_run_result_free (MhRunResult *r)
{
  if (r == NULL)
    return;
  run_result_clear (r);
  g_free (r);
}

void
mh_run_log (RunAccount *ra, MhRunLogLevel level, const char *format, ...)
{
  va_list ap;
  g_autofree char *text = NULL;

  if (ra->opts->events.log == NULL)
    return;
  va_start (ap, format);
  text = g_strdup_vprintf (format, ap);
  va_end (ap);
  ra->opts->events.log (level, ra->acct->name, text,
                        ra->opts->events.user_data);
}

static void
trace_cb (gboolean sent, const char *line, gpointer user_data)
{
  RunAccount *ra = user_data;

  ra->opts->events.trace (ra->acct->name, sent, line,
                          ra->opts->events.user_data);
}

void
mh_run_progress (RunAccount *ra, const char *mailbox, guint done,
                 guint total)
{
  MhRunProgress p = { 0 };

  if (ra->opts->events.progress == NULL)
    return;
  p.account = ra->acct->name;
  p.mailbox = mailbox;
  p.done = done;
  p.total = total;
  p.bytes = ra->result->bytes + (ra->session != NULL
                                     ? mh_imap_session_get_bytes_received (
                                           ra->session)
                                     : 0);
  ra->opts->events.progress (&p, ra->opts->events.user_data);
}

/* Sleeps @ms, in slices so that a SIGINT still ends the process. */
static void
nap (guint64 ms)
{
  while (ms > 0)
    {
      guint64 slice = MIN (ms, 200);

      g_usleep (slice * 1000);
      ms -= slice;
    }
}

void
mh_run_backoff (RunAccount *ra, guint attempt)
{
  guint64 ms = ra->backoff_ms;

  for (guint i = 1; i < attempt && ms < ra->max_backoff_ms; i++)
    ms *= 2;
  nap (MIN (ms, ra->max_backoff_ms));
}

void
mh_run_drop_session (RunAccount *ra)
{
  if (ra->session == NULL)
    return;
  ra->result->bytes += mh_imap_session_get_bytes_received (ra->session);
  ra->result->body_fetches += mh_imap_session_get_command_count (
      ra->session, MH_IMAP_CMD_FETCH_BODY);
  if (mh_imap_session_is_compressed (ra->session))
    ra->result->compressed = TRUE;
  if (mh_imap_session_get_tls (ra->session) != NULL)
    {
      g_free (ra->result->tls);
      ra->result->tls = g_strdup (mh_imap_session_get_tls (ra->session));
    }
  g_clear_pointer (&ra->session, mh_imap_session_free);
}

static gboolean
is_oauth (const MhAccount *acct)
{
  return acct->auth == MH_AUTH_XOAUTH2 || acct->auth == MH_AUTH_OAUTHBEARER
         || (acct->auth == MH_AUTH_AUTO && acct->oauth2_token_command != NULL);
}

static MhImapAuthMech
pick_mech (RunAccount *ra)
{
  const MhAccount *acct = ra->acct;

  switch (acct->auth)
    {
    case MH_AUTH_PLAIN:
      return MH_IMAP_AUTH_PLAIN;
    case MH_AUTH_LOGIN:
      return MH_IMAP_AUTH_LOGIN;
    case MH_AUTH_XOAUTH2:
      return MH_IMAP_AUTH_XOAUTH2;
    case MH_AUTH_OAUTHBEARER:
      return MH_IMAP_AUTH_OAUTHBEARER;
    case MH_AUTH_AUTO:
    default:
      break;
    }
  if (acct->oauth2_token_command != NULL)
    {
      if (!mh_imap_session_has_capability (ra->session, "AUTH=XOAUTH2")
          && mh_imap_session_has_capability (ra->session,
                                             "AUTH=OAUTHBEARER"))
        return MH_IMAP_AUTH_OAUTHBEARER;
      return MH_IMAP_AUTH_XOAUTH2;
    }
  return MH_IMAP_AUTH_AUTO;
}

static gboolean
authenticate (RunAccount *ra, GError **error)
{
  const MhAccount *acct = ra->acct;
  g_autoptr(GError) local = NULL;
  MhImapAuthMech mech;
  char *secret;
  gboolean ok;

  if (mh_imap_session_is_authenticated (ra->session))
    return TRUE;
  mech = pick_mech (ra);
  secret = is_oauth (acct) ? mh_secret_oauth2_token (acct, error)
                           : mh_secret_password (acct, error);
  if (secret == NULL)
    return FALSE;
  ok = mh_imap_session_authenticate (ra->session, acct->username, secret,
                                     mech, &local);
  mh_secret_free (secret);
  if (ok)
    {
      /* The next refusal, after the next expiry of a long run, gets its
       * fresh token too. */
      ra->token_refreshed = FALSE;
      return TRUE;
    }
  if (is_oauth (acct) && g_error_matches (local, MH_ERROR, MH_ERROR_AUTH)
      && !ra->token_refreshed)
    {
      /* Tokens expire: run the command once more for a fresh one. */
      ra->token_refreshed = TRUE;
      mh_run_log (ra, MH_RUN_LOG_WARNING,
                  "authentication failed (%s); fetching a new token",
                  local->message);
      mh_run_drop_session (ra);
      return mh_run_connect (ra, error);
    }
  if (g_error_matches (local, MH_ERROR, MH_ERROR_AUTH))
    {
      /* The session's message names the mechanism, the user and the
       * server's reason already. */
      g_set_error (error, MH_ERROR, MH_ERROR_AUTH,
                   "%s; check the username and the %s of this account",
                   local->message,
                   is_oauth (acct) ? "oauth2_token_command"
                                   : "password source");
      return FALSE;
    }
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

/* COMPRESS=DEFLATE where the account's `compress` allows it and the
 * server offers it (auto: not on loopback, where it only costs CPU).  A
 * server that refuses leaves the session uncompressed, with a warning. */
static gboolean
maybe_compress (RunAccount *ra, GError **error)
{
  const MhAccount *acct = ra->acct;
  g_autoptr(GError) local = NULL;

  if (acct->compress == MH_COMPRESS_NO
      || (acct->compress == MH_COMPRESS_AUTO
          && mh_net_host_is_loopback (acct->host))
      || !mh_imap_session_has_capability (ra->session, "COMPRESS=DEFLATE"))
    return TRUE;
  if (mh_imap_session_compress (ra->session, &local))
    return TRUE;
  if (g_error_matches (local, MH_ERROR, MH_ERROR_SERVER_NO)
      || g_error_matches (local, MH_ERROR, MH_ERROR_SERVER_BAD))
    {
      mh_run_log (ra, MH_RUN_LOG_WARNING,
                  "the server refused COMPRESS (%s); going on uncompressed",
                  local->message);
      return TRUE;
    }
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

gboolean
mh_run_connect (RunAccount *ra, GError **error)
{
  const MhAccount *acct = ra->acct;
  MhConnectOptions co;

  mh_connect_options_init (&co);
  co.host = acct->host;
  co.port = acct->port;
  co.security = acct->security;
  co.ca_file = acct->ca_file;
  co.tls_verify = acct->tls_verify;
  co.timeout_ms = (int) MIN (acct->timeout * 1000, G_MAXINT);
  ra->session = mh_imap_session_connect (&co, error);
  if (ra->session == NULL)
    return FALSE;
  if (ra->opts->events.trace != NULL)
    mh_imap_session_set_trace (ra->session, trace_cb, ra);
  if (!authenticate (ra, error) || !maybe_compress (ra, error))
    {
      mh_run_drop_session (ra);
      return FALSE;
    }
  return TRUE;
}

/* Errors after which a new connection may help. */
gboolean
mh_run_error_is_transient (const GError *error)
{
  return error->domain == MH_ERROR
         && (error->code == MH_ERROR_NET || error->code == MH_ERROR_TIMEOUT
             || error->code == MH_ERROR_BYE
             || error->code == MH_ERROR_THROTTLED
             || error->code == MH_ERROR_UNAVAILABLE);
}

/* Connects and picks the mailboxes (LIST), retrying transient failures
 * of either with backoff: a server may drop a session, or refuse to
 * serve it, right after the login. */
static GPtrArray *
open_with_retries (RunAccount *ra, GPtrArray *missing, GError **error)
{
  for (guint attempt = 1;; attempt++)
    {
      g_autoptr(GError) local = NULL;
      GPtrArray *mailboxes = NULL;

      g_ptr_array_set_size (missing, 0);
      if (mh_run_connect (ra, &local)
          && (mailboxes = mh_run_choose_mailboxes (ra, missing, &local))
                 != NULL)
        return mailboxes;
      if (!mh_run_error_is_transient (local) || attempt > ra->max_retries)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      mh_run_log (ra, MH_RUN_LOG_WARNING,
                  "%s (%s); retrying",
                  ra->session == NULL ? "cannot connect"
                                      : "cannot list the folders",
                  local->message);
      if (ra->session != NULL)
        ra->result->reconnects++;
      mh_run_drop_session (ra);
      mh_run_backoff (ra, attempt);
    }
}

static void
add_failure (RunAccount *ra, const char *mailbox, guint32 uid,
             const char *reason)
{
  ra->result->failed++;
  if (ra->result->failures->len < MAX_FAILURES_LISTED)
    g_ptr_array_add (ra->result->failures,
                     g_strdup_printf ("%s UID %u: %s", mailbox, uid,
                                      reason));
  mh_run_log (ra, MH_RUN_LOG_ERROR, "%s UID %u: %s", mailbox, uid, reason);
}

void
mh_run_message_failed (RunAccount *ra, const char *mailbox, guint32 uid,
                       const char *reason)
{
  add_failure (ra, mailbox, uid, reason);
}

static gboolean
run_account (RunAccount *ra, GError **error)
{
  g_autoptr(GPtrArray) mailboxes = NULL;
  g_autoptr(GPtrArray) missing = g_ptr_array_new_with_free_func (g_free);
  MhArchiveOptions ao = { 0 };
  MhArchiveFinishStats fs;
  gboolean all_ok = TRUE;
  gboolean ok;

  ao.output = ra->output;
  ao.account = ra->acct->name;
  ao.subject_mode = ra->acct->subject_threading;
  ao.window_days = ra->acct->subject_window_days;
  ra->archive = mh_archive_open (&ao, error);
  if (ra->archive == NULL)
    return FALSE;
  ra->result->dir = g_strdup (mh_archive_get_dir (ra->archive));

  mailboxes = open_with_retries (ra, missing, error);
  if (mailboxes == NULL)
    return FALSE;
  for (guint i = 0; i < missing->len; i++)
    {
      g_autofree char *msg = mh_run_missing_mailbox (ra, missing->pdata[i]);

      all_ok = FALSE;
      mh_run_log (ra, MH_RUN_LOG_ERROR, "%s", msg);
      if (ra->result->error == NULL)
        ra->result->error = g_steal_pointer (&msg);
    }

  for (guint i = 0; i < mailboxes->len; i++)
    {
      const MhImapMailbox *mb = mailboxes->pdata[i];
      g_autoptr(GError) local = NULL;

      g_ptr_array_add (ra->result->mailboxes, g_strdup (mb->name_utf8));
      if (!mh_run_sync_mailbox (ra, mb, &local))
        {
          all_ok = FALSE;
          mh_run_log (ra, MH_RUN_LOG_ERROR, "mailbox %s: %s",
                      mb->name_utf8, local->message);
          if (ra->result->error == NULL)
            ra->result->error = g_strdup_printf ("mailbox %s: %s",
                                                 mb->name_utf8,
                                                 local->message);
          /* With the disk full, the next mailboxes would fail as well.
           * Worse, they would get ahead of this one: a copy of a message
           * there (same Message-ID, other bytes) would be kept instead of
           * the one here that an undisturbed run keeps, and the archive
           * would depend on where the disk filled up. */
          if (g_error_matches (local, MH_ERROR, MH_ERROR_NO_SPACE))
            break;
        }
    }

  /* Every message is written: the buffers they came in go back. */
  mh_rawbuf_trim ();

  /* LOGOUT goes out now and its answer is read after the conversation
   * step, which runs meanwhile: a round trip less at the end of a run. */
  if (ra->session != NULL
      && !mh_imap_session_logout_begin (ra->session, NULL))
    mh_run_drop_session (ra);

  mh_debug_kill_point ("finishing");
  ok = mh_archive_finish (ra->archive, &fs, error);
  if (ra->session != NULL)
    (void) mh_imap_session_logout (ra->session, NULL);
  mh_run_drop_session (ra);
  if (!ok)
    return FALSE;
  ra->result->threads = fs.threads;
  ra->result->messages = fs.messages;
  if (fs.lost > 0)
    {
      /* Not all there until the next run: not "all done". */
      g_autofree char *msg = g_strdup_printf (
          "message dirs missing from the archive: %u (the first: %s; "
          "removed by hand?); their messages are forgotten, and the next "
          "run fetches them again", fs.lost, fs.lost_dir);

      mh_run_log (ra, MH_RUN_LOG_ERROR, "%s", msg);
      if (ra->result->error == NULL)
        ra->result->error = g_steal_pointer (&msg);
      all_ok = FALSE;
    }
  if (fs.removed_dirs > 0)
    mh_run_log (ra, MH_RUN_LOG_INFO,
                "%u messages moved to the conversation they belong to; %u "
                "conversation dirs merged into others or renamed",
                fs.moved, fs.removed_dirs);
  return all_ok;
}

GPtrArray *
mh_run (const MhConfig *config, const MhRunOptions *options,
        GError **error)
{
  g_autoptr(GPtrArray) results = g_ptr_array_new_with_free_func (
      (GDestroyNotify) mh_run_result_free);
  const char *output = options->output != NULL ? options->output
                                               : config->output;

  /* OpenSSL writes with write(2); a peer that goes away must give an
   * error, not kill the batch. */
  signal (SIGPIPE, SIG_IGN);
  if (g_mkdir_with_parents (output, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, MH_ERROR, MH_ERROR_IO,
                   "cannot create the output dir %s: %s", output,
                   g_strerror (saved));
      return NULL;
    }

  for (guint i = 0; i < config->accounts->len; i++)
    {
      RunAccount ra = { 0 };
      g_autoptr(GError) local = NULL;
      MhRunResult *r = g_new0 (MhRunResult, 1);

      r->account = g_strdup (((MhAccount *) config->accounts->pdata[i])->name);
      r->mailboxes = g_ptr_array_new_with_free_func (g_free);
      r->failures = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (results, r);

      ra.acct = config->accounts->pdata[i];
      ra.opts = options;
      ra.result = r;
      ra.output = output;
      ra.latest = options->latest >= 0 ? options->latest : ra.acct->latest;
      ra.max_retries = options->max_retries ? options->max_retries
                                            : DEFAULT_RETRIES;
      ra.backoff_ms = options->backoff_ms ? options->backoff_ms
                                          : default_backoff_ms ();
      ra.max_backoff_ms = options->max_backoff_ms ? options->max_backoff_ms
                                                  : DEFAULT_MAX_BACKOFF_MS;

      r->ok = run_account (&ra, &local);
      if (local != NULL)
        {
          r->ok = FALSE;
          g_free (r->error);
          r->error = g_strdup (local->message);
          mh_run_log (&ra, MH_RUN_LOG_ERROR, "%s", local->message);
        }
      if (r->failed > 0)
        r->ok = FALSE;
      mh_run_drop_session (&ra);
      g_clear_pointer (&ra.archive, mh_archive_free);
    }
  return g_steal_pointer (&results);
}

MhImapSession *
mh_run_open_session (const MhAccount *acct, const MhRunEvents *events,
                     GError **error)
{
  MhRunOptions opts = { 0 };
  MhRunResult result = { 0 };
  RunAccount ra = { 0 };
  gboolean ok;

  if (events != NULL)
    opts.events = *events;
  ra.acct = acct;
  ra.opts = &opts;
  ra.result = &result;
  ok = mh_run_connect (&ra, error);
  /* Sessions dropped on the way left what they record in the result,
   * which no one reads here. */
  run_result_clear (&result);
  if (!ok)
    return NULL;
  return g_steal_pointer (&ra.session);
}
