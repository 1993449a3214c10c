/* archive.c - one account's archive: open and lock it, batches and
 * commits, locations; adding a message is in archive-add.c. */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "archive-private.h"
#include "mailharvest/error.h"
#include "mailharvest/layout.h"
#include "mailharvest/writeback.h"
#include "mailharvest/writer.h"

/* Messages per store commit (and syncfs).  500 since big files skip the
 * page cache: a sync then writes only the small files, and fewer of them
 * cost less (ten alternating pairs on 2026-11-25: medians of 6.81 s
 * against 7.21 s with 200; 1,000 was tried before and was slower).  A
 * killed run fetches at most this many again. */
#define DEFAULT_COMMIT_EVERY 500
#define COMMIT_SECONDS 5

/* TRUE on the N-th call with @name when the variable @var is "NAME:N",
 * and on every call from the N-th on with "NAME:N+" (a disk that stays
 * full).  Workers call it too: the counts are shared under a lock. */
static gboolean
debug_point (guint which, const char *var, const char *name)
{
  static GHashTable *counts[2];
  G_LOCK_DEFINE_STATIC (counts);
  const char *spec = g_getenv (var);
  const char *colon;
  guint n;

  if (spec == NULL || (colon = strchr (spec, ':')) == NULL)
    return FALSE;
  if ((gsize) (colon - spec) != strlen (name)
      || strncmp (spec, name, (gsize) (colon - spec)) != 0)
    return FALSE;
  G_LOCK (counts);
  if (counts[which] == NULL)
    counts[which] = g_hash_table_new (g_str_hash, g_str_equal);
  n = GPOINTER_TO_UINT (g_hash_table_lookup (counts[which], name)) + 1;
  g_hash_table_insert (counts[which], (gpointer) name, GUINT_TO_POINTER (n));
  G_UNLOCK (counts);
  {
    char *end = NULL;
    guint want = (guint) strtoul (colon + 1, &end, 10);

    return end != NULL && *end == '+' ? n >= want : n == want;
  }
}

void
mh_debug_kill_point (const char *name)
{
  if (debug_point (0, "MH_DEBUG_KILL_AT", name))
    raise (SIGKILL);
}

gboolean
mh_debug_fail_point (const char *name)
{
  return debug_point (1, "MH_DEBUG_FAIL_AT", name);
}

void
mh_archive_add_result_clear (MhArchiveAddResult *result)
{
  g_clear_pointer (&result->key, g_free);
  memset (result, 0, sizeof *result);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

gboolean
mh_archive_list_dir (int dir_fd, GPtrArray *names, GError **error)
{
  int fd = dup (dir_fd);
  DIR *d;
  struct dirent *de;

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      int saved = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot list a dir: %s",
                   g_strerror (saved));
      return FALSE;
    }
  /* The dup shares its offset with @dir_fd: start from the top. */
  rewinddir (d);
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      g_ptr_array_add (names, g_strdup (de->d_name));
  closedir (d);
  g_ptr_array_sort (names, compare_names);
  return TRUE;
}

static gboolean
remove_dir_contents (int dir_fd, GError **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  if (!mh_archive_list_dir (dir_fd, names, error))
    return FALSE;
  for (guint i = 0; i < names->len; i++)
    if (!mh_writer_remove_tree (dir_fd, names->pdata[i], error))
      return FALSE;
  return TRUE;
}

