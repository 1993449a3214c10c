/* message-decode.c - decoded content of parts, streamed in pieces.
 *
 * Transfer encodings are undone with GMime's basic filter over the part's
 * content stream, which stays in the source file (the parser persists the
 * stream), so memory is bounded by MH_CHUNK whatever the part's size.
 */
#include "message-private.h"
#include "mailharvest/error.h"

#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

typedef struct {
  gsize alphabet; /* base64 alphabet characters seen */
  gsize invalid;  /* bytes that are neither alphabet, padding nor space */
  gboolean padded;
  gboolean after_pad; /* alphabet characters after the padding */
} B64Check;

/* Byte classes for b64_check: a table, since every byte of every base64
 * attachment passes through here. */
enum { B64_OTHER, B64_ALPHA, B64_PAD, B64_SPACE };

static const guint8 *
b64_classes (void)
{
  static guint8 table[256];
  static gsize init;

  if (g_once_init_enter (&init))
    {
      for (guint b = 0; b < 256; b++)
        table[b] = g_ascii_isalnum (b) || b == '+' || b == '/' ? B64_ALPHA
                   : b == '=' ? B64_PAD
                   : b == '\r' || b == '\n' || b == ' ' || b == '\t'
                       ? B64_SPACE
                       : B64_OTHER;
      g_once_init_leave (&init, 1);
    }
  return table;
}

/* Counts base64 alphabet bytes and bytes that are neither alphabet,
 * padding nor white space, in plain range compares summed in registers:
 * every byte of every attachment passes through here, and a table with
 * counters in memory was the single hottest loop of a run. */
static void
count_b64_scalar (const guchar *p, gsize len, gsize *alpha_out,
                  gsize *other_out)
{
  gsize alpha = 0, space = 0, pad = 0;

  for (gsize i = 0; i < len; i++)
    {
      guchar b = p[i];
      guchar lower = b | 0x20;

      alpha += ((guchar) (lower - 'a') < 26) | ((guchar) (b - '0') < 10)
               | (b == '+') | (b == '/');
      space += (b == '\r') | (b == '\n') | (b == ' ') | (b == '\t');
      pad += b == '=';
    }
  *alpha_out = alpha;
  *other_out = len - alpha - space - pad;
}

#ifdef __SSE2__
/* The same count, 16 bytes at a time: signed byte compares are enough,
 * since every byte of interest is below 0x80 and the rest compare as
 * negative.  Byte-wide counters are folded every 255 rounds. */
static void
count_b64 (const guchar *p, gsize len, gsize *alpha_out, gsize *other_out)
{
  const __m128i x20 = _mm_set1_epi8 (0x20);
  gsize alpha = 0, other = 0, i = 0;

  while (len - i >= 16)
    {
      __m128i acc_alpha = _mm_setzero_si128 ();
      __m128i acc_keep = _mm_setzero_si128 ();
      guint rounds = 0;

      for (; len - i >= 16 && rounds < 255; i += 16, rounds++)
        {
          __m128i v = _mm_loadu_si128 ((const __m128i *) (p + i));
          __m128i low = _mm_or_si128 (v, x20);
          __m128i letter = _mm_and_si128 (
              _mm_cmpgt_epi8 (low, _mm_set1_epi8 ('a' - 1)),
              _mm_cmplt_epi8 (low, _mm_set1_epi8 ('z' + 1)));
          __m128i digit = _mm_and_si128 (
              _mm_cmpgt_epi8 (v, _mm_set1_epi8 ('0' - 1)),
              _mm_cmplt_epi8 (v, _mm_set1_epi8 ('9' + 1)));
          __m128i sym = _mm_or_si128 (
              _mm_cmpeq_epi8 (v, _mm_set1_epi8 ('+')),
              _mm_cmpeq_epi8 (v, _mm_set1_epi8 ('/')));
          __m128i is_alpha = _mm_or_si128 (_mm_or_si128 (letter, digit), sym);
          __m128i ok = _mm_or_si128 (
              _mm_or_si128 (_mm_cmpeq_epi8 (v, _mm_set1_epi8 ('\r')),
                            _mm_cmpeq_epi8 (v, _mm_set1_epi8 ('\n'))),
              _mm_or_si128 (_mm_cmpeq_epi8 (v, _mm_set1_epi8 (' ')),
                            _mm_cmpeq_epi8 (v, _mm_set1_epi8 ('\t'))));

          ok = _mm_or_si128 (ok, _mm_cmpeq_epi8 (v, _mm_set1_epi8 ('=')));
          ok = _mm_or_si128 (ok, is_alpha);
          /* A mask byte is -1: subtracting counts one. */
          acc_alpha = _mm_sub_epi8 (acc_alpha, is_alpha);
          acc_keep = _mm_sub_epi8 (acc_keep, ok);
        }
      {
        __m128i za = _mm_sad_epu8 (acc_alpha, _mm_setzero_si128 ());
        __m128i zk = _mm_sad_epu8 (acc_keep, _mm_setzero_si128 ());
        gsize kept = (gsize) _mm_cvtsi128_si32 (zk)
                     + (gsize) _mm_extract_epi16 (zk, 4);

        alpha += (gsize) _mm_cvtsi128_si32 (za)
                 + (gsize) _mm_extract_epi16 (za, 4);
        other += (gsize) rounds * 16 - kept;
      }
    }
  if (i < len)
    {
      gsize a, o;

      count_b64_scalar (p + i, len - i, &a, &o);
      alpha += a;
      other += o;
    }
  *alpha_out = alpha;
  *other_out = other;
}
#else
#define count_b64 count_b64_scalar
#endif

