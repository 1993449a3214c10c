/* imap-command.c - building commands (quoting, literals), running them to
 * their tagged answer, and what the session makes of untagged responses
 * and of NO / BAD answers (throttling included). */
#include "mailharvest/imap-session.h"
#include "mailharvest/error.h"
#include "imap-session-private.h"

#include <string.h>

char *
mh_imap_response_describe (const MhImapResponse *resp)
{
  GString *out = g_string_new (NULL);

  if (resp->code != NULL)
    {
      g_string_append_printf (out, "[%s", resp->code);
      for (guint i = 0; i < resp->code_args->len; i++)
        {
          const MhImapArg *a = g_ptr_array_index (resp->code_args, i);
          const char *str = mh_imap_arg_get_string (a);

          if (str != NULL)
            g_string_append_printf (out, " %s", str);
        }
      g_string_append (out, "] ");
    }
  if (resp->text != NULL)
    g_string_append (out, resp->text);
  return g_string_free (out, FALSE);
}

/* Finds "Backoff Time: N milliseconds" (Outlook) in @text. */
static guint64
parse_backoff (const char *text)
{
  g_autofree char *low = g_ascii_strdown (text, -1);
  const char *p = strstr (low, "backoff time");
  guint64 value;
  char *end = NULL;

  if (p == NULL)
    return 0;
  p += strlen ("backoff time");
  while (*p == ':' || *p == ' ' || *p == '=')
    p++;
  if (!g_ascii_isdigit (*p))
    return 0;
  value = g_ascii_strtoull (p, &end, 10);
  while (*end == ' ')
    end++;
  if (g_str_has_prefix (end, "s") || g_str_has_prefix (end, "sec"))
    value = value > G_MAXUINT64 / 1000 ? G_MAXUINT64 : value * 1000;
  return value;
}

/* Whether @resp's code is one of @codes, or its text holds one of
 * @texts (lower case), ignoring case. */
static gboolean
response_matches (const MhImapResponse *resp, const char *const *codes,
                  gsize n_codes, const char *const *texts, gsize n_texts)
{
  g_autofree char *low = NULL;

  for (gsize i = 0; resp->code != NULL && i < n_codes; i++)
    if (g_ascii_strcasecmp (resp->code, codes[i]) == 0)
      return TRUE;
  if (resp->text == NULL)
    return FALSE;
  low = g_ascii_strdown (resp->text, -1);
  for (gsize i = 0; i < n_texts; i++)
    if (strstr (low, texts[i]) != NULL)
      return TRUE;
  return FALSE;
}

static gboolean
is_throttle (const MhImapResponse *resp)
{
  static const char *const codes[] = { "THROTTLED", "OVERQUOTA",
                                       "UNAVAILABLE" };
  static const char *const texts[] = {
    "throttl", "exceeded command or bandwidth limits", "bandwidth limit",
  };

  return response_matches (resp, codes, G_N_ELEMENTS (codes), texts,
                           G_N_ELEMENTS (texts));
}

/* A NO to a login that says "not now" rather than "not you": the codes
 * of RFC 5530 for a passing state, a throttle, and Gmail's connection
 * limit ("[ALERT] Too many simultaneous connections"). */
gboolean
mh_imap_response_is_temporary (const MhImapResponse *resp)
{
  static const char *const codes[] = { "INUSE", "LIMIT" };
  static const char *const texts[] = {
    "too many simultaneous connections", "temporary system problem",
  };

  return is_throttle (resp)
         || response_matches (resp, codes, G_N_ELEMENTS (codes), texts,
                              G_N_ELEMENTS (texts));
}

/* Exchange's answer to every command of a session whose login it
 * accepted but whose mailbox it cannot reach: at times a passing state
 * (its connection count), at times for good (a token without access to
 * the mailbox). */
static gboolean
is_detached (const MhImapResponse *resp)
{
  return resp->text != NULL
         && strstr (resp->text, "User is authenticated but not connected")
              != NULL;
}

