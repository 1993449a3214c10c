/* archive-mover.c - the conversation step's moves, on a thread of their
 * own.
 *
 * Laying out a conversation is half store and threading work (rows,
 * forest, thread.json's text, the store's updates) and half file system
 * work (a rename per message, thread.json written and renamed; or, for a
 * new conversation whose messages all wait in one staging dir of
 * .incoming, one rename of that dir).  The
 * step runs when the fetch is over and one core is idle: the main
 * thread hands each new conversation's moves and rows here and goes on
 * with the next conversation, and the mover builds the conversation's
 * texts (thread.json, and its entries of threads.json and index.html in
 * the spool), a quarter of the main thread's work before.
 *
 * The order of the file system's changes is the one the main thread
 * would have made: one mover works through the queue in order, and the
 * main thread drains it before it touches the file system itself (a
 * thread dir that existed already is laid out synchronously, since its
 * sweep asks the store).  The store's updates run ahead of the moves,
 * but inside the step's one transaction, which commits only after the
 * queue is drained: a run killed in between rolls them back.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "archive-private.h"
#include "mailharvest/error.h"
#include "mailharvest/writer.h"

/* Conversations queued at most: their rows wait here. */
#define MAX_QUEUED 64
/* The mover, once idle, is woken when this many jobs wait (or the main
 * thread drains): a wake-up is a futex call on each side, and one per
 * conversation was a tenth of the main thread's part of the step. */
#define WAKE_BATCH 8

typedef struct {
  char *name;            /* message dir */
  char *from;            /* thread dir it is in, NULL: .incoming */
  char *stage;           /* its dir in .incoming, when from is NULL */
} Move;

typedef struct {
  int tfd;               /* the thread dir, closed when done; -1: the
                          * mover makes it (a new one) */
  int parent_fd;         /* threads/, borrowed, for a dir to make */
  char *tdir;
  GArray *moves;         /* Move */
  char *whole;           /* a staging dir holding all of moves: renamed
                          * to tdir (mh_mover_job_set_whole()) */
  MhConvTexts *texts;    /* what thread.json and the spool entries
                          * are built from */
  MhConvSpan *span;      /* where the spool entries go, the caller's */
  char *json;            /* thread.json, built by the mover */
  gsize json_len;
  gboolean moving;       /* it makes a dir or moves message dirs */
} Job;

struct _MhMover {
  MhArchive *a;
  MhArchiveOut *spool;   /* the conversations' texts, borrowed */
  GThread *thread;
  GMutex lock;
  /* Each side is woken only while it waits: a futex call per job and
   * side was a tenth of the step's main thread. */
  GCond work;            /* a job queued, or quit */
  GCond done;            /* a job done */
  gboolean mover_waits;
  gboolean main_waits;
  GQueue queue;          /* Job, oldest first */
  gboolean busy;         /* the mover holds a job */
  guint n_moving;        /* jobs queued or running that move or make
                          * dirs (mh_mover_drain_moves()) */
  gboolean quit;
  GError *error;         /* the first failure; later jobs are dropped */
  guint moved;
};

static void
move_clear (gpointer data)
{
  Move *m = data;

  g_free (m->name);
  g_free (m->from);
  g_free (m->stage);
}

static void
job_free (Job *j)
{
  if (j->tfd >= 0)
    close (j->tfd);
  g_free (j->tdir);
  g_array_unref (j->moves);
  g_free (j->whole);
  mh_conv_texts_free (j->texts);
  g_free (j->json);
  g_free (j);
}

/* The dir is at neither place: removed by hand, or lost with the file
 * system.  The step goes on without it, and mh_archive_finish() forgets
 * the message (archive-finish.c). */
static void
note_lost (MhArchive *a, const char *name, const char *tdir)
{
  char **pair = g_new0 (char *, 3);

  pair[0] = g_strdup (tdir);
  pair[1] = g_strdup (name);
  g_mutex_lock (&a->lock);
  if (a->lost == NULL)
    a->lost = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_ptr_array_add (a->lost, pair);
  g_mutex_unlock (&a->lock);
}

