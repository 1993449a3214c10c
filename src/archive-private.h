/* archive-private.h - shared by archive.c and archive-finish.c. */
#pragma once

#include <dirent.h>

#include "mailharvest/archive.h"

/* In OUTPUT/ACCOUNT while messages may wait for mh_archive_finish(). */
#define MH_ARCHIVE_PENDING_MARK ".layout-pending"

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
  MhStore *store;
  GThread *worker;           /* archive-async.c, or NULL */
  GAsyncQueue *jobs;
  GAsyncQueue *done;
  GList *ready;              /* completions taken while the queue was full */
  guint outstanding;         /* jobs queued or running, results not taken */
  gboolean layout_pending;   /* MH_ARCHIVE_PENDING_MARK exists */
  guint batch_count;         /* records since the last commit */
  gint64 batch_started;      /* monotonic time of the first of them */
};

/* Appends the names in @dir_fd (but . and ..) to @names, sorted. */
gboolean mh_archive_list_dir (int dir_fd, GPtrArray *names, GError **error);

/* Finishes the queued jobs and joins the worker thread. */
void mh_archive_stop_worker (MhArchive *a);

/* Syncs what was written and commits the store's open transaction. */
gboolean mh_archive_commit (MhArchive *a, GError **error);

/* A new fd of the dir holding @m's message dir, or -1 with @error. */
int mh_archive_message_parent (MhArchive *a, const MhStoreMessage *m,
                               GError **error);
