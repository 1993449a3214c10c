/* run-private.h - shared by run.c, run-mailbox.c and run-relink.c. */
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
 * full), or NULL with @error when one it needs is missing.  A mailbox
 * the account names that the server does not list is added to @missing
 * (char*) and left out; NULL with @error when none is left. */
GPtrArray *mh_run_choose_mailboxes (RunAccount *ra, GPtrArray *missing,
                                    GError **error);
/* What to say of a mailbox @name the account names and the server does
 * not list. */
char *mh_run_missing_mailbox (RunAccount *ra, const char *name);

/* Fetches what @mb lacks into the archive, reconnecting as needed. */
gboolean mh_run_sync_mailbox (RunAccount *ra, const MhImapMailbox *mb,
                              GError **error);

/* The messages of a body fetch that did not come (run-gaps.c): the
 * server refused them (a NO to their command), left them out of an OK
 * answer, or ended the session while sending them.  Each is a failed
 * message, not a failed mailbox, unless the server turns out to refuse
 * everything or the message is gone.  One MhRunGaps serves all the
 * attempts at one mailbox in a run. */
typedef struct {
  GHashTable *asked;     /* UIDs asked for and not answered yet */
  GArray *refused;       /* UIDs whose command got a NO */
  gboolean last_try;     /* the fetch one by one: a NO fails the message */
  guint failed;          /* in the last try: UIDs refused again */
  char *reason;          /* the first refusal's text */
  /* Across attempts: */
  guint32 suspect;       /* its answer came without its body; 0: none */
  guint32 last_answered; /* the highest UID answered in this attempt */
  gboolean fetching;     /* between init and the end of finish */
  GHashTable *strikes;   /* UID -> sessions it ended (MH_RUN_GAPS_FAILED:
                          * counted as failed already) */
  char *strike_reason;   /* how the first of them ended */
  guint strikes_in_row;  /* strikes since a message last came */
  guint32 uidvalidity;   /* of the UIDs in strikes */
} MhRunGaps;

/* Starts tracking a body fetch of @uids (the strikes stay). */
void mh_run_gaps_init (MhRunGaps *g, const guint32 *uids, gsize n);
void mh_run_gaps_clear (MhRunGaps *g);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MhRunGaps, mh_run_gaps_clear)
/* For the sink: @uid came (body, or over max_message_size). */
void mh_run_gaps_answered (MhRunGaps *g, guint32 uid);
/* For the sink's incomplete: @uid's answer came without its body. */
void mh_run_gaps_incomplete (MhRunGaps *g, guint32 uid);
/* run-search.c: EXAMINE @mb (filling @ex) and return the UIDs a sync
 * asks for, ascending: every one, those since the account's `since`, or
 * a set that holds the newest `latest` (the caller takes the last N).
 * @before is the store's record of the mailbox, or NULL. */
GArray *mh_run_search (RunAccount *ra, const MhImapMailbox *mb,
                       const MhStoreMailbox *before, MhImapExamine *ex,
                       GError **error);

/* An attempt failed with the transient @failure.  The message the server
 * ended the session on gets a strike: the one whose answer came without
 * its body, or after a BYE (the server's own doing, not the network's)
 * the first UID asked for after the last one answered (servers answer in
 * the order asked).  Returns its UID (the attempt made progress), or 0:
 * also once 2 * MH_RUN_GAPS_PROBE strikes came with no message between
 * them, since a server that ends every session is not failing on one
 * message, and the reconnects must stay bounded; and for a BYE that
 * names the session as its reason (an expired OAuth2 token). */
guint32 mh_run_gaps_strike (MhRunGaps *g, const GError *failure);
/* Before the body fetch of @pending in a mailbox of @uidvalidity: takes
 * out the UIDs with strikes.  With one, it is kept for the end, asked for
 * on its own; with two it counts as failed (once per run).  Returns how
 * many were taken out for good. */
#define MH_RUN_GAPS_FAILED G_MAXUINT
guint mh_run_gaps_filter (RunAccount *ra, const char *mailbox, MhRunGaps *g,
                          guint32 uidvalidity, GArray *pending);
/* For the sink's refused: returns TRUE when this is the last try, and
 * the message has been counted as failed. */
gboolean mh_run_gaps_refused (RunAccount *ra, const char *mailbox,
                              MhRunGaps *g, guint32 uid,
                              const char *reason);
/* After the fetch: asks for each refused UID again on its own (@sink and
 * @user_data as for the fetch; the sink's refused must call
 * mh_run_gaps_refused), then asks the server which UIDs that never came
 * still exist, and counts those as failed.  Fails for the mailbox when
 * the first MH_RUN_GAPS_PROBE refused UIDs are all refused again: then
 * the server is refusing more than a message. */
#define MH_RUN_GAPS_PROBE 10
gboolean mh_run_gaps_finish (RunAccount *ra, const char *mailbox,
                             MhRunGaps *g, const MhImapFetchSink *sink,
                             gpointer user_data, GError **error);

/* What a mailbox listed before its UIDVALIDITY changed (run-relink.c).
 * The store forgets those locations at once, so this is kept across the
 * attempts of one run. */
typedef struct {
  GPtrArray *keys;     /* char*, sorted; NULL when nothing changed */
  GHashTable *by_size; /* gint64* message size -> GArray of candidates */
} MhRunForgotten;

/* Lists the keys @mailbox had, with their sizes and Message-IDs; on
 * failure @f is left cleared. */
gboolean mh_run_forgotten_load (MhStore *store, const char *mailbox,
                                MhRunForgotten *f, GError **error);
/* Whether @f holds any archived message to match. */
gboolean mh_run_forgotten_any (const MhRunForgotten *f);
void mh_run_forgotten_clear (MhRunForgotten *f);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MhRunForgotten, mh_run_forgotten_clear)

/* Sets *@m_out to the message of @f whose size is @info's and whose
 * archived message.eml begins with @info's header block, byte for byte
 * (mh_archive_raw_starts_with()), or to NULL when none is or @info has
 * no header block.  Fails only when the store does. */
gboolean mh_run_find_relinkable (RunAccount *ra, const MhRunForgotten *f,
                                 const MhImapMessageInfo *info,
                                 MhStoreMessage **m_out, GError **error);
