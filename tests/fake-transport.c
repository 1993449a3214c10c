/* fake-transport.c - a scripted IMAP server for transcript tests. */
#include "fake-transport.h"
#include "mailharvest/error.h"

#include <string.h>

typedef enum {
  STEP_CHUNK,
  STEP_READ_LIMIT,
  STEP_CLIENT,
  STEP_STARTTLS,
  STEP_STALL,
  STEP_CLOSE,
} StepType;

typedef struct {
  StepType type;
  GByteArray *data; /* CHUNK bytes, CLIENT line */
  gsize limit;      /* READ_LIMIT */
  guint lineno;
} Step;

struct _FakeServer {
  gint refs;
  GPtrArray *steps;
  guint idx;
  gsize offset;      /* into the current chunk */
  gsize read_limit;  /* 0: none */
  GString *client;   /* bytes written and not yet a full line */
  char *problem;
  gboolean tls;
};

typedef struct {
  MhTransport parent;
  FakeServer *fs;
  gboolean closed;
} FakeTransport;

guint8
fake_transport_pattern (gsize offset)
{
  static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

  return (guint8) alphabet[(offset * 7 + offset / 64) % 64];
}

static void
step_free (gpointer p)
{
  Step *st = p;

  if (st->data != NULL)
    g_byte_array_unref (st->data);
  g_free (st);
}

FakeServer *
fake_server_new (const char *script)
{
  FakeServer *fs = g_new0 (FakeServer, 1);
  g_auto(GStrv) lines = g_strsplit (script, "\n", -1);
  Step *chunk = NULL;
  guint64 pattern_pos = 0;

  fs->refs = 1;
  fs->steps = g_ptr_array_new_with_free_func (step_free);
  fs->client = g_string_new (NULL);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = lines[i];
      gsize len = strlen (line);
      const char *text;
      char kind;
      Step *st;

      if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';
      if (len == 0 || line[0] == '#')
        continue;
      g_assert_true (len >= 2 && line[1] == ':');
      kind = line[0];
      text = line + 2;
      if (*text == ' ')
        text++;
      if (kind == 'S' || kind == 'L' || kind == 'P')
        {
          if (chunk == NULL)
            {
              chunk = g_new0 (Step, 1);
              chunk->type = STEP_CHUNK;
              chunk->data = g_byte_array_new ();
              chunk->lineno = i + 1;
              g_ptr_array_add (fs->steps, chunk);
            }
          if (kind == 'S' || kind == 'P')
            {
              pattern_pos = 0;
              g_byte_array_append (chunk->data, (const guint8 *) text,
                                   (guint) strlen (text));
              if (kind == 'S')
                g_byte_array_append (chunk->data, (const guint8 *) "\r\n",
                                     2);
            }
          else
            {
              guint64 n = g_ascii_strtoull (text, NULL, 10);

              for (guint64 k = 0; k < n; k++)
                {
                  guint8 b = fake_transport_pattern (pattern_pos++);

                  g_byte_array_append (chunk->data, &b, 1);
                }
            }
          continue;
        }
      chunk = NULL;
      if (kind == 'X')
        continue;
      st = g_new0 (Step, 1);
      st->lineno = i + 1;
      switch (kind)
        {
        case 'R':
          st->type = STEP_READ_LIMIT;
          st->limit = g_ascii_strtoull (text, NULL, 10);
          break;
        case 'C':
          st->type = STEP_CLIENT;
          st->data = g_byte_array_new ();
          g_byte_array_append (st->data, (const guint8 *) text,
                               (guint) strlen (text));
          break;
        case 'T':
          st->type = STEP_STARTTLS;
          break;
        case 'W':
          st->type = STEP_STALL;
          break;
        case 'E':
          st->type = STEP_CLOSE;
          break;
        default:
          g_error ("bad script line %u: %s", i + 1, line);
        }
      g_ptr_array_add (fs->steps, st);
    }
  return fs;
}

FakeServer *
fake_server_new_from_file (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "imap",
                                                 name, NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return fake_server_new (text);
}

FakeServer *
fake_server_ref (FakeServer *fs)
{
  g_atomic_int_inc (&fs->refs);
  return fs;
}

void
fake_server_unref (FakeServer *fs)
{
  if (fs == NULL || !g_atomic_int_dec_and_test (&fs->refs))
    return;
  g_ptr_array_unref (fs->steps);
  g_string_free (fs->client, TRUE);
  g_free (fs->problem);
  g_free (fs);
}

static Step *
current (FakeServer *fs)
{
  while (fs->idx < fs->steps->len)
    {
      Step *st = g_ptr_array_index (fs->steps, fs->idx);

      if (st->type != STEP_READ_LIMIT)
        return st;
      fs->read_limit = st->limit;
      fs->idx++;
    }
  return NULL;
}

static void
fail (FakeServer *fs, GError **error, const char *fmt, ...)
  G_GNUC_PRINTF (3, 4);

static void
fail (FakeServer *fs, GError **error, const char *fmt, ...)
{
  va_list ap;
  char *msg;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (fs->problem == NULL)
    fs->problem = g_strdup (msg);
  g_set_error (error, MH_ERROR, MH_ERROR_NET, "fake server: %s", msg);
  g_free (msg);
}

