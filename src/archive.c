/* archive.c - one account's archive: dedupe, parse, write, record. */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "archive-private.h"
#include "mailharvest/error.h"
#include "mailharvest/layout.h"
#include "mailharvest/msgid.h"
#include "mailharvest/sha256.h"
#include "mailharvest/writeback.h"
#include "mailharvest/writer.h"

#define DEFAULT_COMMIT_EVERY 200
#define COMMIT_SECONDS 5

/* TRUE on the N-th call with @name when the variable @var is "NAME:N".
 * Workers call it too: the counts are shared under a lock. */
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
  return n == (guint) strtoul (colon + 1, NULL, 10);
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
  a->out_fd = mh_writer_open_dir (AT_FDCWD, options->output, FALSE, error);
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
  if (a->store == NULL)
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

/* The raw message's SHA-256 in hex. */
static char *
hash_raw (const MhArchiveRaw *raw, GError **error)
{
  g_autoptr(MhSha256) sum = mh_sha256_new ();
  const char *what = raw->path != NULL ? raw->path : "the fetched message";
  int fd = raw->fd >= 0 ? raw->fd
                        : open (raw->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  guint64 size;
  gboolean ok;
  int saved;

  if (fd < 0)
    {
      saved = errno;
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot open %s: %s", what,
                   g_strerror (saved));
      return NULL;
    }
  ok = mh_sha256_update_fd (sum, fd, &size);
  saved = errno;
  if (fd != raw->fd)
    close (fd);
  if (!ok)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot read %s: %s", what,
                   g_strerror (saved));
      return NULL;
    }
  return g_strdup (mh_sha256_get_string (sum));
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
static gboolean
maybe_commit (MhArchive *a, GError **error)
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
static gboolean
mark_layout_pending (MhArchive *a, GError **error)
{
  int fd;

  if (g_atomic_int_get (&a->layout_pending))
    return TRUE;
  fd = openat (a->account_fd, MH_ARCHIVE_PENDING_MARK,
               O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot create %s/%s: %s",
                   a->dir, MH_ARCHIVE_PENDING_MARK, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  g_atomic_int_set (&a->layout_pending, TRUE);
  return TRUE;
}

static gboolean
ensure_transaction (MhArchive *a, GError **error)
{
  if (mh_store_in_transaction (a->store))
    return TRUE;
  return mh_store_begin (a->store, error);
}

/* The open dir that holds message @m's dir now: its thread dir once
 * placed, .incoming before. */
int
mh_archive_message_parent (MhArchive *a, const MhStoreMessage *m,
                           GError **error)
{
  if (m->thread_dir == NULL)
    return dup (a->incoming_fd);
  return mh_writer_open_dir (a->threads_fd, m->thread_dir, FALSE, error);
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

static gboolean
record_location (MhArchive *a, const MhStoreMessage *m,
                 const MhArchiveSource *src, GError **error)
{
  if (!ensure_transaction (a, error)
      || !mh_store_add_location (a->store, m->key, src->mailbox,
                              src->uidvalidity, src->uid, error))
    return FALSE;
  if (!refresh_locations (a, m, src, error))
    return FALSE;
  return maybe_commit (a, error);
}

gboolean
mh_archive_add_location (MhArchive *a, const char *key,
                         const MhArchiveSource *src, GError **error)
{
  g_autoptr(MhStoreMessage) m = NULL;

  if (!mark_layout_pending (a, error)
      || !mh_store_lookup_key (a->store, key, &m, error))
    return FALSE;
  if (m == NULL)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO,
                   "no stored message %s", key);
      return FALSE;
    }
  return record_location (a, m, src, error);
}

gboolean
mh_archive_refresh_locations (MhArchive *a, const char *key, GError **error)
{
  g_autoptr(MhStoreMessage) m = NULL;

  if (!mark_layout_pending (a, error)
      || !mh_store_lookup_key (a->store, key, &m, error))
    return FALSE;
  return m == NULL || refresh_locations (a, m, NULL, error);
}