/* The slow path of a move: the dir is at @from, at @tfd already (a
 * killed run moved it), at both (a killed run moved an older copy: the
 * one at @from wins), or nowhere. */
static gboolean
move_checked (MhArchive *a, int from, const char *name, const char *tdir,
              int tfd, guint *moved, GError **error)
{
  if (from >= 0 && mh_writer_dir_exists (from, name))
    {
      if (mh_writer_dir_exists (tfd, name)
          && !mh_writer_remove_tree (tfd, name, error))
        return FALSE;
      if (renameat (from, name, tfd, name) != 0)
        {
          int saved = errno;

          g_set_error (error, MH_ERROR, MH_ERROR_IO,
                       "cannot move %s into %s: %s", name, tdir,
                       g_strerror (saved));
          return FALSE;
        }
      (*moved)++;
      return TRUE;
    }
  if (!mh_writer_dir_exists (tfd, name))
    note_lost (a, name, tdir);
  return TRUE;
}

gboolean
mh_archive_move_message_dir (MhArchive *a, const char *from_dir,
                             const char *stage, const char *name,
                             const char *tdir, int tfd, guint *moved,
                             GError **error)
{
  int from = from_dir == NULL
                 ? mh_writer_open_dir (a->incoming_fd, stage, FALSE, NULL)
                 : mh_writer_open_dir (a->threads_fd, from_dir, FALSE, NULL);
  gboolean ok;

  if (mh_debug_fail_point ("move"))
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot move %s into %s: %s",
                   name, tdir, g_strerror (EIO));
      ok = FALSE;
    }
  /* The common case, a dir at its place and none at the target, is one
   * system call; anything else is looked at first. */
  else if (from >= 0
           && renameat2 (from, name, tfd, name, RENAME_NOREPLACE) == 0)
    {
      (*moved)++;
      ok = TRUE;
    }
  else if (from_dir == NULL
           && !(from >= 0 && mh_writer_dir_exists (from, name))
           && mh_writer_dir_exists (a->incoming_fd, name))
    /* Left in .incoming itself by a run of a version before the staging
     * dirs, killed before its finish. */
    ok = move_checked (a, a->incoming_fd, name, tdir, tfd, moved, error);
  else
    ok = move_checked (a, from, name, tdir, tfd, moved, error);
  if (from >= 0)
    close (from);
  if (ok)
    mh_debug_kill_point ("placed");
  return ok;
}

/* A new conversation whose staging dir holds all its messages and no
 * other recorded one: the dir, swept of what no record names and given
 * its thread.json, becomes the thread dir in one rename.  FALSE with
 * *@fall_back when the staging dir is not there (removed by hand): the
 * moves then go one by one, and find what is lost. */
static gboolean
run_whole (MhMover *mv, Job *j, guint *moved, gboolean *fall_back,
           GError **error)
{
  MhArchive *a = mv->a;
  g_autoptr(GHashTable) members = g_hash_table_new (g_str_hash,
                                                    g_str_equal);
  g_autoptr(GHashTable) present = g_hash_table_new (g_str_hash,
                                                    g_str_equal);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  gboolean ok;
  int sfd;

  *fall_back = FALSE;
  if (mh_debug_fail_point ("move"))
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot move %s into %s: %s",
                   j->whole, j->tdir, g_strerror (EIO));
      return FALSE;
    }
  sfd = mh_writer_open_dir (a->incoming_fd, j->whole, FALSE, NULL);
  if (sfd < 0)
    {
      *fall_back = TRUE;
      return FALSE;
    }
  for (guint i = 0; i < j->moves->len; i++)
    g_hash_table_add (members, g_array_index (j->moves, Move, i).name);
  ok = mh_archive_list_dir (sfd, names, error);
  for (guint i = 0; ok && i < names->len; i++)
    if (g_hash_table_contains (members, names->pdata[i]))
      g_hash_table_add (present, names->pdata[i]);
    else
      ok = mh_writer_remove_tree (sfd, names->pdata[i], error);
  /* A message a version before the staging dirs left in .incoming
   * itself joins the others here. */
  for (guint i = 0; ok && i < j->moves->len; i++)
    {
      const char *name = g_array_index (j->moves, Move, i).name;

      if (!g_hash_table_contains (present, name)
          && mh_writer_dir_exists (a->incoming_fd, name)
          && renameat (a->incoming_fd, name, sfd, name) == 0)
        g_hash_table_add (present, (gpointer) name);
    }
  ok = ok && mh_archive_write_private (sfd, "thread.json", j->json,
                                       j->json_len, error);
  close (sfd);
  if (!ok)
    return FALSE;
  if (mh_writer_rename_noreplace (a->incoming_fd, j->whole, j->parent_fd,
                                   j->tdir) != 0)
    {
      int saved = errno;

      if (saved == EEXIST)
        g_set_error (error, MH_ERROR, MH_ERROR_IO,
                     "thread dir %s appeared during the conversation step",
                     j->tdir);
      else
        g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot move %s into %s: %s",
                     j->whole, j->tdir, g_strerror (saved));
      return FALSE;
    }
  for (guint i = 0; i < j->moves->len; i++)
    {
      const char *name = g_array_index (j->moves, Move, i).name;

      if (g_hash_table_contains (present, name))
        (*moved)++;
      else
        note_lost (a, name, j->tdir);
    }
  mh_debug_kill_point ("placed");
  return TRUE;
}