void
mh_imap_session_tagged_error (MhImapSession *s, const MhImapResponse *resp,
                              const char *what, GError **error)
{
  g_autofree char *desc = mh_imap_session_scrub (
      s, mh_imap_response_describe (resp));
  const char *status = resp->status != NULL ? resp->status : "?";

  if (g_strcmp0 (status, "NO") == 0 && is_throttle (resp))
    {
      s->backoff_ms = parse_backoff (resp->text != NULL ? resp->text : "");
      g_set_error (error, MH_ERROR, MH_ERROR_THROTTLED,
                   "%s: the server asks to slow down: %s", what, desc);
    }
  else if (g_strcmp0 (status, "NO") == 0)
    g_set_error (error, MH_ERROR, MH_ERROR_SERVER_NO, "%s: %s", what, desc);
  else if (g_strcmp0 (status, "BAD") == 0 && is_detached (resp))
    {
      /* Nothing more will work on this session. */
      mh_imap_session_break (s);
      g_set_error (error, MH_ERROR, MH_ERROR_UNAVAILABLE,
                   "%s: %s (Exchange logged in but cannot reach the "
                   "mailbox; when this lasts, check that the login or "
                   "token has IMAP access to it)", what, desc);
    }
  else if (g_strcmp0 (status, "BAD") == 0)
    g_set_error (error, MH_ERROR, MH_ERROR_SERVER_BAD, "%s: %s", what, desc);
  else
    g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                 "%s: unexpected answer %s %s", what, status, desc);
}

gboolean
mh_imap_session_untagged (MhImapSession *s, const MhImapResponse *resp,
                          GError **error)
{
  if (resp->kind != MH_IMAP_RESP_UNTAGGED)
    return TRUE;
  if (g_strcmp0 (resp->name, "CAPABILITY") == 0)
    mh_imap_session_set_caps (s, resp->args);
  else if (resp->status != NULL && g_strcmp0 (resp->code, "CAPABILITY") == 0)
    mh_imap_session_set_caps (s, resp->code_args);
  if (resp->has_number && g_strcmp0 (resp->name, "EXISTS") == 0)
    s->exists = resp->number;
  else if (resp->has_number && g_strcmp0 (resp->name, "EXPUNGE") == 0)
    {
      s->expunges++;
      if (s->exists > 0)
        s->exists--;
    }
  if (g_strcmp0 (resp->status, "BYE") == 0)
    {
      g_free (s->bye_text);
      s->bye_text = mh_imap_session_scrub (
          s, g_strdup (resp->text != NULL ? resp->text : ""));
      if (s->logging_out)
        return TRUE;
      /* The server closes right after BYE; nothing more can be done on
       * this connection. */
      mh_imap_session_break (s);
      if (is_throttle (resp))
        {
          s->backoff_ms = parse_backoff (s->bye_text);
          g_set_error (error, MH_ERROR, MH_ERROR_THROTTLED,
                       "the server closed the session to slow us down: %s",
                       s->bye_text);
        }
      else
        g_set_error (error, MH_ERROR, MH_ERROR_BYE,
                     "the server closed the session: %s", s->bye_text);
      return FALSE;
    }
  return TRUE;
}

static void
gstring_free_all (gpointer str)
{
  g_string_free (str, TRUE);
}

MhImapCmd *
mh_imap_cmd_new (MhImapSession *s, MhImapCommandKind kind, const char *verb)
{
  MhImapCmd *cmd = g_new0 (MhImapCmd, 1);
  GString *first;

  cmd->kind = kind;
  cmd->tag = g_strdup_printf ("A%03u", ++s->tag_seq);
  cmd->what = g_strdup (verb);
  cmd->segments = g_ptr_array_new_with_free_func (gstring_free_all);
  first = g_string_new (cmd->tag);
  g_string_append_printf (first, " %s", verb);
  g_ptr_array_add (cmd->segments, first);
  cmd->trace = g_string_new (first->str);
  return cmd;
}

void
mh_imap_cmd_free (MhImapCmd *cmd)
{
  if (cmd == NULL)
    return;
  g_ptr_array_unref (cmd->segments);
  g_string_free (cmd->trace, TRUE);
  g_free (cmd->tag);
  g_free (cmd->what);
  g_free (cmd);
}

static GString *
cmd_last (MhImapCmd *cmd)
{
  return g_ptr_array_index (cmd->segments, cmd->segments->len - 1);
}

