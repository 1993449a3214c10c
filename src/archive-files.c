/* archive-files.c - the account's derived files (thread.json,
 * threads.json, index.html): written under a temporary name, put in place
 * only when their bytes change, so that a run with nothing new changes
 * nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive-private.h"
#include "mailharvest/error.h"

/* Bytes of an existing file read back at a time to compare. */
#define COMPARE_CHUNK 65536

/* Creates @file below @dir_fd (with @flags besides O_CREAT) and writes
 * @data to it; errors name @name.  A file begun is left for the caller. */
static gboolean
create_and_write (int dir_fd, const char *file, const char *name,
                  const char *data, gsize len, int flags, GError **error)
{
  int fd = openat (dir_fd, file,
                   O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | flags, 0644);
  int saved;

  if (fd < 0)
    {
      saved = errno;
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot create %s: %s",
                   name, g_strerror (saved));
      return FALSE;
    }
  for (gsize off = 0; off < len;)
    {
      ssize_t n = write (fd, data + off, len - off);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          saved = errno;
          close (fd);
          goto fail;
        }
      off += (gsize) n;
    }
  mh_debug_kill_point ("json-written");
  if (close (fd) == 0)
    return TRUE;
  saved = errno;
fail:
  g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot write %s: %s", name,
               g_strerror (saved));
  return FALSE;
}

/* Writes @data to @name below @dir_fd unless it holds those bytes
 * already, so that a run with nothing new changes nothing. */
gboolean
mh_archive_write_if_changed (int dir_fd, const char *name,
                             const char *data, gsize len, GError **error)
{
  g_autofree char *tmp = NULL;
  struct stat st;
  int fd;

  fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0)
    {
      gboolean same = fstat (fd, &st) == 0 && S_ISREG (st.st_mode)
                      && (gsize) st.st_size == len;
      g_autofree char *old = same ? g_malloc (COMPARE_CHUNK) : NULL;
      gsize off = 0;

      /* Compare piece by piece: threads.json of a large archive is big. */
      while (same && off < len)
        {
          ssize_t n = read (fd, old, MIN (COMPARE_CHUNK, len - off));

          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0 || memcmp (old, data + off, (gsize) n) != 0)
            same = FALSE;
          else
            off += (gsize) n;
        }
      close (fd);
      if (same)
        return TRUE;
    }

  tmp = g_strdup_printf (".tmp-%s.%d", name, (int) getpid ());
  (void) unlinkat (dir_fd, tmp, 0);
  if (!create_and_write (dir_fd, tmp, name, data, len, O_EXCL, error))
    {
      (void) unlinkat (dir_fd, tmp, 0);
      return FALSE;
    }
  if (renameat (dir_fd, tmp, dir_fd, name) != 0)
    {
      int saved = errno;

      (void) unlinkat (dir_fd, tmp, 0);
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot write %s: %s",
                   name, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

gboolean
mh_archive_write_private (int dir_fd, const char *name, const char *data,
                          gsize len, GError **error)
{
  return create_and_write (dir_fd, name, name, data, len, O_TRUNC, error);
}

/* The keys of the tree below @node, depth first, without recursion:
 * conversations may be thousands deep. */
#define OUT_FLUSH_AT 65536

gboolean
mh_archive_out_open (MhArchiveOut *o, int dir_fd, const char *name,
                     GError **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *prefix = g_strdup_printf (".tmp-%s.", name);

  o->dir_fd = dir_fd;
  o->name = name;
  o->tmp = g_strdup_printf ("%s%d", prefix, (int) getpid ());
  /* Ours, and what a killed run left under its own process id. */
  if (mh_archive_list_dir (dir_fd, names, NULL))
    for (guint i = 0; i < names->len; i++)
      if (g_str_has_prefix (names->pdata[i], prefix))
        (void) unlinkat (dir_fd, names->pdata[i], 0);
  o->fd = openat (dir_fd, o->tmp,
                  O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (o->fd < 0)
    {
      int saved = errno;

      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot create %s: %s",
                   name, g_strerror (saved));
      g_clear_pointer (&o->tmp, g_free);
      return FALSE;
    }
  o->buf = g_string_sized_new (OUT_FLUSH_AT + 4096);
  return TRUE;
}

static void
out_flush (MhArchiveOut *o)
{
  if (o->sum != NULL)
    mh_sha256_update (o->sum, o->buf->str, o->buf->len);
  for (gsize off = 0; o->err == 0 && off < o->buf->len;)
    {
      ssize_t n = write (o->fd, o->buf->str + off, o->buf->len - off);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        o->err = errno;
      else
        off += (gsize) n;
    }
  g_string_truncate (o->buf, 0);
}

void
mh_archive_out_append (MhArchiveOut *o, const char *data, gssize len)
{
  if (o->buf == NULL)
    return;
  if (len < 0)
    len = (gssize) strlen (data);
  g_string_append_len (o->buf, data, len);
  o->size += (guint64) len;
  if (o->buf->len >= OUT_FLUSH_AT)
    out_flush (o);
}

void
mh_archive_out_puts (MhArchiveOut *o, const char *text)
{
  mh_archive_out_append (o, text, -1);
}

guint64
mh_archive_out_size (MhArchiveOut *o)
{
  return o->size;
}

void
mh_archive_out_copy_fd (MhArchiveOut *o, int fd, guint64 off, guint64 len)
{
  char chunk[COMPARE_CHUNK / 4];

  while (len > 0 && o->buf != NULL && o->err == 0)
    {
      ssize_t n = pread (fd, chunk, (gsize) MIN (sizeof chunk, len),
                         (off_t) off);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          o->err = n < 0 ? errno : EIO;
          break;
        }
      mh_archive_out_append (o, chunk, n);
      off += (guint64) n;
      len -= (guint64) n;
    }
}