static gboolean
run_job (MhMover *mv, Job *j, guint *moved, GError **error)
{
  /* The texts first: the spool's order does not matter (the entries are
   * sorted by their spans), and thread.json is written after the moves. */
  j->json = mh_conv_texts_build (j->texts, mv->spool, j->span, &j->json_len);
  if (j->whole != NULL)
    {
      gboolean fall_back = FALSE;

      if (run_whole (mv, j, moved, &fall_back, error))
        return TRUE;
      if (!fall_back)
        return FALSE;
    }
  if (j->tfd < 0)
    {
      gboolean created = FALSE;

      /* The main thread found no dir of this name; one made since is
       * not ours to fill unswept. */
      j->tfd = mh_writer_make_dir (j->parent_fd, j->tdir, &created, error);
      if (j->tfd < 0)
        return FALSE;
      if (!created)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_IO,
                       "thread dir %s appeared during the conversation "
                       "step", j->tdir);
          return FALSE;
        }
    }
  for (guint i = 0; i < j->moves->len; i++)
    {
      Move *m = &g_array_index (j->moves, Move, i);

      if (!mh_archive_move_message_dir (mv->a, m->from, m->stage, m->name,
                                        j->tdir, j->tfd, moved, error))
        return FALSE;
    }
  return mh_archive_write_if_changed (j->tfd, "thread.json", j->json,
                                      j->json_len, error);
}

static gpointer
mover_thread (gpointer data)
{
  MhMover *mv = data;

  g_mutex_lock (&mv->lock);
  for (;;)
    {
      GError *error = NULL;
      guint moved = 0;
      Job *j;

      while (g_queue_is_empty (&mv->queue) && !mv->quit)
        {
          mv->mover_waits = TRUE;
          g_cond_wait (&mv->work, &mv->lock);
          mv->mover_waits = FALSE;
        }
      j = g_queue_pop_head (&mv->queue);
      if (j == NULL)
        break;
      /* After a failure the rest is dropped: the step fails and rolls
       * back, and the next run lays out again. */
      if (mv->error == NULL)
        {
          mv->busy = TRUE;
          g_mutex_unlock (&mv->lock);
          (void) run_job (mv, j, &moved, &error);
          g_mutex_lock (&mv->lock);
          mv->busy = FALSE;
          mv->moved += moved;
          if (error != NULL)
            mv->error = error;
        }
      if (j->moving)
        mv->n_moving--;
      job_free (j);
      if (mv->main_waits)
        g_cond_signal (&mv->done);
    }
  g_mutex_unlock (&mv->lock);
  return NULL;
}

MhMover *
mh_mover_new (MhArchive *a, MhArchiveOut *spool)
{
  MhMover *mv = g_new0 (MhMover, 1);

  mv->a = a;
  mv->spool = spool;
  g_mutex_init (&mv->lock);
  g_cond_init (&mv->work);
  g_cond_init (&mv->done);
  g_queue_init (&mv->queue);
  mv->thread = g_thread_new ("layout", mover_thread, mv);
  return mv;
}

