/* imap-session.c - the session core: I/O, greeting, capabilities,
 * STARTTLS, LOGOUT and the wire trace. */
#include "mailharvest/imap-session.h"
#include "mailharvest/error.h"
#include "imap-session-private.h"

#include <string.h>

MhImapSession *
mh_imap_session_new (MhTransport *transport, const char *host, guint16 port,
                     int timeout_ms)
{
  MhImapSession *s = g_new0 (MhImapSession, 1);
  MhImapParserLimits limits;

  mh_imap_parser_limits_init (&limits);
  limits.max_line = MAX (limits.max_line, MH_IMAP_MAX_LINE);
  limits.max_args = MAX (limits.max_args, MH_IMAP_MAX_ARGS);
  s->transport = transport;
  s->parser = mh_imap_parser_new (&limits);
  s->host = g_strdup (host);
  s->port = port;
  s->timeout_ms = timeout_ms > 0 ? timeout_ms : MH_NET_DEFAULT_TIMEOUT_MS;
  s->rbuf = g_malloc (MH_IMAP_RBUF_SIZE);
  s->caps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s->trace_acc = g_string_new (NULL);
  return s;
}

void
mh_imap_session_free (MhImapSession *s)
{
  if (s == NULL)
    return;
  g_clear_pointer (&s->transport, mh_transport_free);
  g_clear_pointer (&s->parser, mh_imap_parser_free);
  g_clear_pointer (&s->caps, g_hash_table_unref);
  g_string_free (s->trace_acc, TRUE);
  g_free (s->rbuf);
  g_free (s->host);
  g_free (s->bye_text);
  g_free (s->tls);
  g_clear_pointer (&s->logout, mh_imap_cmd_free);
  mh_imap_session_forget_hidden (s);
  g_free (s);
}

static void
wipe_free (gpointer data)
{
  char *form = data;

  memset (form, 0, strlen (form));
  g_free (form);
}

void
mh_imap_session_hide (MhImapSession *s, const char *form)
{
  gsize len = form != NULL ? strlen (form) : 0;
  guint at = 0;

  if (len == 0)
    return;
  if (s->hidden == NULL)
    s->hidden = g_ptr_array_new_with_free_func (wipe_free);
  /* Longest first, so that a form inside another goes with it. */
  while (at < s->hidden->len && strlen (s->hidden->pdata[at]) >= len)
    at++;
  g_ptr_array_insert (s->hidden, (gint) at, g_strdup (form));
}

void
mh_imap_session_forget_hidden (MhImapSession *s)
{
  g_clear_pointer (&s->hidden, g_ptr_array_unref);
}

char *
mh_imap_session_scrub (MhImapSession *s, char *text)
{
  GString *out;

  if (text == NULL || s->hidden == NULL)
    return text;
  out = g_string_new (text);
  for (guint i = 0; i < s->hidden->len; i++)
    {
      const char *form = s->hidden->pdata[i];
      gsize len = strlen (form);
      gsize at = 0;
      const char *hit;

      while ((hit = strstr (out->str + at, form)) != NULL)
        {
          gsize pos = (gsize) (hit - out->str);

          g_string_erase (out, (gssize) pos, (gssize) len);
          g_string_insert (out, (gssize) pos, "<redacted>");
          at = pos + strlen ("<redacted>");
        }
    }
  memset (text, 0, strlen (text));
  g_free (text);
  return g_string_free (out, FALSE);
}

void
mh_imap_session_set_refuse_credentials (MhImapSession *s, gboolean refuse)
{
  s->refuse_credentials = refuse;
}

void
mh_imap_session_set_trace (MhImapSession *s, MhImapTraceFunc func,
                           gpointer user_data)
{
  s->trace = func;
  s->trace_data = user_data;
}

void
mh_imap_session_break (MhImapSession *s)
{
  s->broken = TRUE;
  if (s->transport != NULL)
    mh_transport_close (s->transport);
}

gboolean
mh_imap_session_check_usable (MhImapSession *s, GError **error)
{
  if (s->broken)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_NET,
                           "the IMAP session is closed after an earlier "
                           "error");
      return FALSE;
    }
  return TRUE;
}

