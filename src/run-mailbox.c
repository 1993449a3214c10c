/* run-mailbox.c - one mailbox's sync: the pending UIDs, the fetch into
 * the archive, and the retries. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mailharvest/error.h"
#include "mailharvest/rawbuf.h"
#include "mailharvest/sha256.h"
#include "run-private.h"

/* Throttling answers in a row, without a message between them, waited
 * out per mailbox before giving up (in all, RECONNECTS_PER_RETRY times
 * as many). */
#define MAX_THROTTLE_WAITS_ALLOWED 5

typedef struct {
  int fd;                /* -1 while the message is only in memory */
  char *path;            /* NULL for an unnamed file (O_TMPFILE) */
  MhSha256 *sum;         /* of the bytes so far, while they are in cache */
  guint8 *mem;           /* the bytes so far, for a message kept in
                          * memory: the archive parses them and writes
                          * message.eml from them, and no file is made
                          * before */
  gsize mem_len;
  gsize mem_cap;
  gboolean pooled;       /* mem is a buffer of rawbuf.h */
} Body;

typedef struct {
  RunAccount *ra;
  const MhImapMailbox *mb;
  MhRunForgotten *forgotten;
  guint relinked;        /* found again by size and header, not fetched */
  guint32 uidvalidity;
  guint total;
  guint done;
  GHashTable *stored;    /* the metadata pass: UIDs found in the archive */
  GError *stop;          /* a message failed for want of disk space: every
                          * next one would too, so the fetch stops */
  gboolean named;        /* the file system has no O_TMPFILE: the bodies
                          * go to named files in .tmp */
  MhRunGaps *gaps;       /* what the body fetch has not brought yet */
} Sync;

static void
release_mem (Body *b)
{
  if (b->pooled)
    mh_rawbuf_give (b->mem);
  else
    g_aligned_free (b->mem);
  b->mem = NULL;
  b->pooled = FALSE;
}

static void
body_free (Body *b)
{
  if (b->fd >= 0)
    close (b->fd);
  if (b->path != NULL)
    (void) g_unlink (b->path);
  g_free (b->path);
  g_clear_pointer (&b->sum, mh_sha256_free);
  release_mem (b);
  g_free (b);
}

/* Fails once a message failed for want of disk space. */
static gboolean
check_stop (Sync *s, GError **error)
{
  if (s->stop == NULL)
    return TRUE;
  g_set_error (error, MH_ERROR, MH_ERROR_NO_SPACE,
               "stopped: the disk is full (%s)", s->stop->message);
  return FALSE;
}

/* The file for a body could not be created (errno).  A full disk (no
 * inode, or no block for the dir) stops the fetch as a failed write
 * does: every next body would fail the same way. */
static gboolean
create_failed (Sync *s, GError **error)
{
  int saved = errno;
  const char *where = mh_archive_get_tmp_dir (s->ra->archive);

  if ((saved == ENOSPC || saved == EDQUOT) && s->stop == NULL)
    {
      g_set_error (&s->stop, MH_ERROR, MH_ERROR_NO_SPACE,
                   "cannot create a file in %s: %s", where,
                   g_strerror (saved));
      return check_stop (s, error);
    }
  g_set_error (error, MH_ERROR, MH_ERROR_IO,
               "cannot create a file in %s: %s", where, g_strerror (saved));
  return FALSE;
}

/* A file for @b's bytes: an unnamed one where the file system can (it is
 * linked into its message dir later, never has a name in .tmp that the
 * workers would rename out of the one dir they share, where each rename
 * waits whenever the dir's block is being written back, and a killed run
 * leaves nothing of it), else a named one in .tmp. */
