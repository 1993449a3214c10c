/* rawbuf.c - reusable aligned buffers for fetched messages (rawbuf.h).
 *
 * Each buffer is a mapping of its own: page-aligned, and given back to
 * the system whole when trimmed, whatever the allocator would keep. */
#include <sys/mman.h>

#include "mailharvest/rawbuf.h"

#define MAX_BUFS (MH_RAWBUF_BUDGET / MH_RAWBUF_GRAIN)

typedef struct {
  guint8 *data;          /* NULL: the slot is free */
  gsize cap;
  gboolean in_use;
} Buf;

static GMutex lock;
static Buf bufs[MAX_BUFS];
static gsize allocated;

static gsize
round_up (gsize size)
{
  return (MAX (size, (gsize) 1) + MH_RAWBUF_GRAIN - 1)
         / MH_RAWBUF_GRAIN * MH_RAWBUF_GRAIN;
}

static void
drop (Buf *b)
{
  allocated -= b->cap;
  munmap (b->data, b->cap);
  b->data = NULL;
  b->cap = 0;
}

guint8 *
mh_rawbuf_take (gsize size)
{
  gsize cap = round_up (size);
  Buf *best = NULL;
  Buf *slot = NULL;
  guint8 *data = NULL;
  gsize kept = 0;

  if (size > MH_RAWBUF_MAX)
    return NULL;
  g_mutex_lock (&lock);
  /* The smallest kept buffer that is big enough. */
  for (guint i = 0; i < MAX_BUFS; i++)
    if (bufs[i].data != NULL && !bufs[i].in_use && bufs[i].cap >= cap
        && (best == NULL || bufs[i].cap < best->cap))
      best = &bufs[i];
  if (best != NULL)
    {
      best->in_use = TRUE;
      data = best->data;
      goto out;
    }
  /* Make room: kept buffers (all too small for this one) are let go,
   * smallest first, until a new one fits; none is when that cannot
   * make room enough. */
  for (guint i = 0; i < MAX_BUFS; i++)
    if (bufs[i].data != NULL && !bufs[i].in_use)
      kept += bufs[i].cap;
  if (allocated - kept + cap > MH_RAWBUF_BUDGET)
    goto out;
  while (allocated + cap > MH_RAWBUF_BUDGET)
    {
      Buf *victim = NULL;

      for (guint i = 0; i < MAX_BUFS; i++)
        if (bufs[i].data != NULL && !bufs[i].in_use
            && (victim == NULL || bufs[i].cap < victim->cap))
          victim = &bufs[i];
      drop (victim);
    }
  for (guint i = 0; i < MAX_BUFS && slot == NULL; i++)
    if (bufs[i].data == NULL)
      slot = &bufs[i];
  /* Every buffer is at least a grain, so a slot is free when the budget
   * has room. */
  g_assert (slot != NULL);
  data = mmap (NULL, cap, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (data == MAP_FAILED)
    {
      data = NULL;
      goto out;
    }
  slot->data = data;
  slot->cap = cap;
  slot->in_use = TRUE;
  allocated += cap;
out:
  g_mutex_unlock (&lock);
  return data;
}

void
mh_rawbuf_give (guint8 *buf)
{
  if (buf == NULL)
    return;
  g_mutex_lock (&lock);
  for (guint i = 0; i < MAX_BUFS; i++)
    if (bufs[i].data == buf)
      {
        g_assert (bufs[i].in_use);
        bufs[i].in_use = FALSE;
        g_mutex_unlock (&lock);
        return;
      }
  g_mutex_unlock (&lock);
  g_assert_not_reached ();
}

static void
give_notify (gpointer buf)
{
  mh_rawbuf_give (buf);
}

GBytes *
mh_rawbuf_to_bytes (guint8 *buf, gsize len)
{
  return g_bytes_new_with_free_func (buf, len, give_notify, buf);
}

void
mh_rawbuf_trim (void)
{
  g_mutex_lock (&lock);
  for (guint i = 0; i < MAX_BUFS; i++)
    if (bufs[i].data != NULL && !bufs[i].in_use)
      drop (&bufs[i]);
  g_mutex_unlock (&lock);
}

gsize
mh_rawbuf_allocated (void)
{
  gsize n;

  g_mutex_lock (&lock);
  n = allocated;
  g_mutex_unlock (&lock);
  return n;
}
