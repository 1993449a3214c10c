/* source-mbox.c - an mbox file's members as raw messages
 * (source-local.h: mboxrd, the separators, the positions). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mailharvest/error.h"
#include "mailharvest/source-local.h"
#include "source-local-private.h"

#define CHUNK 65536
/* Bytes of an mbox "From " line's date kept: a longer one is no date. */
#define MAX_ENVELOPE_DATE 128

typedef struct {
  const MhLocalMailbox *mailbox;
  const char *tmp_dir;
  MhLocalFunc func;
  gpointer user_data;
  gboolean in_message; /* a message is being read */
  GByteArray *mem;    /* its bytes while they are few enough
                       * (MH_LOCAL_IN_MEMORY), else NULL: */
  FILE *out;          /* its file, or NULL */
  char *out_path;
  gsize out_size;
  guint32 uid;        /* of the message being written */
  char pending[2];    /* an empty line held back: it may be the
                       * separator's */
  gsize pending_len;
  gboolean skipping;  /* in the rest of an overlong separator line */
  char envelope[MAX_ENVELOPE_DATE + 1];  /* the date of the separator
                                          * that began the message being
                                          * written, or "" */
  guint64 consumed;   /* bytes of the file before the line at hand */
  guint64 size;       /* of the file when opened */
} MboxReader;

static gboolean
set_io_error (GError **error, const char *what, const char *path)
{
  int saved = errno;

  g_set_error (error, MH_ERROR, MH_ERROR_IO, "%s %s: %s", what, path,
               g_strerror (saved));
  return FALSE;
}

/* The message outgrew memory: from now on it goes to a file in
 * tmp_dir, beginning with what it had. */
static gboolean
spill (MboxReader *r, GError **error)
{
  int fd;

  r->out_path = g_build_filename (r->tmp_dir, "mbox-XXXXXX", NULL);
  fd = g_mkstemp_full (r->out_path, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      set_io_error (error, "cannot create", r->out_path);
      g_clear_pointer (&r->out_path, g_free);
      return FALSE;
    }
  r->out = fdopen (fd, "wb");
  if (r->out == NULL)
    {
      close (fd);
      return set_io_error (error, "cannot write", r->out_path);
    }
  if (r->mem->len > 0 && fwrite (r->mem->data, 1, r->mem->len, r->out)
                             != r->mem->len)
    return set_io_error (error, "cannot write", r->out_path);
  g_clear_pointer (&r->mem, g_byte_array_unref);
  return TRUE;
}

static gboolean
emit (MboxReader *r, const char *data, gsize len, GError **error)
{
  if (len == 0)
    return TRUE;
  if (r->mem != NULL && r->mem->len + len > MH_LOCAL_IN_MEMORY
      && !spill (r, error))
    return FALSE;
  if (r->mem != NULL)
    g_byte_array_append (r->mem, (const guint8 *) data, (guint) len);
  else if (fwrite (data, 1, len, r->out) != len)
    return set_io_error (error, "cannot write", r->out_path);
  r->out_size += len;
  return TRUE;
}

/* Drops what is left of the message being read, if any. */
static void
drop_message (MboxReader *r)
{
  if (r->out != NULL)
    fclose (r->out);
  r->out = NULL;
  if (r->out_path != NULL)
    g_unlink (r->out_path);
  g_clear_pointer (&r->out_path, g_free);
  g_clear_pointer (&r->mem, g_byte_array_unref);
  r->in_message = FALSE;
}

static gboolean
finish_message (MboxReader *r, GError **error)
{
  MhLocalMessage m = { 0 };
  g_autoptr(GBytes) bytes = NULL;
  gboolean ok = TRUE;

  if (!r->in_message)
    return TRUE;
  if (r->out != NULL && fclose (r->out) != 0)
    ok = set_io_error (error, "cannot write", r->out_path);
  r->out = NULL;
  /* An empty member (two separators in a row) is no message, but it keeps
   * its number so that the UIDs after it do not shift. */
  if (ok && r->out_size > 0)
    {
      m.mailbox = r->mailbox;
      m.uidvalidity = r->mailbox->uidvalidity;
      m.uid = r->uid;
      if (r->mem != NULL)
        m.bytes = bytes = g_byte_array_free_to_bytes (
            g_steal_pointer (&r->mem));
      else
        {
          m.path = r->out_path;
          m.is_temp = TRUE;
        }
      m.envelope_date = r->envelope[0] != '\0' ? r->envelope : NULL;
      m.done = r->consumed;
      m.total = MAX (r->size, r->consumed);
      ok = r->func (&m, r->user_data, error);
    }
  drop_message (r);
  r->envelope[0] = '\0';
  return ok;
}

/* Keeps the date of the separator line @data (@len bytes, the whole line
 * or its first piece): what follows "From ", the sender and the blanks
 * after each, without the line end.  A separator without one ("From " and
 * a sender only) keeps "". */
