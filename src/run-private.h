/* run-private.h - shared by run.c and run-mailbox.c. */
#pragma once

#include "mailharvest/archive.h"
#include "mailharvest/imap-session.h"
#include "mailharvest/run.h"

typedef struct {
  const MhAccount *acct;
  const MhRunOptions *opts;
  MhRunResult *result;
  const char *output;
  gint64 latest;             /* 0: all */
  guint max_retries;
  guint64 backoff_ms;
  guint64 max_backoff_ms;
  MhImapSession *session;    /* NULL while disconnected */
  MhArchive *archive;
  gboolean token_refreshed;
} RunAccount;

void mh_run_log (RunAccount *ra, MhRunLogLevel level, const char *format,
                 ...) G_GNUC_PRINTF (3, 4);
void mh_run_progress (RunAccount *ra, const char *mailbox, guint done,
                      guint total);
/* Waits before attempt @attempt (1-based): backoff_ms doubled each time,
 * at most max_backoff_ms. */
void mh_run_backoff (RunAccount *ra, guint attempt);
/* Closes the session, keeping its counters in the result. */
void mh_run_drop_session (RunAccount *ra);
gboolean mh_run_connect (RunAccount *ra, GError **error);
gboolean mh_run_error_is_transient (const GError *error);
void mh_run_message_failed (RunAccount *ra, const char *mailbox,
                            guint32 uid, const char *reason);

/* The mailboxes of the account's profile (MhImapMailbox*, transfer
 * full), or NULL with @error when one it needs is missing. */
GPtrArray *mh_run_choose_mailboxes (RunAccount *ra, GError **error);

/* Fetches what @mb lacks into the archive, reconnecting as needed. */
gboolean mh_run_sync_mailbox (RunAccount *ra, const MhImapMailbox *mb,
                              GError **error);