void
mh_imap_cmd_add_raw (MhImapCmd *cmd, const char *text)
{
  g_string_append (cmd_last (cmd), text);
  g_string_append (cmd->trace, text);
}

/* A quoted string carries 7-bit text without CR, LF or NUL; anything else
 * (and anything long) goes as a literal. */
static gboolean
quotable (const char *str)
{
  gsize n = 0;

  for (const guchar *p = (const guchar *) str; *p != '\0'; p++, n++)
    if (*p == '\r' || *p == '\n' || *p >= 0x80 || n > 1000)
      return FALSE;
  return TRUE;
}

void
mh_imap_cmd_add_string (MhImapSession *s, MhImapCmd *cmd, const char *str,
                        gboolean secret)
{
  GString *seg = cmd_last (cmd);
  gsize len = strlen (str);

  if (quotable (str))
    {
      g_string_append (seg, " \"");
      for (const char *p = str; *p != '\0'; p++)
        {
          if (*p == '"' || *p == '\\')
            g_string_append_c (seg, '\\');
          g_string_append_c (seg, *p);
        }
      g_string_append_c (seg, '"');
      if (secret)
        g_string_append (cmd->trace, " <redacted>");
      else
        g_string_append_printf (cmd->trace, " \"%s\"", str);
      return;
    }
  if (mh_imap_session_has_capability (s, "LITERAL+")
      || (mh_imap_session_has_capability (s, "LITERAL-") && len <= 4096))
    {
      /* RFC 7888: a non-synchronising literal needs no round trip. */
      g_string_append_printf (seg, " {%" G_GSIZE_FORMAT "+}\r\n", len);
      g_string_append_len (seg, str, (gssize) len);
    }
  else
    {
      g_string_append_printf (seg, " {%" G_GSIZE_FORMAT "}\r\n", len);
      seg = g_string_new_len (str, (gssize) len);
      g_ptr_array_add (cmd->segments, seg);
    }
  g_string_append_printf (cmd->trace, " {%" G_GSIZE_FORMAT "} %s", len,
                          secret ? "<redacted>" : str);
}

/* Reads until the tagged answer of @cmd (sent already) and returns it,
 * whatever its status; untagged responses go to @handler, continuations
 * get @cmd's next literal segment (*next_seg).  NULL with @error when the
 * session failed. */
static MhImapResponse *
await_tagged (MhImapSession *s, MhImapCmd *cmd, MhImapHandler handler,
              gpointer data, guint *next_seg, GError **error)
{
  for (;;)
    {
      MhImapEvent ev = { 0 };
      g_autoptr(MhImapResponse) resp = NULL;
      MhImapParseStatus st = mh_imap_session_next_event (s, &ev, error);

      if (st == MH_IMAP_PARSE_ERROR)
        return NULL;
      if (st != MH_IMAP_PARSE_RESPONSE)
        {
          mh_imap_session_break (s);
          g_set_error_literal (error, MH_ERROR, MH_ERROR_PROTOCOL,
                               "unexpected streamed literal");
          return NULL;
        }
      resp = ev.response;
      if (resp->kind == MH_IMAP_RESP_TAGGED)
        {
          if (g_strcmp0 (resp->tag, cmd->tag) != 0)
            {
              /* The tag is the server's word: at most 40 bytes of it, and
               * not an echo of what we sent. */
              g_autofree char *tag = mh_imap_session_scrub (
                  s, g_strdup (resp->tag != NULL ? resp->tag : ""));
              gboolean cut = strlen (tag) > 40;

              if (cut)
                tag[40] = '\0';
              mh_imap_session_break (s);
              g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                           "answer with unknown tag %s%s", tag,
                           cut ? "..." : "");
              return NULL;
            }
          if (g_strcmp0 (resp->status, "OK") == 0
              && g_strcmp0 (resp->code, "CAPABILITY") == 0)
            mh_imap_session_set_caps (s, resp->code_args);
          return g_steal_pointer (&resp);
        }
      if (resp->kind == MH_IMAP_RESP_CONTINUATION
          && *next_seg < cmd->segments->len)
        {
          GString *seg = g_ptr_array_index (cmd->segments, (*next_seg)++);

          if (!mh_imap_session_write (s, -1, seg->str, seg->len,
                                      "<literal data>", error))
            return NULL;
          continue;
        }
      if (!mh_imap_session_untagged (s, resp, error))
        return NULL;
      if (resp->kind == MH_IMAP_RESP_CONTINUATION && handler == NULL)
        {
          mh_imap_session_break (s);
          g_set_error_literal (error, MH_ERROR, MH_ERROR_PROTOCOL,
                               "unexpected continuation request");
          return NULL;
        }
      if (handler != NULL && !handler (s, resp, data, error))
        {
          mh_imap_session_break (s);
          return NULL;
        }
    }
}