void
mh_archive_out_copy (MhArchiveOut *o, MhArchiveOut *from, guint64 off,
                     gsize len)
{
  if (o->buf == NULL || from->buf == NULL)
    return;
  out_flush (from);
  if (from->err != 0)
    {
      o->err = o->err != 0 ? o->err : from->err;
      return;
    }
  mh_archive_out_copy_fd (o, from->fd, off, len);
}

/* TRUE when @a and @b below @dir_fd are regular files with equal bytes. */
static gboolean
files_equal (int dir_fd, const char *a, const char *b)
{
  int fa = openat (dir_fd, a, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  int fb = openat (dir_fd, b, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  g_autofree char *ba = g_malloc (COMPARE_CHUNK);
  g_autofree char *bb = g_malloc (COMPARE_CHUNK);
  struct stat sa, sb;
  gboolean same = fa >= 0 && fb >= 0 && fstat (fa, &sa) == 0
                  && fstat (fb, &sb) == 0 && S_ISREG (sa.st_mode)
                  && S_ISREG (sb.st_mode) && sa.st_size == sb.st_size;

  for (off_t off = 0; same && off < sa.st_size;)
    {
      ssize_t n = pread (fa, ba, COMPARE_CHUNK, off);
      ssize_t m = n > 0 ? pread (fb, bb, (gsize) n, off) : -1;

      if ((n < 0 || m < 0) && errno == EINTR)
        continue;
      if (n <= 0 || m != n || memcmp (ba, bb, (gsize) n) != 0)
        same = FALSE;
      else
        off += n;
    }
  if (fa >= 0)
    close (fa);
  if (fb >= 0)
    close (fb);
  return same;
}

/* Puts the file in place unless the one there has the same bytes, so
 * that a run with nothing new changes nothing. */
gboolean
mh_archive_out_commit (MhArchiveOut *o, GError **error)
{
  int err;

  out_flush (o);
  err = o->err;
  if (close (o->fd) != 0 && err == 0)
    err = errno;
  o->fd = -1;
  if (err == 0 && files_equal (o->dir_fd, o->tmp, o->name))
    {
      (void) unlinkat (o->dir_fd, o->tmp, 0);
      return TRUE;
    }
  if (err == 0)
    mh_debug_kill_point ("json-written");
  if (err == 0 && renameat (o->dir_fd, o->tmp, o->dir_fd, o->name) != 0)
    err = errno;
  if (err != 0)
    {
      (void) unlinkat (o->dir_fd, o->tmp, 0);
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot write %s: %s",
                   o->name, g_strerror (err));
      return FALSE;
    }
  return TRUE;
}

void
mh_archive_out_clear (MhArchiveOut *o)
{
  if (o->buf != NULL && o->fd >= 0)
    {
      close (o->fd);
      (void) unlinkat (o->dir_fd, o->tmp, 0);
    }
  if (o->buf != NULL)
    g_string_free (o->buf, TRUE);
  o->buf = NULL;
  g_clear_pointer (&o->tmp, g_free);
  g_clear_pointer (&o->sum, mh_sha256_free);
}

void
mh_archive_out_escaped (MhArchiveOut *o, const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text != NULL ? text : "", -1);
  g_autofree char *esc = g_markup_escape_text (valid, -1);

  mh_archive_out_puts (o, esc);
}

