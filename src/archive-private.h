/* archive-private.h - shared by the archive-*.c files and archive.c. */
#pragma once

#include "mailharvest/sha256.h"

#include <dirent.h>

#include "mailharvest/archive.h"
#include "mailharvest/writer.h"

/* In OUTPUT/ACCOUNT while messages may wait for mh_archive_finish(). */
#define MH_ARCHIVE_PENDING_MARK ".layout-pending"
/* In OUTPUT/ACCOUNT while a conversation step moves dirs: a step that did
 * not finish may have moved some where the store does not know
 * (archive-recover.c). */
#define MH_ARCHIVE_STARTED_MARK ".layout-started"

/* Worker threads parsing and writing at most (one per CPU up to this). */
#define MH_ARCHIVE_MAX_WORKERS 4

struct _MhArchive {
  MhArchiveOptions options;  /* output and account not kept here */
  char *account;
  char *dir;                 /* OUTPUT/ACCOUNT */
  char *tmp_dir;             /* OUTPUT/ACCOUNT/.tmp */
  int out_fd;
  int account_fd;
  int threads_fd;
  int incoming_fd;
  int tmp_fd;
  int lock_fd;               /* OUTPUT/ACCOUNT/.lock, flock()ed */
  MhStore *store;
  GMutex lock;               /* the store, and the fields below it but
                              * for those under queue_lock */
  GThread *workers[MH_ARCHIVE_MAX_WORKERS]; /* archive-async.c */
  guint n_workers;           /* 0 until the first asynchronous add */
  GAsyncQueue *jobs;
  GAsyncQueue *done;
  GQueue ready;              /* completions taken while the queue was full */
  guint outstanding;         /* jobs queued or running, results not taken */
  GMutex queue_lock;         /* the fields down to inflight; taken after
                              * a->lock when both are: the network thread
                              * and a worker done with a job never wait
                              * for the store's lock (records hold it) */
  gint unprepared;           /* jobs queued or being prepared (atomic;
                              * decremented under queue_lock) */
  GCond space_cond;          /* room came back in the queue */
  gboolean room_waiter;      /* the adding thread waits on space_cond:
                              * only then is a signal worth a system call */
  guint64 next_seq;          /* given to the next queued job */
  guint64 next_record;       /* the job whose turn it is to record */
  GHashTable *prepared;      /* seq -> prepared job waiting for its turn */
  gboolean recording;        /* a thread records the prepared jobs whose
                              * turn has come, or is about to */
  GHashTable *inflight;      /* sha256 -> job writing that message */
  GThread *committer;        /* archive-async.c: syncs and commits a
                              * sealed batch while the workers go on */
  GCond commit_cond;         /* commit_wanted or committer_stop changed */
  gboolean commit_wanted;    /* a batch is sealed: records wait for its
                              * sync and commit */
  gboolean committer_stop;
  GError *commit_error;      /* the first failed sync or commit */
  gboolean disk_full;        /* an asynchronous add met a full disk: the
                              * ones after it are deferred */
  gboolean layout_pending;   /* MH_ARCHIVE_PENDING_MARK exists */
  GPtrArray *lost;           /* finish: char** {thread dir, message dir}
                              * of message dirs found missing (a->lock) */
  guint batch_count;         /* records since the last commit */
  gint64 batch_started;      /* monotonic time of the first of them */
  GMutex stage_lock;         /* stages */
  GHashTable *stages;        /* names of staging dirs in .incoming this
                              * process made or found: a hint only
                              * (mh_archive_open_stage()) */
};

/* Opens, making it if needed, the staging dir @stage in .incoming. */
int mh_archive_open_stage (MhArchive *a, const char *stage, GError **error);

/* What the parallel part of an add found or did (mh_archive_prepare). */
typedef enum {
  MH_PREP_SERIAL,     /* nothing yet: all of it is done in the record step */
  MH_PREP_KNOWN,      /* this location is stored already */
  MH_PREP_DUPLICATE,  /* the message is stored already: existing */
  MH_PREP_WRITTEN     /* its dir is in .incoming: message, attachments */
} MhPrepKind;

