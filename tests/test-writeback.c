/* test-writeback.c - finished files are closed and leave the page cache. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mailharvest/writeback.h"
#include "mailharvest/writer.h"

#include "testlib.h"

#define FILE_SIZE (4 * 1024 * 1024)

/* Writes @size bytes to a new file in @dir and returns it open, synced,
 * so that its pages are clean and may be dropped. */
static int
make_file (const char *dir, const char *name, gsize size)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree guint8 *buf = g_malloc (size);
  int fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  g_assert_cmpint (fd, >=, 0);
  memset (buf, 'x', size);
  g_assert_cmpint (write (fd, buf, size), ==, (gssize) size);
  g_assert_cmpint (fdatasync (fd), ==, 0);
  return fd;
}

/* Pages of the file at @path in the page cache (mincore on a mapping). */
static gsize
resident_pages (const char *path, gsize size)
{
  long page = sysconf (_SC_PAGESIZE);
  gsize n = (size + (gsize) page - 1) / (gsize) page;
  g_autofree unsigned char *vec = g_malloc (n);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  void *map;
  gsize count = 0;

  g_assert_cmpint (fd, >=, 0);
  map = mmap (NULL, size, PROT_READ, MAP_SHARED, fd, 0);
  g_assert_true (map != MAP_FAILED);
  g_assert_cmpint (mincore (map, size, vec), ==, 0);
  for (gsize i = 0; i < n; i++)
    count += vec[i] & 1;
  munmap (map, size);
  close (fd);
  return count;
}

static char *
make_dir (void)
{
  char *dir = g_dir_make_tmp ("test-writeback-XXXXXX", NULL);

  g_assert_nonnull (dir);
  return dir;
}

static void
remove_dir (const char *dir)
{
  g_assert_true (mh_writer_remove_tree (AT_FDCWD, dir, NULL));
}

static gboolean
fd_is_open (int fd)
{
  return fcntl (fd, F_GETFD) != -1 || errno != EBADF;
}

static void
test_drop (void)
{
  g_autofree char *dir = make_dir ();
  g_autofree char *path = g_build_filename (dir, "big", NULL);
  int fd;

  mh_writeback_enable (TRUE);
  fd = make_file (dir, "big", FILE_SIZE);
  /* Just written and synced: cached, as every written file is. */
  g_assert_cmpuint (resident_pages (path, FILE_SIZE), >, 0);
  mh_writeback_add (fd, FILE_SIZE);
  mh_writeback_drop_all ();
  /* Turning it off joins the thread: everything queued is done. */
  mh_writeback_enable (FALSE);
  g_assert_false (fd_is_open (fd));
  g_assert_cmpuint (resident_pages (path, FILE_SIZE), ==, 0);
  remove_dir (dir);
}

/* A drop after a sync lets go of the files handed in before the mark
 * taken ahead of it, and keeps the ones handed in since, which the sync
 * may not have reached: dropped, they would only start a write each. */
static void
test_mark (void)
{
  g_autofree char *dir = make_dir ();
  g_autofree char *path = g_build_filename (dir, "before", NULL);
  int before, after;
  guint64 mark;

  mh_writeback_enable (TRUE);
  before = make_file (dir, "before", FILE_SIZE);
  mh_writeback_add (before, FILE_SIZE);
  mark = mh_writeback_mark ();
  after = make_file (dir, "after", 4096);
  mh_writeback_add (after, 4096);
  mh_writeback_drop_until (mark);
  /* The thread works on its own: wait for the drop to have happened. */
  while (fd_is_open (before))
    g_usleep (1000);
  g_assert_cmpuint (resident_pages (path, FILE_SIZE), ==, 0);
  g_assert_true (fd_is_open (after));
  mh_writeback_enable (FALSE);
  g_assert_false (fd_is_open (after));
  remove_dir (dir);
}

/* Beyond its byte bound the queue waits for the oldest files and drops
 * them without a drop_all. */
static void
test_bound (void)
{
  g_autofree char *dir = make_dir ();
  g_autofree char *first = g_build_filename (dir, "f0", NULL);
  int fds[16];

  mh_writeback_enable (TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      g_autofree char *name = g_strdup_printf ("f%u", i);

      fds[i] = make_file (dir, name, FILE_SIZE);
      mh_writeback_add (fds[i], FILE_SIZE);
    }
  /* 64 MB went in, more than the queue keeps: the first file is gone from
   * the cache although nothing asked for it. */
  mh_writeback_enable (FALSE);
  g_assert_cmpuint (resident_pages (first, FILE_SIZE), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    g_assert_false (fd_is_open (fds[i]));
  remove_dir (dir);
}

/* Small files do not wake the thread one by one; more of them than the
 * queue holds in all must still get through without a sync: the adding
 * thread, full, wakes the writer instead of waiting for it.  Under a soft
 * limit of 1,024 descriptors the queue must hold fewer than that (384):
 * one that held on to its 4,096 would leave make_file() without a
 * descriptor long before the 1,500th file. */
static void
test_many_small (void)
{
  g_autofree char *dir = make_dir ();
  g_autofree char *first = g_build_filename (dir, "s0", NULL);
  int first_fd = -1;
  struct rlimit saved, low;

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  low = saved;
  if (low.rlim_max != RLIM_INFINITY && low.rlim_max < 1024)
    {
      g_test_skip ("the hard descriptor limit is below 1024");
      return;
    }
  low.rlim_cur = 1024;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low), ==, 0);

  mh_writeback_enable (TRUE);
  for (guint i = 0; i < 1500; i++)
    {
      g_autofree char *name = g_strdup_printf ("s%u", i);
      int fd = make_file (dir, name, 4096);

      if (i == 0)
        first_fd = fd;
      mh_writeback_add (fd, 4096);
    }
  mh_writeback_enable (FALSE);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  g_assert_false (fd_is_open (first_fd));
  g_assert_cmpuint (resident_pages (first, 4096), ==, 0);
  remove_dir (dir);
}

/* mh_writeback_close_handed() returns when every file handed in before it
 * is closed (a dir about to be removed on a FUSE file system must not
 * hold an open file), and leaves the ones handed in after it alone. */
static void
test_close_handed (void)
{
  g_autofree char *dir = make_dir ();
  int fds[8], later;

  mh_writeback_enable (TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      g_autofree char *name = g_strdup_printf ("c%u", i);

      fds[i] = make_file (dir, name, 4096);
      mh_writeback_add (fds[i], 4096);
    }
  /* Small files stay held until a sync's drop, or this. */
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    g_assert_true (fd_is_open (fds[i]));
  mh_writeback_close_handed ();
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    g_assert_false (fd_is_open (fds[i]));
  later = make_file (dir, "later", 4096);
  mh_writeback_add (later, 4096);
  g_assert_true (fd_is_open (later));
  /* A second call closes what was handed in since the first. */
  mh_writeback_close_handed ();
  g_assert_false (fd_is_open (later));
  mh_writeback_enable (FALSE);
  remove_dir (dir);
}

/* Off, a file handed in is closed at once. */
static void
test_off (void)
{
  g_autofree char *dir = make_dir ();
  int fd = make_file (dir, "small", 4096);

  mh_writeback_add (fd, 4096);
  g_assert_false (fd_is_open (fd));
  remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/writeback/drop", test_drop);
  g_test_add_func ("/writeback/mark", test_mark);
  g_test_add_func ("/writeback/bound", test_bound);
  g_test_add_func ("/writeback/many-small", test_many_small);
  g_test_add_func ("/writeback/off", test_off);
  g_test_add_func ("/writeback/close-handed", test_close_handed);
  return g_test_run ();
}
