/* fuzz-session.c - libFuzzer target for the IMAP session: a broken or
 * hostile server, as a byte stream, against a whole run's dialogue.
 *
 * The first bytes choose how the server's bytes are cut into reads and
 * which authentication mechanism the client uses; the rest is what the
 * server sends.  Two bytes in it stand for what a fuzzer cannot guess:
 * 0x01 is the tag of the oldest command not yet answered (so that tagged
 * answers can complete commands), 0x02 the last line the client sent (a
 * server that echoes a command in its error text).  A read ends before
 * such a byte, which the next read resolves.  The client greets,
 * asks for capabilities, authenticates, lists, asks for a status,
 * examines and searches, fetches bodies in small pipelined batches,
 * fetches header blocks, asks for a thread and logs out, going straight
 * to the LOGOUT at the first step that fails, and then tries one more
 * command.  Checked:
 *   - a step fails with an error, never without one, and never crashes
 *     or hangs (the bytes run out: end of stream);
 *   - a body reaches the sink as begin, writes of exactly the announced
 *     bytes (at most MAX_BODY), then done or abort; each message done or
 *     refused (a NO to its command) was asked for, and comes once;
 *   - the password and the token, and the base64 forms the client sends
 *     them in, appear in no error message and no trace line (unless the
 *     input itself holds them: the 0x02 echo is what tests this).
 * A violation aborts, which libFuzzer reports as a crash. */
#include <stdlib.h>
#include <string.h>

#include "mailharvest/error.h"
#include "mailharvest/imap-session.h"
#include "mailharvest/net.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

#define CHECK(cond) \
  do { if (!(cond)) { g_printerr ("check failed: %s\n", #cond); abort (); } } \
  while (0)

#define USER "fuzzuser"
#define SECRET "s3cr3t-PW-9f7q"

typedef struct {
  MhTransport parent;
  const guint8 *data;
  gsize len;
  gsize pos;
  gsize chunk;          /* most bytes per read */
  GQueue tags;          /* commands sent and not answered, oldest first */
  GString *line;        /* what the client is sending, up to its CRLF */
  GString *last;        /* the last whole line the client sent */
  GString *pending;     /* a substitution being served */
  gsize pending_pos;
  gboolean closed;
} FuzzTransport;

/* Secrets and the forms they travel in: none may be in any text, unless
 * the server's bytes hold them already (a server may know the password;
 * what the client must not do is repeat what it sent). */
static char *forbidden[4];
static gboolean check_secrets;

static void
check_text (const char *text)
{
  if (text == NULL || !check_secrets)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (forbidden); i++)
    CHECK (strstr (text, forbidden[i]) == NULL);
}

static void
on_trace (gboolean sent, const char *line, gpointer user_data)
{
  /* FUZZ_TRACE=1 shows the dialogue when reproducing a finding. */
  if (g_getenv ("FUZZ_TRACE") != NULL)
    g_printerr ("%s %s\n", sent ? "C:" : "S:", line);
  check_text (line);
}

static gssize
fz_read (MhTransport *t, guint8 *buf, gsize len, int timeout_ms,
         GError **error)
{
  FuzzTransport *ft = (FuzzTransport *) t;
  gsize n = 0;

  if (ft->closed)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_NET, "closed");
      return -1;
    }
  len = MIN (len, ft->chunk);
  while (n < len)
    {
      if (ft->pending_pos < ft->pending->len)
        {
          gsize k = MIN (len - n, ft->pending->len - ft->pending_pos);

          memcpy (buf + n, ft->pending->str + ft->pending_pos, k);
          ft->pending_pos += k;
          n += k;
          continue;
        }
      if (ft->pos >= ft->len)
        break;
      if (ft->data[ft->pos] == 0x01 || ft->data[ft->pos] == 0x02)
        {
          char *tag = NULL;

          /* Resolved only when the client asks for more after what it
           * read: by then it has sent what it sends before waiting. */
          if (n > 0)
            break;

          g_string_truncate (ft->pending, 0);
          ft->pending_pos = 0;
          if (ft->data[ft->pos] == 0x02)
            g_string_append (ft->pending, ft->last->str);
          else if ((tag = g_queue_pop_head (&ft->tags)) != NULL)
            g_string_append (ft->pending, tag);
          else
            g_string_append_c (ft->pending, '*');
          g_free (tag);
          ft->pos++;
          continue;
        }
      buf[n++] = ft->data[ft->pos++];
    }
  return (gssize) n;
}

