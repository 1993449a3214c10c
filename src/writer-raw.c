/* writer-raw.c - how the raw message gets into its message dir as
 * message.eml: renamed, linked from an unnamed file, copied, or written
 * from memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailharvest/writeback.h"
#include "writer-private.h"

/* Copies the open file @in (from its start: pread, its offset is not
 * used) to @name in @dir_fd, hashing it on the way.  @what names @in in
 * errors. */
static gboolean
copy_fd_in (int in, const char *what, int dir_fd, const char *name,
            MhSha256 *sum, guint64 *size_out, GError **error)
{
  g_autofree guint8 *buf = g_malloc (COPY_CHUNK);
  int out = mh_writer_create_file (dir_fd, name, error);
  gboolean ok = TRUE;

  *size_out = 0;
  if (out < 0)
    return FALSE;
  while (ok)
    {
      ssize_t n = pread (in, buf, COPY_CHUNK, (off_t) *size_out);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        ok = mh_writer_io_error (error, "cannot read", what);
      if (n <= 0)
        break;
      ok = mh_writer_write_all (out, buf, (gsize) n, name, error);
      mh_sha256_update (sum, buf, (gsize) n);
      *size_out += (guint64) n;
    }
  if (!ok)
    {
      close (out);
      return FALSE;
    }
  return mh_writer_finish_file (out, name, *size_out, error);
}

/* Copies the file at @path to @name in @dir_fd, hashing it on the way. */
static gboolean
copy_in (const char *path, int dir_fd, const char *name, MhSha256 *sum,
         guint64 *size_out, GError **error)
{
  int in = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  gboolean ok;

  *size_out = 0;
  if (in < 0)
    return mh_writer_io_error (error, "cannot open", path);
  ok = copy_fd_in (in, path, dir_fd, name, sum, size_out, error);
  close (in);
  return ok;
}

static gboolean
hash_file_at (int dir_fd, const char *name, MhSha256 *sum,
              guint64 *size_out, GError **error)
{
  int fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  gboolean ok;

  *size_out = 0;
  if (fd < 0)
    return mh_writer_io_error (error, "cannot open", name);
  ok = mh_sha256_update_fd (sum, fd, size_out)
       || mh_writer_io_error (error, "cannot read", name);
  close (fd);
  return ok;
}

gboolean
mh_writer_put_raw (int dir_fd, const char *raw_path, gboolean move,
                   gboolean *moved, MhSha256 *sum, gboolean hash,
                   guint64 *size, GError **error)
{
  *moved = FALSE;
  if (move)
    {
      if (renameat (AT_FDCWD, raw_path, dir_fd, "message.eml") == 0)
        {
          struct stat st;
          int fd;

          *moved = TRUE;
          /* The caller knows the hash already: the size is all we need. */
          if (!hash)
            {
              if (fstatat (dir_fd, "message.eml", &st,
                           AT_SYMLINK_NOFOLLOW) != 0)
                return mh_writer_io_error (error, "cannot stat",
                                           "message.eml");
              *size = (guint64) st.st_size;
            }
          else if (!hash_file_at (dir_fd, "message.eml", sum, size, error))
            return FALSE;
          /* The data may still be in the page cache only. */
          fd = openat (dir_fd, "message.eml",
                       O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
          if (!mh_writer_syncs_each_file ())
            {
              /* Its pages are dropped once written back (writeback.h);
               * without an fd they just stay cached. */
              mh_writeback_add (fd, *size);
              return TRUE;
            }
          if (fd < 0 || fdatasync (fd) != 0)
            {
              if (fd >= 0)
                close (fd);
              return mh_writer_io_error (error, "cannot sync", "message.eml");
            }
          close (fd);
          return TRUE;
        }
      if (errno != EXDEV)
        return mh_writer_io_error (error, "cannot move", raw_path);
    }
  return copy_in (raw_path, dir_fd, "message.eml", sum, size, error);
}

/* The raw message is the unnamed file @raw_fd (O_TMPFILE): it gets its
 * name, message.eml, with one link and no rename out of a shared dir.
 * Without /proc (or where the link is refused) it is copied instead.
 * @raw_fd stays the caller's: the parse may still read it. */
gboolean
mh_writer_link_raw (int dir_fd, int raw_fd, MhSha256 *sum, gboolean hash,
                    guint64 *size, GError **error)
{
  char proc[48];
  struct stat st;

  g_snprintf (proc, sizeof proc, "/proc/self/fd/%d", raw_fd);
  if (linkat (AT_FDCWD, proc, dir_fd, "message.eml", AT_SYMLINK_FOLLOW) != 0)
    {
      if (errno == ENOSPC || errno == EDQUOT || errno == EIO)
        return mh_writer_io_error (error, "cannot link", "message.eml");
      return copy_fd_in (raw_fd, "the fetched message", dir_fd,
                         "message.eml", sum, size, error);
    }
  if (hash)
    {
      if (!mh_sha256_update_fd (sum, raw_fd, size))
        return mh_writer_io_error (error, "cannot read", "message.eml");
    }
  else if (fstat (raw_fd, &st) != 0)
    return mh_writer_io_error (error, "cannot stat", "message.eml");
  else
    *size = (guint64) st.st_size;
  /* Without a sync per file the caller hands @raw_fd to the write-behind
   * queue once it is done with it (writeback.h). */
  if (mh_writer_syncs_each_file () && fdatasync (raw_fd) != 0)
    return mh_writer_io_error (error, "cannot sync", "message.eml");
  return TRUE;
}

gboolean
mh_writer_put_raw_bytes (int dir_fd, GBytes *raw, MhSha256 *sum,
                         gboolean hash, guint64 *size, GError **error)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (raw, &len);
  int fd = mh_writer_create_file (dir_fd, "message.eml", error);
  guint64 cached = 0;

  if (fd < 0)
    return FALSE;
  if (!mh_writer_write_direct (fd, data, len, FALSE, &cached, "message.eml",
                               error))
    {
      close (fd);
      return FALSE;
    }
  if (hash)
    mh_sha256_update (sum, data, len);
  *size = len;
  return mh_writer_finish_file (fd, "message.eml", cached, error);
}
