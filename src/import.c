/* import.c - local sources into an account's archive.
 *
 * This thread reads the sources and hashes each message; the archive's
 * workers parse and write them (archive-async.c), in parallel with each
 * other and with this thread, and record them in the order read, so the
 * archive ends up as if they had been added one by one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailharvest/archive.h"
#include "mailharvest/error.h"
#include "mailharvest/import.h"
#include "mailharvest/message.h"
#include "mailharvest/safename.h"
#include "mailharvest/sha256.h"
#include "mailharvest/source-local.h"
#include "mailharvest/writer.h"

/* A message handed to the workers, until its completion comes back (in
 * the same order). */
typedef struct {
  char *file;                  /* for a failure: the mbox, or its file */
  char *mailbox;               /* for the progress: the mailbox's path */
  guint32 uid;
  guint64 done, total;
} Pending;

typedef struct {
  MhImportStats *stats;
  MhArchive *archive;
  const MhImportOptions *options;
  guint index, mailboxes;      /* for the progress */
  guint32 last_uid;            /* the highest UID of the mailbox at hand */
  GQueue pending;              /* Pending*, in queue order */
  guint64 queued;              /* names of mbox members in the queue */
  gboolean full;               /* a message met a full disk: the rest
                                * is not imported */
} Import;

static void
pending_free (Pending *p)
{
  g_free (p->file);
  g_free (p->mailbox);
  g_free (p);
}

static void
report (Import *imp, const Pending *pd)
{
  MhImportProgress p = { 0 };

  if (imp->options->progress == NULL)
    return;
  p.mailbox = pd->mailbox;
  p.index = imp->index;
  p.mailboxes = imp->mailboxes;
  p.done = pd->done;
  p.total = pd->total;
  p.messages = imp->stats->imported + imp->stats->duplicates
               + imp->stats->already + imp->stats->failed;
  imp->options->progress (&p, imp->options->user_data);
}

void
mh_import_stats_clear (MhImportStats *stats)
{
  g_clear_pointer (&stats->failures, g_ptr_array_unref);
  g_clear_pointer (&stats->account_dir, g_free);
  memset (stats, 0, sizeof *stats);
}

/* Counts one message that failed; a full disk stops the import: every
 * next message would fail the same way, or, where a small one still
 * fits, get ahead of this one, and the archive would depend on where the
 * disk filled up (a copy with the same Message-ID and other bytes kept
 * instead of this one, as in `run`). */
static void
message_failed (Import *imp, const Pending *pd, const GError *error)
{
  imp->stats->failed++;
  g_ptr_array_add (imp->stats->failures,
                   g_strdup_printf ("%s: message %u: %s", pd->file, pd->uid,
                                    error->message));
  if (g_error_matches (error, MH_ERROR, MH_ERROR_NO_SPACE))
    imp->full = TRUE;
  report (imp, pd);
}

/* Accounts for one finished add: the oldest pending message's. */
static void
take_completion (Import *imp, MhArchiveCompletion *c)
{
  Pending *pd = g_queue_pop_head (&imp->pending);

  g_assert (pd != NULL && pd->uid == c->uid);
  if (c->error != NULL)
    message_failed (imp, pd, c->error);
  else
    {
      switch (c->result.status)
        {
        case MH_ARCHIVE_ADDED:
          imp->stats->imported++;
          break;
        case MH_ARCHIVE_DUPLICATE:
          imp->stats->duplicates++;
          break;
        case MH_ARCHIVE_DEFERRED:
          /* After a full disk: not imported, not a failure of its own;
           * the next import adds it. */
          break;
        case MH_ARCHIVE_KNOWN:
        default:
          imp->stats->already++;
          break;
        }
      imp->stats->attachments += c->result.attachments;
      imp->stats->warnings += c->result.warnings;
      report (imp, pd);
    }
  pending_free (pd);
  mh_archive_completion_free (c);
}

/* Takes the finished adds; with @wait, all of them (the store is this
 * thread's again afterwards). */
static void
take_completions (Import *imp, gboolean wait)
{
  MhArchiveCompletion *c;

  while ((c = mh_archive_next_completion (imp->archive, wait)) != NULL)
    take_completion (imp, c);
}

static gboolean
stopped (GError **error)
{
  g_set_error (error, MH_ERROR, MH_ERROR_NO_SPACE,
               "stopped: the disk is full; the rest is not imported");
  return FALSE;
}

/* The SHA-256 of the file @fd, and with @keep its bytes (@size of them,
 * as fstat() found). */