gboolean
mh_imap_session_ready (MhImapSession *s, GError **error)
{
  if (s->logout != NULL)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_NET,
                           "the IMAP session is logging out");
      return FALSE;
    }
  return mh_imap_session_check_usable (s, error)
         && (s->greeted || mh_imap_session_open (s, error));
}

/* Emits one trace line with control characters made visible. */
static void
trace_emit (MhImapSession *s, gboolean sent, const char *line, gsize len)
{
  GString *clean = g_string_sized_new (len + 1);
  g_autofree char *shown = NULL;

  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) line[i];

      g_string_append_c (clean, c < 0x20 || c == 0x7f ? '?' : (char) c);
    }
  shown = mh_imap_session_scrub (s, g_string_free (clean, FALSE));
  s->trace (sent, shown, s->trace_data);
}

/* Emits every CRLF-terminated line of @text (a trailing part without CRLF
 * is emitted too). */
static void
trace_lines (MhImapSession *s, gboolean sent, const char *text, gsize len)
{
  while (len > 0)
    {
      const char *nl = memchr (text, '\n', len);
      gsize linelen = nl != NULL ? (gsize) (nl - text) : len;
      gsize skip = nl != NULL ? linelen + 1 : len;

      if (linelen > 0 && text[linelen - 1] == '\r')
        linelen--;
      trace_emit (s, sent, text, linelen);
      text += skip;
      len -= skip;
    }
}

static void
trace_acc_append (MhImapSession *s, const guint8 *data, gsize len)
{
  gsize room = MH_IMAP_TRACE_MAX - MIN (s->trace_acc->len, MH_IMAP_TRACE_MAX);

  if (len > room)
    {
      s->trace_truncated = TRUE;
      len = room;
    }
  g_string_append_len (s->trace_acc, (const char *) data, (gssize) len);
}

/* A response cut at MH_IMAP_TRACE_MAX may end in the first bytes of an
 * echoed secret, which the scrub, looking for whole forms, would leave:
 * drop any end of @text that begins a hidden form. */
static void
trim_hidden_start (MhImapSession *s, GString *text)
{
  for (guint i = 0; s->hidden != NULL && i < s->hidden->len; i++)
    {
      const char *form = s->hidden->pdata[i];
      gsize k = MIN (strlen (form) - 1, text->len);

      for (; k > 0; k--)
        if (memcmp (text->str + text->len - k, form, k) == 0)
          {
            g_string_truncate (text, text->len - k);
            break;
          }
    }
}

/* Feeds the trace with the bytes the parser consumed for one event; the
 * bytes of streamed literals are summarised, not copied. */
static void
trace_consumed (MhImapSession *s, const guint8 *data, gsize consumed,
                MhImapParseStatus st, const MhImapEvent *ev)
{
  if (s->trace == NULL)
    return;
  if (st == MH_IMAP_PARSE_LITERAL_DATA)
    {
      const guint8 *chunk = ev->chunk.data;

      if (chunk != NULL && chunk >= data && chunk <= data + consumed)
        trace_acc_append (s, data, (gsize) (chunk - data));
      if (ev->chunk.last)
        {
          g_autofree char *sum = g_strdup_printf (
            "<literal of %" G_GUINT64_FORMAT " bytes>", ev->chunk.total);

          trace_acc_append (s, (const guint8 *) sum, strlen (sum));
        }
      return;
    }
  trace_acc_append (s, data, consumed);
  if (st == MH_IMAP_PARSE_RESPONSE)
    {
      if (s->trace_truncated)
        {
          trim_hidden_start (s, s->trace_acc);
          g_string_append (s->trace_acc, "...");
        }
      trace_lines (s, FALSE, s->trace_acc->str, s->trace_acc->len);
      g_string_truncate (s->trace_acc, 0);
      s->trace_truncated = FALSE;
    }
}

