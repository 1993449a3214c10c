/* import.c - local sources through the parse-and-write path. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mailharvest/error.h"
#include "mailharvest/import.h"
#include "mailharvest/layout.h"
#include "mailharvest/message.h"
#include "mailharvest/safename.h"
#include "mailharvest/source-local.h"
#include "mailharvest/writer.h"

#define HASH_CHUNK 65536
/* Locations kept for one message; more copies add nothing useful. */
#define MAX_LOCATIONS 64

/* A message written in this run, to add further locations to. */
typedef struct {
  char *thread;
  char *dir;
  GPtrArray *mailboxes;   /* char*, parallel to locations */
  GArray *locations;      /* MhLocation, mailbox borrowed from above */
  GStrv flags;            /* of the first copy, or NULL */
} Seen;

static void
seen_free (gpointer p)
{
  Seen *s = p;

  if (s == NULL)
    return;
  g_free (s->thread);
  g_free (s->dir);
  g_ptr_array_unref (s->mailboxes);
  g_array_unref (s->locations);
  g_strfreev (s->flags);
  g_free (s);
}

typedef struct {
  MhImportStats *stats;
  const char *account;
  int threads_fd;
  GHashTable *seen;       /* sha256 hex -> Seen* or NULL (not written) */
  GHashTable *cleaned;    /* thread dirs whose stale entries are gone */
} Import;

void
mh_import_stats_clear (MhImportStats *stats)
{
  g_clear_pointer (&stats->failures, g_ptr_array_unref);
  g_clear_pointer (&stats->account_dir, g_free);
  memset (stats, 0, sizeof *stats);
}

static char *
hash_file (const char *path, GError **error)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (HASH_CHUNK);
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot open: %s",
                   g_strerror (saved));
      return NULL;
    }
  for (;;)
    {
      ssize_t n = read (fd, buf, HASH_CHUNK);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          close (fd);
          g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot read: %s",
                       g_strerror (saved));
          return NULL;
        }
      if (n == 0)
        break;
      g_checksum_update (sum, buf, (gsize) n);
    }
  close (fd);
  return g_strdup (g_checksum_get_string (sum));
}

static void
meta_for (MhWriteMeta *meta, const char *account, GArray *locations,
          const char *const *flags)
{
  memset (meta, 0, sizeof *meta);
  meta->account = account;
  meta->locations = (const MhLocation *) locations->data;
  meta->n_locations = locations->len;
  meta->flags = flags;
}

/* The same bytes again: record where else they were found. */
static gboolean
add_location (Import *imp, Seen *s, const MhLocalMessage *m,
              GError **error)
{
  MhLocation loc = { 0 };
  MhWriteMeta meta;
  int thread_fd;
  gboolean ok;

  if (s == NULL || s->locations->len >= MAX_LOCATIONS)
    return TRUE;
  /* The same path given twice is no new location. */
  for (guint i = 0; i < s->locations->len; i++)
    {
      const MhLocation *l = &g_array_index (s->locations, MhLocation, i);

      if (l->uid == m->uid && l->uidvalidity == m->mailbox->uidvalidity
          && strcmp (l->mailbox, m->mailbox->name) == 0)
        return TRUE;
    }
  g_ptr_array_add (s->mailboxes, g_strdup (m->mailbox->name));
  /* The borrowed names move when the array grows: point them anew. */
  loc.uidvalidity = m->mailbox->uidvalidity;
  loc.uid = m->uid;
  g_array_append_val (s->locations, loc);
  for (guint i = 0; i < s->locations->len; i++)
    g_array_index (s->locations, MhLocation, i).mailbox =
        s->mailboxes->pdata[i];

  thread_fd = mh_writer_open_dir (imp->threads_fd, s->thread, FALSE, error);
  if (thread_fd < 0)
    return FALSE;
  meta_for (&meta, imp->account, s->locations,
            (const char *const *) s->flags);
  ok = mh_writer_update_locations (thread_fd, s->dir, &meta, error);
  close (thread_fd);
  return ok;
}

