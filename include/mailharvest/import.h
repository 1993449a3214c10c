/* import.h - local mail (mbox, Maildir, .eml) into an archive.
 *
 * Every message goes the same way as one fetched over IMAP: parsed with
 * mh_message_parse_file() and written by the writer into
 * OUTPUT/ACCOUNT/threads/THREAD/MESSAGE.  Until the threader is wired in,
 * each message is its own thread, named by mh_layout_thread_dir() with
 * the message's own Message-ID (or, without one, its sha256) as the root.
 *
 * Duplicates are skipped: within one import by the sha256 of the raw
 * bytes (a further location of the same message is added to its
 * message.json), across runs when the message dir exists already.  So a
 * second import of the same files writes nothing and changes no byte.
 * The file time is never used as a fallback date (it changes when files
 * are copied, and with it the dir names); a message without any usable
 * date is filed under the epoch.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *output;          /* the archive root, created if missing */
  const char *account;         /* made safe with mh_safename() */
  const char *const *paths;    /* NULL-terminated; see source-local.h */
} MhImportOptions;

typedef struct {
  guint imported;              /* message dirs written */
  guint duplicates;            /* skipped: same bytes seen in this run */
  guint already;               /* skipped: message dir already there */
  guint failed;                /* messages that could not be imported */
  guint attachments;           /* attachment files written */
  guint warnings;              /* warnings in the written manifests */
  GPtrArray *failures;         /* char*: "FILE: message N: reason" */
  char *account_dir;           /* OUTPUT/ACCOUNT as a path */
} MhImportStats;

void mh_import_stats_clear (MhImportStats *stats);

/* Imports the mailboxes found in @options->paths.  A message that fails
 * is counted and described in @stats->failures, and the import goes on.
 * Returns FALSE with @error set when nothing could be done: a path that
 * does not exist or cannot be read (MH_ERROR_CONFIG), or an output that
 * cannot be created (MH_ERROR_IO).  @stats is filled in either way and
 * must be cleared with mh_import_stats_clear(). */
gboolean mh_import (const MhImportOptions *options, MhImportStats *stats,
                    GError **error);

G_END_DECLS
