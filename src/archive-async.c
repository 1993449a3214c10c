/* archive-async.c - worker threads that parse and write while the network
 * thread keeps reading.
 *
 * Each worker takes the next queued file and prepares it (dedupe lookups,
 * parse, message dir written into .incoming) in parallel with the others;
 * prepared files are recorded in the store strictly in queue order, by
 * whichever worker completes the one before.  The
 * archive so ends up exactly as if the files had been added one by one:
 * which of two copies of a message is kept, and every record, follows the
 * queue, whatever thread finished first.
 *
 * Two copies with the same bytes must not be written at once (they would
 * get the same dir): the first queued claims the hash, and a later one
 * with a claimed hash does all its work in its record step, after the
 * first is recorded, where it finds it stored. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mailharvest/error.h"
#include "mailharvest/writeback.h"
#include "archive-private.h"

typedef struct {
  char *path;            /* the raw file, or NULL: */
  gboolean move;         /* path is the archive's (MhArchiveRaw.move) */
  int fd;                /* the unnamed one, or -1 */
  char *mailbox;
  MhArchiveSource src;   /* strings point into this job */
  GStrv flags;
  GStrv labels;
  char *sha256;
  GBytes *raw;
  guint64 seq;
  gboolean claimed;      /* sha256 is ours in a->inflight */
} Job;

/* The workers' sentinel: stop. */
static Job stop_job;

static void
job_free (Job *j)
{
  g_free (j->path);
  if (j->fd >= 0)
    close (j->fd);
  g_free (j->mailbox);
  g_strfreev (j->flags);
  g_strfreev (j->labels);
  g_free (j->sha256);
  if (j->raw != NULL)
    g_bytes_unref (j->raw);
  g_free (j);
}

void
mh_archive_completion_free (MhArchiveCompletion *c)
{
  if (c == NULL)
    return;
  g_free (c->mailbox);
  mh_archive_add_result_clear (&c->result);
  g_clear_error (&c->error);
  g_free (c);
}

typedef struct {
  Job *job;
  MhArchivePrep prep;
  MhArchiveCompletion *completion;
  gboolean ok;
} Ready;

/* Records @r (a->lock held) and hands its completion over. */
static void
record (MhArchive *a, Ready *r)
{
  Job *j = r->job;
  MhArchiveCompletion *c = r->completion;

  if (r->ok && a->commit_error != NULL)
    {
      /* Nothing is recorded after a failed sync: the run stops short
       * and the next one fetches the rest again. */
      c->error = g_error_copy (a->commit_error);
      r->ok = FALSE;
    }
  else if (a->disk_full)
    {
      /* Nor after a message that met a full disk: recorded, a later
       * copy of the same message (other bytes, same Message-ID) would
       * win over the earlier one fetched again next time, and the
       * archive would depend on where the disk filled up.  Not a
       * failure of its own: it is simply not done. */
      c->result.status = MH_ARCHIVE_DEFERRED;
      r->ok = FALSE;
    }
  if (r->ok)
    {
      MhArchiveRaw raw = { j->path, j->fd, j->move, j->raw };

      r->ok = mh_archive_record (a, &raw, &j->src, &r->prep, &c->result,
                                 &c->error);
    }
  if (c->error != NULL
      && g_error_matches (c->error, MH_ERROR, MH_ERROR_NO_SPACE))
    a->disk_full = TRUE;
  if (!r->ok && j->path != NULL && j->move)
    (void) g_unlink (j->path);
  g_mutex_lock (&a->queue_lock);
  if (j->claimed)
    g_hash_table_remove (a->inflight, j->sha256);
  /* Pushed with the turn to record: completions come out in queue
   * order. */
  g_async_queue_push (a->done, c);
  /* Only a wait for completions to take back ends here; a wait for the
   * unprepared jobs is woken by run_job(). */
  if (a->room_waiter
      && g_atomic_int_get (&a->unprepared) < MH_ARCHIVE_QUEUE)
    g_cond_signal (&a->space_cond);
  g_mutex_unlock (&a->queue_lock);
  mh_archive_prep_clear (&r->prep);
  job_free (j);
  g_free (r);
}