static gboolean
location_known (MhArchive *a, const MhArchiveSource *src, gboolean *known,
                GError **error)
{
  g_autoptr(GArray) pending = NULL;

  if (!mh_store_pending_uids (a->store, src->mailbox, src->uidvalidity,
                              &src->uid, 1, &pending, error))
    return FALSE;
  *known = pending->len == 0;
  return TRUE;
}

static const char *
first_participant (const MhMessage *msg)
{
  if (msg->from == NULL || msg->participants->len == 0)
    return NULL;
  return msg->participants->pdata[0];
}

/* The same message with other bytes: Inbox and Sent copies of one mail
 * differ in Received and Delivered-To lines but share Message-ID, Date
 * and sender.  Two different messages with one id (it happens) differ in
 * one of those and are both kept. */
static gboolean
find_same_message (MhArchive *a, const char *msgid, gint64 date,
                   const char *from, MhStoreMessage **found_out,
                   GError **error)
{
  g_autoptr(GPtrArray) cands = NULL;

  *found_out = NULL;
  if (msgid == NULL)
    return TRUE;
  if (!mh_store_lookup_message_id (a->store, msgid, &cands, error))
    return FALSE;
  for (guint i = 0; i < cands->len; i++)
    {
      MhStoreMessage *c = cands->pdata[i];

      if (c->date == date && g_strcmp0 (c->from_addr, from) == 0)
        {
          *found_out = g_ptr_array_steal_index (cands, i);
          return TRUE;
        }
    }
  return TRUE;
}

static GPtrArray *
store_attachments (const MhWriteResult *res)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (
      (GDestroyNotify) mh_store_attachment_free);

  for (guint i = 0; i < res->attachments->len; i++)
    {
      const MhWrittenAttachment *w = res->attachments->pdata[i];
      MhStoreAttachment *s = mh_store_attachment_new ();

      s->part = g_strdup (w->part);
      s->filename = g_strdup (w->filename);
      s->path = g_strdup (w->path);
      s->content_type = g_strdup (w->content_type);
      s->size = w->size;
      s->sha256 = g_strdup (w->sha256);
      g_ptr_array_add (out, s);
    }
  return out;
}

/* What the store will say about a message just written. */
static MhStoreMessage *
store_message (const MhMessage *msg, const char *key, const char *msgid,
               const MhArchiveSource *src, const MhWriteResult *res,
               const char *dir)
{
  MhStoreMessage *m = mh_store_message_new ();
  GString *participants = g_string_new (NULL);

  for (guint i = 0; i < msg->participants->len; i++)
    {
      if (i > 0)
        g_string_append_c (participants, '\n');
      g_string_append (participants, msg->participants->pdata[i]);
    }
  m->key = g_strdup (key);
  m->message_id = g_strdup (msgid);
  m->gm_msgid = src->gm_msgid;
  if (src->gm_thrid != 0)
    m->gm_thrid = g_strdup_printf ("%" G_GUINT64_FORMAT, src->gm_thrid);
  else
    m->gm_thrid = g_strdup (msg->gm_thrid);
  m->date = msg->date;
  m->subject = g_strdup (msg->subject);
  m->from_addr = g_strdup (first_participant (msg));
  m->participants = g_string_free (participants, FALSE);
  m->references_raw = g_strdup (msg->references_raw);
  m->in_reply_to_raw = g_strdup (msg->in_reply_to_raw);
  m->thread_index = g_strdup (msg->thread_index);
  m->thread_topic = g_strdup (msg->thread_topic);
  m->size = res->size;
  m->dir = g_strdup (dir);
  return m;
}

static void
discard_raw (const MhArchiveRaw *raw)
{
  if (raw->path != NULL && raw->move)
    (void) g_unlink (raw->path);
}

