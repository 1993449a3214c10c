/* import.c - local sources into an account's archive. */
#include <string.h>

#include "mailharvest/archive.h"
#include "mailharvest/error.h"
#include "mailharvest/import.h"
#include "mailharvest/message.h"
#include "mailharvest/safename.h"
#include "mailharvest/source-local.h"
#include "mailharvest/writer.h"

typedef struct {
  MhImportStats *stats;
  MhArchive *archive;
  const MhImportOptions *options;
  guint index, mailboxes;      /* for the progress */
  guint32 last_uid;            /* the highest UID of the mailbox at hand */
} Import;

static void
report (Import *imp, const MhLocalMessage *m)
{
  MhImportProgress p = { 0 };

  if (imp->options->progress == NULL)
    return;
  p.mailbox = m->mailbox->path;
  p.index = imp->index;
  p.mailboxes = imp->mailboxes;
  p.done = m->done;
  p.total = m->total;
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

static const char *
message_file (const MhLocalMessage *m)
{
  return m->mailbox->kind == MH_LOCAL_MBOX ? m->mailbox->path : m->path;
}

static gboolean
on_message (const MhLocalMessage *m, gpointer user_data, GError **error)
{
  Import *imp = user_data;
  g_autoptr(GError) local = NULL;
  MhArchiveAddResult res = { 0 };
  MhArchiveSource src = { 0 };

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
  if (!mh_archive_add (imp->archive, m->path, m->is_temp, &src, &res,
                       &local))
    {
      /* One bad message does not stop the others. */
      imp->stats->failed++;
      g_ptr_array_add (imp->stats->failures,
                       g_strdup_printf ("%s: message %u: %s",
                                        message_file (m), m->uid,
                                        local->message));
      report (imp, m);
      /* A full disk does: every next message would fail the same way,
       * or, where a small one still fits, get ahead of this one, and
       * the archive would depend on where the disk filled up (a copy
       * with the same Message-ID and other bytes kept instead of this
       * one, as in `run`). */
      if (g_error_matches (local, MH_ERROR, MH_ERROR_NO_SPACE))
        {
          g_set_error (error, MH_ERROR, MH_ERROR_NO_SPACE,
                       "stopped: the disk is full; the rest is not "
                       "imported");
          return FALSE;
        }
      return TRUE;
    }
  switch (res.status)
    {
    case MH_ARCHIVE_ADDED:
      imp->stats->imported++;
      break;
    case MH_ARCHIVE_DUPLICATE:
      imp->stats->duplicates++;
      break;
    case MH_ARCHIVE_KNOWN:
    default:
      imp->stats->already++;
      break;
    }
  imp->stats->attachments += res.attachments;
  imp->stats->warnings += res.warnings;
  mh_archive_add_result_clear (&res);
  report (imp, m);
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

      imp.index = i + 1;
      imp.last_uid = 0;
      /* mbox members land in the archive's .tmp, on its file system, so
       * that the archive renames them into place instead of copying.
       * Once the whole mailbox is read, the positions past its end (it
       * held more messages when last imported) name nothing any more. */
      if (!mh_local_mailbox_foreach (mb, mh_archive_get_tmp_dir (archive),
                                     on_message, &imp, &mb_error)
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

  /* An import writes everything on this one thread: a direct write
   * (writer.h) would have it wait for the device, where through the page
   * cache the kernel writes behind it.  Importing 5,119 messages, four
   * alternating pairs: 3.78-4.01 s buffered, 4.06-4.51 s with the big
   * attachments direct, slower in every pair.  A run's parse workers
   * write alongside the fetch and each other, and there direct I/O is
   * the faster (doc/performance.md). */
  mh_writer_set_direct (FALSE);
  ok = import_all (options, stats, error);
  mh_writer_set_direct (TRUE);
  return ok;
}
