/* message-decode.c - decoded content of parts, streamed in pieces.
 *
 * Transfer encodings are undone with our base64 decoder, or GMime's basic
 * filter for quoted-printable and uuencode, over the part's content
 * stream, which stays in the source file (the parser persists the
 * stream), so memory is bounded by MH_CHUNK whatever the part's size.
 */
#include "message-private.h"
#include "mailharvest/base64.h"
#include "mailharvest/error.h"

#include <string.h>

/* Streams the decoded content of @part to @sink in MH_CHUNK pieces. */
/* Base64 goes through our own decoder (base64.h): it is the hottest
 * loop of a run, and it counts the damage it skips on the way. */
static gboolean
decode_base64 (MhMessage *msg, GMimeStream *src, const char *path,
               char *buf, MhSinkFunc sink, gpointer user_data,
               GError **error)
{
  g_autofree guint8 *out = g_malloc (MH_BASE64_DECODE_MAX (MH_CHUNK));
  MhBase64Decoder d = MH_BASE64_DECODER_INIT;
  gsize outlen;

  for (;;)
    {
      ssize_t n = g_mime_stream_read (src, buf, MH_CHUNK);

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
      outlen = mh_base64_decode_step (&d, (const guint8 *) buf, (gsize) n,
                                      out);
      if (outlen > 0 && !sink (out, outlen, user_data, error))
        return FALSE;
    }
  outlen = mh_base64_decode_finish (&d, out);
  if (outlen > 0 && !sink (out, outlen, user_data, error))
    return FALSE;
  if (d.invalid > 0)
    mh_message_warn (msg, "part %s: %" G_GSIZE_FORMAT " bytes that are "
                     "not base64 were skipped", path, d.invalid);
  if (d.truncated)
    mh_message_warn (msg, "part %s: base64 content is truncated", path);
  if (d.after_pad)
    mh_message_warn (msg, "part %s: base64 content continues after its "
                     "padding", path);
  return TRUE;
}

gboolean
mh_part_decode (MhMessage *msg, GMimeObject *obj, const char *path,
                MhSinkFunc sink, gpointer user_data, GError **error)
{
  GMimeDataWrapper *w = g_mime_part_get_content (GMIME_PART (obj));
  GMimeStream *src;
  GMimeContentEncoding enc;
  g_autoptr(GMimeFilter) filter = NULL;
  g_autofree char *buf = NULL;

  if (w == NULL || (src = g_mime_data_wrapper_get_stream (w)) == NULL)
    return TRUE;
  enc = g_mime_data_wrapper_get_encoding (w);
  if (g_mime_stream_reset (src) < 0)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO,
                   "cannot read part %s of the message", path);
      return FALSE;
    }
  buf = g_malloc (MH_CHUNK);
  if (enc == GMIME_CONTENT_ENCODING_BASE64)
    return decode_base64 (msg, src, path, buf, sink, user_data, error);
  if (enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE
      || enc == GMIME_CONTENT_ENCODING_UUENCODE)
    filter = g_mime_filter_basic_new (enc, FALSE);
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