static gboolean
open_body_file (Sync *s, Body *b, GError **error)
{
  if (!s->named)
    {
      b->fd = open (mh_archive_get_tmp_dir (s->ra->archive),
                    O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
      if (b->fd >= 0)
        return TRUE;
      if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        return create_failed (s, error);
      s->named = TRUE;
    }
  b->path = g_build_filename (mh_archive_get_tmp_dir (s->ra->archive),
                              "fetch-XXXXXX", NULL);
  b->fd = g_mkstemp_full (b->path, O_RDWR | O_CLOEXEC, 0644);
  if (b->fd >= 0)
    return TRUE;
  /* Nothing was created: nothing to remove. */
  g_clear_pointer (&b->path, g_free);
  return create_failed (s, error);
}

static gboolean
write_body (Body *b, const guint8 *data, gsize len, GError **error)
{
  while (len > 0)
    {
      ssize_t n = write (b->fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          g_set_error (error, MH_ERROR,
                       saved == ENOSPC || saved == EDQUOT ? MH_ERROR_NO_SPACE
                                                          : MH_ERROR_IO,
                       "cannot write %s: %s",
                       b->path != NULL ? b->path : "the fetched message",
                       g_strerror (saved));
          return FALSE;
        }
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* A message of up to MH_ARCHIVE_IN_MEMORY bytes stays in memory until
 * the archive writes it as message.eml: a file of its own first, linked
 * in later, cost a file creation, a link and a stat per message for no
 * gain, since the workers parse it from memory anyway.  So does a bigger
 * one, up to MH_RAWBUF_MAX, while the reused buffers of rawbuf.h have
 * room: it is written out once, directly from there, and not read back.
 * Any other is streamed to a file as it comes.  The buffers are aligned
 * for direct I/O (writer.h). */
static gpointer
sink_begin (guint64 total, gpointer user_data, GError **error)
{
  Sync *s = user_data;
  Body *b;

  if (!check_stop (s, error))
    return NULL;
  b = g_new0 (Body, 1);
  b->fd = -1;
  b->sum = mh_sha256_new ();
  if (total <= MH_ARCHIVE_IN_MEMORY)
    {
      b->mem_cap = MAX (total, 1);
      /* Aligned where the writer would write it direct (64 KiB and
       * more, writer-direct.c). */
      b->mem = g_aligned_alloc (b->mem_cap, 1, total >= 65536 ? 4096 : 16);
    }
  else if (!mh_debug_fail_point ("no-rawbuf")
           && (b->mem = mh_rawbuf_take (total)) != NULL)
    {
      b->mem_cap = total;
      b->pooled = TRUE;
    }

  /* The body cannot be stored: for a big one, no file can be made in
   * .tmp; a small one meets a full disk in its message dir instead (the
   * "disk-full" point), but the fetch must stop the same way. */
  if (mh_debug_fail_point ("fetch-full"))
    {
      errno = ENOSPC;
      (void) create_failed (s, error);
      body_free (b);
      return NULL;
    }
  if (b->mem == NULL && !open_body_file (s, b, error))
    {
      body_free (b);
      return NULL;
    }
  return b;
}

static gboolean
sink_write (gpointer handle, const guint8 *data, gsize len,
            gpointer user_data, GError **error)
{
  Sync *s = user_data;
  Body *b = handle;

  mh_sha256_update (b->sum, data, len);
  if (b->mem != NULL && b->mem_len + len <= b->mem_cap)
    {
      memcpy (b->mem + b->mem_len, data, len);
      b->mem_len += len;
      if (b->fd < 0)
        {
          mh_debug_kill_point ("fetching");
          return TRUE;
        }
    }
  else if (b->mem != NULL)
    {
      /* More than the literal announced: the parser does not let that
       * happen, but should it, the bytes go to a file after all. */
      if (b->fd < 0
          && (!open_body_file (s, b, error)
              || !write_body (b, b->mem, b->mem_len, error)))
        return FALSE;
      release_mem (b);
    }
  if (!write_body (b, data, len, error))
    return FALSE;
  mh_debug_kill_point ("fetching");
  return TRUE;
}

static void
sink_abort (gpointer handle, gpointer user_data)
{
  body_free (handle);
}

static void
source_for (Sync *s, const MhImapMessageInfo *info, MhArchiveSource *src,
            GPtrArray *flags)
{
  /* \Recent belongs to the session that saw it first, not to the
   * message: recording it would make the archive depend on which run
   * fetched the message. */
  for (guint i = 0; info->flags[i] != NULL; i++)
    if (g_ascii_strcasecmp (info->flags[i], "\\Recent") != 0)
      g_ptr_array_add (flags, info->flags[i]);
  g_ptr_array_add (flags, NULL);
  memset (src, 0, sizeof *src);
  src->mailbox = s->mb->name_utf8;
  src->uidvalidity = s->uidvalidity;
  src->uid = info->uid;
  src->flags = (const char *const *) flags->pdata;
  src->internaldate = info->internaldate;
  src->gm_msgid = info->gm_msgid;
  src->gm_thrid = info->gm_thrid;
  src->gm_labels = (const char *const *) info->gm_labels;
}

/* Accounts for one finished add of the archive's worker. */
static void
take_completion (Sync *s, MhArchiveCompletion *c)
{
  RunAccount *ra = s->ra;
  gboolean full = c->error != NULL
                  && g_error_matches (c->error, MH_ERROR, MH_ERROR_NO_SPACE);

  /* The first message the full disk failed stops the mailbox and is its
   * failure.  The ones it failed meanwhile in the other workers are not
   * done, as the ones queued after them (MH_ARCHIVE_DEFERRED): the next
   * run fetches them, and a line each said nothing new. */
  if (full && s->stop == NULL)
    s->stop = g_error_copy (c->error);
  else if (full)
    {
      g_clear_error (&c->error);
      c->result.status = MH_ARCHIVE_DEFERRED;
    }
  if (c->error != NULL)
    mh_run_message_failed (ra, c->mailbox, c->uid, c->error->message);
  else
    {
      if (c->result.status == MH_ARCHIVE_ADDED)
        ra->result->added++;
      else if (c->result.status == MH_ARCHIVE_DUPLICATE)
        ra->result->duplicates++;
      ra->result->attachments += c->result.attachments;
      ra->result->warnings += c->result.warnings;
    }
  mh_archive_completion_free (c);
  s->done++;
  mh_run_progress (ra, s->mb->name_utf8, s->done, s->total);
}

/* Waits for every queued message: afterwards the store is ours again. */
static void
drain (Sync *s)
{
  MhArchiveCompletion *c;

  while ((c = mh_archive_next_completion (s->ra->archive, TRUE)) != NULL)
    take_completion (s, c);
}

/* Accounts for the adds finished so far. */
static gboolean
take_ready (Sync *s, GError **error)
{
  MhArchiveCompletion *c;

  while ((c = mh_archive_next_completion (s->ra->archive, FALSE)) != NULL)
    take_completion (s, c);
  return check_stop (s, error);
}

/* The body is complete: hand it to the archive's worker, which parses and
 * writes it while this thread goes on reading the next ones. */
static gboolean
sink_done (const MhImapMessageInfo *info, gpointer handle,
           gpointer user_data, GError **error)
{
  Sync *s = user_data;
  RunAccount *ra = s->ra;
  Body *b = handle;
  MhArchiveSource src;
  g_autoptr(GPtrArray) flags = g_ptr_array_new ();

  mh_run_gaps_answered (s->gaps, info->uid);
  if (b == NULL && info->too_big > 0)
    {
      g_autofree char *reason = NULL;

      reason = g_strdup_printf ("the message has %" G_GUINT64_FORMAT
                                " bytes, more than max_message_size (%"
                                G_GUINT64_FORMAT "); not fetched",
                                info->too_big, ra->acct->max_message_size);
      mh_run_message_failed (ra, s->mb->name_utf8, info->uid, reason);
      s->done++;
      mh_run_progress (ra, s->mb->name_utf8, s->done, s->total);
      return take_ready (s, error);
    }
  if (b == NULL)
    return TRUE;
  /* A named file is closed here, for the errors its close reports; an
   * unnamed one goes to the archive open (its errors show at the sync). */
  if (b->path != NULL && close (b->fd) != 0)
    {
      int saved = errno;

      b->fd = -1;
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot write %s: %s",
                   b->path, g_strerror (saved));
      body_free (b);
      return FALSE;
    }
  source_for (s, info, &src, flags);
  src.sha256 = mh_sha256_get_string (b->sum);
  if (b->mem != NULL)
    {
      src.raw = b->pooled ? mh_rawbuf_to_bytes (b->mem, b->mem_len)
                          : g_bytes_new_with_free_func (b->mem, b->mem_len,
                                                        g_aligned_free,
                                                        b->mem);
      b->mem = NULL;
      b->pooled = FALSE;
    }
  ra->result->fetched++;
  if (b->path != NULL)
    mh_archive_add_async (ra->archive, b->path, &src);
  else if (b->fd >= 0)
    mh_archive_add_async_fd (ra->archive, b->fd, &src);
  else
    mh_archive_add_async_bytes (ra->archive, &src);
  g_clear_pointer (&src.raw, g_bytes_unref);
  /* The file is the archive's now. */
  b->fd = -1;
  g_clear_pointer (&b->path, g_free);
  body_free (b);
  return take_ready (s, error);
}

/* The server would not send @uid: on the last try, a failed message. */
static void
sink_refused (guint32 uid, const char *reason, gpointer user_data)
{
  Sync *s = user_data;

  if (mh_run_gaps_refused (s->ra, s->mb->name_utf8, s->gaps, uid, reason))
    {
      s->done++;
      mh_run_progress (s->ra, s->mb->name_utf8, s->done, s->total);
    }
}

/* An answer came without its body: if the session ends now, this is the
 * message the server failed on. */
static void
sink_incomplete (guint32 uid, gpointer user_data)
{
  Sync *s = user_data;

  mh_run_gaps_incomplete (s->gaps, uid);
}

/* Gmail: X-GM-MSGID names a message across labels and UIDVALIDITY
 * changes; a message stored already is only recorded, not fetched.
 * Elsewhere, after a UIDVALIDITY change, a message found again by its
 * size and header block (mh_run_find_relinkable()) is only recorded
 * too. */
static gboolean
meta_done (const MhImapMessageInfo *info, gpointer handle,
           gpointer user_data, GError **error)
{
  Sync *s = user_data;
  RunAccount *ra = s->ra;
  g_autoptr(MhStoreMessage) m = NULL;
  MhArchiveSource src;
  g_autoptr(GPtrArray) flags = g_ptr_array_new ();
  gboolean relinked = FALSE;

  if (info->gm_msgid != 0
      && !mh_store_lookup_gm_msgid (mh_archive_get_store (ra->archive),
                                    info->gm_msgid, &m, error))
    return FALSE;
  if (m == NULL && info->gm_msgid == 0
      && mh_run_forgotten_any (s->forgotten))
    {
      if (!mh_run_find_relinkable (ra, s->forgotten, info, &m, error))
        return FALSE;
      relinked = m != NULL;
    }
  if (m == NULL)
    return TRUE;
  g_hash_table_add (s->stored, GUINT_TO_POINTER (info->uid));
  source_for (s, info, &src, flags);
  if (!mh_archive_add_location (ra->archive, m->key, &src, error))
    return FALSE;
  if (relinked)
    {
      s->relinked++;
      ra->result->relinked++;
    }
  else
    ra->result->duplicates++;
  s->done++;
  mh_run_progress (ra, s->mb->name_utf8, s->done, s->total);
  return TRUE;
}

/* A NO to the metadata pass (Gmail's "Some messages could not be
 * FETCHed"): the messages it left out are not known to be stored, so the
 * body fetch asks for them, and what it cannot get fails there, one
 * message at a time (run-gaps.c). */
static void
meta_refused (guint32 uid, const char *reason, gpointer user_data)
{
  (void) uid;
  (void) reason;
  (void) user_data;
}

/* After a UIDVALIDITY change the store forgets the mailbox's UIDs; the
 * messages found again get their new locations when they are matched,
 * and the rest (outside "latest", or gone) must not keep listing the old
 * UIDs in message.json either. */
static gboolean
refresh_forgotten (RunAccount *ra, const MhImapMailbox *mb,
                   const GPtrArray *keys, GError **error)
{
  MhStore *store = mh_archive_get_store (ra->archive);

  for (guint i = 0; keys != NULL && i < keys->len; i++)
    {
      g_autoptr(GPtrArray) locs = NULL;
      gboolean found = FALSE;

      if (!mh_store_list_locations (store, keys->pdata[i], &locs, error))
        return FALSE;
      for (guint j = 0; j < locs->len && !found; j++)
        found = strcmp (((MhStoreLocation *) locs->pdata[j])->mailbox,
                        mb->name_utf8) == 0;
      if (!found
          && !mh_archive_refresh_locations (ra->archive, keys->pdata[i],
                                            error))
        return FALSE;
    }
  return TRUE;
}

/* One attempt: EXAMINE, pick the UIDs, fetch what is missing. */
static gboolean
sync_once (RunAccount *ra, const MhImapMailbox *mb, gboolean *counted,
           MhRunForgotten *forgotten, MhRunGaps *gaps, GError **error)
{
  MhStore *store = mh_archive_get_store (ra->archive);
  g_autoptr(GArray) uids = NULL;
  g_autoptr(GArray) pending = NULL;
  g_autoptr(MhStoreMailbox) before = NULL;
  MhImapFetchOptions fo = { 0 };
  MhImapFetchSink sink = { sink_begin, sink_write, sink_done, sink_abort,
                           sink_refused, sink_incomplete };
  MhImapFetchSink meta_sink = { NULL, NULL, meta_done, NULL, meta_refused,
                                NULL };
  MhImapExamine ex;
  Sync s = { 0 };
  gboolean changed;
  gboolean gmail;
  guint first;

  gaps->fetching = FALSE;
  if (!mh_store_get_mailbox (store, mb->name_utf8, &before, error))
    return FALSE;
  uids = mh_run_search (ra, mb, before, &ex, error);
  if (uids == NULL)
    return FALSE;
  if (before != NULL && before->uidvalidity != 0
      && before->uidvalidity != ex.uidvalidity && forgotten->keys == NULL
      && !mh_run_forgotten_load (store, mb->name_utf8, forgotten, error))
    return FALSE;
  if (!mh_store_check_uidvalidity (store, mb->name_utf8, ex.uidvalidity,
                                   &changed, error))
    return FALSE;
  if (changed)
    mh_run_log (ra, MH_RUN_LOG_WARNING,
                "%s: UIDVALIDITY changed to %u; matching its messages to "
                "the archive again", mb->name_utf8, ex.uidvalidity);

  /* UIDs grow with arrival: the newest N are the last N. */
  first = ra->latest > 0 && uids->len > (guint64) ra->latest
              ? uids->len - (guint) ra->latest : 0;
  if (!*counted)
    {
      ra->result->selected += uids->len - first;
      *counted = TRUE;
    }
  if (!mh_store_pending_uids (store, mb->name_utf8, ex.uidvalidity,
                              &g_array_index (uids, guint32, first),
                              uids->len - first, &pending, error))
    return FALSE;

  s.ra = ra;
  s.mb = mb;
  s.gaps = gaps;
  s.forgotten = forgotten;
  s.uidvalidity = ex.uidvalidity;
  s.total = uids->len - first;
  s.done = s.total - pending->len;
  mh_run_progress (ra, mb->name_utf8, s.done, s.total);

  /* Gmail's X-GM-MSGID, or after a UIDVALIDITY change elsewhere each
   * message's size and header block, tell which pending messages are
   * stored already (meta_done()): only the others are fetched. */
  gmail = mh_imap_session_has_capability (ra->session, "X-GM-EXT-1");
  if (pending->len > 0
      && (gmail || mh_run_forgotten_any (forgotten)))
    {
      g_autoptr(GArray) left = g_array_new (FALSE, FALSE, sizeof (guint32));
      gboolean ok;

      s.stored = g_hash_table_new (NULL, NULL);
      fo.body = FALSE;
      fo.header = !gmail;
      ok = mh_imap_session_uid_fetch (ra->session,
                                      (const guint32 *) pending->data,
                                      pending->len, &fo, &meta_sink, &s,
                                      NULL, error);
      /* Only what was found is left out of the body fetch: a message the
       * server refused, or left out of its answer, is asked for again. */
      for (guint i = 0; ok && i < pending->len; i++)
        if (!g_hash_table_contains (s.stored,
                                    GUINT_TO_POINTER (g_array_index (
                                        pending, guint32, i))))
          g_array_append_val (left, g_array_index (pending, guint32, i));
      g_clear_pointer (&s.stored, g_hash_table_unref);
      if (!ok)
        return FALSE;
      g_array_unref (pending);
      pending = g_steal_pointer (&left);
      if (s.relinked > 0)
        mh_run_log (ra, MH_RUN_LOG_INFO,
                    "%s: %u messages found in the archive by size and "
                    "header; not fetched again", mb->name_utf8, s.relinked);
    }

  if (pending->len > 0)
    {
      gboolean ok;

      fo.body = TRUE;
      fo.max_body = ra->acct->max_message_size;
      mh_run_gaps_init (gaps, (const guint32 *) (void *) pending->data,
                        pending->len);
      s.done += mh_run_gaps_filter (ra, mb->name_utf8, gaps, ex.uidvalidity,
                                    pending);
      ok = mh_imap_session_uid_fetch (ra->session,
                                      (const guint32 *) pending->data,
                                      pending->len, &fo, &sink, &s, NULL,
                                      error)
           && mh_run_gaps_finish (ra, mb->name_utf8, gaps, &sink, &s,
                                  error);
      drain (&s);
      if (ok && s.stop != NULL)
        ok = check_stop (&s, error);
      g_clear_error (&s.stop);
      if (!ok)
        return FALSE;
    }
  if (!refresh_forgotten (ra, mb, forgotten->keys, error)
      || !mh_archive_flush (ra->archive, error))
    return FALSE;
  if ((before == NULL || before->uidnext != ex.uidnext || pending->len > 0)
      && !mh_store_mailbox_synced (store, mb->name_utf8, ex.uidnext,
                                   g_get_real_time () / G_USEC_PER_SEC,
                                   error))
    return FALSE;
  mh_debug_kill_point ("synced");
  return TRUE;
}

/* The wait before a reconnect after the server ended the session on one
 * message: nothing is wrong with the server, so no growing backoff. */
#define STRUCK_WAIT_MS 200

/* ra->max_retries counts the reconnects in a row that brought no message:
 * a session that fetched something before it dropped starts the count and
 * the backoff again, so a long fetch over a connection that drops now and
 * then goes on to the end.  In all, a mailbox gets at most this many
 * times ra->max_retries such reconnects in one run (waits the server asks
 * for and sessions ended on one message are bounded apart). */
#define RECONNECTS_PER_RETRY 20

/* Messages of the account fetched or found stored so far: what a session
 * that ends has achieved. */
static guint64
progress_mark (const RunAccount *ra)
{
  return (guint64) ra->result->fetched + ra->result->duplicates
         + ra->result->relinked;
}

gboolean
mh_run_sync_mailbox (RunAccount *ra, const MhImapMailbox *mb,
                     GError **error)
{
  g_auto(MhRunForgotten) forgotten = { 0 };
  g_auto(MhRunGaps) gaps = { 0 };
  gboolean counted = FALSE;
  guint throttled = 0;
  guint throttle_waits = 0;
  guint reconnects = 0;
  guint64 mark = progress_mark (ra);

  for (guint attempt = 1;; attempt++)
    {
      g_autoptr(GError) local = NULL;
      guint64 wait_ms = 0;
      guint32 struck = 0;

      if (ra->session == NULL && !mh_run_connect (ra, &local))
        {
          if (!mh_run_error_is_transient (local))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
        }
      else if (sync_once (ra, mb, &counted, &forgotten, &gaps, &local))
        return TRUE;

      if (!mh_run_error_is_transient (local))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      if (progress_mark (ra) != mark)
        {
          /* This session got somewhere before it ended: the counts of
           * failures in a row start again. */
          mark = progress_mark (ra);
          attempt = 1;
          throttled = 0;
        }
      if (g_error_matches (local, MH_ERROR, MH_ERROR_THROTTLED))
        {
          if (++throttled > MAX_THROTTLE_WAITS_ALLOWED)
            {
              g_propagate_prefixed_error (error, g_steal_pointer (&local),
                                          "still throttled after %u waits "
                                          "in a row without a message: ",
                                          throttled - 1);
              return FALSE;
            }
          if (++throttle_waits
              > MAX_THROTTLE_WAITS_ALLOWED * RECONNECTS_PER_RETRY)
            {
              g_propagate_prefixed_error (error, g_steal_pointer (&local),
                                          "still throttled after %u waits: ",
                                          throttle_waits - 1);
              return FALSE;
            }
          if (ra->session != NULL)
            wait_ms = mh_imap_session_get_backoff_ms (ra->session);
          attempt--;
        }
      else if ((struck = mh_run_gaps_strike (&gaps, local)) != 0)
        {
          /* The session ended on one message: the next attempt asks for
           * it last, on its own, and the one after gives up on it.  That
           * is progress, not a reconnect spent. */
          mh_run_log (ra, MH_RUN_LOG_WARNING,
                      "%s UID %u: the server ended the session while "
                      "sending it", mb->name_utf8, struck);
          attempt--;
          wait_ms = STRUCK_WAIT_MS;
        }
      else
        {
          if (attempt > ra->max_retries)
            {
              g_propagate_prefixed_error (error, g_steal_pointer (&local),
                                          "gave up after %u reconnects in "
                                          "a row without a message: ",
                                          ra->max_retries);
              return FALSE;
            }
          if (++reconnects > ra->max_retries * RECONNECTS_PER_RETRY)
            {
              g_propagate_prefixed_error (error, g_steal_pointer (&local),
                                          "gave up after %u reconnects: ",
                                          reconnects - 1);
              return FALSE;
            }
        }
      mh_run_log (ra, MH_RUN_LOG_WARNING, "%s: %s; %s", mb->name_utf8,
                  local->message,
                  wait_ms > 0 && struck == 0 ? "waiting as the server asks"
                                             : "reconnecting");
      mh_run_drop_session (ra);
      ra->result->reconnects++;
      if (wait_ms > 0)
        g_usleep (MIN (wait_ms, ra->max_backoff_ms) * 1000);
      else
        mh_run_backoff (ra, MAX (attempt, 1));
    }
}