static gboolean
fz_write_all (MhTransport *t, const guint8 *data, gsize len, int timeout_ms,
              GError **error)
{
  FuzzTransport *ft = (FuzzTransport *) t;

  if (ft->closed)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_NET, "closed");
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    {
      g_string_append_c (ft->line, (char) data[i]);
      if (data[i] != '\n')
        continue;
      g_string_truncate (ft->last, 0);
      g_string_append_len (ft->last, ft->line->str,
                           (gssize) ft->line->len
                             - (ft->line->len >= 2
                                && ft->line->str[ft->line->len - 2] == '\r'
                                ? 2 : 1));
      /* A command starts with its tag: "A001 ..." */
      if (ft->line->str[0] == 'A' && g_ascii_isdigit (ft->line->str[1]))
        g_queue_push_tail (&ft->tags,
                           g_strndup (ft->line->str,
                                      strcspn (ft->line->str, " \r\n")));
      g_string_truncate (ft->line, 0);
    }
  return TRUE;
}

static void
fz_close (MhTransport *t)
{
  ((FuzzTransport *) t)->closed = TRUE;
}

static void
fz_free (MhTransport *t)
{
  FuzzTransport *ft = (FuzzTransport *) t;

  g_queue_clear_full (&ft->tags, g_free);
  g_string_free (ft->line, TRUE);
  g_string_free (ft->last, TRUE);
  g_string_free (ft->pending, TRUE);
  g_free (ft);
}

static const MhTransportClass fz_class = {
  fz_read, fz_write_all, NULL, fz_close, fz_free,
};

/* Bodies over this are dropped by the fetch and reported as too big. */
#define MAX_BODY 200

/* The sink: one body at a time, exactly as many bytes as announced, and
 * none over MAX_BODY. */
typedef struct {
  GHashTable *asked;    /* UIDs asked for */
  GHashTable *answered; /* UIDs delivered or refused */
  gboolean open;
  guint64 total;
  guint64 got;
  guint done;
} Sink;

static gpointer
sink_begin (guint64 total, gpointer user_data, GError **error)
{
  Sink *k = user_data;

  CHECK (!k->open);
  CHECK (total <= MAX_BODY);
  k->open = TRUE;
  k->total = total;
  k->got = 0;
  return k;
}

static gboolean
sink_write (gpointer handle, const guint8 *data, gsize len,
            gpointer user_data, GError **error)
{
  Sink *k = user_data;

  CHECK (handle == k && k->open);
  CHECK (len > 0);
  k->got += len;
  CHECK (k->got <= k->total);
  return TRUE;
}

static gboolean
sink_done (const MhImapMessageInfo *info, gpointer handle,
           gpointer user_data, GError **error)
{
  Sink *k = user_data;

  CHECK (g_hash_table_contains (k->asked, GUINT_TO_POINTER (info->uid)));
  CHECK (g_hash_table_add (k->answered, GUINT_TO_POINTER (info->uid)));
  CHECK (info->flags != NULL && info->gm_labels != NULL);
  CHECK (info->header_len <= MH_IMAP_HEADER_PEEK);
  CHECK (info->header_len == 0 || info->header != NULL);
  if (handle != NULL)
    {
      CHECK (handle == k && k->open);
      CHECK (k->got == k->total);
      CHECK (info->has_body && info->body_size == k->got);
      CHECK (info->too_big == 0);
      k->open = FALSE;
    }
  else
    CHECK (!k->open && !info->has_body
           && (info->too_big == 0 || info->too_big > MAX_BODY));
  k->done++;
  return TRUE;
}

static void
sink_abort (gpointer handle, gpointer user_data)
{
  Sink *k = user_data;

  CHECK (handle == k && k->open);
  k->open = FALSE;
}

/* A UID the server refused: asked for, not delivered, once. */
static void
sink_refused (guint32 uid, const char *reason, gpointer user_data)
{
  Sink *k = user_data;

  CHECK (reason != NULL);
  check_text (reason);
  CHECK (g_hash_table_contains (k->asked, GUINT_TO_POINTER (uid)));
  CHECK (g_hash_table_add (k->answered, GUINT_TO_POINTER (uid)));
}

/* An answer for an asked UID without its body: not answered yet. */
static void
sink_incomplete (guint32 uid, gpointer user_data)
{
  Sink *k = user_data;

  CHECK (g_hash_table_contains (k->asked, GUINT_TO_POINTER (uid)));
  CHECK (!g_hash_table_contains (k->answered, GUINT_TO_POINTER (uid)));
}

static const MhImapFetchSink sink_class = {
  sink_begin, sink_write, sink_done, sink_abort, sink_refused,
  sink_incomplete,
};

/* A step's outcome: an error exactly when it failed, and no secret in
 * it.  Returns @ok. */
static gboolean
step (gboolean ok, GError **error)
{
  if (ok)
    CHECK (*error == NULL);
  else
    {
      CHECK (*error != NULL && (*error)->message != NULL);
      if (g_getenv ("FUZZ_TRACE") != NULL)
        g_printerr ("error: %s\n", (*error)->message);
      check_text ((*error)->message);
    }
  g_clear_error (error);
  return ok;
}

