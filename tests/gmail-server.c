/* gmail-server.c - the scripted Gmail-like IMAP server of gmail-server.h. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gmail-server.h"

/* How often the threads look at the stop flag while they wait. */
#define POLL_SLICE_MS 100
/* Elements of one UID set ("1:3,7,9:*") looked at, at most. */
#define MAX_SET_ITEMS 1000

/* How long a cut connection waits for the client to close. */
#define CUT_DRAIN_MS 5000

#include "gmail-server-private.h"

static void
gm_message_free (GmMessage *m)
{
  g_free (m->labels);
  g_free (m->flags);
  g_free (m->text);
  g_free (m);
}

void
gm_record (GmServer *s, const char *line)
{
  g_mutex_lock (&s->lock);
  g_ptr_array_add (s->commands, g_strdup (line));
  g_mutex_unlock (&s->lock);
}

/* Sends all of @data; FALSE when the client went away. */
gboolean
gm_send_all (Conn *c, const char *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = send (c->fd, data, len, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

gboolean
gm_send_str (Conn *c, const char *str)
{
  return gm_send_all (c, str, strlen (str));
}

/* The next line without its CRLF, or NULL at end of stream, after
 * GM_SERVER_IDLE_MS of silence, on a line longer than GM_SERVER_MAX_LINE
 * or when the server stops. */
char *
gm_read_line (Conn *c)
{
  guint idle = 0;

  for (;;)
    {
      guint8 *nl = c->in->len > 0 ? memchr (c->in->data, '\n', c->in->len)
                                   : NULL;
      struct pollfd p = { c->fd, POLLIN, 0 };
      guint8 buf[4096];
      ssize_t n;
      int r;

      if (nl != NULL)
        {
          gsize len = (gsize) (nl - c->in->data);
          char *line = g_strndup ((const char *) c->in->data,
                                  len > 0 && nl[-1] == '\r' ? len - 1 : len);

          g_byte_array_remove_range (c->in, 0, (guint) len + 1);
          return line;
        }
      if (c->in->len > GM_SERVER_MAX_LINE
          || g_atomic_int_get (&c->server->stop)
          || idle >= GM_SERVER_IDLE_MS)
        return NULL;
      r = poll (&p, 1, POLL_SLICE_MS);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return NULL;
      if (r == 0)
        {
          idle += POLL_SLICE_MS;
          continue;
        }
      n = recv (c->fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return NULL;
      idle = 0;
      g_byte_array_append (c->in, buf, (guint) n);
    }
}

/* Takes an atom or a quoted string from *@p; NULL when there is none
 * (a literal is not accepted). */
char *
gm_next_string (const char **p)
{
  GString *out = g_string_new (NULL);
  const char *q = *p;

  while (*q == ' ')
    q++;
  if (*q == '"')
    {
      for (q++; *q != '"'; q++)
        {
          if (*q == '\\' && q[1] != '\0')
            q++;
          if (*q == '\0')
            {
              g_string_free (out, TRUE);
              return NULL;
            }
          g_string_append_c (out, *q);
        }
      q++;
    }
  else
    {
      while (*q != '\0' && *q != ' ' && *q != '(' && *q != ')'
             && *q != '{')
        g_string_append_c (out, *q++);
      if (out->len == 0)
        {
          g_string_free (out, TRUE);
          return NULL;
        }
    }
  *p = q;
  return g_string_free (out, FALSE);
}

gboolean
gm_has_prefix_ci (const char *str, const char *prefix)
{
  return g_ascii_strncasecmp (str, prefix, strlen (prefix)) == 0;
}

gboolean
gm_reply (Conn *c, const char *tag, const char *text)
{
  g_autofree char *line = g_strdup_printf ("%s %s\r\n", tag, text);

  if (g_str_has_prefix (text, "BAD"))
    {
      g_mutex_lock (&c->server->lock);
      c->server->bad++;
      g_mutex_unlock (&c->server->lock);
    }
  return gm_send_str (c, line);
}

static gboolean
do_list (Conn *c, const char *tag)
{
  return gm_send_str (c,
                   "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
                   "* LIST (\\HasChildren \\Noselect) \"/\" \"[Gmail]\"\r\n"
                   "* LIST (\\All \\HasNoChildren) \"/\" "
                   "\"[Gmail]/All Mail\"\r\n"
                   "* LIST (\\HasNoChildren \\Sent) \"/\" "
                   "\"[Gmail]/Sent Mail\"\r\n")
         && gm_reply (c, tag, "OK Success");
}

static guint32
highest_uid (GmServer *s)
{
  if (s->messages->len == 0)
    return 0;
  return ((GmMessage *) s->messages->pdata[s->messages->len - 1])->uid;
}

static gboolean
do_examine (Conn *c, const char *tag, const char *args)
{
  GmServer *s = c->server;
  g_autofree char *name = gm_next_string (&args);
  g_autofree char *text = NULL;

  if (g_strcmp0 (name, "[Gmail]/All Mail") != 0)
    {
      c->selected = FALSE;
      return gm_reply (c, tag, "NO [NONEXISTENT] Unknown Mailbox (Failure)");
    }
  g_mutex_lock (&s->lock);
  text = g_strdup_printf (
      "* FLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen)\r\n"
      "* OK [PERMANENTFLAGS ()] Flags permitted.\r\n"
      "* OK [UIDVALIDITY %u] UIDs valid.\r\n"
      "* %u EXISTS\r\n"
      "* 0 RECENT\r\n"
      "* OK [UIDNEXT %u] Predicted next UID.\r\n"
      "%s OK [READ-ONLY] [Gmail]/All Mail selected. (Success)\r\n",
      s->uidvalidity, s->messages->len, highest_uid (s) + 1, tag);
  g_mutex_unlock (&s->lock);
  c->selected = TRUE;
  return gm_send_str (c, text);
}

static gboolean
parse_uid (const char *str, gsize len, guint32 star, guint32 *out)
{
  g_autofree char *s = g_strndup (str, len);
  guint64 v;

  if (strcmp (s, "*") == 0)
    {
      *out = star;
      return TRUE;
    }
  if (!g_ascii_string_to_unsigned (s, 10, 1, G_MAXUINT32, &v, NULL))
    return FALSE;
  *out = (guint32) v;
  return TRUE;
}

/* Whether @uid is in the UID set @set ("1:3,7,9:*"); FALSE for a set
 * that does not parse. */
static gboolean
in_set (const char *set, guint32 uid, guint32 star, gboolean *bad)
{
  g_auto(GStrv) items = g_strsplit (set, ",", MAX_SET_ITEMS);

  for (guint i = 0; items[i] != NULL; i++)
    {
      const char *colon = strchr (items[i], ':');
      guint32 a, b;

      if (!parse_uid (items[i], colon != NULL ? (gsize) (colon - items[i])
                                              : strlen (items[i]),
                      star, &a)
          || (colon != NULL
              && !parse_uid (colon + 1, strlen (colon + 1), star, &b)))
        {
          *bad = TRUE;
          return FALSE;
        }
      if (colon == NULL)
        b = a;
      if (uid >= MIN (a, b) && uid <= MAX (a, b))
        return TRUE;
    }
  return FALSE;
}

/* UID SEARCH @criteria: "UID" and a UID set, a sequence set ("12:*"),
 * or anything else for every message.  A message with GM_FAULT_VANISH
 * is expunged first, as by another client, and "* n EXPUNGE" says so. */
static gboolean
do_search (Conn *c, const char *tag, const char *criteria)
{
  GmServer *s = c->server;
  gboolean by_uid = gm_has_prefix_ci (criteria, "UID ");
  const char *set = by_uid ? criteria + strlen ("UID ") : criteria;
  gboolean is_set = by_uid || g_ascii_isdigit (criteria[0]);
  g_autoptr(GString) out = g_string_new (NULL);
  gboolean bad = FALSE;
  guint32 star;

  g_mutex_lock (&s->lock);
  for (guint i = s->messages->len; i > 0; i--)
    if (((GmMessage *) s->messages->pdata[i - 1])->fault == GM_FAULT_VANISH)
      {
        g_ptr_array_remove_index (s->messages, i - 1);
        g_string_append_printf (out, "* %u EXPUNGE\r\n", i);
      }
  star = by_uid ? highest_uid (s) : s->messages->len;
  g_string_append (out, "* SEARCH");
  for (guint i = 0; i < s->messages->len && !bad; i++)
    {
      guint32 uid = ((GmMessage *) s->messages->pdata[i])->uid;

      if (!is_set || in_set (set, by_uid ? uid : i + 1, star, &bad))
        g_string_append_printf (out, " %u", uid);
    }
  g_mutex_unlock (&s->lock);
  if (bad)
    return gm_reply (c, tag, "BAD Could not parse command");
  g_string_append_printf (out, "\r\n%s OK SEARCH completed (Success)\r\n",
                          tag);
  return gm_send_all (c, out->str, out->len);
}

static void
append_fetch (GString *out, guint seq, const GmMessage *m,
              const char *items)
{
  g_string_append_printf (out, "* %u FETCH (UID %u", seq, m->uid);
  if (strstr (items, "FLAGS") != NULL)
    g_string_append_printf (out, " FLAGS (%s)", m->flags);
  if (strstr (items, "INTERNALDATE") != NULL)
    g_string_append (out, " INTERNALDATE \"28-Feb-2024 09:00:00 +0000\"");
  if (strstr (items, "RFC822.SIZE") != NULL)
    g_string_append_printf (out, " RFC822.SIZE %" G_GSIZE_FORMAT,
                            strlen (m->text));
  if (strstr (items, "X-GM-MSGID") != NULL)
    g_string_append_printf (out, " X-GM-MSGID %" G_GUINT64_FORMAT, m->msgid);
  if (strstr (items, "X-GM-THRID") != NULL)
    g_string_append_printf (out, " X-GM-THRID %" G_GUINT64_FORMAT, m->thrid);
  if (strstr (items, "X-GM-LABELS") != NULL)
    g_string_append_printf (out, " X-GM-LABELS (%s)", m->labels);
  if (strstr (items, "BODY.PEEK[]") != NULL)
    g_string_append_printf (out, " BODY[] {%" G_GSIZE_FORMAT "}\r\n%s",
                            strlen (m->text), m->text);
  g_string_append (out, ")\r\n");
}

static gboolean
do_uid_fetch (Conn *c, const char *tag, const char *args)
{
  GmServer *s = c->server;
  g_autofree char *set = gm_next_string (&args);
  g_autofree char *items = g_ascii_strup (args, -1);
  g_autoptr(GString) out = g_string_new (NULL);
  gboolean bad = FALSE;
  gboolean refused = FALSE;
  gboolean cut = FALSE;
  gboolean throttled = FALSE;
  gboolean expire = FALSE;
  guint sent = 0;
  gboolean body = strstr (items, "BODY.PEEK[]") != NULL;
  guint32 star;

  if (!c->selected || set == NULL)
    return gm_reply (c, tag, "BAD Could not parse command");
  g_mutex_lock (&s->lock);
  if (strstr (items, "BODY.PEEK[]") != NULL && s->faults[GM_THROTTLE_FETCHES] > 0)
    {
      s->faults[GM_THROTTLE_FETCHES]--;
      g_mutex_unlock (&s->lock);
      return gm_reply (c, tag, "NO [THROTTLED] Request is throttled. "
                            "Suggested Backoff Time: 5 milliseconds");
    }
  star = highest_uid (s);
  for (guint i = 0;
       i < s->messages->len && !bad && !cut && !throttled && !expire; i++)
    {
      const GmMessage *m = s->messages->pdata[i];

      if (!in_set (set, m->uid, star, &bad))
        continue;
      if (body && m->fault == GM_FAULT_CUT)
        cut = TRUE;
      else if (m->fault == (body ? GM_FAULT_REFUSE : GM_FAULT_REFUSE_META))
        refused = TRUE;
      else if (m->fault
               != (body ? GM_FAULT_LEAVE_OUT : GM_FAULT_LEAVE_OUT_META))
        {
          append_fetch (out, i + 1, m, items);
          c->bodies += body;
          sent += body;
          cut = body && s->faults[GM_CUT_AFTER] > 0 && c->bodies >= s->faults[GM_CUT_AFTER];
          expire = body && c->token != NULL && s->faults[GM_EXPIRE_TOKENS_AFTER] > 0
                   && c->bodies >= s->faults[GM_EXPIRE_TOKENS_AFTER];
          throttled = body && s->faults[GM_THROTTLE_AFTER] > 0
                      && sent >= s->faults[GM_THROTTLE_AFTER];
        }
    }
  if (expire)
    {
      /* What Exchange Online says when the token of a session expires,
       * to whatever command comes then. */
      g_hash_table_add (s->expired, g_strdup (c->token));
      g_string_append (out, "* BYE Session invalidated - "
                            "AccessTokenExpired\r\n");
      cut = TRUE;
    }
  g_mutex_unlock (&s->lock);
  if (bad)
    return gm_reply (c, tag, "BAD Could not parse command");
  /* A dropped connection: what was sent arrives, then the end.  What the
   * client still sends is read and dropped until it closes, so that no
   * reset takes the answers from its receive queue. */
  if (cut)
    {
      char sink[4096];
      struct pollfd p = { c->fd, POLLIN, 0 };

      (void) gm_send_all (c, out->str, out->len);
      (void) shutdown (c->fd, SHUT_WR);
      while (poll (&p, 1, CUT_DRAIN_MS) > 0
             && read (c->fd, sink, sizeof sink) > 0)
        ;
      return FALSE;
    }
  if (throttled)
    g_string_append_printf (out, "%s NO [THROTTLED] Request is throttled. "
                                 "Suggested Backoff Time: 5 milliseconds\r\n",
                            tag);
  /* What Gmail answers when it cannot read a message of the set. */
  else if (refused)
    g_string_append_printf (out, "%s NO Some messages could not be "
                                 "FETCHed (Failure)\r\n", tag);
  else
    g_string_append_printf (out, "%s OK Success\r\n", tag);
  return gm_send_all (c, out->str, out->len);
}

/* Answers one command; FALSE ends the connection. */
static gboolean
dispatch (Conn *c, const char *line)
{
  const char *sp = strchr (line, ' ');
  g_autofree char *tag = NULL;
  const char *cmd;

  if (sp == NULL || sp == line)
    return gm_reply (c, "*", "BAD Missing tag");
  tag = g_strndup (line, (gsize) (sp - line));
  cmd = sp + 1;
  if (g_ascii_strcasecmp (cmd, "CAPABILITY") == 0)
    return gm_send_str (c, "* CAPABILITY IMAP4rev1 X-GM-EXT-1 SPECIAL-USE "
                        "AUTH=PLAIN AUTH=XOAUTH2 SASL-IR\r\n")
           && gm_reply (c, tag, "OK Thats all she wrote! (Success)");
  if (g_ascii_strcasecmp (cmd, "NOOP") == 0)
    return gm_reply (c, tag, "OK Success");
  if (g_ascii_strcasecmp (cmd, "LOGOUT") == 0)
    {
      (void) gm_send_str (c, "* BYE LOGOUT Requested\r\n");
      (void) gm_reply (c, tag, "OK 73 good day (Success)");
      return FALSE;
    }
  if (gm_has_prefix_ci (cmd, "LOGIN "))
    return gm_do_login (c, tag, cmd + strlen ("LOGIN "));
  if (gm_has_prefix_ci (cmd, "AUTHENTICATE PLAIN"))
    return gm_do_authenticate (c, tag, cmd + strlen ("AUTHENTICATE PLAIN"));
  if (gm_has_prefix_ci (cmd, "AUTHENTICATE XOAUTH2"))
    return gm_do_xoauth2 (c, tag, cmd + strlen ("AUTHENTICATE XOAUTH2"));
  if (!c->authenticated)
    return gm_reply (c, tag, "BAD Not authenticated");
  if (c->detached)
    {
      /* A fault asked for: not counted as a BAD the client caused. */
      g_autofree char *answer = g_strdup_printf (
          "%s BAD User is authenticated but not connected.\r\n", tag);

      return gm_send_str (c, answer);
    }
  if (gm_has_prefix_ci (cmd, "LIST "))
    return do_list (c, tag);
  if (gm_has_prefix_ci (cmd, "EXAMINE "))
    return do_examine (c, tag, cmd + strlen ("EXAMINE "));
  if (gm_has_prefix_ci (cmd, "UID SEARCH "))
    return c->selected ? do_search (c, tag, cmd + strlen ("UID SEARCH "))
                       : gm_reply (c, tag, "BAD No mailbox selected");
  if (gm_has_prefix_ci (cmd, "UID FETCH "))
    return do_uid_fetch (c, tag, cmd + strlen ("UID FETCH "));
  return gm_reply (c, tag, "BAD Unknown command");
}

static void
serve_connection (GmServer *s, int fd)
{
  Conn c = { s, fd, g_byte_array_new (), FALSE, FALSE };

  if (gm_send_str (&c, "* OK Gimap ready for requests from 127.0.0.1\r\n"))
    for (;;)
      {
        g_autofree char *line = gm_read_line (&c);

        if (line == NULL)
          break;
        gm_record (s, line);
        if (!dispatch (&c, line))
          break;
      }
  g_byte_array_unref (c.in);
  g_free (c.token);
}

static gpointer
serve (gpointer data)
{
  GmServer *s = data;

  while (!g_atomic_int_get (&s->stop))
    {
      struct pollfd p = { s->listen_fd, POLLIN, 0 };
      int fd;

      if (poll (&p, 1, POLL_SLICE_MS) <= 0)
        continue;
      fd = accept (s->listen_fd, NULL, NULL);
      if (fd < 0)
        continue;
      serve_connection (s, fd);
      close (fd);
    }
  return NULL;
}

GmServer *
gm_server_new (const char *user, const char *password)
{
  GmServer *s = g_new0 (GmServer, 1);
  struct sockaddr_in addr = { 0 };
  socklen_t len = sizeof addr;

  s->user = g_strdup (user);
  s->password = g_strdup (password);
  s->uidvalidity = 1;
  s->messages = g_ptr_array_new_with_free_func (
      (GDestroyNotify) gm_message_free);
  s->commands = g_ptr_array_new_with_free_func (g_free);
  s->expired = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_mutex_init (&s->lock);
  s->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s->listen_fd < 0)
    g_error ("socket: %s", g_strerror (errno));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (bind (s->listen_fd, (struct sockaddr *) &addr, sizeof addr) != 0
      || listen (s->listen_fd, 8) != 0
      || getsockname (s->listen_fd, (struct sockaddr *) &addr, &len) != 0)
    g_error ("cannot listen on 127.0.0.1: %s", g_strerror (errno));
  s->port = ntohs (addr.sin_port);
  s->thread = g_thread_new ("gmail-server", serve, s);
  return s;
}

void
gm_server_free (GmServer *s)
{
  if (s == NULL)
    return;
  g_atomic_int_set (&s->stop, 1);
  g_thread_join (s->thread);
  close (s->listen_fd);
  g_ptr_array_unref (s->messages);
  g_ptr_array_unref (s->commands);
  g_hash_table_unref (s->expired);
  g_mutex_clear (&s->lock);
  g_free (s->user);
  g_free (s->password);
  g_free (s);
}

guint16
gm_server_get_port (GmServer *s)
{
  return s->port;
}

void
gm_server_set_uidvalidity (GmServer *s, guint32 uidvalidity)
{
  g_mutex_lock (&s->lock);
  s->uidvalidity = uidvalidity;
  g_mutex_unlock (&s->lock);
}

static gint
cmp_uid (gconstpointer a, gconstpointer b)
{
  const GmMessage *x = *(GmMessage *const *) a;
  const GmMessage *y = *(GmMessage *const *) b;

  return x->uid < y->uid ? -1 : x->uid > y->uid;
}

void
gm_server_add (GmServer *s, guint32 uid, guint64 msgid, guint64 thrid,
               const char *labels, const char *flags, const char *text)
{
  GmMessage *m = g_new0 (GmMessage, 1);

  m->uid = uid;
  m->msgid = msgid;
  m->thrid = thrid;
  m->labels = g_strdup (labels);
  m->flags = g_strdup (flags);
  m->text = g_strdup (text);
  g_mutex_lock (&s->lock);
  for (guint i = 0; i < s->messages->len; i++)
    if (((GmMessage *) s->messages->pdata[i])->uid == uid)
      g_ptr_array_remove_index (s->messages, i--);
  if (s->messages->len < GM_SERVER_MAX_MESSAGES)
    g_ptr_array_add (s->messages, m);
  else
    gm_message_free (m);
  g_ptr_array_sort (s->messages, cmp_uid);
  g_mutex_unlock (&s->lock);
}

void
gm_server_clear (GmServer *s)
{
  g_mutex_lock (&s->lock);
  g_ptr_array_set_size (s->messages, 0);
  g_mutex_unlock (&s->lock);
}

void
gm_server_set_fault (GmServer *s, guint32 uid, GmFault fault)
{
  g_mutex_lock (&s->lock);
  for (guint i = 0; i < s->messages->len; i++)
    {
      GmMessage *m = s->messages->pdata[i];

      if (uid == 0 || m->uid == uid)
        m->fault = fault;
    }
  g_mutex_unlock (&s->lock);
}

void
gm_server_set_session_fault (GmServer *s, GmSessionFault fault, guint n)
{
  g_return_if_fail (fault < GM_N_SESSION_FAULTS);
  g_mutex_lock (&s->lock);
  s->faults[fault] = n;
  g_mutex_unlock (&s->lock);
}

char **
gm_server_take_commands (GmServer *s)
{
  char **out;

  g_mutex_lock (&s->lock);
  g_ptr_array_add (s->commands, NULL);
  out = (char **) g_ptr_array_free (s->commands, FALSE);
  s->commands = g_ptr_array_new_with_free_func (g_free);
  g_mutex_unlock (&s->lock);
  return out;
}

guint
gm_server_take_bad_count (GmServer *s)
{
  guint n;

  g_mutex_lock (&s->lock);
  n = s->bad;
  s->bad = 0;
  g_mutex_unlock (&s->lock);
  return n;
}

guint
gm_server_count (char **commands, const char *needle)
{
  guint n = 0;

  for (guint i = 0; commands != NULL && commands[i] != NULL; i++)
    if (strstr (commands[i], needle) != NULL)
      n++;
  return n;
}
