/* archive-recover.c - finding message dirs after a conversation step that
 * did not finish.
 *
 * The step moves message dirs (and whole staging dirs) into thread dirs
 * and records where each went in one transaction, committed after the
 * last move.  A step killed or failed in between (a full disk, say)
 * leaves dirs at places the store does not know: the rollback put each
 * message back at its place before the step.  When the next step lays
 * out the same conversations, it finds them at their targets.  But mail
 * that arrived meanwhile can rename or merge conversations: the next
 * step then looked for such a dir at its old place, did not find it,
 * and forgot the message ("missing"); the thread dir it sat in, which
 * no conversation used any more, was removed with it.
 *
 * So the step leaves MH_ARCHIVE_STARTED_MARK for its duration, and the
 * next open of the archive that finds it looks through the thread dirs
 * and records every message dir found where the store does not expect
 * it, before anything else reads the store.
 */
#include <fcntl.h>
#include <unistd.h>

#include "archive-private.h"
#include "mailharvest/writer.h"

/* Whether @m's dir is where the store says it is (its thread dir, or
 * before it was placed its staging dir). */
static gboolean
at_recorded_place (MhArchive *a, const MhStoreMessage *m)
{
  int fd = mh_archive_message_parent (a, m, NULL);
  gboolean there = fd >= 0 && mh_writer_dir_exists (fd, m->dir);

  if (fd >= 0)
    close (fd);
  return there;
}

/* Records the message dirs in thread dir @tdir that the store places
 * elsewhere and that are not there. */
static gboolean
recover_thread_dir (MhArchive *a, const char *tdir, guint *found,
                    GError **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  gboolean ok;
  int tfd = mh_writer_open_dir (a->threads_fd, tdir, FALSE, NULL);

  /* Not a dir, or gone: nothing of ours. */
  if (tfd < 0)
    return TRUE;
  ok = mh_archive_list_dir (tfd, names, error);
  close (tfd);
  for (guint i = 0; ok && i < names->len; i++)
    {
      g_autoptr(MhStoreMessage) m = NULL;

      if (!mh_store_lookup_dir (a->store, names->pdata[i], &m, error))
        return FALSE;
      if (m == NULL || g_strcmp0 (m->thread_dir, tdir) == 0
          || at_recorded_place (a, m))
        continue;
      if (!mh_store_set_thread_dir (a->store, m, tdir, error))
        return FALSE;
      (*found)++;
    }
  return ok;
}

gboolean
mh_archive_recover_layout (MhArchive *a, GError **error)
{
  g_autoptr(GPtrArray) tdirs = g_ptr_array_new_with_free_func (g_free);
  guint found = 0;

  if (faccessat (a->account_fd, MH_ARCHIVE_STARTED_MARK, F_OK,
                 AT_SYMLINK_NOFOLLOW) != 0)
    return TRUE;
  if (!mh_archive_list_dir (a->threads_fd, tdirs, error)
      || !mh_store_begin (a->store, error))
    return FALSE;
  for (guint i = 0; i < tdirs->len; i++)
    if (!recover_thread_dir (a, tdirs->pdata[i], &found, error))
      {
        (void) mh_store_rollback (a->store, NULL);
        return FALSE;
      }
  /* The last layout's record may name places these messages left: lay
   * everything out anew once (mh_finish_reuse_group()). */
  if (found > 0 && !mh_store_layout_clear (a->store, error))
    {
      (void) mh_store_rollback (a->store, NULL);
      return FALSE;
    }
  if (!mh_archive_commit (a, error))
    return FALSE;
  return mh_archive_remove_mark (a, MH_ARCHIVE_STARTED_MARK, error);
}