typedef struct {
  MhPrepKind kind;
  char *key;
  char *msgid;
  MhStoreMessage *existing;
  MhStoreMessage *message;
  GPtrArray *attachments;    /* MhStoreAttachment* */
  guint n_warnings;
  char *stale_key;           /* a positional source's location held this
                              * other message: its message.json is
                              * rewritten once the location is moved */
} MhArchivePrep;

void mh_archive_prep_clear (MhArchivePrep *p);

/* Syncs the file system and commits the store's open transaction, if
 * any: everything recorded is then on disk, files first.  The caller
 * holds a->lock or is alone with the archive. */
gboolean mh_archive_commit_locked (MhArchive *a, GError **error);

/* Called in the record step (a->lock held) when a batch is full: hands
 * it to the committer thread and returns TRUE, or returns FALSE when
 * there is none (the caller commits itself). */
gboolean mh_archive_seal_batch (MhArchive *a);

/* The raw message of an add: a named file, an unnamed one (linked in as
 * message.eml, not closed here), or only its bytes (MhArchiveSource.raw
 * too, written out as message.eml).  With @move @path is the archive's:
 * renamed in (or removed), not copied. */
typedef MhWriterRaw MhArchiveRaw;

/* The part of mh_archive_add() that may run on several threads at once:
 * dedupe lookups, parse, and writing the message dir into .incoming.
 * @locked: the caller holds a->lock already. */
gboolean mh_archive_prepare (MhArchive *a, const MhArchiveRaw *raw,
                             const MhArchiveSource *src, gboolean locked,
                             MhArchivePrep *p, GError **error);

/* The rest, with a->lock held and in queue order: records what @p found
 * (after mh_archive_prepare(), or all of it for MH_PREP_SERIAL). */
gboolean mh_archive_record (MhArchive *a, const MhArchiveRaw *raw,
                            const MhArchiveSource *src, MhArchivePrep *p,
                            MhArchiveAddResult *result_out, GError **error);

/* Shared by archive.c and archive-add.c, with a->lock held (or alone
 * with the archive). */

/* Creates MH_ARCHIVE_PENDING_MARK ("the layout may be behind the
 * store") unless this process has; before the first message is
 * written. */
gboolean mh_archive_mark_pending (MhArchive *a, GError **error);

/* An empty file @name in OUTPUT/ACCOUNT, made (it may exist) or removed
 * (it may be gone): the marks above. */
gboolean mh_archive_make_mark (MhArchive *a, const char *name,
                               GError **error);
gboolean mh_archive_remove_mark (MhArchive *a, const char *name,
                                 GError **error);

/* archive-recover.c: what an open does when it finds
 * MH_ARCHIVE_STARTED_MARK (a conversation step that did not finish):
 * records every message dir where the step left it, in a transaction of
 * its own, and removes the mark. */
gboolean mh_archive_recover_layout (MhArchive *a, GError **error);

/* Opens the store's batch transaction if none is open. */
gboolean mh_archive_ensure_transaction (MhArchive *a, GError **error);

/* Counts a record into the batch; a full or old batch is sealed for the
 * committer, or committed here when there is none. */
gboolean mh_archive_maybe_commit (MhArchive *a, GError **error);

/* Adds @src as a location of the stored message @m, and rewrites its
 * message.json with it. */
gboolean mh_archive_record_location (MhArchive *a, const MhStoreMessage *m,
                                     const MhArchiveSource *src,
                                     GError **error);

/* Appends the names in @dir_fd (but . and ..) to @names, sorted. */
gboolean mh_archive_list_dir (int dir_fd, GPtrArray *names, GError **error);

/* Finishes the queued jobs and joins the worker threads. */
void mh_archive_stop_worker (MhArchive *a);

/* Syncs what was written and commits the store's open transaction. */
gboolean mh_archive_commit (MhArchive *a, GError **error);