MhArchive *
mh_archive_open (const MhArchiveOptions *options, GError **error)
{
  g_autoptr(MhArchive) a = g_new0 (MhArchive, 1);
  g_autofree char *store_path = NULL;

  a->out_fd = a->account_fd = a->threads_fd = a->incoming_fd = -1;
  a->tmp_fd = a->lock_fd = -1;
  g_mutex_init (&a->lock);
  g_mutex_init (&a->queue_lock);
  g_mutex_init (&a->stage_lock);
  a->stages = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_cond_init (&a->commit_cond);
  g_cond_init (&a->space_cond);
  g_queue_init (&a->ready);
  a->options = *options;
  a->options.output = NULL;
  a->options.account = NULL;
  if (a->options.commit_every == 0)
    a->options.commit_every = DEFAULT_COMMIT_EVERY;
  a->account = g_strdup (options->account);

  if (g_mkdir_with_parents (options->output, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, MH_ERROR, MH_ERROR_IO,
                   "cannot create the output dir %s: %s", options->output,
                   g_strerror (saved));
      return NULL;
    }
  a->out_fd = mh_writer_open_root (options->output, error);
  if (a->out_fd < 0)
    return NULL;
  a->dir = g_build_filename (options->output, options->account, NULL);
  a->tmp_dir = g_build_filename (a->dir, ".tmp", NULL);
  a->account_fd = mh_writer_open_dir (a->out_fd, options->account, TRUE,
                                      error);
  if (a->account_fd < 0)
    return NULL;
  a->threads_fd = mh_writer_open_dir (a->account_fd, "threads", TRUE, error);
  if (a->threads_fd < 0)
    return NULL;
  a->incoming_fd = mh_writer_open_dir (a->account_fd, ".incoming", TRUE,
                                       error);
  if (a->incoming_fd < 0)
    return NULL;
  /* One process per account at a time: a second one would take the
   * first one's temporary files for what a killed run left, and the two
   * would lay out the same conversations at once. */
  a->lock_fd = openat (a->account_fd, ".lock",
                       O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (a->lock_fd < 0 || flock (a->lock_fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved = errno;

      if (saved == EWOULDBLOCK)
        g_set_error (error, MH_ERROR, MH_ERROR_IO,
                     "%s is in use by another mailharvest process; "
                     "try again when it is done", a->dir);
      else
        g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot lock %s: %s",
                     a->dir, g_strerror (saved));
      return NULL;
    }
  a->tmp_fd = mh_writer_open_dir (a->account_fd, ".tmp", TRUE, error);
  if (a->tmp_fd < 0)
    return NULL;
  /* Whatever is in .tmp belonged to a run that was killed. */
  if (!remove_dir_contents (a->tmp_fd, error))
    return NULL;
  if (mh_writer_clean_stale (a->incoming_fd, error) < 0)
    return NULL;
  /* threads.json and index.html are written as ".tmp-NAME.PID" and
   * renamed; a run killed in between leaves that file here. */
  if (mh_writer_clean_stale (a->account_fd, error) < 0)
    return NULL;

  store_path = g_build_filename (a->dir, "state.sqlite", NULL);
  a->store = mh_store_open (store_path, error);
  if (a->store == NULL || !mh_archive_recover_layout (a, error))
    return NULL;
  mh_writer_set_sync (FALSE);
  return g_steal_pointer (&a);
}

void
mh_archive_free (MhArchive *a)
{
  if (a == NULL)
    return;
  mh_archive_stop_worker (a);
  if (a->store != NULL && mh_store_in_transaction (a->store))
    {
      g_autoptr(GError) error = NULL;

      /* A failed commit here means the batch is fetched again next time;
       * nothing on disk depends on it. */
      (void) mh_archive_commit (a, &error);
    }
  g_clear_pointer (&a->store, mh_store_free);
  /* Closes what the writer queued (writeback.h). */
  mh_writeback_drop_all ();
  if (a->tmp_fd >= 0)
    close (a->tmp_fd);
  if (a->incoming_fd >= 0)
    close (a->incoming_fd);
  if (a->threads_fd >= 0)
    close (a->threads_fd);
  if (a->account_fd >= 0)
    close (a->account_fd);
  /* Last: the lock goes with its descriptor. */
  if (a->lock_fd >= 0)
    close (a->lock_fd);
  if (a->out_fd >= 0)
    close (a->out_fd);
  g_free (a->account);
  g_free (a->dir);
  g_free (a->tmp_dir);
  g_mutex_clear (&a->lock);
  g_mutex_clear (&a->queue_lock);
  g_mutex_clear (&a->stage_lock);
  g_clear_pointer (&a->stages, g_hash_table_unref);
  g_cond_clear (&a->commit_cond);
  g_cond_clear (&a->space_cond);
  g_clear_error (&a->commit_error);
  g_clear_pointer (&a->lost, g_ptr_array_unref);
  g_free (a);
}

MhStore *
mh_archive_get_store (MhArchive *a)
{
  return a->store;
}

const char *
mh_archive_get_dir (MhArchive *a)
{
  return a->dir;
}

const char *
mh_archive_get_tmp_dir (MhArchive *a)
{
  return a->tmp_dir;
}

gboolean
mh_archive_commit (MhArchive *a, GError **error)
{
  gboolean ok;

  g_mutex_lock (&a->lock);
  /* A batch the committer thread is syncing is its to finish. */
  while (a->commit_wanted)
    g_cond_wait (&a->commit_cond, &a->lock);
  if (a->commit_error != NULL)
    {
      g_propagate_error (error, g_error_copy (a->commit_error));
      g_mutex_unlock (&a->lock);
      return FALSE;
    }
  ok = mh_archive_commit_locked (a, error);
  g_mutex_unlock (&a->lock);
  return ok;
}

gboolean
mh_archive_commit_locked (MhArchive *a, GError **error)
{
  guint64 mark;

  if (!mh_store_in_transaction (a->store))
    return TRUE;
  /* Written before recorded: everything the batch wrote reaches the disk
   * before the store says it exists (the writer does not sync file by
   * file, see mh_writer_set_sync()). */
  mark = mh_writeback_mark ();
  if (syncfs (a->account_fd) != 0)
    {
      int saved = errno;

      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot sync %s: %s",
                   a->dir, g_strerror (saved));
      return FALSE;
    }
  /* Everything written before the sync is clean now: let its pages go. */
  mh_writeback_drop_until (mark);
  a->batch_count = 0;
  return mh_store_commit (a->store, error);
}

