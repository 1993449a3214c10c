/* writeback.c - see writeback.h.
 *
 * The waiting is done on a thread of its own: sync_file_range() blocks
 * when the device queue is full, and the workers that write the archive
 * should be parsing meanwhile, not waiting for the disk. */
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mailharvest/writeback.h"

/* Files from this size on get their write-back started when queued; the
 * many small ones are left to the next syncfs, which writes them in one
 * go. */
#define START_AT (256 * 1024)
/* Started files the thread keeps: beyond, the oldest is waited for. */
#define MAX_BYTES (48 * 1024 * 1024)
/* Files held in all (queued and kept), each an open descriptor:
 * mh_writeback_add() waits beyond.  The bound comes from the descriptor
 * limit at mh_writeback_enable(): half of what is left after RESERVED for
 * the rest of the program, at most HELD_MOST.  A commit batch writes some
 * four files per message, and a file still kept at the batch's syncfs is
 * dropped without a wait; one pushed out before it is waited for on its
 * own, each a synchronous write of a small file.  With 1,024 descriptors
 * the bound is 384 files, some 90 messages; with more (main() raises the
 * soft limit to the hard one) it is 4,096, more than a whole batch (some
 * 2,100 files for the 500 messages of the bench corpus). */
#define RESERVED 256
#define HELD_LEAST 32
#define HELD_MOST 4096
/* Small files queued before the thread is woken for them: a wake-up per
 * file cost a context switch (and a preempted worker) per file. */
#define WAKE_BATCH 64

typedef enum { ENTRY_FILE, ENTRY_DROP, ENTRY_QUIT } Kind;

typedef struct {
  Kind kind;
  int fd;
  guint64 size;
  guint64 seq;   /* a file: how many were handed in before it; a drop:
                  * its mark (the files before it are dropped) */
} Entry;

static GMutex lock;
static GCond work;         /* incoming got an entry */
static GCond space;        /* held went down */
static GQueue incoming = G_QUEUE_INIT;
static guint held;         /* files in incoming and in the thread's list */
static guint64 handed;     /* files handed in so far: the next one's seq */
static guint64 closed;     /* files closed so far: the thread closes them
                            * in the order they were handed in */
static guint space_waiters; /* threads waiting in mh_writeback_add() or
                             * mh_writeback_close_handed() */
static gboolean idle;      /* the thread waits for work: only then is a
                            * signal worth its system call */
static GThread *thread;
static guint max_held = HELD_LEAST;  /* set by mh_writeback_enable() */
static guint max_files;               /* kept files: most of max_held */

static void
drop (Entry *e, gboolean wait)
{
  if (wait)
    (void) sync_file_range (e->fd, 0, 0,
                            SYNC_FILE_RANGE_WAIT_BEFORE
                            | SYNC_FILE_RANGE_WRITE
                            | SYNC_FILE_RANGE_WAIT_AFTER);
  (void) posix_fadvise (e->fd, 0, 0, POSIX_FADV_DONTNEED);
  (void) close (e->fd);
  g_free (e);
}

static void
release (guint n)
{
  if (n == 0)
    return;
  g_mutex_lock (&lock);
  held -= n;
  closed += n;
  if (space_waiters > 0)
    g_cond_broadcast (&space);
  g_mutex_unlock (&lock);
}