/* The dir in .incoming where new message @m's dir waits until the
 * conversation step places it (mh_layout_stage_dir()). */
char *mh_archive_stage_dir (const MhStoreMessage *m);

/* A new fd of the dir holding @m's message dir, or -1 with @error. */
int mh_archive_message_parent (MhArchive *a, const MhStoreMessage *m,
                               GError **error);

/* archive-files.c */

/* Writes @data to @name below @dir_fd unless it holds those bytes
 * already (a temporary file renamed into place). */
gboolean mh_archive_write_if_changed (int dir_fd, const char *name,
                                      const char *data, gsize len,
                                      GError **error);

/* Writes @data to @name below @dir_fd, replacing what is there, in
 * place: for a dir nobody sees yet (a staging dir), where a half-written
 * file is rewritten by the next run's mh_archive_write_if_changed(). */
gboolean mh_archive_write_private (int dir_fd, const char *name,
                                   const char *data, gsize len,
                                   GError **error);

/* A file written under a temporary name and put in place only when its
 * bytes differ from the file it replaces: threads.json and index.html
 * of a large archive, written as they are built instead of in memory. */
typedef struct {
  int dir_fd;
  const char *name;
  char *tmp;
  int fd;
  GString *buf;
  int err;                    /* first errno, 0 if none */
  guint64 size;               /* bytes appended so far */
  MhSha256 *sum;              /* of the bytes written, when set */
} MhArchiveOut;

/* Starts @name below @dir_fd under a temporary name (removing what killed
 * runs left under theirs).  Appends are buffered; a write error is kept
 * and reported by mh_archive_out_commit(). */
gboolean mh_archive_out_open (MhArchiveOut *o, int dir_fd, const char *name,
                              GError **error);
void mh_archive_out_append (MhArchiveOut *o, const char *data, gssize len);
void mh_archive_out_puts (MhArchiveOut *o, const char *text);
/* Appends @text made valid UTF-8 and escaped for HTML. */
void mh_archive_out_escaped (MhArchiveOut *o, const char *text);
/* Bytes appended so far. */
guint64 mh_archive_out_size (MhArchiveOut *o);
/* Appends @len bytes from offset @off of what was appended to @from (a
 * spool: opened, never committed, cleared at the end).  A read error is
 * kept in @o and reported by its commit. */
void mh_archive_out_copy (MhArchiveOut *o, MhArchiveOut *from, guint64 off,
                          gsize len);
/* The same from the file open as @fd; a read error, or the file ending
 * before, is kept in @o likewise. */
void mh_archive_out_copy_fd (MhArchiveOut *o, int fd, guint64 off,
                             guint64 len);
/* Puts the file in place unless the one there has the same bytes. */
gboolean mh_archive_out_commit (MhArchiveOut *o, GError **error);
/* Drops an uncommitted file; safe on a zeroed or committed one. */
void mh_archive_out_clear (MhArchiveOut *o);

/* The version of the conversation step's texts and threading, kept with
 * its record of a layout (mh_store_layout_*): bump it whenever what
 * archive-texts.c writes, or how messages are threaded, changes, so that
 * no later step copies entries an older one wrote. */
#define MH_LAYOUT_VERSION "1"

/* archive-texts.c: the texts of one conversation: its thread.json, its
 * entry of threads.json and its rows of index.html. */

/* How a member hangs in its conversation, copied out of the forest. */
typedef struct {
  char *parent_id;            /* the parent's Message-ID, or NULL */
  char *parent_key;           /* the parent's key, NULL for a root or a
                               * placeholder parent */
  char *duplicate_of;         /* the key of the copy it repeats, or NULL */
  guint depth;
} MhConvLink;

/* What the texts need, out of the group's forest and rows, so that they
 * can be built after the group is gone (by the mover). */
typedef struct {
  char *root_id;
  char *subject;
  gint64 first_date;
  gint64 last_date;
  char *tdir;
  GPtrArray *members;         /* MhStoreMessage*, in thread order, owned */
  MhConvLink *links;          /* one per member */
} MhConvTexts;

