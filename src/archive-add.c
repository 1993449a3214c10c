/* archive-add.c - adding one message: dedupe, parse, write into its
 * staging dir in .incoming (mh_archive_prepare(), on any thread), then
 * record in queue order (mh_archive_record(), under a->lock). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "archive-private.h"
#include "mailharvest/error.h"
#include "mailharvest/layout.h"
#include "mailharvest/msgid.h"
#include "mailharvest/sha256.h"
#include "mailharvest/writer.h"

/* The raw message's SHA-256 in hex. */
static char *
hash_raw (const MhArchiveRaw *raw, GError **error)
{
  g_autoptr(MhSha256) sum = mh_sha256_new ();
  const char *what = raw->path != NULL ? raw->path : "the fetched message";
  int fd;
  guint64 size;
  gboolean ok;
  int saved;

  if (raw->fd < 0 && raw->path == NULL)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (raw->bytes, &len);

      mh_sha256_update (sum, data, len);
      return g_strdup (mh_sha256_get_string (sum));
    }
  fd = raw->fd >= 0 ? raw->fd
                    : open (raw->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
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

/* A positional location (MhArchiveSource.positional) is known when it
 * holds this very message: the raw bytes' key is computed here (and kept
 * in p->key) whenever the location is recorded at all. */
static gboolean
positional_known (MhArchive *a, const MhArchiveRaw *raw,
                  const MhArchiveSource *src, MhArchivePrep *p,
                  gboolean *known, GError **error)
{
  g_autofree char *held = NULL;

  *known = FALSE;
  g_clear_pointer (&p->stale_key, g_free);
  if (!mh_store_location_key (a->store, src->mailbox, src->uidvalidity,
                              src->uid, &held, error))
    return FALSE;
  if (held == NULL)
    return TRUE;
  if (p->key == NULL)
    p->key = src->sha256 != NULL ? g_strdup (src->sha256)
                                 : hash_raw (raw, error);
  if (p->key == NULL)
    return FALSE;
  if (strcmp (held, p->key) == 0)
    *known = TRUE;
  else
    p->stale_key = g_steal_pointer (&held);
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

/* What the store will say about a message about to be written (its
 * size comes with the write). */
static MhStoreMessage *
store_message (const MhMessage *msg, const char *key, const char *msgid,
               const MhArchiveSource *src, const char *dir)
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
  m->dir = g_strdup (dir);
  return m;
}

/* Removes the dir of @m, written but not recorded, from .incoming. */
static gboolean
remove_staged (MhArchive *a, const MhStoreMessage *m, GError **error)
{
  int parent = mh_archive_message_parent (a, m, error);
  gboolean ok;

  if (parent < 0)
    return FALSE;
  ok = mh_writer_remove_tree (parent, m->dir, error);
  close (parent);
  return ok;
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
  g_clear_pointer (&p->stale_key, g_free);
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
  g_autofree char *stage = NULL;
  MhParseOptions popts = { 0 };
  MhLocation loc = { src->mailbox, src->uidvalidity, src->uid };
  MhWriteMeta meta = { 0 };
  gboolean known = FALSE, ok;
  int stage_fd;

  memset (p, 0, sizeof *p);
  /* A worker (not @locked) prepares a message the run fetched because
   * the store did not have its location, and mh_archive_record() looks
   * at the location when it records, under the lock it holds anyway:
   * the workers, which wait for each other's records on that lock, take
   * it here only until the pending mark is made. */
  if (locked || !g_atomic_int_get (&a->layout_pending))
    {
      store_lock (a, locked);
      ok = mh_archive_mark_pending (a, error);
      if (ok && locked && src->positional)
        ok = positional_known (a, raw, src, p, &known, error);
      else if (ok && locked)
        ok = location_known (a, src, &known, error);
      store_unlock (a, locked);
      if (!ok)
        return FALSE;
    }
  /* Whether a positional location holds these bytes already decides
   * whether they are parsed at all (a second import of the same files
   * parses nothing), so a worker looks too, under the lock; the record
   * step looks again. */
  if (!locked && src->positional)
    {
      store_lock (a, locked);
      ok = positional_known (a, raw, src, p, &known, error);
      store_unlock (a, locked);
      if (!ok)
        return FALSE;
    }
  if (known)
    {
      p->kind = MH_PREP_KNOWN;
      return TRUE;
    }

  if (p->key == NULL)
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
  p->message = store_message (msg, p->key, p->msgid, src, dir);
  stage = mh_archive_stage_dir (p->message);
  stage_fd = mh_archive_open_stage (a, stage, error);
  if (stage_fd < 0)
    return FALSE;
  ok = mh_writer_stage_message (stage_fd, dir, raw, msg, &meta, &res, error);
  close (stage_fd);
  if (!ok)
    return FALSE;
  mh_debug_kill_point ("written");

  p->message->size = res->size;
  p->attachments = store_attachments (res);
  p->n_warnings = res->n_warnings;
  p->kind = MH_PREP_WRITTEN;
  return TRUE;
}

/* The location was moved from p->stale_key's message to this one (in
 * the same transaction): that message's message.json no longer lists
 * it. */
static gboolean
refresh_stale (MhArchive *a, const MhArchivePrep *p, GError **error)
{
  const char *now = p->existing != NULL ? p->existing->key : p->key;

  if (p->stale_key == NULL || g_strcmp0 (p->stale_key, now) == 0)
    return TRUE;
  return mh_archive_refresh_locations (a, p->stale_key, error);
}

gboolean
mh_archive_record (MhArchive *a, const MhArchiveRaw *raw,
                   const MhArchiveSource *src, MhArchivePrep *p,
                   MhArchiveAddResult *result_out, GError **error)
{
  memset (result_out, 0, sizeof *result_out);
  if (p->kind == MH_PREP_KNOWN && src->positional)
    {
      /* A worker found the location holding these bytes; a job before
       * this one in the queue may have pointed it elsewhere since (the
       * same position twice in one queue), and then this one is done
       * whole now, as if the two had come one by one. */
      gboolean known = FALSE;

      if (!positional_known (a, raw, src, p, &known, error))
        return FALSE;
      if (!known)
        {
          mh_archive_prep_clear (p);
          p->kind = MH_PREP_SERIAL;
        }
    }
  if (p->kind == MH_PREP_SERIAL)
    {
      if (!mh_archive_prepare (a, raw, src, TRUE, p, error))
        return FALSE;
    }
  else if (p->kind != MH_PREP_KNOWN)
    {
      /* Prepared by a worker: the location may have been recorded since
       * it looked.  One fetched twice in a run (a retry after a lost
       * connection) is recorded once, as if the two had come one by one;
       * a positional one is looked at as mh_archive_prepare() does. */
      gboolean known = FALSE;

      if (src->positional
              ? !positional_known (a, raw, src, p, &known, error)
              : !location_known (a, src, &known, error))
        return FALSE;
      if (known && p->kind == MH_PREP_WRITTEN
          && !remove_staged (a, p->message, error))
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
          if (!remove_staged (a, p->message, error))
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
      if (p->stale_key != NULL && strcmp (p->stale_key, p->existing->key) == 0)
        {
          /* Other bytes of the message the location already holds (the
           * same Message-ID, date and sender): nothing moves. */
          result_out->status = MH_ARCHIVE_KNOWN;
          return TRUE;
        }
      if (!mh_archive_record_location (a, p->existing, src, error)
          || !refresh_stale (a, p, error))
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

  if (!mh_archive_ensure_transaction (a, error)
      || !mh_store_put_message (a->store, p->message, error)
      || !mh_store_add_location (a->store, p->key, src->mailbox,
                                 src->uidvalidity, src->uid, error)
      || !mh_store_set_attachments (a->store, p->key, p->attachments, error)
      || !refresh_stale (a, p, error)
      || !mh_archive_maybe_commit (a, error))
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
  MhArchiveRaw raw = { raw_path, -1, move, NULL };
  gboolean ok;

  g_mutex_lock (&a->lock);
  ok = mh_archive_record (a, &raw, src, &p, result_out, error);
  g_mutex_unlock (&a->lock);
  mh_archive_prep_clear (&p);
  return ok;
}
