/* writer-direct.c - big files written around the page cache.
 *
 * A run writes some 1.8 GB per 10,000 messages (message.eml and the
 * decoded attachments) and reads none of it back.  Through the page
 * cache each 4 KiB costs a fresh page, a copy, a write-back by the
 * kernel's flusher and a drop afterwards (writeback.h): on the benchmark
 * VM, 1-2.5 s of CPU per GB.  With O_DIRECT the device reads the bytes
 * from our buffer: some 0.1 s per GB.  So the aligned bulk of a big file
 * goes direct, and only its tail (what is left of the last block) through
 * the page cache.
 *
 * Only where the file system says what alignment direct I/O needs
 * (statx STATX_DIOALIGN: ext4, XFS, btrfs and others on Linux 6.1 and
 * later); elsewhere (tmpfs, FUSE, NFS, an older kernel) every byte is
 * buffered as before.  A direct write the file system refuses (EINVAL)
 * is done buffered.  Durability does not change: the archive's syncfs
 * before each commit writes the files' metadata and flushes the device's
 * cache, for direct and buffered bytes alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "writer-private.h"

static gint direct_disabled;

void
mh_writer_set_direct (gboolean enable)
{
  g_atomic_int_set (&direct_disabled, !enable);
}

gsize
mh_writer_direct_align (int fd)
{
  struct statx stx;
  gsize align;

  if (g_atomic_int_get (&direct_disabled))
    return 0;
  if (statx (fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) != 0
      || (stx.stx_mask & STATX_DIOALIGN) == 0)
    return 0;
  align = MAX (stx.stx_dio_mem_align, stx.stx_dio_offset_align);
  /* Our buffers are aligned to 4 KiB. */
  if (align == 0 || align > MH_WRITER_DIRECT_ALIGN || (align & (align - 1)))
    return 0;
  return align;
}

static gboolean
set_direct (int fd, gboolean on)
{
  int flags = fcntl (fd, F_GETFL);

  if (flags < 0)
    return FALSE;
  flags = on ? (flags | O_DIRECT) : (flags & ~O_DIRECT);
  return fcntl (fd, F_SETFL, flags) == 0;
}

gboolean
mh_writer_write_direct (int fd, const guint8 *data, gsize len,
                        gboolean force, guint64 *cached, const char *name,
                        GError **error)
{
  gsize done = 0;
  gsize align;

  if ((force ? len >= MH_WRITER_DIRECT_ALIGN : len >= MH_WRITER_DIRECT_MIN)
      && (align = mh_writer_direct_align (fd)) != 0
      && (guintptr) data % align == 0 && set_direct (fd, TRUE))
    {
      gsize bulk = len / align * align;

      while (done < bulk)
        {
          ssize_t n = write (fd, data + done, bulk - done);

          if (n < 0 && errno == EINTR)
            continue;
          /* Refused (an offset not aligned after a short write, or a
           * file system that takes the flag but not the write): the
           * rest goes buffered. */
          if (n < 0 && errno == EINVAL)
            break;
          if (n < 0)
            {
              mh_writer_io_error (error, "cannot write", name);
              (void) set_direct (fd, FALSE);
              return FALSE;
            }
          done += (gsize) n;
        }
      if (!set_direct (fd, FALSE))
        return mh_writer_io_error (error, "cannot write", name);
    }
  if (cached != NULL)
    *cached += len - done;
  return mh_writer_write_all (fd, data + done, len - done, name, error);
}