/* Where a conversation's texts are in the spool. */
typedef struct {
  guint64 json_off;           /* its entry of threads.json */
  gsize json_len;
  guint64 html_off;           /* its rows of index.html */
  gsize html_len;
} MhConvSpan;

/* Takes @members (a GPtrArray that frees its MhStoreMessage rows). */
MhConvTexts *mh_conv_texts_new (MhThreadForest *forest,
                                const MhThreadTree *t, const char *tdir,
                                GPtrArray *members);
void mh_conv_texts_free (MhConvTexts *ct);
/* Returns thread.json (transfer full) and appends its threads.json entry
 * and index.html rows to @spool, where @span records them. */
char *mh_conv_texts_build (const MhConvTexts *ct, MhArchiveOut *spool,
                           MhConvSpan *span, gsize *len_out);
/* index.html up to the first conversation's rows. */
void mh_archive_index_head (MhArchiveOut *o, const char *account,
                            guint n_convs);

/* archive-mover.c: the conversation step's file moves on a thread of
 * their own (see there). */
typedef struct _MhMover MhMover;
typedef struct _MhMoverJob MhMoverJob;

/* Moves message dir @name from thread dir @from_dir, or when that is
 * NULL from its dir @stage in .incoming, into @tdir, open as @tfd, unless
 * it is there already; counts a move in *@moved.  The mover does this
 * for its jobs; the synchronous path calls it directly. */
gboolean mh_archive_move_message_dir (MhArchive *a, const char *from_dir,
                                      const char *stage, const char *name,
                                      const char *tdir, int tfd,
                                      guint *moved, GError **error);

/* @spool (borrowed) takes the texts of the jobs' conversations: it is
 * the mover's while a job is queued or running. */
MhMover *mh_mover_new (MhArchive *a, MhArchiveOut *spool);
/* A conversation's moves into @tdir (open as @tfd, which the job takes
 * and closes when done), added one by one in order. */
MhMoverJob *mh_mover_job_new (int tfd, const char *tdir);
/* The same for a thread dir that does not exist yet: the mover makes
 * @tdir below @parent_fd (borrowed), and fails if it exists by then. */
MhMoverJob *mh_mover_job_new_dir (int parent_fd, const char *tdir);
/* A move of message dir @name from thread dir @from_dir, or from its
 * dir @stage in .incoming (@from_dir NULL). */
void mh_mover_job_add (MhMoverJob *job, const char *name,
                       const char *from_dir, const char *stage);
/* Makes a job of mh_mover_job_new_dir() move staging dir @stage as a
 * whole: it holds every message of the job and no other recorded one
 * (the caller checked the store), so that the mover renames it to the
 * thread dir, after removing what no record names (a killed run's
 * leftovers), instead of moving the messages one by one. */
void mh_mover_job_set_whole (MhMoverJob *job, const char *stage);
/* Frees a job that was not pushed, closing its dir. */
void mh_mover_job_free (MhMoverJob *job);
/* Queues @job; waits while the queue is full.  The mover builds the
 * conversation's texts from @texts (taken): its thread.json, written
 * after the moves, and its spool entries, recorded in @span (which the
 * caller reads after mh_mover_drain() or mh_mover_free()). */
void mh_mover_push (MhMover *mv, MhMoverJob *job, MhConvTexts *texts,
                    MhConvSpan *span);
/* Waits until every queued job is done; FALSE with the first failure. */
gboolean mh_mover_drain (MhMover *mv, GError **error);
/* Waits until no queued job moves message dirs or makes a dir (a job of
 * mh_mover_job_new() with no moves only writes texts); FALSE with the
 * first failure. */
gboolean mh_mover_drain_moves (MhMover *mv, GError **error);
/* Drains, stops the thread, adds its moves to *@moved. */
gboolean mh_mover_free (MhMover *mv, guint *moved, GError **error);
