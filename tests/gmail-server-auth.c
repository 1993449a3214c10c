/* gmail-server-auth.c - the scripted Gmail server's logins: LOGIN,
 * AUTHENTICATE PLAIN and XOAUTH2, with the refusals its session faults
 * ask for (gmail-server.h). */
#include <string.h>

#include "gmail-server-private.h"

/* Whether this login is one GM_REFUSE_LOGINS asks to refuse. */
static gboolean
take_busy (GmServer *s)
{
  gboolean busy;

  g_mutex_lock (&s->lock);
  busy = s->faults[GM_REFUSE_LOGINS] > 0;
  if (busy)
    s->faults[GM_REFUSE_LOGINS]--;
  g_mutex_unlock (&s->lock);
  return busy;
}

#define BUSY_ANSWER "NO [ALERT] Too many simultaneous connections. (Failure)"

/* Checks the credentials; a session that passes may be one of those
 * GM_DETACH_SESSIONS asks for. */
static gboolean
check_login (Conn *c, const char *user, const char *password)
{
  GmServer *s = c->server;

  if (g_strcmp0 (user, s->user) != 0
      || g_strcmp0 (password, s->password) != 0)
    return FALSE;
  g_mutex_lock (&s->lock);
  if (s->faults[GM_DETACH_SESSIONS] > 0)
    {
      s->faults[GM_DETACH_SESSIONS]--;
      c->detached = TRUE;
    }
  g_mutex_unlock (&s->lock);
  return TRUE;
}

gboolean
gm_do_login (Conn *c, const char *tag, const char *args)
{
  g_autofree char *user = gm_next_string (&args);
  g_autofree char *password = user != NULL ? gm_next_string (&args) : NULL;

  if (take_busy (c->server))
    return gm_reply (c, tag, BUSY_ANSWER);
  if (!check_login (c, user, password))
    return gm_reply (c, tag, "NO [AUTHENTICATIONFAILED] Invalid credentials");
  c->authenticated = TRUE;
  return gm_reply (c, tag, "OK me@example.com authenticated (Success)");
}

/* AUTHENTICATE PLAIN, with or without an initial response. */
gboolean
gm_do_authenticate (Conn *c, const char *tag, const char *args)
{
  g_autofree char *answer = NULL;
  g_autofree guchar *raw = NULL;
  gsize len = 0;
  const char *user, *password, *end;

  while (*args == ' ')
    args++;
  if (*args != '\0')
    answer = g_strdup (args);
  else
    {
      if (!gm_send_str (c, "+ \r\n"))
        return FALSE;
      answer = gm_read_line (c);
      if (answer == NULL)
        return FALSE;
      gm_record (c->server, "<sasl>");
    }
  if (strcmp (answer, "*") == 0)
    return gm_reply (c, tag, "BAD Authentication cancelled");
  if (take_busy (c->server))
    return gm_reply (c, tag, BUSY_ANSWER);
  raw = g_base64_decode (answer, &len);
  /* authzid NUL authcid NUL password, each part possibly empty. */
  end = (const char *) raw + len;
  user = raw != NULL ? memchr (raw, '\0', len) : NULL;
  password = user != NULL ? memchr (user + 1, '\0', (gsize) (end - user - 1))
                          : NULL;
  if (password != NULL)
    {
      g_autofree char *u = g_strndup (user + 1,
                                      (gsize) (password - user - 1));
      g_autofree char *pw = g_strndup (password + 1,
                                       (gsize) (end - password - 1));

      if (check_login (c, u, pw))
        {
          c->authenticated = TRUE;
          return gm_reply (c, tag, "OK me@example.com authenticated "
                                "(Success)");
        }
    }
  return gm_reply (c, tag, "NO [AUTHENTICATIONFAILED] Invalid credentials "
                        "(Failure)");
}

/* AUTHENTICATE XOAUTH2, with or without an initial response: a token
 * passes when it starts with "tok-" and has not expired.  A failure
 * goes as Gmail's does: a challenge with the error as base64 JSON, which
 * the client answers with an empty line, then the NO. */
gboolean
gm_do_xoauth2 (Conn *c, const char *tag, const char *args)
{
  static const char error_json[] =
      "{\"status\":\"400\",\"schemes\":\"Bearer\","
      "\"scope\":\"https://mail.google.com/\"}";
  GmServer *s = c->server;
  g_autofree char *answer = NULL;
  g_autofree char *raw = NULL;
  g_autofree char *challenge = NULL;
  g_autofree char *line = NULL;
  g_autofree char *want = NULL;
  const char *token;
  gsize len = 0;
  gboolean ok = FALSE;

  while (*args == ' ')
    args++;
  if (*args != '\0')
    answer = g_strdup (args);
  else
    {
      if (!gm_send_str (c, "+ \r\n") || (answer = gm_read_line (c)) == NULL)
        return FALSE;
      gm_record (s, "<sasl>");
    }
  raw = (char *) g_base64_decode (answer, &len);
  raw = g_realloc (raw, len + 1);
  raw[len] = '\0';
  /* "user=U^Aauth=Bearer T^A^A" */
  want = g_strdup_printf ("user=%s\001auth=Bearer ", s->user);
  if (g_str_has_prefix (raw, want) && g_str_has_suffix (raw, "\001\001"))
    {
      token = raw + strlen (want);
      raw[len - 2] = '\0';
      g_mutex_lock (&s->lock);
      ok = g_str_has_prefix (token, "tok-")
           && !g_hash_table_contains (s->expired, token);
      g_mutex_unlock (&s->lock);
      if (ok)
        {
          g_free (c->token);
          c->token = g_strdup (token);
          c->authenticated = TRUE;
          return gm_reply (c, tag, "OK me@example.com authenticated "
                                "(Success)");
        }
    }
  challenge = g_base64_encode ((const guchar *) error_json,
                               strlen (error_json));
  line = g_strdup_printf ("+ %s\r\n", challenge);
  if (!gm_send_str (c, line))
    return FALSE;
  g_clear_pointer (&answer, g_free);
  if ((answer = gm_read_line (c)) == NULL)
    return FALSE;
  gm_record (s, "<sasl>");
  return gm_reply (c, tag, "NO [AUTHENTICATIONFAILED] Invalid credentials "
                        "(Failure)");
}

