/* message-stream.c - a read-only GMime stream on a file, read with pread()
 * through a buffer of its own.
 *
 * GMime's file stream does an lseek() and a read() of the caller's size
 * for every read, and its parser reads 4 KiB at a time: two system calls
 * per 4 KiB of every message, on the hot path of a run.  This one reads
 * MAX_BUF bytes ahead with one pread() for the parser, and needs no seek,
 * since every stream (and every substream a parser cuts from it for a
 * part) keeps its own position.  Substreams are not buffered: their
 * content is read in big pieces, and a buffer each cost more than it
 * saved.
 *
 * The same stream reads a message held in memory (GBytes) with plain
 * copies: a small message the network thread still had in hand is parsed
 * without opening and reading back the file it wrote.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "message-private.h"

#define MAX_BUF (64 * 1024)

/* The file, shared by a stream and its substreams. */
typedef struct {
  gint ref;
  int fd;
  gboolean owner;
  GBytes *bytes;         /* instead of fd, when not NULL */
} File;

typedef struct {
  GMimeStream parent;
  File *file;
  guint8 *buf;
  gint64 buf_start;      /* file offset of buf[0] */
  gsize buf_len;
  gboolean eos;          /* an unbounded read hit the end of the file */
  gboolean buffered;     /* the parser's stream; not a part's substream */
} MhStreamFile;

typedef struct {
  GMimeStreamClass parent_class;
} MhStreamFileClass;

GType mh_stream_file_get_type (void);
G_DEFINE_TYPE (MhStreamFile, mh_stream_file, GMIME_TYPE_STREAM)

static File *
file_ref (File *f)
{
  g_atomic_int_inc (&f->ref);
  return f;
}

static void
file_unref (File *f)
{
  if (f == NULL || !g_atomic_int_dec_and_test (&f->ref))
    return;
  if (f->owner && f->fd >= 0)
    close (f->fd);
  if (f->bytes != NULL)
    g_bytes_unref (f->bytes);
  g_free (f);
}

static ssize_t
pread_all (int fd, guint8 *buf, gsize len, gint64 offset)
{
  ssize_t n;

  do
    n = pread (fd, buf, len, (off_t) offset);
  while (n < 0 && errno == EINTR);
  return n;
}

static ssize_t
stream_read (GMimeStream *stream, char *buf, size_t len)
{
  MhStreamFile *s = (MhStreamFile *) stream;
  gint64 pos = stream->position;
  ssize_t n;

  if (s->file == NULL || (s->file->fd < 0 && s->file->bytes == NULL))
    return -1;
  /* Like GMime's own file stream: -1 at the end of a bounded stream. */
  if (stream->bound_end != -1 && pos >= stream->bound_end)
    return -1;
  if (stream->bound_end != -1)
    len = (size_t) MIN ((gint64) len, stream->bound_end - pos);
  if (len == 0)
    return 0;

  if (s->file->bytes != NULL)
    {
      gsize size = 0;
      const guint8 *data = g_bytes_get_data (s->file->bytes, &size);

      if (pos >= (gint64) size)
        {
          s->eos = TRUE;
          return 0;
        }
      n = (ssize_t) MIN (len, size - (gsize) pos);
      memcpy (buf, data + pos, (gsize) n);
      stream->position += n;
      return n;
    }

  if (pos < s->buf_start || pos >= s->buf_start + (gint64) s->buf_len)
    {
      gsize want = MAX_BUF;

      if (len >= MAX_BUF || !s->buffered)
        {
          /* Big reads go straight to the caller. */
          n = pread_all (s->file->fd, (guint8 *) buf, len, pos);
          if (n > 0)
            stream->position += n;
          else if (n == 0)
            s->eos = TRUE;
          return n;
        }
      if (stream->bound_end != -1)
        want = (gsize) MIN ((gint64) want, stream->bound_end - pos);
      if (s->buf == NULL)
        s->buf = g_malloc (MAX_BUF);
      n = pread_all (s->file->fd, s->buf, want, pos);
      if (n <= 0)
        {
          s->buf_len = 0;
          if (n == 0)
            s->eos = TRUE;
          return n;
        }
      s->buf_start = pos;
      s->buf_len = (gsize) n;
    }
  n = (ssize_t) MIN (len, (gsize) (s->buf_start + (gint64) s->buf_len - pos));
  memcpy (buf, s->buf + (pos - s->buf_start), (gsize) n);
  stream->position += n;
  return n;
}

static ssize_t
stream_write (GMimeStream *stream, const char *buf, size_t len)
{
  errno = EBADF;
  return -1;
}