void
mh_archive_prep_clear (MhArchivePrep *p)
{
  g_clear_pointer (&p->key, g_free);
  g_clear_pointer (&p->msgid, g_free);
  g_clear_pointer (&p->existing, mh_store_message_free);
  g_clear_pointer (&p->message, mh_store_message_free);
  g_clear_pointer (&p->attachments, g_ptr_array_unref);
}

/* The store is shared by the workers: every use outside the record step
 * (which holds the lock throughout) takes the lock. */
static void
store_lock (MhArchive *a, gboolean locked)
{
  if (!locked)
    g_mutex_lock (&a->lock);
}

static void
store_unlock (MhArchive *a, gboolean locked)
{
  if (!locked)
    g_mutex_unlock (&a->lock);
}

gboolean
mh_archive_prepare (MhArchive *a, const MhArchiveRaw *raw,
                    const MhArchiveSource *src, gboolean locked,
                    MhArchivePrep *p, GError **error)
{
  g_autoptr(MhMessage) msg = NULL;
  g_autoptr(MhWriteResult) res = NULL;
  g_autofree char *dir = NULL;
  MhParseOptions popts = { 0 };
  MhLocation loc = { src->mailbox, src->uidvalidity, src->uid };
  MhWriteMeta meta = { 0 };
  gboolean known = FALSE, ok;

  memset (p, 0, sizeof *p);
  /* A worker (not @locked) prepares a message the run fetched because
   * the store did not have its location, and mh_archive_record() looks
   * at the location when it records, under the lock it holds anyway:
   * the workers, which wait for each other's records on that lock, take
   * it here only until the pending mark is made. */
  if (locked || !g_atomic_int_get (&a->layout_pending))
    {
      store_lock (a, locked);
      ok = mark_layout_pending (a, error)
           && (!locked || location_known (a, src, &known, error));
      store_unlock (a, locked);
      if (!ok)
        return FALSE;
    }
  if (known)
    {
      p->kind = MH_PREP_KNOWN;
      return TRUE;
    }

  p->key = src->sha256 != NULL ? g_strdup (src->sha256)
                               : hash_raw (raw, error);
  if (p->key == NULL)
    return FALSE;
  store_lock (a, locked);
  ok = mh_store_lookup_key (a->store, p->key, &p->existing, error);
  store_unlock (a, locked);
  if (!ok)
    return FALSE;
  if (p->existing != NULL)
    {
      p->kind = MH_PREP_DUPLICATE;
      return TRUE;
    }

  popts.fallback_date = src->internaldate;
  if (src->raw != NULL)
    msg = mh_message_parse_bytes (src->raw, &popts);
  else if (raw->fd >= 0)
    msg = mh_message_parse_fd (raw->fd, 0, -1, &popts, error);
  else
    msg = mh_message_parse_file (raw->path, &popts, error);
  if (msg == NULL)
    return FALSE;
  p->msgid = mh_msgid_normalize (msg->message_id);
  /* The same message with other bytes (find_same_message()) is rare, and
   * mh_archive_record() looks for it under its lock in any case: a worker
   * writes the dir and the record step removes it again, rather than
   * every message waiting for the lock once more. */
  if (locked
      && !find_same_message (a, p->msgid, msg->date, first_participant (msg),
                             &p->existing, error))
    return FALSE;
  if (p->existing != NULL)
    {
      p->kind = MH_PREP_DUPLICATE;
      return TRUE;
    }

  dir = mh_layout_message_dir (msg->date, p->key);
  meta.account = a->account;
  meta.locations = &loc;
  meta.n_locations = 1;
  meta.gmail_msgid = src->gm_msgid;
  meta.gmail_thrid = src->gm_thrid;
  meta.gmail_labels = src->gm_labels;
  meta.flags = src->flags;
  meta.internaldate = src->internaldate;
  meta.raw_sha256 = p->key;
  if (!mh_writer_stage_message (a->incoming_fd, dir, raw->path, raw->fd,
                                raw->move, msg, &meta, &res, error))
    return FALSE;
  mh_debug_kill_point ("written");

  p->message = store_message (msg, p->key, p->msgid, src, res, dir);
  p->attachments = store_attachments (res);
  p->n_warnings = res->n_warnings;
  p->kind = MH_PREP_WRITTEN;
  return TRUE;
}

