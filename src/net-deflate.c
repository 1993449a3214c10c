/* net-deflate.c - IMAP COMPRESS=DEFLATE (RFC 4978) as a transport over
 * another: raw deflate (no zlib header) both ways, each write flushed
 * with Z_SYNC_FLUSH so that the server sees a whole command at once. */
#include <string.h>

#include <zlib.h>

#include "mailharvest/error.h"
#include "mailharvest/net.h"

/* Compressed bytes read from the inner transport at a time, and the
 * buffer a write is compressed into (written out whenever it fills). */
#define IN_SIZE (64 * 1024)
#define OUT_SIZE (16 * 1024)

typedef struct {
  MhTransport parent;
  MhTransport *inner;
  z_stream in;   /* inflate: the server's bytes */
  z_stream out;  /* deflate: ours */
  guint8 *inbuf;
  guint8 *outbuf;
  gboolean ended;  /* the server ended its deflate stream */
} DeflateTransport;

static gssize
deflate_read (MhTransport *t, guint8 *buf, gsize len, int timeout_ms,
              GError **error)
{
  DeflateTransport *d = (DeflateTransport *) t;
  gint64 deadline = 0;

  if (len == 0)
    return 0;
  len = MIN (len, (gsize) G_MAXUINT);
  for (;;)
    {
      gsize made;
      uInt had;
      int rc;

      if (d->ended)
        return 0;
      had = d->in.avail_in;
      d->in.next_out = buf;
      d->in.avail_out = (uInt) len;
      rc = inflate (&d->in, Z_SYNC_FLUSH);
      made = len - d->in.avail_out;
      if (made == 0 && had > 0 && d->in.avail_in == had && rc != Z_STREAM_END)
        rc = Z_DATA_ERROR;  /* no progress: never spin */
      if (rc == Z_STREAM_END)
        d->ended = TRUE;
      else if (rc != Z_OK && rc != Z_BUF_ERROR)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                       "the server's compressed stream is corrupt: %s",
                       d->in.msg != NULL ? d->in.msg : "inflate failed");
          return -1;
        }
      if (made > 0)
        return (gssize) made;
      if (d->ended)
        return 0;
      if (d->in.avail_in == 0)
        {
          gssize n;

          /* Compressed bytes that inflate to nothing (empty blocks, say)
           * must not keep a read waiting longer than its timeout. */
          if (deadline == 0)
            deadline = g_get_monotonic_time ()
                       + (gint64) (timeout_ms > 0
                                   ? timeout_ms
                                   : MH_NET_DEFAULT_TIMEOUT_MS) * 1000;
          else if (g_get_monotonic_time () > deadline)
            {
              g_set_error_literal (error, MH_ERROR, MH_ERROR_TIMEOUT,
                                   "the server's compressed stream brought "
                                   "no data within the time limit");
              return -1;
            }
          n = mh_transport_read (d->inner, d->inbuf, IN_SIZE, timeout_ms,
                                 error);

          if (n <= 0)
            return n;
          d->in.next_in = d->inbuf;
          d->in.avail_in = (uInt) n;
        }
    }
}

static gboolean
deflate_write_all (MhTransport *t, const guint8 *data, gsize len,
                   int timeout_ms, GError **error)
{
  DeflateTransport *d = (DeflateTransport *) t;

  while (len > 0)
    {
      uInt step = (uInt) MIN (len, (gsize) G_MAXUINT);

      d->out.next_in = (Bytef *) data;
      d->out.avail_in = step;
      do
        {
          int rc;

          d->out.next_out = d->outbuf;
          d->out.avail_out = OUT_SIZE;
          rc = deflate (&d->out, Z_SYNC_FLUSH);
          if (rc != Z_OK && rc != Z_BUF_ERROR)
            {
              g_set_error (error, MH_ERROR, MH_ERROR_NET,
                           "cannot compress a command: %s",
                           d->out.msg != NULL ? d->out.msg : "deflate failed");
              return FALSE;
            }
          if (OUT_SIZE - d->out.avail_out > 0
              && !mh_transport_write_all (d->inner, d->outbuf,
                                          OUT_SIZE - d->out.avail_out,
                                          timeout_ms, error))
            return FALSE;
        }
      /* A full output buffer may hold back more of the flush. */
      while (d->out.avail_in > 0 || d->out.avail_out == 0);
      data += step;
      len -= step;
    }
  return TRUE;
}

static void
deflate_close (MhTransport *t)
{
  DeflateTransport *d = (DeflateTransport *) t;

  mh_transport_close (d->inner);
}

static void
deflate_free (MhTransport *t)
{
  DeflateTransport *d = (DeflateTransport *) t;

  inflateEnd (&d->in);
  deflateEnd (&d->out);
  mh_transport_free (d->inner);
  g_free (d->inbuf);
  g_free (d->outbuf);
  g_free (d);
}

static const MhTransportClass deflate_class = {
  deflate_read, deflate_write_all, NULL, deflate_close, deflate_free
};

MhTransport *
mh_deflate_transport_new (MhTransport *inner, const guint8 *pending,
                          gsize n_pending, GError **error)
{
  DeflateTransport *d = g_new0 (DeflateTransport, 1);

  d->parent.klass = &deflate_class;
  if (n_pending > IN_SIZE)
    {
      g_free (d);
      g_set_error_literal (error, MH_ERROR, MH_ERROR_PROTOCOL,
                           "too much data after the server's answer to "
                           "COMPRESS");
      return NULL;
    }
  /* -15: raw deflate with a 32 KB window, as RFC 4978 says. */
  if (inflateInit2 (&d->in, -15) != Z_OK)
    {
      g_free (d);
      g_set_error_literal (error, MH_ERROR, MH_ERROR_NET,
                           "cannot start decompression");
      return NULL;
    }
  if (deflateInit2 (&d->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
                    Z_DEFAULT_STRATEGY) != Z_OK)
    {
      inflateEnd (&d->in);
      g_free (d);
      g_set_error_literal (error, MH_ERROR, MH_ERROR_NET,
                           "cannot start compression");
      return NULL;
    }
  d->inner = inner;
  d->inbuf = g_malloc (IN_SIZE);
  d->outbuf = g_malloc (OUT_SIZE);
  if (n_pending > 0)
    memcpy (d->inbuf, pending, n_pending);
  d->in.next_in = d->inbuf;
  d->in.avail_in = (uInt) n_pending;
  return &d->parent;
}
