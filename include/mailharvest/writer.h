/* writer.h - one message dir on disk, written atomically.
 *
 * A message dir holds message.eml (the raw bytes), message.json (see
 * manifest.h), body.txt and body.html (when the message has them) and
 * attachments/NAME for every attachment, NAME made safe by safename.h and
 * unique in its folder.  An embedded message (message/rfc822) is kept as
 * attachments/NAME.eml and also extracted into attachments/NAME/ with its
 * own body.txt, body.html and attachments/, described in message.json
 * under that attachment's "message" key.
 *
 * Crash safety: everything is built in ".tmp-NAME.XXXXXX" beside the
 * target, every file is fdatasync'ed and every dir fsync'ed, then the dir
 * is renamed into place and the parent fsync'ed.  A run killed at any
 * point leaves either no target or a complete one, plus possibly a
 * ".tmp-*" dir that mh_writer_clean_stale() removes.  When the target
 * exists already (a run died after the rename but before its store
 * recorded it) it is replaced: renameat2(RENAME_EXCHANGE) swaps the two
 * atomically and the old one is removed; on file systems without it the
 * old one is renamed aside first.  Replacing, not keeping, means a dir
 * from an older, buggier version never survives a rewrite.  In a
 * staging dir that nothing trusts before its caller's record
 * (mh_writer_stage_message()) the dir is built under its own name.
 *
 * Safety: every file is created with openat() relative to a dir fd we
 * opened, with O_NOFOLLOW|O_CREAT|O_EXCL, and every dir opened with
 * O_DIRECTORY|O_NOFOLLOW; no path is ever joined from sender-controlled
 * strings.  Nothing is written outside the parent dir, and no symbolic
 * link is followed below it.
 */
#pragma once

#include <glib.h>

#include "mailharvest/manifest.h"
#include "mailharvest/message.h"

G_BEGIN_DECLS

/* Nesting of embedded messages the writer extracts at most; deeper ones
 * are kept as .eml only (the parser's own limit is lower). */
#define MH_WRITER_MAX_DEPTH 32

typedef struct {
  char *dir;              /* the message dir's name in the parent */
  char *sha256;           /* lower-case hex of message.eml */
  guint64 size;           /* bytes of message.eml */
  GPtrArray *attachments; /* MhWrittenAttachment*, every attachment of the
                           * message and of its embedded messages, depth
                           * first in document order */
  guint n_warnings;       /* entries in message.json "warnings" */
} MhWriteResult;

void mh_write_result_free (MhWriteResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhWriteResult, mh_write_result_free)

/* Writes the message dir @name (a safe name, e.g. from layout.h) below
 * @parent_fd.  @raw_path is the file @msg was parsed from; with @move it
 * is renamed to message.eml when on the same file system (and copied,
 * then left alone, otherwise); without, it is copied.  On failure the
 * raw file is back where it was, nothing is left below @parent_fd but
 * possibly a ".tmp-*" dir, and FALSE is returned with @error set.
 * @result_out may be NULL; else it receives a MhWriteResult (transfer
 * full) whose attachments borrow from @msg. */
gboolean mh_writer_write_message (int parent_fd, const char *name,
                                  const char *raw_path, gboolean move,
                                  MhMessage *msg, const MhWriteMeta *meta,
                                  MhWriteResult **result_out,
                                  GError **error);

/* Same, for a raw message in the unnamed file @raw_fd (opened with
 * O_TMPFILE on the same file system): it is linked in as message.eml
 * (through /proc/self/fd; copied where that fails), never renamed out of
 * a dir that other threads use.  @raw_fd is not closed: @msg may have
 * been parsed from it.  Without a sync per file the caller hands it to
 * mh_writeback_add() when done. */
gboolean mh_writer_write_message_fd (int parent_fd, const char *name,
                                     int raw_fd, MhMessage *msg,
                                     const MhWriteMeta *meta,
                                     MhWriteResult **result_out,
                                     GError **error);

/* Where a message's raw bytes come from, for mh_writer_stage_message():
 * @fd if set, else @path if set, else @bytes. */
typedef struct {
  const char *path;  /* a file: renamed in as message.eml with @move (or
                      * copied), as mh_writer_write_message() does */
  int fd;            /* -1, or an unnamed file (O_TMPFILE): linked in as
                      * mh_writer_write_message_fd() does, not closed */
  gboolean move;
  GBytes *bytes;     /* NULL, or the message itself, which the network
                      * thread kept in memory (messages of up to 256 KiB,
                      * and bigger ones in the buffers of rawbuf.h):
                      * written out as message.eml (big ones with direct
                      * I/O), no file of its own before */
} MhWriterRaw;