MhImapParseStatus
mh_imap_session_next_event (MhImapSession *s, MhImapEvent *event,
                            GError **error)
{
  if (!mh_imap_session_check_usable (s, error))
    return MH_IMAP_PARSE_ERROR;
  for (;;)
    {
      gssize n;

      if (s->rstart < s->rend)
        {
          gsize consumed = 0;
          g_autoptr(GError) local = NULL;
          MhImapParseStatus st;

          st = mh_imap_parser_feed (s->parser, s->rbuf + s->rstart,
                                    s->rend - s->rstart, &consumed, event,
                                    &local);
          if (st == MH_IMAP_PARSE_ERROR)
            {
              g_autofree char *why = mh_imap_session_scrub (
                  s, g_strdup (local->message));

              mh_imap_session_break (s);
              g_set_error (error, MH_ERROR,
                           local->domain == MH_ERROR ? local->code
                                                     : MH_ERROR_PROTOCOL,
                           "bad response from the IMAP server: %s", why);
              return st;
            }
          consumed = MIN (consumed, s->rend - s->rstart);
          trace_consumed (s, s->rbuf + s->rstart, consumed, st, event);
          s->rstart += consumed;
          if (st != MH_IMAP_PARSE_NEED_MORE)
            return st;
          if (s->rstart < s->rend)
            {
              /* The contract says NEED_MORE consumes everything; a parser
               * that does not would make us spin. */
              mh_imap_session_break (s);
              g_set_error_literal (error, MH_ERROR, MH_ERROR_PROTOCOL,
                                   "IMAP parser made no progress");
              return MH_IMAP_PARSE_ERROR;
            }
        }
      s->rstart = s->rend = 0;
      n = mh_transport_read (s->transport, s->rbuf, MH_IMAP_RBUF_SIZE,
                             s->timeout_ms, error);
      if (n < 0)
        {
          mh_imap_session_break (s);
          return MH_IMAP_PARSE_ERROR;
        }
      if (n == 0)
        {
          mh_imap_session_break (s);
          if (s->bye_text != NULL)
            g_set_error (error, MH_ERROR, MH_ERROR_BYE,
                         "the server closed the connection: %s",
                         s->bye_text);
          else
            g_set_error_literal (error, MH_ERROR, MH_ERROR_NET,
                                 "the server closed the connection");
          return MH_IMAP_PARSE_ERROR;
        }
      s->rend = (gsize) n;
      s->bytes_received += (guint64) n;
    }
}

gboolean
mh_imap_session_write (MhImapSession *s, int kind, const char *data,
                       gsize len, const char *trace_line, GError **error)
{
  if (!mh_imap_session_check_usable (s, error))
    return FALSE;
  if (s->trace != NULL)
    {
      if (trace_line != NULL)
        trace_emit (s, TRUE, trace_line, strlen (trace_line));
      else
        trace_lines (s, TRUE, data, len);
    }
  if (!mh_transport_write_all (s->transport, (const guint8 *) data, len,
                               s->timeout_ms, error))
    {
      mh_imap_session_break (s);
      return FALSE;
    }
  if (kind >= 0 && kind < MH_IMAP_CMD_N_KINDS)
    s->counts[kind]++;
  return TRUE;
}

void
mh_imap_session_set_caps (MhImapSession *s, const GPtrArray *args)
{
  g_hash_table_remove_all (s->caps);
  s->caps_seq++;
  for (guint i = 0; i < args->len; i++)
    {
      const MhImapArg *a = g_ptr_array_index (args, i);

      if (a->type == MH_IMAP_ARG_ATOM)
        {
          char *up = g_ascii_strup (a->str, -1);

          g_hash_table_replace (s->caps, up, up);
        }
    }
}

gboolean
mh_imap_session_has_capability (MhImapSession *s, const char *cap)
{
  g_autofree char *up = g_ascii_strup (cap, -1);

  return g_hash_table_contains (s->caps, up);
}

gboolean
mh_imap_session_is_authenticated (MhImapSession *s)
{
  return s->authenticated;
}