static void
b64_check (B64Check *c, const char *buf, gsize len)
{
  const char *eq = c->padded ? buf : memchr (buf, '=', len);
  gsize clean = eq != NULL ? (gsize) (eq - buf) : len;
  gsize alpha, other;

  count_b64 ((const guchar *) buf, clean, &alpha, &other);
  c->alphabet += alpha;
  c->invalid += other;
  /* From the first '=' on, order matters: alphabet after padding. */
  if (clean < len)
    {
      const guint8 *cls = b64_classes ();

      for (gsize i = clean; i < len; i++)
        {
          guint8 k = cls[(guchar) buf[i]];

          if (k == B64_PAD)
            c->padded = TRUE;
          else if (k == B64_ALPHA)
            {
              c->alphabet++;
              if (c->padded)
                c->after_pad = TRUE;
            }
          else if (k == B64_OTHER)
            c->invalid++;
        }
    }
}

/* Streams the decoded content of @part to @sink in MH_CHUNK pieces. */
gboolean
mh_part_decode (MhMessage *msg, GMimeObject *obj, const char *path,
                MhSinkFunc sink, gpointer user_data, GError **error)
{
  GMimeDataWrapper *w = g_mime_part_get_content (GMIME_PART (obj));
  GMimeStream *src;
  GMimeContentEncoding enc;
  g_autoptr(GMimeFilter) filter = NULL;
  g_autofree char *buf = NULL;
  B64Check chk = { 0 };

  if (w == NULL || (src = g_mime_data_wrapper_get_stream (w)) == NULL)
    return TRUE;
  enc = g_mime_data_wrapper_get_encoding (w);
  if (enc == GMIME_CONTENT_ENCODING_BASE64
      || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE
      || enc == GMIME_CONTENT_ENCODING_UUENCODE)
    filter = g_mime_filter_basic_new (enc, FALSE);
  if (g_mime_stream_reset (src) < 0)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO,
                   "cannot read part %s of the message", path);
      return FALSE;
    }
  buf = g_malloc (MH_CHUNK);
  for (;;)
    {
      ssize_t n = g_mime_stream_read (src, buf, MH_CHUNK);
      char *out = buf;
      size_t outlen = n > 0 ? (size_t) n : 0;
      size_t outpre = 0;

      /* A bounded GMime stream returns -1, not 0, at its end. */
      if (n < 0 && g_mime_stream_eos (src))
        break;
      if (n < 0)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_IO,
                       "cannot read part %s of the message", path);
          return FALSE;
        }
      if (n == 0)
        break;
      if (enc == GMIME_CONTENT_ENCODING_BASE64)
        b64_check (&chk, buf, (gsize) n);
      if (filter != NULL)
        g_mime_filter_filter (filter, buf, (size_t) n, 0, &out, &outlen,
                              &outpre);
      if (outlen > 0 && !sink ((const guint8 *) out, outlen, user_data,
                               error))
        return FALSE;
    }
  if (filter != NULL)
    {
      char *out = NULL;
      size_t outlen = 0, outpre = 0;

      g_mime_filter_complete (filter, buf, 0, 0, &out, &outlen, &outpre);
      if (outlen > 0 && !sink ((const guint8 *) out, outlen, user_data,
                               error))
        return FALSE;
    }
  if (chk.invalid > 0)
    mh_message_warn (msg, "part %s: %" G_GSIZE_FORMAT " bytes that are "
                     "not base64 were skipped", path, chk.invalid);
  if (chk.alphabet % 4 == 1 || (chk.alphabet % 4 != 0 && !chk.padded))
    mh_message_warn (msg, "part %s: base64 content is truncated", path);
  if (chk.after_pad)
    mh_message_warn (msg, "part %s: base64 content continues after its "
                     "padding", path);
  return TRUE;
}

typedef struct {
  GByteArray *bytes;
  gsize limit;
  gboolean cut;
} Collect;

static gboolean
collect_sink (const guint8 *data, gsize len, gpointer user_data,
              GError **error)
{
  Collect *c = user_data;

  if (c->bytes->len + len > c->limit)
    {
      g_byte_array_append (c->bytes, data, (guint) (c->limit - c->bytes->len));
      c->cut = TRUE;
      g_set_error_literal (error, MH_ERROR, MH_ERROR_LIMIT, "limit");
      return FALSE;
    }
  g_byte_array_append (c->bytes, data, (guint) len);
  return TRUE;
}

