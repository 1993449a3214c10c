/* imap-auth.c - LOGIN and AUTHENTICATE PLAIN, XOAUTH2, OAUTHBEARER. */
#include "mailharvest/imap-session.h"
#include "mailharvest/error.h"
#include "imap-session-private.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* The largest error challenge we decode and keep. */
#define MAX_CHALLENGE 4096

typedef struct {
  const char *payload;   /* base64 initial response */
  gboolean payload_sent;
  const char *error_answer; /* what to send to an error challenge */
  char *challenge;       /* decoded error challenge, or NULL */
} AuthState;

static gboolean
auth_handler (MhImapSession *s, const MhImapResponse *resp, gpointer data,
              GError **error)
{
  AuthState *st = data;
  g_autofree char *line = NULL;

  if (resp->kind != MH_IMAP_RESP_CONTINUATION)
    return TRUE;
  if (!st->payload_sent)
    {
      st->payload_sent = TRUE;
      line = g_strconcat (st->payload, "\r\n", NULL);
    }
  else
    {
      /* After the initial response, a challenge can only be the server's
       * error report (RFC 7628 3.2.2, Gmail's XOAUTH2): keep it for the
       * error message and answer as the mechanism requires, so that the
       * server sends its tagged NO. */
      if (st->challenge == NULL && resp->text != NULL
          && strlen (resp->text) <= MAX_CHALLENGE * 2)
        {
          gsize len = 0;
          g_autofree guchar *raw = g_base64_decode (resp->text, &len);

          if (raw != NULL)
            st->challenge = g_strndup ((const char *) raw, MIN (len,
                                                            MAX_CHALLENGE));
        }
      line = g_strconcat (st->error_answer, "\r\n", NULL);
    }
  return mh_imap_session_write (s, -1, line, strlen (line), "<redacted>",
                                error);
}

/* "status 400, scope https://mail.google.com/" from the JSON challenge,
 * or the printable part of a non-JSON one. */
static char *
describe_challenge (const char *challenge)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *obj;
  GString *out;

  if (!json_parser_load_from_data (parser, challenge, -1, NULL)
      || (root = json_parser_get_root (parser)) == NULL
      || !JSON_NODE_HOLDS_OBJECT (root))
    {
      char *copy = g_strdup (challenge);

      for (char *p = copy; *p != '\0'; p++)
        if ((guchar) *p < 0x20 || (guchar) *p >= 0x7f)
          *p = '?';
      return copy;
    }
  obj = json_node_get_object (root);
  out = g_string_new (NULL);
  for (guint i = 0; i < 2; i++)
    {
      const char *key = i == 0 ? "status" : "scope";
      JsonNode *n = json_object_get_member (obj, key);

      if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
        continue;
      if (out->len > 0)
        g_string_append (out, ", ");
      if (json_node_get_value_type (n) == G_TYPE_STRING)
        g_string_append_printf (out, "%s %s", key, json_node_get_string (n));
      else if (json_node_get_value_type (n) == G_TYPE_INT64)
        g_string_append_printf (out, "%s %" G_GINT64_FORMAT, key,
                                json_node_get_int (n));
    }
  return g_string_free (out, FALSE);
}

static char *
base64_of (const char *data, gsize len)
{
  return g_base64_encode ((const guchar *) data, len);
}

/* RFC 7628: "," and "=" in the authorization identity are escaped. */
static void
append_saslname (GString *out, const char *user)
{
  for (const char *p = user; *p != '\0'; p++)
    {
      if (*p == ',')
        g_string_append (out, "=2C");
      else if (*p == '=')
        g_string_append (out, "=3D");
      else
        g_string_append_c (out, *p);
    }
}

static char *
sasl_payload (MhImapSession *s, MhImapAuthMech mech, const char *user,
              const char *secret)
{
  g_autoptr(GString) raw = g_string_new (NULL);
  char *b64;

  switch (mech)
    {
    case MH_IMAP_AUTH_PLAIN:
      g_string_append_c (raw, '\0');
      g_string_append (raw, user);
      g_string_append_c (raw, '\0');
      g_string_append (raw, secret);
      break;
    case MH_IMAP_AUTH_XOAUTH2:
      g_string_append_printf (raw, "user=%s\001auth=Bearer %s\001\001", user,
                              secret);
      break;
    case MH_IMAP_AUTH_OAUTHBEARER:
      g_string_append (raw, "n,a=");
      append_saslname (raw, user);
      g_string_append (raw, ",\001");
      if (s->host != NULL)
        g_string_append_printf (raw, "host=%s\001", s->host);
      if (s->port != 0)
        g_string_append_printf (raw, "port=%u\001", s->port);
      g_string_append_printf (raw, "auth=Bearer %s\001\001", secret);
      break;
    default:
      break;
    }
  b64 = base64_of (raw->str, raw->len);
  /* The buffer held the secret in clear; do not leave it in freed
   * memory. */
  memset (raw->str, 0, raw->len);
  return b64;
}

static const char *
mech_name (MhImapAuthMech mech)
{
  switch (mech)
    {
    case MH_IMAP_AUTH_PLAIN:
      return "PLAIN";
    case MH_IMAP_AUTH_XOAUTH2:
      return "XOAUTH2";
    case MH_IMAP_AUTH_OAUTHBEARER:
      return "OAUTHBEARER";
    default:
      return "LOGIN";
    }
}