/* Sends the first segment of @cmd, CRLF ended. */
static gboolean
send_first (MhImapSession *s, MhImapCmd *cmd, GError **error)
{
  GString *first = g_ptr_array_index (cmd->segments, 0);

  if (cmd->segments->len == 1)
    g_string_append (first, "\r\n");
  else
    g_string_append (cmd_last (cmd), "\r\n");
  return mh_imap_session_write (s, (int) cmd->kind, first->str, first->len,
                                cmd->trace->str, error);
}

gboolean
mh_imap_session_send (MhImapSession *s, MhImapCmd *cmd, GError **error)
{
  if (!s->greeted && !mh_imap_session_open (s, error))
    return FALSE;
  return send_first (s, cmd, error);
}

gboolean
mh_imap_session_finish (MhImapSession *s, MhImapCmd *cmd,
                        MhImapHandler handler, gpointer data,
                        MhImapResponse **tagged_out, GError **error)
{
  g_autoptr(MhImapResponse) tagged = NULL;
  guint next_seg = 1;
  gboolean ok;

  if (tagged_out != NULL)
    *tagged_out = NULL;
  tagged = await_tagged (s, cmd, handler, data, &next_seg, error);
  if (tagged == NULL)
    return FALSE;
  ok = g_strcmp0 (tagged->status, "OK") == 0;
  if (!ok)
    mh_imap_session_tagged_error (s, tagged, cmd->what, error);
  if (tagged_out != NULL)
    *tagged_out = g_steal_pointer (&tagged);
  return ok;
}

gboolean
mh_imap_session_run (MhImapSession *s, MhImapCmd *cmd, MhImapHandler handler,
                     gpointer data, MhImapResponse **tagged_out,
                     GError **error)
{
  if (tagged_out != NULL)
    *tagged_out = NULL;
  return mh_imap_session_send (s, cmd, error)
         && mh_imap_session_finish (s, cmd, handler, data, tagged_out,
                                    error);
}

gboolean
mh_imap_session_run_pipelined (MhImapSession *s, MhImapCmd **cmds, guint n,
                               const MhImapHandler *handlers, gpointer *data,
                               MhImapResponse **tagged_out, GError **error)
{
  GError *first_error = NULL;

  for (guint i = 0; i < n; i++)
    tagged_out[i] = NULL;
  for (guint i = 0; i < n; i++)
    if (cmds[i]->segments->len != 1)
      {
        /* A command with a literal waits for continuations: one by one. */
        for (guint j = 0; j < n; j++)
          if (!mh_imap_session_run (s, cmds[j], handlers[j], data[j],
                                    &tagged_out[j], error))
            return FALSE;
        return TRUE;
      }
  if (!s->greeted && !mh_imap_session_open (s, error))
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (!send_first (s, cmds[i], error))
      return FALSE;
  for (guint i = 0; i < n; i++)
    {
      guint next_seg = 1;

      tagged_out[i] = await_tagged (s, cmds[i], handlers[i], data[i],
                                    &next_seg, error);
      if (tagged_out[i] == NULL)
        {
          g_clear_error (&first_error);
          return FALSE;
        }
      /* After a failure the rest are still read to their tagged answers,
       * which keeps the session in step. */
      if (g_strcmp0 (tagged_out[i]->status, "OK") != 0 && first_error == NULL)
        mh_imap_session_tagged_error (s, tagged_out[i], cmds[i]->what,
                                      &first_error);
    }
  if (first_error != NULL)
    {
      g_propagate_error (error, first_error);
      return FALSE;
    }
  return TRUE;
}