/* Takes the turn to record (a->recording) if no other thread has it. */
static gboolean
take_recording (MhArchive *a)
{
  gboolean mine;

  g_mutex_lock (&a->queue_lock);
  mine = !a->recording;
  a->recording = TRUE;
  g_mutex_unlock (&a->queue_lock);
  return mine;
}

/* With the turn to record (take_recording()) and a->lock held: records
 * every prepared job whose turn has come, until one is missing or a full
 * batch is sealed (the jobs after that wait for the committer), and
 * hands the turn back.  A job prepared meanwhile is either found here or
 * finds the turn free (both under queue_lock), so none is left behind. */
static void
record_ready (MhArchive *a)
{
  for (;;)
    {
      Ready *r = NULL;

      g_mutex_lock (&a->queue_lock);
      if (!a->commit_wanted)
        r = g_hash_table_lookup (a->prepared, &a->next_record);
      if (r != NULL)
        {
          g_hash_table_remove (a->prepared, &a->next_record);
          a->next_record++;
        }
      else
        a->recording = FALSE;
      g_mutex_unlock (&a->queue_lock);
      if (r == NULL)
        return;
      record (a, r);
    }
}

/* The committer: for each sealed batch, one syncfs with the lock
 * released, so that the workers go on parsing and writing meanwhile,
 * then the commit, then the records that waited.  Files are on disk
 * before the store says they exist, as with an inline commit. */
static gpointer
committer (gpointer data)
{
  MhArchive *a = data;

  g_mutex_lock (&a->lock);
  for (;;)
    {
      GError *error = NULL;
      guint64 mark;
      int rc, saved;

      while (!a->commit_wanted && !a->committer_stop)
        g_cond_wait (&a->commit_cond, &a->lock);
      if (!a->commit_wanted)
        break;
      g_mutex_unlock (&a->lock);
      mark = mh_writeback_mark ();
      rc = syncfs (a->account_fd);
      saved = errno;
      g_mutex_lock (&a->lock);
      if (rc != 0)
        {
          g_set_error (&error, MH_ERROR, MH_ERROR_IO, "cannot sync %s: %s",
                       a->dir, g_strerror (saved));
          (void) mh_store_rollback (a->store, NULL);
        }
      else
        {
          mh_writeback_drop_until (mark);
          a->batch_count = 0;
          if (!mh_store_commit (a->store, &error))
            (void) mh_store_rollback (a->store, NULL);
        }
      if (error != NULL && a->commit_error == NULL)
        a->commit_error = error;
      else
        g_clear_error (&error);
      a->commit_wanted = FALSE;
      g_cond_broadcast (&a->commit_cond);
      /* A worker that has the turn waits for this lock, and records. */
      if (take_recording (a))
        record_ready (a);
    }
  g_mutex_unlock (&a->lock);
  return NULL;
}

gboolean
mh_archive_seal_batch (MhArchive *a)
{
  if (a->committer == NULL)
    return FALSE;
  a->commit_wanted = TRUE;
  g_cond_broadcast (&a->commit_cond);
  return TRUE;
}

/* Prepares @j, then records every prepared job whose turn has come,
 * unless another thread does that already: the thread that finished a
 * job waits neither for the turn of its own (whoever completes the one
 * before records it) nor for another's records. */