gboolean
mh_imap_session_open (MhImapSession *s, GError **error)
{
  MhImapEvent ev = { 0 };
  g_autoptr(MhImapResponse) resp = NULL;

  if (s->greeted)
    return TRUE;
  if (mh_imap_session_next_event (s, &ev, error) != MH_IMAP_PARSE_RESPONSE)
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, MH_ERROR, MH_ERROR_PROTOCOL,
                             "unexpected literal in the greeting");
      mh_imap_session_break (s);
      return FALSE;
    }
  resp = ev.response;
  if (resp->kind != MH_IMAP_RESP_UNTAGGED || resp->status == NULL)
    {
      mh_imap_session_break (s);
      g_set_error_literal (error, MH_ERROR, MH_ERROR_PROTOCOL,
                           "the server's greeting is not a status response");
      return FALSE;
    }
  if (g_strcmp0 (resp->status, "BYE") == 0)
    {
      g_autofree char *desc = mh_imap_response_describe (resp);

      g_free (s->bye_text);
      s->bye_text = g_strdup (resp->text != NULL ? resp->text : "");
      mh_imap_session_break (s);
      g_set_error (error, MH_ERROR, MH_ERROR_BYE,
                   "the server refused the connection: %s", desc);
      return FALSE;
    }
  if (g_strcmp0 (resp->status, "OK") != 0
      && g_strcmp0 (resp->status, "PREAUTH") != 0)
    {
      mh_imap_session_break (s);
      g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                   "unexpected greeting %s", resp->status);
      return FALSE;
    }
  if (g_strcmp0 (resp->code, "CAPABILITY") == 0)
    mh_imap_session_set_caps (s, resp->code_args);
  s->authenticated = g_strcmp0 (resp->status, "PREAUTH") == 0;
  s->greeted = TRUE;
  return TRUE;
}

gboolean
mh_imap_session_capability (MhImapSession *s, GError **error)
{
  g_autoptr(MhImapCmd) cmd = NULL;

  cmd = mh_imap_cmd_new (s, MH_IMAP_CMD_CAPABILITY, "CAPABILITY");
  return mh_imap_session_run (s, cmd, NULL, NULL, NULL, error);
}

gboolean
mh_imap_session_starttls (MhImapSession *s, GError **error)
{
  g_autoptr(MhImapCmd) cmd = NULL;
  g_autoptr(GError) local = NULL;

  if (!mh_imap_session_ready (s, error))
    return FALSE;
  if (s->authenticated)
    {
      /* RFC 3501 allows STARTTLS only before authentication; continuing
       * in plaintext is never an option. */
      g_set_error_literal (error, MH_ERROR, MH_ERROR_TLS,
                           "STARTTLS is impossible: the server "
                           "pre-authenticated the plaintext connection");
      return FALSE;
    }
  if (g_hash_table_size (s->caps) == 0
      && !mh_imap_session_capability (s, error))
    return FALSE;
  if (!mh_imap_session_has_capability (s, "STARTTLS"))
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_TLS,
                           "the server does not offer STARTTLS");
      return FALSE;
    }
  cmd = mh_imap_cmd_new (s, MH_IMAP_CMD_STARTTLS, "STARTTLS");
  if (!mh_imap_session_run (s, cmd, NULL, NULL, NULL, &local))
    {
      mh_imap_session_break (s);
      if (local->code == MH_ERROR_SERVER_NO
          || local->code == MH_ERROR_SERVER_BAD)
        g_set_error (error, MH_ERROR, MH_ERROR_TLS,
                     "the server refused STARTTLS: %s", local->message);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  /* Whatever arrived after the tagged OK was sent in plaintext and could
   * have been injected by a man in the middle (CVE-2020-15953): drop it
   * before the handshake. */
  s->rstart = s->rend = 0;
  mh_imap_parser_reset (s->parser);
  g_string_truncate (s->trace_acc, 0);
  g_hash_table_remove_all (s->caps);
  if (!mh_transport_starttls (s->transport, s->timeout_ms, error))
    {
      mh_imap_session_break (s);
      return FALSE;
    }
  s->tls_started = TRUE;
  return mh_imap_session_capability (s, error);
}