/* The decoded bytes of @obj, at most @limit of them. */
GByteArray *
mh_part_read_decoded (MhMessage *msg, GMimeObject *obj, const char *path,
                      gsize limit, gboolean *cut_out)
{
  Collect c = { g_byte_array_new (), limit, FALSE };
  g_autoptr(GError) error = NULL;

  if (!mh_part_decode (msg, obj, path, collect_sink, &c, &error) && !c.cut)
    mh_message_warn (msg, "part %s: %s", path, error->message);
  *cut_out = c.cut;
  return c.bytes;
}

/* A GMime stream that hands what is written to an MhSinkFunc, so that an
 * embedded message is serialised without a copy in memory. */
typedef struct {
  GMimeStream parent;
  MhSinkFunc sink;
  gpointer user_data;
  GError *error;
} SinkStream;

typedef struct {
  GMimeStreamClass parent_class;
} SinkStreamClass;

GType sink_stream_get_type (void);
G_DEFINE_TYPE (SinkStream, sink_stream, GMIME_TYPE_STREAM)

static ssize_t
sink_stream_write (GMimeStream *stream, const char *buf, size_t len)
{
  SinkStream *s = (SinkStream *) stream;

  if (s->error != NULL)
    return -1;
  if (len > 0
      && !s->sink ((const guint8 *) buf, len, s->user_data, &s->error))
    {
      if (s->error == NULL)
        g_set_error_literal (&s->error, MH_ERROR, MH_ERROR_IO,
                             "the sink refused the data");
      return -1;
    }
  return (ssize_t) len;
}

static ssize_t
sink_stream_read (GMimeStream *stream, char *buf, size_t len)
{
  return -1;
}

static int
sink_stream_flush (GMimeStream *stream)
{
  return 0;
}

static int
sink_stream_close (GMimeStream *stream)
{
  return 0;
}

static gboolean
sink_stream_eos (GMimeStream *stream)
{
  return TRUE;
}

static int
sink_stream_reset (GMimeStream *stream)
{
  return 0;
}

static gint64
sink_stream_seek (GMimeStream *stream, gint64 offset,
                  GMimeSeekWhence whence)
{
  return -1;
}

static gint64
sink_stream_tell (GMimeStream *stream)
{
  return -1;
}

static gint64
sink_stream_length (GMimeStream *stream)
{
  return -1;
}

static GMimeStream *
sink_stream_substream (GMimeStream *stream, gint64 start, gint64 end)
{
  return NULL;
}

static void
sink_stream_finalize (GObject *object)
{
  SinkStream *s = (SinkStream *) object;

  g_clear_error (&s->error);
  G_OBJECT_CLASS (sink_stream_parent_class)->finalize (object);
}

static void
sink_stream_class_init (SinkStreamClass *klass)
{
  GMimeStreamClass *sc = GMIME_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = sink_stream_finalize;
  sc->read = sink_stream_read;
  sc->write = sink_stream_write;
  sc->flush = sink_stream_flush;
  sc->close = sink_stream_close;
  sc->eos = sink_stream_eos;
  sc->reset = sink_stream_reset;
  sc->seek = sink_stream_seek;
  sc->tell = sink_stream_tell;
  sc->length = sink_stream_length;
  sc->substream = sink_stream_substream;
}

static void
sink_stream_init (SinkStream *s)
{
}

gboolean
mh_attachment_write (MhMessage *msg, const MhAttachment *att,
                     MhSinkFunc sink, gpointer user_data, GError **error)
{
  g_return_val_if_fail (msg != NULL && att != NULL && sink != NULL, FALSE);

  if (att->priv_data != NULL)
    {
      gsize len = 0;
      const guint8 *data = g_bytes_get_data (att->priv_data, &len);

      for (gsize off = 0; off < len; off += MH_CHUNK)
        if (!sink (data + off, MIN ((gsize) MH_CHUNK, len - off), user_data,
                   error))
          return FALSE;
      return TRUE;
    }
  if (att->priv_object == NULL)
    return TRUE;
  if (GMIME_IS_MESSAGE_PART (att->priv_object))
    {
      GMimeMessage *inner = g_mime_message_part_get_message (
        GMIME_MESSAGE_PART (att->priv_object));
      g_autoptr(GMimeStream) out = NULL;
      SinkStream *s;

      if (inner == NULL)
        return TRUE;
      out = g_object_new (sink_stream_get_type (), NULL);
      g_mime_stream_construct (out, 0, -1);
      s = (SinkStream *) out;
      s->sink = sink;
      s->user_data = user_data;
      if (g_mime_object_write_to_stream (GMIME_OBJECT (inner), NULL, out) < 0
          || s->error != NULL)
        {
          if (s->error != NULL)
            g_propagate_error (error, g_steal_pointer (&s->error));
          else
            g_set_error (error, MH_ERROR, MH_ERROR_IO,
                         "cannot write part %s", att->part);
          return FALSE;
        }
      return TRUE;
    }
  if (GMIME_IS_PART (att->priv_object))
    return mh_part_decode (msg, att->priv_object, att->part, sink, user_data,
                        error);
  return TRUE;
}