static void
run_job (MhArchive *a, Job *j)
{
  Ready *r = g_new0 (Ready, 1);
  gboolean mine;

  r->job = j;
  r->prep.kind = MH_PREP_SERIAL;
  r->completion = g_new0 (MhArchiveCompletion, 1);
  r->completion->mailbox = g_strdup (j->mailbox);
  r->completion->uid = j->src.uid;
  r->ok = TRUE;
  if (j->claimed)
    {
      MhArchiveRaw raw = { j->path, j->fd, j->move, j->raw };

      r->ok = mh_archive_prepare (a, &raw, &j->src, FALSE, &r->prep,
                                  &r->completion->error);
    }
  if (r->ok && j->fd >= 0 && r->prep.kind == MH_PREP_WRITTEN)
    {
      /* Linked as message.eml and parsed: its pages go the way of the
       * other files written (writeback.h), before the lock is taken. */
      mh_writeback_add (j->fd, r->prep.message->size);
      j->fd = -1;
    }
  if (j->claimed)
    {
      /* The record step needs only what the prepare found: the bytes go
       * now, not after up to MH_ARCHIVE_WAITING prepared jobs wait for a
       * sync. */
      g_clear_pointer (&j->raw, g_bytes_unref);
      j->src.raw = NULL;
    }

  g_mutex_lock (&a->queue_lock);
  g_atomic_int_add (&a->unprepared, -1);
  /* A full queue wakes the adding thread when half of it is done, not
   * for each job: one wake-up (and one preempted worker) per few jobs. */
  if (a->room_waiter
      && g_atomic_int_get (&a->unprepared) <= MH_ARCHIVE_QUEUE / 2)
    g_cond_signal (&a->space_cond);
  g_hash_table_insert (a->prepared, &j->seq, r);
  mine = !a->recording;
  a->recording = TRUE;
  g_mutex_unlock (&a->queue_lock);
  if (!mine)
    return;
  g_mutex_lock (&a->lock);
  record_ready (a);
  g_mutex_unlock (&a->lock);
}

static gpointer
worker (gpointer data)
{
  MhArchive *a = data;

  for (;;)
    {
      Job *j = g_async_queue_pop (a->jobs);

      if (j == &stop_job)
        break;
      run_job (a, j);
    }
  return NULL;
}

static void
start_workers (MhArchive *a)
{
  guint n = CLAMP (g_get_num_processors (), 1, MH_ARCHIVE_MAX_WORKERS);

  a->jobs = g_async_queue_new ();
  a->done = g_async_queue_new ();
  a->inflight = g_hash_table_new (g_str_hash, g_str_equal);
  a->prepared = g_hash_table_new (g_int64_hash, g_int64_equal);
  a->next_seq = a->next_record = 0;
  a->recording = FALSE;
  g_atomic_int_set (&a->unprepared, 0);
  for (guint i = 0; i < n; i++)
    a->workers[i] = g_thread_new ("archive", worker, a);
  a->n_workers = n;
  a->committer_stop = FALSE;
  a->committer = g_thread_new ("commit", committer, a);
}

/* Takes every completion pushed so far into a->ready. */
static void
take_done (MhArchive *a)
{
  MhArchiveCompletion *c;

  while ((c = g_async_queue_try_pop (a->done)) != NULL)
    {
      a->outstanding--;
      g_queue_push_tail (&a->ready, c);
    }
}

static gboolean
has_room (MhArchive *a)
{
  return g_atomic_int_get (&a->unprepared) < MH_ARCHIVE_QUEUE
         && a->outstanding < MH_ARCHIVE_WAITING;
}

/* Bounds the queue: waits while MH_ARCHIVE_QUEUE files wait to be
 * prepared (which bounds the disk raw files in flight take), or
 * MH_ARCHIVE_WAITING jobs are not taken back (prepared ones waiting for
 * their record: the rows to record, a few KB at most).  Prepared jobs
 * wait for their turn to record while the committer syncs a batch:
 * counting them as full made the network thread, and the server with it,
 * stop for every sync.  The common case, room, needs no lock; the
 * counters only shrink under queue_lock, so a wait decided under it
 * misses no wake-up. */
static void
wait_for_room (MhArchive *a)
{
  for (;;)
    {
      gboolean room;

      take_done (a);
      if (has_room (a))
        return;
      g_mutex_lock (&a->queue_lock);
      room = has_room (a);
      /* A completion pushed since take_done() is taken on the next turn;
       * later, record() and run_job() signal under queue_lock, once
       * there is room. */
      if (!room && g_async_queue_length (a->done) <= 0)
        {
          a->room_waiter = TRUE;
          g_cond_wait (&a->space_cond, &a->queue_lock);
          a->room_waiter = FALSE;
        }
      g_mutex_unlock (&a->queue_lock);
      if (room)
        return;
    }
}