gboolean
mh_archive_flush (MhArchive *a, GError **error)
{
  return mh_archive_commit (a, error);
}

/* Records go in batches: one transaction, and one sync, per
 * commit_every messages or COMMIT_SECONDS. */
gboolean
mh_archive_maybe_commit (MhArchive *a, GError **error)
{
  gint64 now = g_get_monotonic_time ();

  if (!mh_store_in_transaction (a->store))
    return TRUE;
  if (a->batch_count == 0)
    a->batch_started = now;
  a->batch_count++;
  if (a->batch_count < a->options.commit_every
      && now - a->batch_started < COMMIT_SECONDS * G_USEC_PER_SEC)
    return TRUE;
  if (mh_archive_seal_batch (a))
    return TRUE;
  return mh_archive_commit_locked (a, error);
}

/* The marker says "the layout may be behind the store": made before the
 * first message of a process is written, removed when a finish has laid
 * everything out.  Without it, and with nothing added, a finish has
 * nothing to do, which keeps a run with nothing new fast and small. */
gboolean
mh_archive_mark_pending (MhArchive *a, GError **error)
{
  if (g_atomic_int_get (&a->layout_pending))
    return TRUE;
  if (!mh_archive_make_mark (a, MH_ARCHIVE_PENDING_MARK, error))
    return FALSE;
  g_atomic_int_set (&a->layout_pending, TRUE);
  return TRUE;
}