gboolean
mh_archive_record (MhArchive *a, const MhArchiveRaw *raw,
                   const MhArchiveSource *src, MhArchivePrep *p,
                   MhArchiveAddResult *result_out, GError **error)
{
  memset (result_out, 0, sizeof *result_out);
  if (p->kind == MH_PREP_SERIAL)
    {
      if (!mh_archive_prepare (a, raw, src, TRUE, p, error))
        return FALSE;
    }
  else if (p->kind != MH_PREP_KNOWN)
    {
      /* Prepared by a worker, which did not look at the location: one
       * fetched twice in a run (a retry after a lost connection) is
       * recorded once, as if the two had come one by one. */
      gboolean known = FALSE;

      if (!location_known (a, src, &known, error))
        return FALSE;
      if (known && p->kind == MH_PREP_WRITTEN
          && !mh_writer_remove_tree (a->incoming_fd, p->message->dir, error))
        return FALSE;
      if (known)
        p->kind = MH_PREP_KNOWN;
    }

  if (p->kind == MH_PREP_WRITTEN && p->msgid != NULL)
    {
      /* Another worker may have recorded the same message (other bytes,
       * same Message-ID, Date and sender) since this one looked: the
       * first in queue order stays, as if they had come one by one. */
      if (!find_same_message (a, p->msgid, p->message->date,
                              p->message->from_addr, &p->existing, error))
        return FALSE;
      if (p->existing != NULL)
        {
          if (!mh_writer_remove_tree (a->incoming_fd, p->message->dir,
                                      error))
            return FALSE;
          p->kind = MH_PREP_DUPLICATE;
        }
    }

  switch (p->kind)
    {
    case MH_PREP_KNOWN:
      discard_raw (raw);
      result_out->status = MH_ARCHIVE_KNOWN;
      return TRUE;

    case MH_PREP_DUPLICATE:
      discard_raw (raw);
      if (!record_location (a, p->existing, src, error))
        return FALSE;
      result_out->status = MH_ARCHIVE_DUPLICATE;
      result_out->key = g_strdup (p->existing->key);
      return TRUE;

    case MH_PREP_WRITTEN:
      break;

    case MH_PREP_SERIAL:
    default:
      g_return_val_if_reached (FALSE);
    }

  if (!ensure_transaction (a, error)
      || !mh_store_put_message (a->store, p->message, error)
      || !mh_store_add_location (a->store, p->key, src->mailbox,
                                 src->uidvalidity, src->uid, error)
      || !mh_store_set_attachments (a->store, p->key, p->attachments, error)
      || !maybe_commit (a, error))
    return FALSE;
  mh_debug_kill_point ("recorded");

  result_out->status = MH_ARCHIVE_ADDED;
  result_out->attachments = p->attachments->len;
  result_out->warnings = p->n_warnings;
  result_out->key = g_strdup (p->key);
  return TRUE;
}

gboolean
mh_archive_add (MhArchive *a, const char *raw_path, gboolean move,
                const MhArchiveSource *src, MhArchiveAddResult *result_out,
                GError **error)
{
  MhArchivePrep p = { MH_PREP_SERIAL, NULL, NULL, NULL, NULL, NULL, 0 };
  MhArchiveRaw raw = { raw_path, -1, move };
  gboolean ok;

  g_mutex_lock (&a->lock);
  ok = mh_archive_record (a, &raw, src, &p, result_out, error);
  g_mutex_unlock (&a->lock);
  mh_archive_prep_clear (&p);
  return ok;
}