static gboolean
read_file (int fd, const char *path, gsize size, gboolean keep,
           char **sha256_out, GBytes **bytes_out, GError **error)
{
  g_autoptr(MhSha256) sum = mh_sha256_new ();
  guint64 got_size;
  gboolean ok;
  int saved;

  if (keep)
    {
      guint8 *buf = g_malloc (MAX (size, 1));
      gsize got = 0;

      while (got < size)
        {
          ssize_t n = read (fd, buf + got, size - got);

          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            break;
          got += (gsize) n;
        }
      /* A file that changed under us: read it whole from the file
       * then. */
      if (got == size)
        {
          mh_sha256_update (sum, buf, size);
          *bytes_out = g_bytes_new_take (buf, size);
          *sha256_out = g_strdup (mh_sha256_get_string (sum));
          return TRUE;
        }
      g_free (buf);
      if (lseek (fd, 0, SEEK_SET) != 0)
        {
          saved = errno;
          g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot read %s: %s",
                       path, g_strerror (saved));
          return FALSE;
        }
      mh_sha256_free (g_steal_pointer (&sum));
      sum = mh_sha256_new ();
    }
  ok = mh_sha256_update_fd (sum, fd, &got_size);
  saved = errno;
  if (!ok)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot read %s: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  *sha256_out = g_strdup (mh_sha256_get_string (sum));
  return TRUE;
}

/* Hands @m to the workers: a small message in memory (an mbox member
 * the reader has there already, or a small file read), a bigger one as
 * its file (an mbox member's temporary file is renamed away from the
 * name the reader removes after this callback, and moved into place by
 * the archive; a user's file is only read). */
G_STATIC_ASSERT (MH_LOCAL_IN_MEMORY <= MH_ARCHIVE_IN_MEMORY);
static gboolean
queue_message (Import *imp, const MhLocalMessage *m, MhArchiveSource *src,
               GError **error)
{
  g_autofree char *sha256 = NULL;
  g_autofree char *moved = NULL;
  g_autoptr(GBytes) bytes = NULL;
  struct stat st;
  gboolean small, ok;
  int fd, saved;

  if (m->bytes != NULL)
    {
      g_autoptr(MhSha256) sum = mh_sha256_new ();
      gsize len;
      const guint8 *data = g_bytes_get_data (m->bytes, &len);

      mh_sha256_update (sum, data, len);
      src->sha256 = mh_sha256_get_string (sum);
      src->raw = m->bytes;
      mh_archive_add_async_bytes (imp->archive, src);
      src->raw = NULL;
      src->sha256 = NULL;
      return TRUE;
    }
  fd = open (m->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      saved = errno;
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot open %s: %s",
                   m->path, g_strerror (saved));
      return FALSE;
    }
  if (fstat (fd, &st) != 0)
    {
      saved = errno;
      close (fd);
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot read %s: %s",
                   m->path, g_strerror (saved));
      return FALSE;
    }
  small = st.st_size <= MH_ARCHIVE_IN_MEMORY;
  ok = read_file (fd, m->path, (gsize) st.st_size, small, &sha256, &bytes,
                  error);
  close (fd);
  if (!ok)
    return FALSE;
  src->sha256 = sha256;
  if (bytes != NULL)
    {
      src->raw = bytes;
      mh_archive_add_async_bytes (imp->archive, src);
      src->raw = NULL;
      return TRUE;
    }
  if (!m->is_temp)
    {
      mh_archive_add_async_file (imp->archive, m->path, FALSE, src);
      return TRUE;
    }
  /* A name of this run's own: .tmp is this process's (the archive's
   * lock), and emptied when the archive is opened. */
  moved = g_strdup_printf ("%s/queued-%" G_GUINT64_FORMAT,
                           mh_archive_get_tmp_dir (imp->archive),
                           ++imp->queued);
  if (rename (m->path, moved) != 0)
    {
      saved = errno;
      g_set_error (error, MH_ERROR,
                   saved == ENOSPC || saved == EDQUOT ? MH_ERROR_NO_SPACE
                                                      : MH_ERROR_IO,
                   "cannot rename %s: %s", m->path, g_strerror (saved));
      return FALSE;
    }
  mh_archive_add_async_file (imp->archive, moved, TRUE, src);
  return TRUE;
}

static gboolean
on_message (const MhLocalMessage *m, gpointer user_data, GError **error)
{
  Import *imp = user_data;
  g_autoptr(GError) local = NULL;
  MhArchiveSource src = { 0 };
  Pending *pd;

  take_completions (imp, FALSE);
  if (imp->full)
    return stopped (error);

  /* The local UID and uidvalidity play the part of the server's, so a
   * second import of the same files finds every location known.  The
   * file time is no INTERNALDATE: it changes when files are copied.  The
   * delivery time in a Maildir file's name and the date of an mbox's
   * "From " line are, as servers keeping such files give them: the date
   * of a message with neither Date nor Received, and the manifest's. */
  src.mailbox = m->mailbox->name;
  src.uidvalidity = m->uidvalidity;
  src.uid = m->uid;
  src.flags = m->flags;
  src.internaldate = m->delivered != 0
                         ? m->delivered
                         : mh_message_parse_date (m->envelope_date);
  /* A local UID is a position: deleting a message shifts the ones after
   * it, and a new Takeout export at the same path holds other messages
   * at the same positions.  So a known location must hold the same
   * bytes, or it is moved to this message. */
  src.positional = TRUE;
  imp->last_uid = MAX (imp->last_uid, m->uid);

  pd = g_new0 (Pending, 1);
  pd->file = g_strdup (m->mailbox->kind == MH_LOCAL_MBOX ? m->mailbox->path
                                                         : m->path);
  pd->mailbox = g_strdup (m->mailbox->path);
  pd->uid = m->uid;
  pd->done = m->done;
  pd->total = m->total;
  if (!queue_message (imp, m, &src, &local))
    {
      /* One bad message does not stop the others: it is failed now, in
       * its turn (the ones queued before it are taken first). */
      take_completions (imp, TRUE);
      message_failed (imp, pd, local);
      pending_free (pd);
      return imp->full ? stopped (error) : TRUE;
    }
  g_queue_push_tail (&imp->pending, pd);
  return TRUE;
}