static gboolean
import_one (Import *imp, const MhLocalMessage *m, const char *sha,
            GError **error)
{
  g_autoptr(MhMessage) msg = NULL;
  g_autoptr(MhWriteResult) result = NULL;
  g_autofree char *thread = NULL;
  g_autofree char *dir = NULL;
  MhParseOptions popts = { 0 };
  MhLocation loc = { 0 };
  MhWriteMeta meta;
  Seen *s;
  int thread_fd;
  gboolean ok;

  msg = mh_message_parse_file (m->path, &popts, error);
  if (msg == NULL)
    return FALSE;
  dir = mh_layout_message_dir (msg->date, sha);
  thread = mh_layout_thread_dir (msg->date, msg->subject,
                                 msg->message_id != NULL ? msg->message_id
                                                         : sha);
  thread_fd = mh_writer_open_dir (imp->threads_fd, thread, TRUE, error);
  if (thread_fd < 0)
    return FALSE;
  if (!g_hash_table_contains (imp->cleaned, thread))
    {
      if (mh_writer_clean_stale (thread_fd, error) < 0)
        {
          close (thread_fd);
          return FALSE;
        }
      g_hash_table_add (imp->cleaned, g_strdup (thread));
    }
  if (mh_writer_dir_exists (thread_fd, dir))
    {
      close (thread_fd);
      imp->stats->already++;
      g_hash_table_insert (imp->seen, g_strdup (sha), NULL);
      return TRUE;
    }

  s = g_new0 (Seen, 1);
  s->thread = g_strdup (thread);
  s->dir = g_strdup (dir);
  s->mailboxes = g_ptr_array_new_with_free_func (g_free);
  s->locations = g_array_new (FALSE, TRUE, sizeof (MhLocation));
  g_ptr_array_add (s->mailboxes, g_strdup (m->mailbox->name));
  loc.mailbox = s->mailboxes->pdata[0];
  loc.uidvalidity = m->mailbox->uidvalidity;
  loc.uid = m->uid;
  g_array_append_val (s->locations, loc);
  s->flags = g_strdupv ((char **) m->flags);
  meta_for (&meta, imp->account, s->locations, m->flags);

  ok = mh_writer_write_message (thread_fd, dir, m->path, m->is_temp, msg,
                                &meta, &result, error);
  close (thread_fd);
  if (!ok)
    {
      seen_free (s);
      return FALSE;
    }
  imp->stats->imported++;
  imp->stats->attachments += result->attachments->len;
  imp->stats->warnings += result->n_warnings;
  g_hash_table_insert (imp->seen, g_strdup (sha), s);
  return TRUE;
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
  g_autofree char *sha = hash_file (m->path, &local);
  gpointer seen;

  if (sha != NULL && g_hash_table_lookup_extended (imp->seen, sha, NULL,
                                                   &seen))
    {
      imp->stats->duplicates++;
      if (add_location (imp, seen, m, &local))
        return TRUE;
    }
  else if (sha != NULL && import_one (imp, m, sha, &local))
    return TRUE;

  /* One bad message does not stop the others. */
  imp->stats->failed++;
  g_ptr_array_add (imp->stats->failures,
                   g_strdup_printf ("%s: message %u: %s", message_file (m),
                                    m->uid, local->message));
  return TRUE;
}

gboolean
mh_import (const MhImportOptions *options, MhImportStats *stats,
           GError **error)
{
  g_autoptr(GPtrArray) mailboxes = NULL;
  g_autoptr(GHashTable) seen = NULL;
  g_autoptr(GHashTable) cleaned = NULL;
  g_autofree char *account = NULL;
  g_autofree char *tmp_dir = NULL;
  g_autoptr(GError) local = NULL;
  Import imp = { 0 };
  int out_fd = -1, account_fd = -1, threads_fd = -1;
  gboolean ok = FALSE;

  memset (stats, 0, sizeof *stats);
  stats->failures = g_ptr_array_new_with_free_func (g_free);
  account = mh_safename (options->account, "local");
  stats->account_dir = g_build_filename (options->output, account, NULL);

  mailboxes = mh_local_scan (options->paths, &local);
  if (mailboxes == NULL)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_CONFIG, "%s", local->message);
      return FALSE;
    }

  /* The output root is the user's choice and may be a symbolic link;
   * below it nothing is followed. */
  if (g_mkdir_with_parents (options->output, 0755) != 0
      || (out_fd = open (options->output,
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    {
      int saved = errno;

      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot create %s: %s",
                   options->output, g_strerror (saved));
      goto out;
    }
  account_fd = mh_writer_open_dir (out_fd, account, TRUE, error);
  if (account_fd < 0)
    goto out;
  if (mh_writer_clean_stale (account_fd, error) < 0)
    goto out;
  threads_fd = mh_writer_open_dir (account_fd, "threads", TRUE, error);
  if (threads_fd < 0)
    goto out;
  /* mbox members are written here, on the archive's file system, so that
   * the writer renames them into place instead of copying. */
  tmp_dir = g_build_filename (stats->account_dir, ".tmp-import.XXXXXX",
                              NULL);
  if (g_mkdtemp (tmp_dir) == NULL)
    {
      int saved = errno;

      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot create %s: %s",
                   tmp_dir, g_strerror (saved));
      g_clear_pointer (&tmp_dir, g_free);
      goto out;
    }

  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, seen_free);
  cleaned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  imp.stats = stats;
  imp.account = account;
  imp.threads_fd = threads_fd;
  imp.seen = seen;
  imp.cleaned = cleaned;
  for (guint i = 0; i < mailboxes->len; i++)
    {
      MhLocalMailbox *mb = mailboxes->pdata[i];
      g_autoptr(GError) mb_error = NULL;

      if (!mh_local_mailbox_foreach (mb, tmp_dir, on_message, &imp,
                                     &mb_error))
        {
          stats->failed++;
          g_ptr_array_add (stats->failures,
                           g_strdup_printf ("%s: %s", mb->path,
                                            mb_error->message));
        }
    }
  ok = TRUE;

out:
  if (tmp_dir != NULL && account_fd >= 0)
    {
      g_autofree char *base = g_path_get_basename (tmp_dir);

      mh_writer_remove_tree (account_fd, base, NULL);
    }
  if (threads_fd >= 0)
    close (threads_fd);
  if (account_fd >= 0)
    close (account_fd);
  if (out_fd >= 0)
    close (out_fd);
  return ok;
}
