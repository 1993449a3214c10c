/* writeback.c - see writeback.h. */
#include <fcntl.h>
#include <unistd.h>

#include "mailharvest/writeback.h"

/* Files from this size on get their write-back started when queued; the
 * many small ones are left to the next syncfs, which writes them in one
 * go. */
#define START_AT (256 * 1024)
/* The queue's bounds: beyond them the oldest file is waited for. */
#define MAX_BYTES (48 * 1024 * 1024)
#define MAX_FILES 512

typedef struct {
  int fd;
  guint64 size;
} Entry;

static GMutex lock;
static gboolean enabled;
static GQueue queue = G_QUEUE_INIT;
static guint64 queued_bytes;

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

static Entry *
pop_locked (void)
{
  Entry *e = g_queue_pop_head (&queue);

  if (e != NULL)
    queued_bytes -= e->size;
  return e;
}

void
mh_writeback_add (int fd, guint64 size)
{
  Entry *e;

  if (fd < 0)
    return;
  g_mutex_lock (&lock);
  if (!enabled)
    {
      g_mutex_unlock (&lock);
      (void) close (fd);
      return;
    }
  if (size >= START_AT)
    (void) sync_file_range (fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  e = g_new (Entry, 1);
  e->fd = fd;
  e->size = size;
  g_queue_push_tail (&queue, e);
  queued_bytes += size;
  while (queued_bytes > MAX_BYTES || queue.length > MAX_FILES)
    {
      Entry *old = pop_locked ();

      /* Waiting outside the lock lets the other thread queue meanwhile. */
      g_mutex_unlock (&lock);
      drop (old, TRUE);
      g_mutex_lock (&lock);
    }
  g_mutex_unlock (&lock);
}

void
mh_writeback_drop_all (void)
{
  GQueue all = G_QUEUE_INIT;
  Entry *e;

  g_mutex_lock (&lock);
  all = queue;
  g_queue_init (&queue);
  queued_bytes = 0;
  g_mutex_unlock (&lock);
  while ((e = g_queue_pop_head (&all)) != NULL)
    drop (e, FALSE);
}

void
mh_writeback_enable (gboolean enable)
{
  g_mutex_lock (&lock);
  enabled = enable;
  g_mutex_unlock (&lock);
  if (!enable)
    mh_writeback_drop_all ();
}