static gpointer
run (gpointer data)
{
  GQueue kept = G_QUEUE_INIT;   /* started, oldest first */
  guint64 kept_bytes = 0;
  gboolean quit = FALSE;

  while (!quit)
    {
      GQueue batch;
      Entry *e, *old;
      guint dropped = 0;

      g_mutex_lock (&lock);
      while (g_queue_is_empty (&incoming))
        {
          idle = TRUE;
          g_cond_wait (&work, &lock);
        }
      idle = FALSE;
      batch = incoming;
      g_queue_init (&incoming);
      g_mutex_unlock (&lock);

      while (!quit && (e = g_queue_pop_head (&batch)) != NULL)
        {
          if (e->kind == ENTRY_FILE)
            {
              if (e->size >= START_AT)
                (void) sync_file_range (e->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
              g_queue_push_tail (&kept, e);
              kept_bytes += e->size;
              while (kept_bytes > MAX_BYTES || kept.length > max_files)
                {
                  old = g_queue_pop_head (&kept);
                  kept_bytes -= old->size;
                  drop (old, TRUE);
                  dropped++;
                }
              continue;
            }
          /* After a syncfs the files handed in before it are clean; at
           * the end every file is dropped. */
          quit = e->kind == ENTRY_QUIT;
          while ((old = g_queue_peek_head (&kept)) != NULL
                 && (quit || old->seq < e->seq))
            {
              g_queue_pop_head (&kept);
              kept_bytes -= old->size;
              drop (old, FALSE);
              dropped++;
            }
          g_free (e);
        }
      /* Nothing is queued after the quit (mh_writeback_enable()). */
      g_warn_if_fail (g_queue_is_empty (&batch));
      release (dropped);
    }
  return NULL;
}

static void
push (Kind kind, int fd, guint64 size, guint64 seq)
{
  Entry *e = g_new (Entry, 1);

  e->kind = kind;
  e->fd = fd;
  e->size = size;
  e->seq = seq;
  g_queue_push_tail (&incoming, e);
  if (idle && (kind != ENTRY_FILE || size >= START_AT
               || incoming.length >= WAKE_BATCH || space_waiters > 0))
    {
      idle = FALSE;
      g_cond_signal (&work);
    }
}

void
mh_writeback_add (int fd, guint64 size)
{
  if (fd < 0)
    return;
  g_mutex_lock (&lock);
  if (thread == NULL)
    {
      g_mutex_unlock (&lock);
      (void) close (fd);
      return;
    }
  while (held >= max_held)
    {
      if (idle)
        {
          /* What waits in incoming is all the thread could free. */
          idle = FALSE;
          g_cond_signal (&work);
        }
      space_waiters++;
      g_cond_wait (&space, &lock);
      space_waiters--;
    }
  held++;
  push (ENTRY_FILE, fd, size, handed++);
  g_mutex_unlock (&lock);
}

guint64
mh_writeback_mark (void)
{
  guint64 mark;

  g_mutex_lock (&lock);
  mark = handed;
  g_mutex_unlock (&lock);
  return mark;
}

void
mh_writeback_drop_until (guint64 mark)
{
  g_mutex_lock (&lock);
  if (thread != NULL)
    push (ENTRY_DROP, -1, 0, mark);
  g_mutex_unlock (&lock);
}

void
mh_writeback_drop_all (void)
{
  mh_writeback_drop_until (G_MAXUINT64);
}

void
mh_writeback_close_handed (void)
{
  guint64 mark;

  g_mutex_lock (&lock);
  mark = handed;
  if (thread != NULL && closed < mark)
    {
      push (ENTRY_DROP, -1, 0, mark);
      space_waiters++;
      while (closed < mark)
        g_cond_wait (&space, &lock);
      space_waiters--;
    }
  g_mutex_unlock (&lock);
}

void
mh_writeback_enable (gboolean enable)
{
  GThread *t = NULL;

  g_mutex_lock (&lock);
  if (enable && thread == NULL)
    {
      struct rlimit rl;
      rlim_t n = HELD_LEAST;

      if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 2 * RESERVED)
        n = (rl.rlim_cur - RESERVED) / 2;
      max_held = (guint) CLAMP (n, (rlim_t) HELD_LEAST, (rlim_t) HELD_MOST);
      max_files = max_held - max_held / 8;
      thread = g_thread_new ("writeback", run, NULL);
    }
  else if (!enable && thread != NULL)
    {
      push (ENTRY_QUIT, -1, 0, G_MAXUINT64);
      t = thread;
      thread = NULL;
    }
  g_mutex_unlock (&lock);
  if (t != NULL)
    g_thread_join (t);
}