static void
add_job (MhArchive *a, const char *raw_path, gboolean move, int raw_fd,
         const MhArchiveSource *src)
{
  Job *j = g_new0 (Job, 1);

  if (a->n_workers == 0)
    start_workers (a);
  wait_for_room (a);
  j->path = g_strdup (raw_path);
  j->move = move;
  j->fd = raw_fd;
  j->mailbox = g_strdup (src->mailbox);
  j->flags = g_strdupv ((char **) src->flags);
  j->labels = g_strdupv ((char **) src->gm_labels);
  j->src = *src;
  j->src.mailbox = j->mailbox;
  j->src.flags = (const char *const *) j->flags;
  j->src.gm_labels = (const char *const *) j->labels;
  j->sha256 = g_strdup (src->sha256);
  j->src.sha256 = j->sha256;
  j->raw = src->raw != NULL ? g_bytes_ref (src->raw) : NULL;
  j->src.raw = j->raw;
  j->seq = a->next_seq++;
  /* Without a hash, or with one another queued job is writing, the job
   * is done whole in its turn (see above). */
  g_mutex_lock (&a->queue_lock);
  if (j->sha256 != NULL && !g_hash_table_contains (a->inflight, j->sha256))
    {
      g_hash_table_add (a->inflight, j->sha256);
      j->claimed = TRUE;
    }
  g_atomic_int_inc (&a->unprepared);
  g_mutex_unlock (&a->queue_lock);
  a->outstanding++;
  g_async_queue_push (a->jobs, j);
}

void
mh_archive_add_async (MhArchive *a, const char *raw_path,
                      const MhArchiveSource *src)
{
  add_job (a, raw_path, TRUE, -1, src);
}

void
mh_archive_add_async_file (MhArchive *a, const char *raw_path,
                           gboolean move, const MhArchiveSource *src)
{
  add_job (a, raw_path, move, -1, src);
}

void
mh_archive_add_async_fd (MhArchive *a, int raw_fd,
                         const MhArchiveSource *src)
{
  g_return_if_fail (raw_fd >= 0);
  add_job (a, NULL, TRUE, raw_fd, src);
}

void
mh_archive_add_async_bytes (MhArchive *a, const MhArchiveSource *src)
{
  g_return_if_fail (src->raw != NULL);
  add_job (a, NULL, TRUE, -1, src);
}

MhArchiveCompletion *
mh_archive_next_completion (MhArchive *a, gboolean wait)
{
  MhArchiveCompletion *c;

  if (!g_queue_is_empty (&a->ready))
    return g_queue_pop_head (&a->ready);
  if (a->outstanding == 0 && wait && a->committer != NULL)
    {
      /* The store is the caller's from now on (archive.h): the last
       * record may have handed a batch to the committer, which is still
       * syncing and committing it. */
      g_mutex_lock (&a->lock);
      while (a->commit_wanted)
        g_cond_wait (&a->commit_cond, &a->lock);
      g_mutex_unlock (&a->lock);
    }
  if (a->outstanding == 0)
    return NULL;
  c = wait ? g_async_queue_pop (a->done) : g_async_queue_try_pop (a->done);
  if (c != NULL)
    a->outstanding--;
  return c;
}

void
mh_archive_stop_worker (MhArchive *a)
{
  if (a->n_workers == 0)
    return;
  for (guint i = 0; i < a->n_workers; i++)
    g_async_queue_push (a->jobs, &stop_job);
  for (guint i = 0; i < a->n_workers; i++)
    g_thread_join (a->workers[i]);
  a->n_workers = 0;
  /* The workers are gone, so nothing seals a batch any more: the
   * committer finishes the one it has, if any, and stops. */
  g_mutex_lock (&a->lock);
  a->committer_stop = TRUE;
  g_cond_broadcast (&a->commit_cond);
  g_mutex_unlock (&a->lock);
  g_thread_join (a->committer);
  a->committer = NULL;
  g_queue_clear_full (&a->ready, (GDestroyNotify) mh_archive_completion_free);
  for (;;)
    {
      MhArchiveCompletion *c = g_async_queue_try_pop (a->done);

      if (c == NULL)
        break;
      mh_archive_completion_free (c);
    }
  a->outstanding = 0;
  g_clear_pointer (&a->jobs, g_async_queue_unref);
  g_clear_pointer (&a->done, g_async_queue_unref);
  g_clear_pointer (&a->inflight, g_hash_table_unref);
  g_clear_pointer (&a->prepared, g_hash_table_unref);
}