static gboolean
run_auth (MhImapSession *s, const char *user, const char *secret,
          MhImapAuthMech mech, char **challenge_out,
          MhImapResponse **tagged_out, GError **error)
{
  g_autoptr(MhImapCmd) cmd = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *verb = NULL;
  AuthState st = { 0 };
  gboolean ok;

  if (mech == MH_IMAP_AUTH_LOGIN)
    {
      cmd = mh_imap_cmd_new (s, MH_IMAP_CMD_LOGIN, "LOGIN");
      mh_imap_cmd_add_string (s, cmd, user, FALSE);
      mh_imap_cmd_add_string (s, cmd, secret, TRUE);
      ok = mh_imap_session_run (s, cmd, NULL, NULL, tagged_out, error);
      for (guint i = 0; i < cmd->segments->len; i++)
        {
          GString *seg = g_ptr_array_index (cmd->segments, i);

          memset (seg->str, 0, seg->len);
        }
      return ok;
    }
  payload = sasl_payload (s, mech, user, secret);
  mh_imap_session_hide (s, payload);
  verb = g_strdup_printf ("AUTHENTICATE %s", mech_name (mech));
  cmd = mh_imap_cmd_new (s, MH_IMAP_CMD_AUTHENTICATE, verb);
  st.payload = payload;
  /* OAUTHBEARER's error challenge is answered with %x01, XOAUTH2's with an
   * empty response. */
  st.error_answer = mech == MH_IMAP_AUTH_OAUTHBEARER ? "AQ==" : "";
  if (mh_imap_session_has_capability (s, "SASL-IR"))
    {
      GString *first = g_ptr_array_index (cmd->segments, 0);

      g_string_append_printf (first, " %s", payload);
      g_string_append (cmd->trace, " <redacted>");
      st.payload_sent = TRUE;
    }
  ok = mh_imap_session_run (s, cmd, auth_handler, &st, tagged_out, error);
  {
    GString *first = g_ptr_array_index (cmd->segments, 0);

    memset (first->str, 0, first->len);
  }
  memset (payload, 0, strlen (payload));
  *challenge_out = st.challenge;
  return ok;
}

gboolean
mh_imap_session_authenticate (MhImapSession *s, const char *user,
                              const char *secret, MhImapAuthMech mech,
                              GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *challenge = NULL;
  g_autoptr(MhImapResponse) tagged = NULL;
  g_autofree char *text = NULL;
  guint caps_seq;
  gboolean ok;

  if (!mh_imap_session_ready (s, error))
    return FALSE;
  if (s->authenticated)
    return TRUE;
  if (s->refuse_credentials)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_CONFIG,
                   "refusing to send credentials in plaintext to %s; use "
                   "security = tls or starttls",
                   s->host != NULL ? s->host : "the server");
      return FALSE;
    }
  if (user == NULL || secret == NULL)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_CONFIG,
                           "no user name or secret to authenticate with");
      return FALSE;
    }
  if (g_hash_table_size (s->caps) == 0
      && !mh_imap_session_capability (s, error))
    return FALSE;
  if (mech == MH_IMAP_AUTH_AUTO)
    mech = mh_imap_session_has_capability (s, "AUTH=PLAIN")
             ? MH_IMAP_AUTH_PLAIN : MH_IMAP_AUTH_LOGIN;
  if (mech == MH_IMAP_AUTH_LOGIN
      && mh_imap_session_has_capability (s, "LOGINDISABLED"))
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_CONFIG,
                           "the server disabled LOGIN and offers no "
                           "AUTH=PLAIN");
      return FALSE;
    }

  /* The secret as LOGIN quotes it, and as it is: a server that echoes
   * the command it rejects, then or in a later answer, must not put them
   * in our errors or trace.  run_auth() adds the SASL payload.  The
   * session keeps them until it is freed. */
  mh_imap_session_hide (s, secret);
  {
    g_autoptr(GString) quoted = g_string_new (NULL);

    for (const char *p = secret; *p != '\0'; p++)
      {
        if (*p == '"' || *p == '\\')
          g_string_append_c (quoted, '\\');
        g_string_append_c (quoted, *p);
      }
    mh_imap_session_hide (s, quoted->str);
    memset (quoted->str, 0, quoted->len);
  }
  caps_seq = s->caps_seq;
  ok = run_auth (s, user, secret, mech, &challenge, &tagged, &local);
  if (!ok
      && ((local->code != MH_ERROR_SERVER_NO
           && local->code != MH_ERROR_SERVER_BAD)
          || tagged == NULL))
    g_propagate_error (error, g_steal_pointer (&local));
  else if (!ok)
    {
      text = mh_imap_session_scrub (s, mh_imap_response_describe (tagged));
      if (mh_imap_response_is_temporary (tagged))
        g_set_error (error, MH_ERROR, MH_ERROR_UNAVAILABLE,
                     "the server cannot take the login as %s now: %s", user,
                     text);
      else if (challenge != NULL)
        {
          g_autofree char *desc = mh_imap_session_scrub (
              s, describe_challenge (challenge));

          g_set_error (error, MH_ERROR, MH_ERROR_AUTH,
                       "%s authentication as %s failed: %s (%s)",
                       mech_name (mech), user, text, desc);
        }
      else
        g_set_error (error, MH_ERROR, MH_ERROR_AUTH,
                     "%s authentication as %s failed: %s", mech_name (mech),
                     user, text);
    }
  if (!ok)
    return FALSE;
  s->authenticated = TRUE;
  /* Servers announce more after login (Gmail's X-GM-EXT-1, SPECIAL-USE);
   * ask unless the answer already carried the new list. */
  if (s->caps_seq == caps_seq)
    return mh_imap_session_capability (s, error);
  return TRUE;
}