gboolean
mh_archive_make_mark (MhArchive *a, const char *name, GError **error)
{
  int fd = openat (a->account_fd, name,
                   O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);

  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot create %s/%s: %s",
                   a->dir, name, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

gboolean
mh_archive_remove_mark (MhArchive *a, const char *name, GError **error)
{
  if (unlinkat (a->account_fd, name, 0) != 0 && errno != ENOENT)
    {
      int saved = errno;

      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot remove %s/%s: %s",
                   a->dir, name, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

gboolean
mh_archive_ensure_transaction (MhArchive *a, GError **error)
{
  if (mh_store_in_transaction (a->store))
    return TRUE;
  return mh_store_begin (a->store, error);
}

char *
mh_archive_stage_dir (const MhStoreMessage *m)
{
  return mh_layout_stage_dir (m->gm_thrid, m->references_raw,
                              m->in_reply_to_raw, m->message_id, m->key);
}

/* The messages of a conversation share a staging dir, so most adds find
 * theirs made: a mkdir that fails with EEXIST still costs a lookup under
 * .incoming's lock (7,000 of them in a full run of the bench corpus).
 * A name seen before is only opened.  It is a hint: a dir gone since
 * (the conversation step moved it) is made again, and at MAX_STAGES
 * names the set starts over, so that it does not grow with the run. */
#define MAX_STAGES 4096

int
mh_archive_open_stage (MhArchive *a, const char *stage, GError **error)
{
  gboolean seen;
  int fd;

  g_mutex_lock (&a->stage_lock);
  seen = g_hash_table_contains (a->stages, stage);
  g_mutex_unlock (&a->stage_lock);
  if (seen)
    {
      fd = mh_writer_open_dir (a->incoming_fd, stage, FALSE, NULL);
      if (fd >= 0)
        return fd;
    }
  fd = mh_writer_open_dir (a->incoming_fd, stage, TRUE, error);
  if (fd < 0)
    return -1;
  g_mutex_lock (&a->stage_lock);
  if (g_hash_table_size (a->stages) >= MAX_STAGES)
    g_hash_table_remove_all (a->stages);
  g_hash_table_add (a->stages, g_strdup (stage));
  g_mutex_unlock (&a->stage_lock);
  return fd;
}

/* The open dir that holds message @m's dir now: its thread dir once
 * placed, its staging dir in .incoming before. */
int
mh_archive_message_parent (MhArchive *a, const MhStoreMessage *m,
                           GError **error)
{
  g_autofree char *stage = NULL;
  int fd;

  if (m->thread_dir != NULL)
    return mh_writer_open_dir (a->threads_fd, m->thread_dir, FALSE, error);
  stage = mh_archive_stage_dir (m);
  fd = mh_writer_open_dir (a->incoming_fd, stage, FALSE, NULL);
  if (fd >= 0 && mh_writer_dir_exists (fd, m->dir))
    return fd;
  /* Left in .incoming itself by a version before the staging dirs. */
  if (mh_writer_dir_exists (a->incoming_fd, m->dir))
    {
      if (fd >= 0)
        close (fd);
      return dup (a->incoming_fd);
    }
  if (fd >= 0)
    return fd;
  return mh_writer_open_dir (a->incoming_fd, stage, FALSE, error);
}

/* message.json lists every location: rewrite it from the store's.
 * @src is the copy just seen, or NULL. */
static gboolean
refresh_locations (MhArchive *a, const MhStoreMessage *m,
                   const MhArchiveSource *src, GError **error)
{
  g_autoptr(GPtrArray) locs = NULL;
  g_autoptr(GArray) arr = g_array_new (FALSE, TRUE, sizeof (MhLocation));
  MhWriteMeta meta = { 0 };
  int parent;
  gboolean ok;

  if (!mh_store_list_locations (a->store, m->key, &locs, error))
    return FALSE;
  for (guint i = 0; i < locs->len; i++)
    {
      MhStoreLocation *l = locs->pdata[i];
      MhLocation loc = { l->mailbox, l->uidvalidity, l->uid };

      g_array_append_val (arr, loc);
    }
  meta.account = a->account;
  meta.locations = (const MhLocation *) arr->data;
  meta.n_locations = arr->len;
  /* Without a source (a location forgotten, not a copy seen), flags,
   * INTERNALDATE and the Gmail fields already written stay as they are. */
  if (src != NULL)
    {
      meta.gmail_msgid = m->gm_msgid;
      meta.gmail_thrid = src->gm_thrid;
      meta.gmail_labels = src->gm_labels;
      meta.flags = src->flags;
      meta.internaldate = src->internaldate;
    }

  parent = mh_archive_message_parent (a, m, error);
  if (parent < 0)
    return FALSE;
  ok = mh_writer_update_locations (parent, m->dir, &meta, error);
  close (parent);
  return ok;
}

gboolean
mh_archive_record_location (MhArchive *a, const MhStoreMessage *m,
                 const MhArchiveSource *src, GError **error)
{
  if (!mh_archive_ensure_transaction (a, error)
      || !mh_store_add_location (a->store, m->key, src->mailbox,
                              src->uidvalidity, src->uid, error))
    return FALSE;
  if (!refresh_locations (a, m, src, error))
    return FALSE;
  return mh_archive_maybe_commit (a, error);
}

gboolean
mh_archive_raw_starts_with (MhArchive *a, const MhStoreMessage *m,
                            const guint8 *head, gsize len)
{
  g_autoptr(GError) local = NULL;
  g_autofree guint8 *buf = NULL;
  struct stat st;
  gsize got = 0;
  int parent, dir, fd;

  if (len == 0 || m->dir == NULL || strchr (m->dir, '/') != NULL)
    return FALSE;
  /* A message dir that cannot be opened (removed by hand, say) only
   * means no match: the message is then fetched again. */
  parent = mh_archive_message_parent (a, m, &local);
  if (parent < 0)
    return FALSE;
  dir = openat (parent, m->dir,
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  close (parent);
  if (dir < 0)
    return FALSE;
  fd = openat (dir, "message.eml", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  close (dir);
  if (fd < 0)
    return FALSE;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)
      || (guint64) st.st_size != m->size || (guint64) st.st_size < len)
    {
      close (fd);
      return FALSE;
    }
  buf = g_malloc (len);
  while (got < len)
    {
      ssize_t n = pread (fd, buf + got, len - got, (off_t) got);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      got += (gsize) n;
    }
  close (fd);
  return got == len && memcmp (buf, head, len) == 0;
}

gboolean
mh_archive_add_location (MhArchive *a, const char *key,
                         const MhArchiveSource *src, GError **error)
{
  g_autoptr(MhStoreMessage) m = NULL;

  if (!mh_archive_mark_pending (a, error)
      || !mh_store_lookup_key (a->store, key, &m, error))
    return FALSE;
  if (m == NULL)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO,
                   "no stored message %s", key);
      return FALSE;
    }
  return mh_archive_record_location (a, m, src, error);
}

gboolean
mh_archive_forget_locations_above (MhArchive *a, const char *mailbox,
                                   guint32 uidvalidity, guint32 uid,
                                   GError **error)
{
  g_autoptr(GPtrArray) keys = NULL;

  if (!mh_archive_ensure_transaction (a, error)
      || !mh_store_drop_locations_above (a->store, mailbox, uidvalidity, uid,
                                         &keys, error))
    return FALSE;
  for (guint i = 0; i < keys->len; i++)
    if (!mh_archive_refresh_locations (a, keys->pdata[i], error))
      return FALSE;
  return mh_archive_maybe_commit (a, error);
}

gboolean
mh_archive_refresh_locations (MhArchive *a, const char *key, GError **error)
{
  g_autoptr(MhStoreMessage) m = NULL;

  if (!mh_archive_mark_pending (a, error)
      || !mh_store_lookup_key (a->store, key, &m, error))
    return FALSE;
  return m == NULL || refresh_locations (a, m, NULL, error);
}
