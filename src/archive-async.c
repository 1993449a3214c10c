/* archive-async.c - a worker thread that parses and writes while the
 * network thread keeps reading. */
#include <string.h>

#include <glib/gstdio.h>

#include "archive-private.h"

typedef struct {
  char *path;
  char *mailbox;
  MhArchiveSource src;   /* strings point into this job */
  GStrv flags;
  GStrv labels;
  char *sha256;
} Job;

/* The worker's sentinel: stop. */
static Job stop_job;

static void
job_free (Job *j)
{
  g_free (j->path);
  g_free (j->mailbox);
  g_strfreev (j->flags);
  g_strfreev (j->labels);
  g_free (j->sha256);
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

static gpointer
worker (gpointer data)
{
  MhArchive *a = data;

  for (;;)
    {
      Job *j = g_async_queue_pop (a->jobs);
      MhArchiveCompletion *c;

      if (j == &stop_job)
        break;
      c = g_new0 (MhArchiveCompletion, 1);
      c->mailbox = g_strdup (j->mailbox);
      c->uid = j->src.uid;
      if (!mh_archive_add (a, j->path, TRUE, &j->src, &c->result,
                           &c->error))
        (void) g_unlink (j->path);
      job_free (j);
      g_async_queue_push (a->done, c);
    }
  return NULL;
}

void
mh_archive_add_async (MhArchive *a, const char *raw_path,
                      const MhArchiveSource *src)
{
  Job *j = g_new0 (Job, 1);

  if (a->worker == NULL)
    {
      a->jobs = g_async_queue_new ();
      a->done = g_async_queue_new ();
      a->worker = g_thread_new ("archive", worker, a);
    }
  /* Bound the queue: wait for a result when it is full.  Results that
   * arrive meanwhile are kept for the caller. */
  while (a->outstanding >= MH_ARCHIVE_QUEUE)
    {
      MhArchiveCompletion *c = g_async_queue_pop (a->done);

      a->outstanding--;
      a->ready = g_list_append (a->ready, c);
    }
  j->path = g_strdup (raw_path);
  j->mailbox = g_strdup (src->mailbox);
  j->flags = g_strdupv ((char **) src->flags);
  j->labels = g_strdupv ((char **) src->gm_labels);
  j->src = *src;
  j->src.mailbox = j->mailbox;
  j->src.flags = (const char *const *) j->flags;
  j->src.gm_labels = (const char *const *) j->labels;
  j->sha256 = g_strdup (src->sha256);
  j->src.sha256 = j->sha256;
  a->outstanding++;
  g_async_queue_push (a->jobs, j);
}

MhArchiveCompletion *
mh_archive_next_completion (MhArchive *a, gboolean wait)
{
  MhArchiveCompletion *c;

  if (a->ready != NULL)
    {
      c = a->ready->data;
      a->ready = g_list_delete_link (a->ready, a->ready);
      return c;
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
  if (a->worker == NULL)
    return;
  g_async_queue_push (a->jobs, &stop_job);
  g_thread_join (a->worker);
  a->worker = NULL;
  g_list_free_full (a->ready, (GDestroyNotify) mh_archive_completion_free);
  a->ready = NULL;
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
}