static gboolean
import_all (const MhImportOptions *options, MhImportStats *stats,
            GError **error)
{
  g_autoptr(GPtrArray) mailboxes = NULL;
  g_autoptr(MhArchive) archive = NULL;
  g_autofree char *account = NULL;
  g_autoptr(GError) local = NULL;
  MhArchiveOptions ao = { 0 };
  MhArchiveFinishStats fs;
  Import imp = { 0 };

  memset (stats, 0, sizeof *stats);
  stats->failures = g_ptr_array_new_with_free_func (g_free);
  account = mh_safename (options->account, "local");
  stats->account_dir = g_build_filename (options->output, account, NULL);

  /* Every path is checked before the archive is created, so that a typo
   * leaves nothing behind. */
  mailboxes = mh_local_scan (options->paths, &local);
  if (mailboxes == NULL)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_CONFIG, "%s", local->message);
      return FALSE;
    }

  ao.output = options->output;
  ao.account = account;
  ao.subject_mode = options->subject_mode;
  ao.window_days = options->window_days;
  archive = mh_archive_open (&ao, error);
  if (archive == NULL)
    return FALSE;

  imp.stats = stats;
  imp.archive = archive;
  imp.options = options;
  imp.mailboxes = mailboxes->len;
  for (guint i = 0; i < mailboxes->len; i++)
    {
      MhLocalMailbox *mb = mailboxes->pdata[i];
      g_autoptr(GError) mb_error = NULL;

      gboolean read;

      imp.index = i + 1;
      imp.last_uid = 0;
      /* mbox members land in the archive's .tmp, on its file system, so
       * that the archive renames them into place instead of copying.
       * Once the whole mailbox is read, and every message of it recorded,
       * the positions past its end (it held more messages when last
       * imported) name nothing any more. */
      read = mh_local_mailbox_foreach (mb, mh_archive_get_tmp_dir (archive),
                                       on_message, &imp, &mb_error);
      take_completions (&imp, TRUE);
      if (read && imp.full)
        read = stopped (&mb_error);
      if (!read
          || (!mb->named
              && !mh_archive_forget_locations_above (archive, mb->name,
                                                     mb->uidvalidity,
                                                     imp.last_uid,
                                                     &mb_error)))
        {
          gboolean full = g_error_matches (mb_error, MH_ERROR,
                                           MH_ERROR_NO_SPACE);

          /* The message that met the full disk is counted already. */
          if (!full)
            stats->failed++;
          g_ptr_array_add (stats->failures,
                           g_strdup_printf ("%s: %s", mb->path,
                                            mb_error->message));
          if (full)
            break;
        }
    }

  /* The messages recorded so far stay recorded when laying them out
   * fails; the next import places them.  So this is one failure among
   * others, not "nothing done". */
  g_clear_error (&local);
  if (!mh_archive_finish (archive, &fs, &local))
    {
      stats->failed++;
      g_ptr_array_add (stats->failures,
                       g_strdup_printf ("%s: cannot lay out the threads: %s",
                                        stats->account_dir,
                                        local->message));
      return TRUE;
    }
  stats->threads = fs.threads;
  stats->messages = fs.messages;
  if (fs.lost > 0)
    {
      stats->failed++;
      g_ptr_array_add (stats->failures,
                       g_strdup_printf ("%s: message dirs missing from "
                                        "the archive: %u (the first: %s); "
                                        "their messages are forgotten, and "
                                        "the next import adds them again",
                                        stats->account_dir, fs.lost,
                                        fs.lost_dir));
    }
  return TRUE;
}

gboolean
mh_import (const MhImportOptions *options, MhImportStats *stats,
           GError **error)
{
  gboolean ok;

  /* An import's workers write through the page cache, not direct
   * (writer.h): the kernel writes behind them, and there is no network
   * thread whose reading a wait for the device would let go on.
   * Importing the bench corpus (10,000 messages), three alternating
   * pairs: 4.40-4.62 s buffered, 4.47-4.95 s with the big files direct
   * (single-threaded, before the workers: 3.78-4.01 s against 4.06-4.51 s
   * for its INBOX, doc/performance.md). */
  mh_writer_set_direct (FALSE);
  ok = import_all (options, stats, error);
  mh_writer_set_direct (TRUE);
  return ok;
}