static int
stream_flush (GMimeStream *stream)
{
  return 0;
}

static int
stream_close (GMimeStream *stream)
{
  MhStreamFile *s = (MhStreamFile *) stream;

  g_clear_pointer (&s->file, file_unref);
  g_clear_pointer (&s->buf, g_free);
  s->buf_len = 0;
  return 0;
}

static gboolean
stream_eos (GMimeStream *stream)
{
  MhStreamFile *s = (MhStreamFile *) stream;

  if (s->file == NULL)
    return TRUE;
  if (stream->bound_end == -1 && s->file->bytes != NULL)
    return stream->position >= (gint64) g_bytes_get_size (s->file->bytes);
  if (stream->bound_end == -1)
    return s->eos;
  return stream->position >= stream->bound_end;
}

static int
stream_reset (GMimeStream *stream)
{
  MhStreamFile *s = (MhStreamFile *) stream;

  if (s->file == NULL)
    return -1;
  stream->position = stream->bound_start;
  s->eos = FALSE;
  return 0;
}

static gint64
stream_length (GMimeStream *stream)
{
  MhStreamFile *s = (MhStreamFile *) stream;
  struct stat st;

  if (stream->bound_end != -1)
    return stream->bound_end - stream->bound_start;
  if (s->file != NULL && s->file->bytes != NULL)
    st.st_size = (off_t) g_bytes_get_size (s->file->bytes);
  else if (s->file == NULL || fstat (s->file->fd, &st) < 0)
    return -1;
  if (st.st_size < stream->bound_start)
    return -1;
  return st.st_size - stream->bound_start;
}

static gint64
stream_seek (GMimeStream *stream, gint64 offset, GMimeSeekWhence whence)
{
  MhStreamFile *s = (MhStreamFile *) stream;
  gint64 real;

  if (s->file == NULL)
    return -1;
  switch (whence)
    {
    case GMIME_STREAM_SEEK_SET:
      real = offset;
      break;
    case GMIME_STREAM_SEEK_CUR:
      real = stream->position + offset;
      break;
    case GMIME_STREAM_SEEK_END:
      {
        gint64 len = stream_length (stream);

        if (len < 0)
          return -1;
        real = stream->bound_start + len + offset;
        break;
      }
    default:
      return -1;
    }
  if (real < stream->bound_start
      || (stream->bound_end != -1 && real > stream->bound_end))
    return -1;
  stream->position = real;
  s->eos = FALSE;
  return real;
}

static gint64
stream_tell (GMimeStream *stream)
{
  return stream->position;
}

static GMimeStream *
new_stream (File *file, gint64 start, gint64 end)
{
  MhStreamFile *s = g_object_new (mh_stream_file_get_type (), NULL);

  s->file = file;
  g_mime_stream_construct (GMIME_STREAM (s), start, end);
  return GMIME_STREAM (s);
}

static GMimeStream *
stream_substream (GMimeStream *stream, gint64 start, gint64 end)
{
  MhStreamFile *s = (MhStreamFile *) stream;

  if (s->file == NULL)
    return NULL;
  return new_stream (file_ref (s->file), start, end);
}

static void
mh_stream_file_finalize (GObject *object)
{
  stream_close (GMIME_STREAM (object));
  G_OBJECT_CLASS (mh_stream_file_parent_class)->finalize (object);
}

static void
mh_stream_file_class_init (MhStreamFileClass *klass)
{
  GMimeStreamClass *sc = GMIME_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = mh_stream_file_finalize;
  sc->read = stream_read;
  sc->write = stream_write;
  sc->flush = stream_flush;
  sc->close = stream_close;
  sc->eos = stream_eos;
  sc->reset = stream_reset;
  sc->seek = stream_seek;
  sc->tell = stream_tell;
  sc->length = stream_length;
  sc->substream = stream_substream;
}

static void
mh_stream_file_init (MhStreamFile *s)
{
  s->buf_start = -1;
}

GMimeStream *
mh_stream_file_new (int fd, gboolean owner, gint64 start, gint64 end)
{
  File *f = g_new0 (File, 1);
  MhStreamFile *s;

  f->ref = 1;
  f->fd = fd;
  f->owner = owner;
  s = (MhStreamFile *) new_stream (f, start, end);
  s->buffered = TRUE;
  return GMIME_STREAM (s);
}

GMimeStream *
mh_stream_bytes_new (GBytes *bytes)
{
  File *f = g_new0 (File, 1);

  f->ref = 1;
  f->fd = -1;
  f->bytes = g_bytes_ref (bytes);
  return new_stream (f, 0, -1);
}
