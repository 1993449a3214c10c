/* archive.h - one account's archive: OUTPUT/ACCOUNT.
 *
 * The archive ties the parts together for both `run` (IMAP) and `import`
 * (local files): a raw message file is deduplicated against the store,
 * parsed, written as a message dir and recorded; at the end
 * mh_archive_finish() threads every message of the account and lays the
 * conversations out on disk.
 *
 *   OUTPUT/ACCOUNT/state.sqlite       the store (store.h)
 *   OUTPUT/ACCOUNT/.incoming/STAGE/MESSAGE
 *                                     messages written but not yet placed,
 *                                     in a staging dir per guessed
 *                                     conversation (mh_layout_stage_dir())
 *   OUTPUT/ACCOUNT/.tmp/              raw files being fetched (unnamed,
 *                                     O_TMPFILE, where the file system
 *                                     has it; named files otherwise)
 *   OUTPUT/ACCOUNT/threads/THREAD/MESSAGE, thread.json
 *   OUTPUT/ACCOUNT/threads.json, index.html
 *
 * Crash safety: a message dir is complete before it is recorded, and it
 * is recorded before it is placed; placing is a rename of the dir (or,
 * for a new conversation whose messages are all of its staging dir, of
 * that dir), and mh_archive_finish() derives every placement from the
 * store alone.  A
 * process killed at any point and started again therefore ends with the
 * same archive: the messages it had not recorded are fetched again (their
 * half-written dirs in .incoming are replaced or removed), the recorded
 * ones are placed by the next finish.
 */
#pragma once

#include <glib.h>

#include "mailharvest/message.h"
#include "mailharvest/store.h"
#include "mailharvest/thread.h"

G_BEGIN_DECLS

typedef struct _MhArchive MhArchive;

typedef struct {
  const char *output;        /* archive root, created when missing */
  const char *account;       /* a safe name (one path component) */
  MhThreadSubjectMode subject_mode;
  guint window_days;         /* 0: the threader's default */
  guint commit_every;        /* messages per store commit; 0: 500 */
} MhArchiveOptions;

/* Opens (creating) OUTPUT/ACCOUNT, its store and its work dirs, and
 * removes what a killed run left in .tmp.  (transfer full) */
MhArchive *mh_archive_open (const MhArchiveOptions *options,
                            GError **error);

/* Commits and closes.  NULL is fine. */
void mh_archive_free (MhArchive *archive);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhArchive, mh_archive_free)

MhStore *mh_archive_get_store (MhArchive *archive);
/* OUTPUT/ACCOUNT, and the dir for raw files in flight (same file system
 * as the archive, so that they are linked or renamed into place, never
 * copied). */
const char *mh_archive_get_dir (MhArchive *archive);
const char *mh_archive_get_tmp_dir (MhArchive *archive);

/* Where a message was found, and what the source knows about it. */
typedef struct {
  const char *mailbox;
  guint32 uidvalidity;
  guint32 uid;
  const char *const *flags;        /* NULL-terminated or NULL */
  gint64 internaldate;             /* 0 when unknown */
  guint64 gm_msgid;                /* 0 when unknown */
  guint64 gm_thrid;
  const char *const *gm_labels;
  const char *sha256;              /* of the raw file, when the caller
                                    * hashed it on the way in, or NULL */
  GBytes *raw;                     /* the raw file's bytes, when the caller
                                    * still has them (small messages):
                                    * parsed from memory, not read back;
                                    * mh_archive_add_async() takes a
                                    * reference.  NULL: read the file */
  gboolean positional;             /* the UID is a position in a local
                                    * mailbox, which names another message
                                    * once one before it is deleted: a
                                    * recorded location counts as known
                                    * only when it holds the same bytes,
                                    * and is otherwise pointed at this
                                    * message.  Asynchronous adds of such
                                    * sources need @sha256, and each
                                    * location at most once in the queue */
} MhArchiveSource;

typedef enum {
  MH_ARCHIVE_ADDED,     /* parsed, written and recorded */
  MH_ARCHIVE_DUPLICATE, /* the same message was stored already (same
                         * bytes, or same Message-ID, date and sender):
                         * only the location was added */
  MH_ARCHIVE_KNOWN,     /* this location was recorded already */
  MH_ARCHIVE_DEFERRED,  /* asynchronous adds only: not recorded, because
                         * one before it in the queue met a full disk;
                         * the next run fetches it again, in order */
} MhArchiveAddStatus;

typedef struct {
  MhArchiveAddStatus status;
  guint attachments;    /* attachment files written */
  guint warnings;       /* warnings in message.json */
  char *key;            /* the stored message's key (transfer full) */
} MhArchiveAddResult;

void mh_archive_add_result_clear (MhArchiveAddResult *result);

/* Adds the raw message in @raw_path, found at @source.  With @move the
 * file is renamed into the archive (or removed when it is a duplicate);
 * without, it is copied and left alone.  A message that cannot be parsed
 * at all is still stored (as message.eml with warnings).  Fails only on
 * local I/O or store errors. */
gboolean mh_archive_add (MhArchive *archive, const char *raw_path,
                         gboolean move, const MhArchiveSource *source,
                         MhArchiveAddResult *result_out, GError **error);

/* Whether the archived message.eml of @m has @m's size and begins with
 * the @len bytes at @head (@len > 0).  Any trouble reading it (a dir
 * removed by hand, a short file) is a "no", never an error. */
gboolean mh_archive_raw_starts_with (MhArchive *archive,
                                     const MhStoreMessage *m,
                                     const guint8 *head, gsize len);

