/* writer-dirs.c - the writer's dir primitives: opening without following
 * links, renames that never replace, removing trees, and sweeping what a
 * killed run left. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailharvest/error.h"
#include "mailharvest/writeback.h"
#include "mailharvest/writer.h"
#include "writer-private.h"

/* Nesting of dirs mh_writer_remove_tree() descends. */
#define MAX_REMOVE_DEPTH 128
/* Readings of a dir being removed, each followed by removing what it
 * showed (remove_tree()). */
#define REMOVE_ROUNDS 8

static int
open_dir (int parent_fd, const char *name, gboolean create,
          gboolean *created, GError **error)
{
  int fd;

  if (create)
    {
      if (mkdirat (parent_fd, name, 0755) == 0)
        {
          *created = TRUE;
          /* Make the new entry durable before anything relies on it. */
          if (parent_fd != AT_FDCWD && mh_writer_syncs_each_file ())
            fsync (parent_fd);
        }
      else if (errno != EEXIST)
        {
          mh_writer_io_error (error, "cannot create directory", name);
          return -1;
        }
    }
  fd = openat (parent_fd, name,
               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ELOOP || errno == ENOTDIR)
        g_set_error (error, MH_ERROR, MH_ERROR_IO,
                     "%s: not a directory (symbolic links are not followed)",
                     name);
      else
        mh_writer_io_error (error, "cannot open directory", name);
    }
  return fd;
}

int
mh_writer_open_root (const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    mh_writer_io_error (error, "cannot open directory", path);
  return fd;
}

int
mh_writer_open_dir (int parent_fd, const char *name, gboolean create,
                    GError **error)
{
  gboolean created = FALSE;

  return open_dir (parent_fd, name, create, &created, error);
}

int
mh_writer_make_dir (int parent_fd, const char *name, gboolean *created,
                    GError **error)
{
  *created = FALSE;
  return open_dir (parent_fd, name, TRUE, created, error);
}

gboolean
mh_writer_dir_exists (int parent_fd, const char *name)
{
  struct stat st;

  return fstatat (parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
         && S_ISDIR (st.st_mode);
}

int
mh_writer_rename_noreplace (int from_fd, const char *from, int to_fd,
                            const char *to)
{
  if (renameat2 (from_fd, from, to_fd, to, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS)
    return -1;
  return mh_writer_rename_look_first (from_fd, from, to_fd, to);
}

int
mh_writer_rename_look_first (int from_fd, const char *from, int to_fd,
                             const char *to)
{
  struct stat st;

  if (fstatat (to_fd, to, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      errno = EEXIST;
      return -1;
    }
  if (errno != ENOENT)
    return -1;
  return renameat (from_fd, from, to_fd, to);
}

/* The names in @d but "." and "..", from its start. */
static GPtrArray *
read_names (DIR *d)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *e;

  rewinddir (d);
  while ((e = readdir (d)) != NULL)
    if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
      g_ptr_array_add (names, g_strdup (e->d_name));
  return names;
}

static gboolean remove_tree (int parent_fd, const char *name, guint depth,
                             GError **error);

/* Removes what @d holds: its names are read first and removed after
 * (removing while reading may make readdir() skip entries), and a file
 * system that shows only some per reading gets another round. */
static gboolean
remove_entries (DIR *d, guint depth, GError **error)
{
  gboolean ok = TRUE;

  for (guint round = 0; ok && round < REMOVE_ROUNDS; round++)
    {
      g_autoptr(GPtrArray) names = read_names (d);

      if (names->len == 0)
        break;
      for (guint i = 0; ok && i < names->len; i++)
        ok = remove_tree (dirfd (d), names->pdata[i], depth + 1, error);
    }
  return ok;
}

/* A FUSE file system (exFAT, NTFS through ntfs-3g) keeps a file removed
 * while open as ".fuse_hidden..." until it is closed: a dir whose files
 * the write-behind thread still holds (a message that failed half
 * written) is not empty then.  Its files are closed and it is tried
 * once more. */
static gboolean
remove_tree (int parent_fd, const char *name, guint depth, GError **error)
{
  DIR *d;
  int fd, rc, saved;
  gboolean ok;

  if (unlinkat (parent_fd, name, 0) == 0 || errno == ENOENT)
    return TRUE;
  if (errno != EISDIR && errno != EPERM)
    return mh_writer_io_error (error, "cannot remove", name);
  if (depth >= MAX_REMOVE_DEPTH)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_LIMIT,
                   "cannot remove %s: nested too deeply", name);
      return FALSE;
    }
  fd = openat (parent_fd, name,
               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return mh_writer_io_error (error, "cannot open directory", name);
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return mh_writer_io_error (error, "cannot read directory", name);
    }
  ok = remove_entries (d, depth, error);
  rc = ok ? unlinkat (parent_fd, name, AT_REMOVEDIR) : 0;
  if (rc != 0 && errno == ENOTEMPTY)
    {
      mh_writeback_close_handed ();
      ok = remove_entries (d, depth, error);
      rc = ok ? unlinkat (parent_fd, name, AT_REMOVEDIR) : 0;
    }
  saved = errno;
  closedir (d);
  errno = saved;
  if (rc != 0)
    return mh_writer_io_error (error, "cannot remove directory", name);
  return ok;
}

gboolean
mh_writer_remove_tree (int parent_fd, const char *name, GError **error)
{
  return remove_tree (parent_fd, name, 0, error);
}

int
mh_writer_clean_stale (int dir_fd, GError **error)
{
  g_autoptr(GPtrArray) stale = g_ptr_array_new_with_free_func (g_free);
  DIR *d;
  struct dirent *e;
  int fd = openat (dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    {
      mh_writer_io_error (error, "cannot open directory", ".");
      return -1;
    }
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      mh_writer_io_error (error, "cannot read directory", ".");
      return -1;
    }
  while ((e = readdir (d)) != NULL)
    if (g_str_has_prefix (e->d_name, TMP_PREFIX))
      g_ptr_array_add (stale, g_strdup (e->d_name));
  closedir (d);
  for (guint i = 0; i < stale->len; i++)
    if (!mh_writer_remove_tree (dir_fd, stale->pdata[i], error))
      return -1;
  return (int) stale->len;
}