static gssize
fake_read (MhTransport *t, guint8 *buf, gsize len, int timeout_ms,
           GError **error)
{
  FakeTransport *ft = (FakeTransport *) t;
  FakeServer *fs = ft->fs;
  Step *st;
  gsize n;

  if (ft->closed)
    {
      fail (fs, error, "read after close");
      return -1;
    }
  st = current (fs);
  if (st == NULL || st->type == STEP_CLOSE)
    return 0;
  switch (st->type)
    {
    case STEP_CHUNK:
      n = MIN (len, st->data->len - fs->offset);
      if (fs->read_limit > 0)
        n = MIN (n, fs->read_limit);
      memcpy (buf, st->data->data + fs->offset, n);
      fs->offset += n;
      if (fs->offset == st->data->len)
        {
          fs->idx++;
          fs->offset = 0;
        }
      return (gssize) n;
    case STEP_STALL:
      /* A server that says nothing more: the read waits out its timeout,
       * as a real socket would. */
      g_usleep ((gulong) timeout_ms * 1000);
      g_set_error (error, MH_ERROR, MH_ERROR_TIMEOUT,
                   "read: no answer within %d ms", timeout_ms);
      return -1;
    case STEP_CLIENT:
      fail (fs, error, "line %u: client reads, but should send \"%.*s\"",
            st->lineno, (int) st->data->len, (const char *) st->data->data);
      return -1;
    default:
      fail (fs, error, "line %u: client reads, but should start TLS",
            st->lineno);
      return -1;
    }
}

static gboolean
fake_write_all (MhTransport *t, const guint8 *data, gsize len,
                int timeout_ms, GError **error)
{
  FakeTransport *ft = (FakeTransport *) t;
  FakeServer *fs = ft->fs;
  char *nl;

  if (ft->closed)
    {
      fail (fs, error, "write after close");
      return FALSE;
    }
  g_string_append_len (fs->client, (const char *) data, (gssize) len);
  while ((nl = strstr (fs->client->str, "\r\n")) != NULL)
    {
      gsize linelen = (gsize) (nl - fs->client->str);
      Step *st = current (fs);

      if (st == NULL || st->type != STEP_CLIENT)
        {
          fail (fs, error, "client sent \"%.*s\" but the script %s",
                (int) linelen, fs->client->str,
                st == NULL ? "has ended" : "expects no client line here");
          return FALSE;
        }
      if (st->data->len != linelen
          || (linelen > 0
              && memcmp (st->data->data, fs->client->str, linelen) != 0))
        {
          fail (fs, error, "line %u: expected \"%.*s\", client sent \"%.*s\"",
                st->lineno, (int) st->data->len,
                (const char *) st->data->data, (int) linelen,
                fs->client->str);
          return FALSE;
        }
      fs->idx++;
      g_string_erase (fs->client, 0, (gssize) linelen + 2);
    }
  return TRUE;
}

static gboolean
fake_starttls (MhTransport *t, int timeout_ms, GError **error)
{
  FakeTransport *ft = (FakeTransport *) t;
  FakeServer *fs = ft->fs;
  Step *st = current (fs);

  /* Bytes the client did not read are lost in a real handshake. */
  if (st != NULL && st->type == STEP_CHUNK && fs->offset > 0)
    {
      fs->idx++;
      fs->offset = 0;
      st = current (fs);
    }
  if (st == NULL || st->type != STEP_STARTTLS)
    {
      fail (fs, error, "unexpected starttls");
      return FALSE;
    }
  fs->idx++;
  fs->tls = TRUE;
  return TRUE;
}

static void
fake_close (MhTransport *t)
{
  ((FakeTransport *) t)->closed = TRUE;
}

static void
fake_free (MhTransport *t)
{
  FakeTransport *ft = (FakeTransport *) t;

  fake_server_unref (ft->fs);
  g_free (ft);
}

static const MhTransportClass fake_class = {
  fake_read, fake_write_all, fake_starttls, fake_close, fake_free,
};

MhTransport *
fake_server_transport (FakeServer *fs)
{
  FakeTransport *ft = g_new0 (FakeTransport, 1);

  ft->parent.klass = &fake_class;
  ft->fs = fake_server_ref (fs);
  return &ft->parent;
}

void
fake_server_assert_done (FakeServer *fs)
{
  Step *st;

  g_assert_null (fs->problem);
  st = current (fs);
  if (st != NULL && (st->type == STEP_CLOSE || st->type == STEP_STALL))
    {
      fs->idx++;
      st = current (fs);
    }
  if (st != NULL)
    g_error ("script not finished: stopped before line %u", st->lineno);
  g_assert_cmpuint (fs->client->len, ==, 0);
}

const char *
fake_server_get_problem (FakeServer *fs)
{
  return fs->problem;
}

gboolean
fake_server_tls_started (FakeServer *fs)
{
  return fs->tls;
}

MhImapSession *
fake_server_session (FakeServer *fs, int timeout_ms)
{
  return mh_imap_session_new (fake_server_transport (fs), "imap.example.org",
                              993, timeout_ms);
}