static gboolean
fetch (MhImapSession *s, const guint32 *uids, gsize n, gboolean body)
{
  MhImapFetchOptions opts = { 0 };
  Sink k = { 0 };
  GError *error = NULL;
  guint delivered = 0;
  gboolean ok;

  k.asked = g_hash_table_new (g_direct_hash, g_direct_equal);
  k.answered = g_hash_table_new (g_direct_hash, g_direct_equal);
  for (gsize i = 0; i < n; i++)
    g_hash_table_add (k.asked, GUINT_TO_POINTER (uids[i]));
  opts.body = body;
  opts.header = !body;
  opts.batch_size = 2;
  opts.max_in_flight = 3;
  opts.max_body = MAX_BODY;
  ok = mh_imap_session_uid_fetch (s, uids, n, &opts, &sink_class, &k,
                                  &delivered, &error);
  CHECK (delivered == k.done);
  CHECK (!k.open);
  g_hash_table_unref (k.asked);
  g_hash_table_unref (k.answered);
  return step (ok, &error);
}

static void
init_forbidden (void)
{
  static const char plain[] = "\0" USER "\0" SECRET;
  g_autofree char *xoauth = g_strdup_printf ("user=%s\001auth=Bearer %s"
                                             "\001\001", USER, SECRET);

  if (forbidden[0] != NULL)
    return;
  /* A g_return_if_fail() the dialogue trips is a finding too. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL
                          | G_LOG_LEVEL_WARNING);
  forbidden[0] = g_strdup (SECRET);
  forbidden[1] = g_base64_encode ((const guchar *) plain, sizeof plain - 1);
  forbidden[2] = g_base64_encode ((const guchar *) xoauth, strlen (xoauth));
  /* OAUTHBEARER's blob begins like this whatever follows the host */
  forbidden[3] = g_strdup ("auth=Bearer " SECRET);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  static const MhImapAuthMech mechs[] = {
    MH_IMAP_AUTH_AUTO, MH_IMAP_AUTH_PLAIN, MH_IMAP_AUTH_LOGIN,
    MH_IMAP_AUTH_XOAUTH2, MH_IMAP_AUTH_OAUTHBEARER,
  };
  static const guint32 fallback_uids[] = { 1, 2, 3, 4, 5 };
  FuzzTransport *ft;
  g_autoptr(MhImapSession) s = NULL;
  g_autoptr(GArray) uids = NULL;
  GError *error = NULL;
  MhImapStatus status;
  MhImapExamine ex;
  const guint32 *want;
  gsize n_want;

  if (size < 2)
    return 0;
  init_forbidden ();
  check_secrets = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (forbidden); i++)
    if (memmem (data, size, forbidden[i], strlen (forbidden[i])) != NULL)
      check_secrets = FALSE;
  ft = g_new0 (FuzzTransport, 1);
  ft->parent.klass = &fz_class;
  ft->chunk = 1 + data[0] % 64;
  if (data[0] >= 192)
    ft->chunk = 4096;
  ft->data = data + 2;
  ft->len = size - 2;
  g_queue_init (&ft->tags);
  ft->line = g_string_new (NULL);
  ft->last = g_string_new (NULL);
  ft->pending = g_string_new (NULL);

  s = mh_imap_session_new (&ft->parent, "imap.example.org", 993, 1000);
  mh_imap_session_set_trace (s, on_trace, NULL);

  if (!step (mh_imap_session_open (s, &error), &error))
    goto end;
  if (!step (mh_imap_session_capability (s, &error), &error))
    goto end;
  if (!mh_imap_session_is_authenticated (s)
      && !step (mh_imap_session_authenticate (
                    s, USER, SECRET, mechs[data[1] % G_N_ELEMENTS (mechs)],
                    &error),
                &error))
    goto end;
  {
    GPtrArray *boxes = mh_imap_session_list (s, &error);

    if (!step (boxes != NULL, &error))
      goto end;
    g_ptr_array_unref (boxes);
  }
  if (!step (mh_imap_session_status (s, "INBOX", &status, &error), &error))
    goto end;
  uids = mh_imap_session_examine_search (s, "INBOX", "ALL", &ex, &error);
  if (!step (uids != NULL, &error))
    goto end;
  want = uids->len > 0 ? (const guint32 *) (gpointer) uids->data
                       : fallback_uids;
  n_want = uids->len > 0 ? MIN (uids->len, 64) : G_N_ELEMENTS (fallback_uids);
  if (!fetch (s, want, n_want, TRUE) || !fetch (s, want, n_want, FALSE))
    goto end;
  {
    GPtrArray *threads = NULL;

    if (!step (mh_imap_session_uid_thread (s, "REFERENCES", "UTF-8", "ALL",
                                           &threads, &error),
               &error))
      goto end;
    g_clear_pointer (&threads, g_ptr_array_unref);
  }
end:
  /* Whatever state the steps left the session in (logged out, broken by
   * a failure, or mid-dialogue), LOGOUT and one more command either work
   * or fail with an error. */
  (void) step (mh_imap_session_logout (s, &error), &error);
  (void) step (mh_imap_session_capability (s, &error), &error);
  return 0;
}