gboolean
mh_imap_session_compress (MhImapSession *s, GError **error)
{
  g_autoptr(MhImapCmd) cmd = NULL;
  g_autoptr(GError) local = NULL;
  MhTransport *t;

  if (!mh_imap_session_check_usable (s, error))
    return FALSE;
  if (s->compressed)
    return TRUE;
  if (!mh_imap_session_has_capability (s, "COMPRESS=DEFLATE"))
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_PROTOCOL,
                           "the server does not offer COMPRESS=DEFLATE");
      return FALSE;
    }
  cmd = mh_imap_cmd_new (s, MH_IMAP_CMD_COMPRESS, "COMPRESS");
  mh_imap_cmd_add_raw (cmd, " DEFLATE");
  if (!mh_imap_session_run (s, cmd, NULL, NULL, NULL, &local))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  /* The server compresses everything after its tagged OK: bytes already
   * read past it (there should be none) go to the inflater first. */
  t = mh_deflate_transport_new (s->transport, s->rbuf + s->rstart,
                                s->rend - s->rstart, error);
  if (t == NULL)
    {
      mh_imap_session_break (s);
      return FALSE;
    }
  s->transport = t;
  s->rstart = s->rend = 0;
  s->compressed = TRUE;
  return TRUE;
}

gboolean
mh_imap_session_is_compressed (MhImapSession *s)
{
  return s->compressed;
}

const char *
mh_imap_session_get_tls (MhImapSession *s)
{
  return s->tls;
}

MhImapSession *
mh_imap_session_connect (const MhConnectOptions *opts, GError **error)
{
  g_autoptr(MhImapSession) s = NULL;
  MhTransport *t = mh_tls_connect (opts, error);

  if (t == NULL)
    return NULL;
  s = mh_imap_session_new (t, opts->host, mh_connect_options_get_port (opts),
                           opts->timeout_ms);
  if (opts->security == MH_SECURITY_NONE
      && !mh_net_host_is_loopback (opts->host))
    s->refuse_credentials = TRUE;
  if (!mh_imap_session_open (s, error))
    return NULL;
  if (opts->security == MH_SECURITY_STARTTLS
      && !mh_imap_session_starttls (s, error))
    return NULL;
  s->tls = mh_tls_describe (t);
  return g_steal_pointer (&s);
}

gboolean
mh_imap_session_logout_begin (MhImapSession *s, GError **error)
{
  g_autoptr(MhImapCmd) cmd = NULL;

  if (s->logout != NULL)
    return TRUE;
  if (!mh_imap_session_ready (s, error))
    return FALSE;
  s->logging_out = TRUE;
  cmd = mh_imap_cmd_new (s, MH_IMAP_CMD_LOGOUT, "LOGOUT");
  if (!mh_imap_session_send (s, cmd, error))
    {
      mh_imap_session_break (s);
      return FALSE;
    }
  s->logout = g_steal_pointer (&cmd);
  return TRUE;
}

gboolean
mh_imap_session_logout (MhImapSession *s, GError **error)
{
  g_autoptr(GError) local = NULL;
  gboolean ok;

  if (!mh_imap_session_logout_begin (s, error))
    return FALSE;
  ok = mh_imap_session_finish (s, s->logout, NULL, NULL, NULL, &local);
  g_clear_pointer (&s->logout, mh_imap_cmd_free);
  mh_imap_session_break (s);
  /* Some servers close right after their BYE, before the tagged OK: the
   * session ended as asked. */
  if (!ok && s->bye_text != NULL && local->code == MH_ERROR_BYE)
    return TRUE;
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&local));
  return ok;
}

guint64
mh_imap_session_get_backoff_ms (MhImapSession *s)
{
  return s->backoff_ms;
}

guint
mh_imap_session_get_command_count (MhImapSession *s, MhImapCommandKind kind)
{
  return kind < MH_IMAP_CMD_N_KINDS ? s->counts[kind] : 0;
}

guint64
mh_imap_session_get_bytes_received (MhImapSession *s)
{
  return s->bytes_received;
}

guint32
mh_imap_session_get_exists (MhImapSession *s)
{
  return s->exists;
}

guint
mh_imap_session_get_expunge_count (MhImapSession *s)
{
  return s->expunges;
}

guint
mh_imap_session_get_fetch_update_count (MhImapSession *s)
{
  return s->fetch_updates;
}

const char *
mh_imap_session_get_bye_text (MhImapSession *s)
{
  return s->bye_text;
}
