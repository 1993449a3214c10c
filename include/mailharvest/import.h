/* import.h - local mail (mbox, Maildir, .eml) into an archive.
 *
 * Every message goes the way of one fetched over IMAP: through the
 * account's archive (archive.h), which deduplicates it, parses it, writes
 * its message dir and records it; at the end the whole account is
 * threaded and laid out as OUTPUT/ACCOUNT/threads/THREAD/MESSAGE, with
 * thread.json, threads.json and index.html.  Messages imported in
 * different runs, or found in different mailboxes, thread together.
 *
 * A message's source location is (mailbox name, local uidvalidity, local
 * UID) as source-local.h defines them, so importing the same files again
 * finds every location known, writes nothing and changes no byte.  The
 * same message found again elsewhere (same bytes, or same Message-ID,
 * date and sender) is stored once, with every location in message.json.
 * The file time is never used as a fallback date (it changes when files
 * are copied, and with it the dir names); a message without any usable
 * date is filed under the epoch.
 */
#pragma once

#include <glib.h>

#include "mailharvest/thread.h"

G_BEGIN_DECLS

/* Where an import is, after each message: the mailbox at hand (its
 * path, and which of how many) and how far through it, as in
 * MhLocalMessage (bytes of an mbox, messages otherwise). */
typedef struct {
  const char *mailbox;         /* the mbox file, Maildir or folder */
  guint index, mailboxes;      /* 1-based */
  guint64 done, total;         /* total 0: unknown */
  guint messages;              /* messages handled so far, all mailboxes */
} MhImportProgress;

typedef void (*MhImportProgressFunc) (const MhImportProgress *progress,
                                      gpointer user_data);

typedef struct {
  const char *output;          /* the archive root, created if missing */
  const char *account;         /* made safe with mh_safename() */
  const char *const *paths;    /* NULL-terminated; see source-local.h */
  MhThreadSubjectMode subject_mode; /* 0: guarded (the default) */
  guint window_days;           /* 0: the threader's default */
  MhImportProgressFunc progress; /* or NULL */
  gpointer user_data;
} MhImportOptions;

typedef struct {
  guint imported;              /* messages added to the archive */
  guint duplicates;            /* the same message again at another
                                * location: only the location added */
  guint already;               /* locations recorded by an earlier run */
  guint failed;                /* messages (or mailboxes, or the final
                                * layout) that failed; see failures */
  guint attachments;           /* attachment files written */
  guint warnings;              /* warnings in the written manifests */
  guint threads;               /* conversations in the account after the
                                * import (0 when the layout failed) */
  guint messages;              /* messages in the account afterwards */
  GPtrArray *failures;         /* char*: "FILE: message N: reason" */
  char *account_dir;           /* OUTPUT/ACCOUNT as a path */
} MhImportStats;

void mh_import_stats_clear (MhImportStats *stats);

/* Imports the mailboxes found in @options->paths.  A message that fails
 * is counted and described in @stats->failures, and the import goes on;
 * so does a failure to lay out the threads at the end (the recorded
 * messages are placed by the next run).  Returns FALSE with @error set
 * when nothing could be done: a path that does not exist or cannot be
 * read (MH_ERROR_CONFIG; nothing is created then), or an archive that
 * cannot be opened (MH_ERROR_IO).  @stats is filled in either way and
 * must be cleared with mh_import_stats_clear(). */
gboolean mh_import (const MhImportOptions *options, MhImportStats *stats,
                    GError **error);

G_END_DECLS