/* Records @source as a further location of the stored message @key
 * (Gmail: the same X-GM-MSGID seen again) without fetching it. */
gboolean mh_archive_add_location (MhArchive *archive, const char *key,
                                  const MhArchiveSource *source,
                                  GError **error);

/* Asynchronous adding: the network thread hands a fetched file over and
 * goes on reading while worker threads (one per CPU) parse and write it,
 * recording in queue order (archive-async.c).  The store is used by the
 * workers meanwhile: call no other archive or store function until
 * mh_archive_next_completion (.., TRUE) returned NULL.
 * At most MH_ARCHIVE_QUEUE files wait to be parsed, and at most
 * MH_ARCHIVE_WAITING adds are not taken back; mh_archive_add_async()
 * blocks until there is room, which bounds the disk raw files in flight
 * take and memory. */
#define MH_ARCHIVE_QUEUE 32
#define MH_ARCHIVE_WAITING 1024
/* The largest message a caller should hand over in memory, as well as
 * in a file or alone (MhArchiveSource.raw, mh_archive_add_async_bytes()):
 * the queue then holds at most MH_ARCHIVE_QUEUE of them, 8 MiB; a job
 * lets go of them once parsed and written. */
#define MH_ARCHIVE_IN_MEMORY (256 * 1024)

typedef struct {
  char *mailbox;
  guint32 uid;
  MhArchiveAddResult result;
  GError *error;        /* set when the message could not be stored */
} MhArchiveCompletion;

void mh_archive_completion_free (MhArchiveCompletion *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhArchiveCompletion, mh_archive_completion_free)

/* Queues @raw_path (a file the archive may move, as mh_archive_add with
 * move = TRUE) found at @source (copied). */
void mh_archive_add_async (MhArchive *archive, const char *raw_path,
                           const MhArchiveSource *source);

/* The same for @raw_path with @move as in mh_archive_add(): without it
 * the file is only read (import's own files), never moved or removed. */
void mh_archive_add_async_file (MhArchive *archive, const char *raw_path,
                                gboolean move,
                                const MhArchiveSource *source);

/* The same for an unnamed file (open (mh_archive_get_tmp_dir (),
 * O_TMPFILE | O_RDWR)) holding the raw message, which the archive takes:
 * it is linked into its message dir, or closed.  A killed run leaves
 * nothing of it behind, and no thread renames anything out of .tmp. */
void mh_archive_add_async_fd (MhArchive *archive, int raw_fd,
                              const MhArchiveSource *source);

/* The same for a message the caller has only in memory (@source->raw;
 * the caller bounds the memory these take, see MH_ARCHIVE_IN_MEMORY and
 * rawbuf.h): it is written out as message.eml
 * of its dir, and never has a file of its own before.  The archive takes
 * a reference. */
void mh_archive_add_async_bytes (MhArchive *archive,
                                 const MhArchiveSource *source);

/* Returns the next finished add, (transfer full); NULL when none is
 * ready (@wait FALSE) or none is outstanding (@wait TRUE; it returns
 * only once a batch the last records sealed is committed, so that the
 * store is the caller's). */
MhArchiveCompletion *mh_archive_next_completion (MhArchive *archive,
                                                 gboolean wait);

/* Rewrites the message.json of the stored message @key with the
 * locations the store has for it now (after a UIDVALIDITY change made the
 * store forget some), keeping its flags and Gmail fields. */
gboolean mh_archive_refresh_locations (MhArchive *archive, const char *key,
                                       GError **error);

/* Forgets the locations in (@mailbox, @uidvalidity) above @uid, and
 * rewrites the message.json of each message that had one: for a local
 * mailbox that now holds fewer messages than when it was last read. */
gboolean mh_archive_forget_locations_above (MhArchive *archive,
                                            const char *mailbox,
                                            guint32 uidvalidity, guint32 uid,
                                            GError **error);

/* Makes what was added so far durable (one sync of the file system)
 * and commits the store's open batch. */
gboolean mh_archive_flush (MhArchive *archive, GError **error);

typedef struct {
  guint threads;        /* conversations in the archive */
  guint messages;       /* messages in the archive */
  guint moved;          /* message dirs moved into another thread dir */
  guint removed_dirs;   /* thread dirs removed (merged or renamed) */
  guint lost;           /* message dirs found missing (removed by hand?):
                         * their messages are forgotten, so that the next
                         * sync fetches them again, and the next finish
                         * lays out again */
  char lost_dir[128];   /* the first of them, THREAD/MESSAGE */
  guint reused;         /* conversations no new message touched, whose
                         * entries the last layout's files gave */
} MhArchiveFinishStats;

/* Threads every message of the account, moves each message dir into its
 * conversation's dir, writes thread.json, threads.json and index.html
 * (only where their bytes change), removes thread dirs left empty and
 * leftovers of killed runs, and commits.  Idempotent. */
gboolean mh_archive_finish (MhArchive *archive,
                            MhArchiveFinishStats *stats_out,
                            GError **error);

/* For tests of crash safety: when the environment variable
 * MH_DEBUG_KILL_AT is "NAME:N", the N-th call with @name raises SIGKILL.
 * Does nothing otherwise. */
void mh_debug_kill_point (const char *name);

/* For tests of failures: TRUE on the N-th call with @name when the
 * environment variable MH_DEBUG_FAIL_AT is "NAME:N"; the caller then
 * fails as the point says ("disk-full": creating a message dir fails with
 * ENOSPC; "fetch-full": creating the file of a fetched body does; "move":
 * moving a message dir into its thread dir fails with EIO).  FALSE
 * otherwise. */
gboolean mh_debug_fail_point (const char *name);

G_END_DECLS
