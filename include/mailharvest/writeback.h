/* writeback.h - keep an archive run from filling the page cache.
 *
 * An archive run writes every byte once (message.eml, attachments, bodies)
 * and reads almost none of it back.  Left to the kernel, those bytes stay
 * in the page cache as dirty, then clean pages: a 20 GB run pushes out
 * everything else the machine had cached, and each new page is a fresh
 * allocation (on virtual machines with free page reporting, a host page
 * fault too; on the 2-core benchmark VM that is most of the run's system
 * time).
 *
 * Files the writer has finished are handed here instead of closed, to a
 * thread of this module.  A big one gets its write-back started at once
 * (sync_file_range WRITE, which does not wait and makes nothing durable:
 * durability stays with the archive's syncfs before each commit).  When
 * the queue holds more than a few tens of MB, the oldest files are waited
 * for and their pages dropped (POSIX_FADV_DONTNEED); after a syncfs the
 * files handed in before it began are clean, and mh_writeback_drop_until()
 * drops them without waiting.  Files handed in while the syncfs ran stay
 * for the next one: dropped now, each would start a write of its own and
 * keep its dirty pages.  The pages come back to the allocator warm, and
 * the next files reuse them.
 *
 * Only cache state changes here: a failure of any of these calls is
 * ignored, as the data is the same either way.  Write errors surface at
 * the syncfs that follows.  Thread-safe.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Takes @fd (open on a regular file the caller has finished writing,
 * @size bytes) and closes it later.  Before mh_writeback_enable() it is
 * closed at once. */
void mh_writeback_add (int fd, guint64 size);

/* A mark in the stream of files handed in: take it before a syncfs. */
guint64 mh_writeback_mark (void);

/* Has every file handed in before @mark dropped and closed, without
 * waiting for it.  Call after the syncfs that followed the mark. */
void mh_writeback_drop_until (guint64 mark);

/* Has every file queued so far dropped and closed, without waiting for
 * it.  For the end of a run, after the last sync (the dirty pages of a
 * file not synced just stay cached). */
void mh_writeback_drop_all (void);

/* Closes every file handed in so far, and returns when they are closed.
 * For a dir about to be removed: a FUSE file system (exFAT, NTFS through
 * ntfs-3g) keeps a file removed while open as ".fuse_hidden..." in its
 * dir, and the dir cannot be removed until the file is closed. */
void mh_writeback_close_handed (void);

/* Turns queueing on (starting the thread) or off (dropping and closing
 * what is queued, and joining the thread). */
void mh_writeback_enable (gboolean enable);

G_END_DECLS