/* Any of the above, below a staging dir @parent_fd whose entries nobody
 * trusts before the caller records them (one of the archive's
 * .incoming/STAGE dirs, which a finish sweeps of the rest): the dir is made under @name at once, with
 * no temporary name and no rename (one each per message of a run).  A
 * dir of that name there already (a killed run's, never recorded) is
 * replaced as above.  On failure nothing of the new dir is left. */
gboolean mh_writer_stage_message (int parent_fd, const char *name,
                                  const MhWriterRaw *raw, MhMessage *msg,
                                  const MhWriteMeta *meta,
                                  MhWriteResult **result_out,
                                  GError **error);

/* Rewrites NAME/message.json below @parent_fd with the locations of
 * @meta (a message found again in a second mailbox), atomically: a temp
 * file, fdatasync, rename.  Other fields are kept as they are. */
gboolean mh_writer_update_locations (int parent_fd, const char *name,
                                     const MhWriteMeta *meta,
                                     GError **error);

/* Removes the ".tmp-*" entries left in @dir_fd by a killed run.  Only
 * safe while no other writer works in that dir.  Returns the number of
 * entries removed, or -1 with @error set. */
int mh_writer_clean_stale (int dir_fd, GError **error);

/* Whether the writer fsyncs every file and dir it writes (the default).
 * A caller that writes many messages may turn it off and instead make
 * them durable in one go (syncfs) before it records them: a process
 * killed at any point loses nothing either way, since the page cache
 * survives it; only a power failure needs the sync, and a batched one
 * keeps "written before recorded" true.  Process-wide. */
void mh_writer_set_sync (gboolean sync);

/* Whether big files (message.eml, attachments, of 64 KiB and more) are
 * written with O_DIRECT where the file system allows it: their bytes do
 * not pass through the page cache (writer-direct.c).  On by default;
 * process-wide.  Off for tests that compare the two. */
void mh_writer_set_direct (gboolean enable);

/* Opens the output dir the user named at @path, following a symbolic
 * link there as any tool does (~/mail-archive may point at a bigger
 * disk); everything below it is opened with mh_writer_open_dir().
 * Returns an fd (O_DIRECTORY, O_CLOEXEC) or -1 with @error set. */
int mh_writer_open_root (const char *path, GError **error);

/* Opens the dir @name below @parent_fd (AT_FDCWD for a path), creating it
 * (mode 0755) when @create is set and it is missing, and fsyncing the
 * parent then.  Never follows a symbolic link at @name.  Returns an fd
 * (O_DIRECTORY, O_CLOEXEC) or -1 with @error set. */
int mh_writer_open_dir (int parent_fd, const char *name, gboolean create,
                        GError **error);
/* Same with @create, setting *@created when this call made the dir. */
int mh_writer_make_dir (int parent_fd, const char *name, gboolean *created,
                        GError **error);

/* Returns TRUE when @name below @parent_fd is a directory (not a symbolic
 * link to one). */
gboolean mh_writer_dir_exists (int parent_fd, const char *name);

/* Renames @from below @from_fd to @to below @to_fd unless something is
 * at @to (then -1 with errno EEXIST): renameat2() with RENAME_NOREPLACE,
 * or where the file system does not take the flag (EINVAL, ENOSYS),
 * mh_writer_rename_look_first().  Returns 0, or -1 with errno set. */
int mh_writer_rename_noreplace (int from_fd, const char *from, int to_fd,
                                const char *to);
/* The same without the flag: a look at @to first, then renameat().  Safe
 * only where nothing else makes entries in @to_fd meanwhile (an account's
 * dirs, under its lock): plain renameat() would replace an empty dir. */
int mh_writer_rename_look_first (int from_fd, const char *from, int to_fd,
                                 const char *to);

/* Moves the dir @tmp (a temporary name, see mh_writer_clean_stale()) to
 * @name below @parent_fd, replacing a dir there, without renameat2()
 * flags: the old dir is renamed aside to @tmp with ".old" appended (a
 * crash leaves it to mh_writer_clean_stale()), the new one in, and the
 * old one removed.  What publishing a message dir falls back to where the
 * file system takes neither RENAME_NOREPLACE nor RENAME_EXCHANGE. */
gboolean mh_writer_replace_aside (int parent_fd, const char *tmp,
                                  const char *name, GError **error);

/* Removes @name below @parent_fd and everything in it, without following
 * symbolic links (a link is removed, not its target). */
gboolean mh_writer_remove_tree (int parent_fd, const char *name,
                                GError **error);

G_END_DECLS
