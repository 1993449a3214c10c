/* run.h - the batch: every selected account, its mailboxes, latest N.
 *
 * For each account: connect (with retries), authenticate, find the
 * profile's mailboxes, and for each mailbox fetch the newest N messages
 * that the archive does not hold yet, straight into the archive
 * (archive.h); then thread the account.  One account failing does not
 * stop the others; a dropped connection is reconnected with backoff and
 * the mailbox resumes where it stopped; throttling waits and retries
 * within limits.  Nothing here prints: what happens is reported through
 * MhRunEvents and the results.
 */
#pragma once

#include <glib.h>

#include "mailharvest/config.h"

G_BEGIN_DECLS

typedef enum {
  MH_RUN_LOG_INFO,
  MH_RUN_LOG_WARNING,
  MH_RUN_LOG_ERROR,
} MhRunLogLevel;

typedef struct {
  const char *account;
  const char *mailbox;      /* UTF-8 name, or NULL between mailboxes */
  guint done;               /* messages of this mailbox handled */
  guint total;              /* messages of this mailbox to handle */
  guint64 bytes;            /* bytes received for this account */
} MhRunProgress;

typedef struct {
  void (*log) (MhRunLogLevel level, const char *account, const char *text,
               gpointer user_data);
  void (*progress) (const MhRunProgress *progress, gpointer user_data);
  /* Wire trace, credentials already redacted; NULL for none. */
  void (*trace) (const char *account, gboolean sent, const char *line,
                 gpointer user_data);
  gpointer user_data;
} MhRunEvents;

typedef struct {
  const char *output;       /* NULL: the config's */
  gint64 latest;            /* -1: the accounts' own; 0: all */
  guint max_retries;        /* reconnects in a row without a message,
                             * per mailbox; 0: 5 */
  guint backoff_ms;         /* first reconnect delay; 0: 1000 */
  guint max_backoff_ms;     /* longest wait, also for throttling; 0: 5 min */
  MhRunEvents events;
} MhRunOptions;

/* One account's outcome. */
typedef struct {
  char *account;
  gboolean ok;              /* every mailbox synced, no message failed */
  char *error;              /* why the account failed, or NULL */
  GPtrArray *mailboxes;     /* char*: the mailboxes synced (UTF-8) */
  guint selected;           /* messages within "latest" on the server */
  guint fetched;            /* bodies downloaded */
  guint added;              /* new messages stored */
  guint duplicates;         /* found again in another mailbox or label */
  guint relinked;           /* after a UIDVALIDITY change, found again
                             * by size and header, not fetched */
  guint failed;             /* messages that could not be stored */
  GPtrArray *failures;      /* char*: "MAILBOX UID N: reason" */
  guint attachments;        /* attachment files written */
  guint warnings;           /* warnings in written manifests */
  guint threads;            /* conversations in the archive */
  guint messages;           /* messages in the archive */
  guint reconnects;
  guint body_fetches;       /* UID FETCH commands with BODY.PEEK[] */
  guint64 bytes;            /* bytes received (inflated, if compressed) */
  gboolean compressed;      /* a session used COMPRESS=DEFLATE */
  char *tls;                /* the last session's TLS protocol and cipher
                             * suite, or NULL (mh_tls_describe) */
  char *dir;                /* OUTPUT/ACCOUNT */
} MhRunResult;

void mh_run_result_free (MhRunResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhRunResult, mh_run_result_free)

/* Runs every account of @config (already narrowed with -a).  Returns the
 * results, one per account (MhRunResult*, transfer full); an account's
 * failure is in its result, not an error.  Returns NULL with @error set
 * only when nothing could be started (the output cannot be created). */
GPtrArray *mh_run (const MhConfig *config, const MhRunOptions *options,
                   GError **error);

/* Connects to @acct's server and authenticates as the batch does (token
 * refresh included), for `mailharvest folders`.  @trace may be NULL.
 * Returns (transfer full) an authenticated session, or NULL with @error
 * naming what to fix. */
struct _MhImapSession *mh_run_open_session (const MhAccount *acct,
                                            const MhRunEvents *events,
                                            GError **error);

G_END_DECLS