static void
keep_envelope_date (MboxReader *r, const char *data, gsize len)
{
  gsize i = 5, start;

  while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
    len--;
  while (i < len && (data[i] == ' ' || data[i] == '\t'))
    i++;
  while (i < len && data[i] != ' ' && data[i] != '\t')
    i++;
  while (i < len && (data[i] == ' ' || data[i] == '\t'))
    i++;
  start = i;
  len = MIN (len - start, (gsize) MAX_ENVELOPE_DATE);
  /* A NUL would end the text early; such a line is no date anyway. */
  if (memchr (data + start, '\0', len) != NULL)
    len = 0;
  memcpy (r->envelope, data + start, len);
  r->envelope[len] = '\0';
}

/* A message begins in memory. */
static gboolean
start_message (MboxReader *r, GError **error)
{
  r->uid++;
  r->out_size = 0;
  r->in_message = TRUE;
  r->mem = g_byte_array_new ();
  return TRUE;
}

static gboolean
is_empty_line (const char *line, gsize len)
{
  return (len == 1 && line[0] == '\n')
         || (len == 2 && line[0] == '\r' && line[1] == '\n');
}

/* One piece of a line: @at_start when it begins a line, @complete when it
 * ends one.  A line longer than CHUNK arrives in several pieces, of which
 * only the first can be a separator or an escaped "From ". */
static gboolean
mbox_piece (MboxReader *r, const char *data, gsize len, gboolean at_start,
            gboolean complete, GError **error)
{
  gboolean separator;

  if (r->skipping)
    {
      r->skipping = !complete;
      return TRUE;
    }
  if (at_start && complete && is_empty_line (data, len))
    {
      /* Hold it back; if another empty line follows, this one was
       * content after all. */
      if (r->pending_len > 0)
        {
          if (!r->in_message && !start_message (r, error))
            return FALSE;
          if (!emit (r, r->pending, r->pending_len, error))
            return FALSE;
        }
      memcpy (r->pending, data, len);
      r->pending_len = len;
      return TRUE;
    }

  separator = at_start && len >= 5 && memcmp (data, "From ", 5) == 0
              && (!r->in_message || r->pending_len > 0);
  if (separator)
    {
      r->pending_len = 0;
      if (!finish_message (r, error))
        return FALSE;
      keep_envelope_date (r, data, len);
      r->skipping = !complete;
      return start_message (r, error);
    }

  if (!r->in_message && !start_message (r, error))
    return FALSE;
  if (r->pending_len > 0)
    {
      if (!emit (r, r->pending, r->pending_len, error))
        return FALSE;
      r->pending_len = 0;
    }
  if (at_start)
    {
      gsize n = 0;

      while (n < len && data[n] == '>')
        n++;
      if (n > 0 && len - n >= 5 && memcmp (data + n, "From ", 5) == 0)
        {
          data++;
          len--;
        }
    }
  return emit (r, data, len, error);
}

/* The file is read CHUNK bytes at a time and handed to mbox_piece() line
 * by line; a line longer than CHUNK goes in pieces.  The lines are taken
 * from where the last one ended: the rest of the buffer is moved to its
 * start, and more read, only when it holds no whole line.  (Moving the
 * rest after every line, and reading to fill the buffer again, cost a
 * system call and a copy of up to CHUNK bytes per line: a third of an
 * import's time on a 92 MB mbox.) */
gboolean
mh_local_foreach_mbox (const MhLocalMailbox *mailbox, const char *tmp_dir,
                       MhLocalFunc func, gpointer user_data,
                       GError **error)
{
  MboxReader r = { 0 };
  g_autofree char *buf = g_malloc (CHUNK);
  gsize start = 0, have = 0;   /* the bytes not yet handed on */
  gboolean at_start = TRUE, ok = TRUE, eof = FALSE;
  int fd = open (mailbox->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

  struct stat st;

  if (fd < 0)
    return set_io_error (error, "cannot open", mailbox->path);
  if (fstat (fd, &st) == 0 && st.st_size > 0)
    r.size = (guint64) st.st_size;
  r.mailbox = mailbox;
  r.tmp_dir = tmp_dir;
  r.func = func;
  r.user_data = user_data;

  while (ok && (!eof || have > 0))
    {
      const char *nl = have > 0 ? memchr (buf + start, '\n', have) : NULL;
      gsize len;
      gboolean complete;

      if (nl == NULL && !eof && have < CHUNK)
        {
          ssize_t n;

          if (start > 0)
            {
              memmove (buf, buf + start, have);
              start = 0;
            }
          n = read (fd, buf + have, CHUNK - have);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            {
              ok = set_io_error (error, "cannot read", mailbox->path);
              break;
            }
          if (n == 0)
            eof = TRUE;
          have += (gsize) n;
          continue;
        }
      if (nl != NULL)
        {
          len = (gsize) (nl - (buf + start)) + 1;
          complete = TRUE;
        }
      else
        {
          /* A full buffer without a line end, or the file's last bytes. */
          len = have;
          complete = FALSE;
        }
      ok = mbox_piece (&r, buf + start, len, at_start, complete, error);
      r.consumed += len;
      at_start = complete;
      start += len;
      have -= len;
      if (have == 0)
        start = 0;
    }
  close (fd);
  /* The empty line before the end of the file is the last separator's. */
  r.pending_len = 0;
  if (ok)
    ok = finish_message (&r, error);
  drop_message (&r);
  return ok;
}