MhMoverJob *
mh_mover_job_new (int tfd, const char *tdir)
{
  Job *j = g_new0 (Job, 1);

  j->tfd = tfd;
  j->parent_fd = -1;
  j->tdir = g_strdup (tdir);
  j->moves = g_array_new (FALSE, FALSE, sizeof (Move));
  g_array_set_clear_func (j->moves, move_clear);
  return (MhMoverJob *) j;
}

MhMoverJob *
mh_mover_job_new_dir (int parent_fd, const char *tdir)
{
  Job *j = (Job *) mh_mover_job_new (-1, tdir);

  j->parent_fd = parent_fd;
  return (MhMoverJob *) j;
}

void
mh_mover_job_add (MhMoverJob *job, const char *name, const char *from_dir,
                  const char *stage)
{
  Job *j = (Job *) job;
  Move m = { g_strdup (name), g_strdup (from_dir),
             from_dir == NULL ? g_strdup (stage) : NULL };

  g_array_append_val (j->moves, m);
}

void
mh_mover_job_set_whole (MhMoverJob *job, const char *stage)
{
  Job *j = (Job *) job;

  g_return_if_fail (j->tfd < 0 && j->whole == NULL);
  j->whole = g_strdup (stage);
}

void
mh_mover_job_free (MhMoverJob *job)
{
  job_free ((Job *) job);
}

void
mh_mover_push (MhMover *mv, MhMoverJob *job, MhConvTexts *texts,
               MhConvSpan *span)
{
  Job *j = (Job *) job;

  j->texts = texts;
  j->span = span;
  j->moving = j->tfd < 0 || j->moves->len > 0 || j->whole != NULL;
  g_mutex_lock (&mv->lock);
  while (mv->queue.length >= MAX_QUEUED)
    {
      mv->main_waits = TRUE;
      g_cond_wait (&mv->done, &mv->lock);
      mv->main_waits = FALSE;
    }
  g_queue_push_tail (&mv->queue, j);
  if (j->moving)
    mv->n_moving++;
  if (mv->mover_waits && mv->queue.length >= WAKE_BATCH)
    g_cond_signal (&mv->work);
  g_mutex_unlock (&mv->lock);
}

/* Waits until every queued job is done, or (@moves_only) every one that
 * moves or makes dirs. */
static gboolean
drain (MhMover *mv, gboolean moves_only, GError **error)
{
  gboolean ok;

  g_mutex_lock (&mv->lock);
  /* Nothing to wait for is the common case of a text-only queue: the
   * mover is then left to its batch. */
  if (mv->mover_waits && !g_queue_is_empty (&mv->queue)
      && (!moves_only || mv->n_moving > 0))
    g_cond_signal (&mv->work);
  while (moves_only ? mv->n_moving > 0
                    : !g_queue_is_empty (&mv->queue) || mv->busy)
    {
      mv->main_waits = TRUE;
      g_cond_wait (&mv->done, &mv->lock);
      mv->main_waits = FALSE;
    }
  ok = mv->error == NULL;
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&mv->error));
  g_mutex_unlock (&mv->lock);
  return ok;
}

gboolean
mh_mover_drain (MhMover *mv, GError **error)
{
  return drain (mv, FALSE, error);
}

gboolean
mh_mover_drain_moves (MhMover *mv, GError **error)
{
  return drain (mv, TRUE, error);
}

gboolean
mh_mover_free (MhMover *mv, guint *moved, GError **error)
{
  gboolean ok;

  ok = mh_mover_drain (mv, error);
  g_mutex_lock (&mv->lock);
  mv->quit = TRUE;
  g_cond_signal (&mv->work);
  g_mutex_unlock (&mv->lock);
  g_thread_join (mv->thread);
  *moved += mv->moved;
  g_clear_error (&mv->error);
  g_mutex_clear (&mv->lock);
  g_cond_clear (&mv->work);
  g_cond_clear (&mv->done);
  g_free (mv);
  return ok;
}
