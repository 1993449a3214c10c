/* imap-session.h - one blocking, read-only IMAP session (RFC 3501/9051).
 *
 * The session owns a transport (net.h / tls.h, or a test fake) and an
 * MhImapParser.  Every call sends its command(s), reads until the tagged
 * answer, and returns; untagged EXISTS, EXPUNGE, FETCH flag updates and
 * CAPABILITY may arrive at any time and are recorded.  An untagged BYE
 * ends the session: the call in progress fails with MH_ERROR_BYE carrying
 * the server's text, after delivering what had completed.
 *
 * Errors: a tagged NO is MH_ERROR_SERVER_NO, BAD MH_ERROR_SERVER_BAD, both
 * with the server's text; a NO that asks us to slow down ([THROTTLED],
 * [OVERQUOTA], [UNAVAILABLE], "Request is throttled", "exceeded command or
 * bandwidth limits") is MH_ERROR_THROTTLED and the suggested backoff is
 * kept (mh_imap_session_get_backoff_ms).  Failed authentication is
 * MH_ERROR_AUTH with the server's text.  After a transport or protocol
 * error, or a sink failure in the middle of a FETCH, the session is
 * unusable and every later call fails with MH_ERROR_NET.
 *
 * Memory is bounded: a 64 KiB read buffer, the parser's limits (lines up
 * to 16 MiB for huge SEARCH answers, buffered literals up to 1 MiB), and
 * message bodies are streamed to the caller's sink, never held.
 *
 * The session is read-only by construction: it has EXAMINE but no SELECT,
 * and fetches bodies with BODY.PEEK[].
 */
#pragma once

#include <glib.h>

#include "mailharvest/net.h"
#include "mailharvest/tls.h"

G_BEGIN_DECLS

typedef struct _MhImapSession MhImapSession;

typedef enum {
  MH_IMAP_CMD_CAPABILITY,
  MH_IMAP_CMD_STARTTLS,
  MH_IMAP_CMD_LOGIN,
  MH_IMAP_CMD_AUTHENTICATE,
  MH_IMAP_CMD_LIST,
  MH_IMAP_CMD_STATUS,
  MH_IMAP_CMD_EXAMINE,
  MH_IMAP_CMD_SEARCH,
  MH_IMAP_CMD_FETCH_META, /* UID FETCH without a body item */
  MH_IMAP_CMD_FETCH_BODY, /* UID FETCH with BODY.PEEK[] */
  MH_IMAP_CMD_LOGOUT,
  MH_IMAP_CMD_THREAD,     /* UID THREAD */
  MH_IMAP_CMD_COMPRESS,
  MH_IMAP_CMD_N_KINDS
} MhImapCommandKind;

typedef enum {
  MH_IMAP_AUTH_AUTO,   /* PLAIN if AUTH=PLAIN, else LOGIN unless disabled */
  MH_IMAP_AUTH_PLAIN,
  MH_IMAP_AUTH_LOGIN,
  MH_IMAP_AUTH_XOAUTH2,
  MH_IMAP_AUTH_OAUTHBEARER,
} MhImapAuthMech;

/* Wire trace: @sent is TRUE for lines we send.  @line has no CRLF; literal
 * bodies are replaced by a summary and credentials by "<redacted>". */
typedef void (*MhImapTraceFunc) (gboolean sent, const char *line,
                                 gpointer user_data);

/* Creates a session over @transport (transfer full).  @host and @port are
 * only used in OAUTHBEARER and may be NULL / 0.  @timeout_ms bounds each
 * read (<= 0: 30 s).  Nothing is sent or read yet. */
MhImapSession *mh_imap_session_new (MhTransport *transport, const char *host,
                                    guint16 port, int timeout_ms);
void mh_imap_session_free (MhImapSession *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhImapSession, mh_imap_session_free)

/* Refuse to send passwords or tokens (MH_ERROR_CONFIG) over this session:
 * set for plaintext sessions to hosts that are not loopback. */
void mh_imap_session_set_refuse_credentials (MhImapSession *s,
                                             gboolean refuse);

void mh_imap_session_set_trace (MhImapSession *s, MhImapTraceFunc func,
                                gpointer user_data);

/* Reads the greeting.  OK and PREAUTH succeed (PREAUTH: already
 * authenticated); BYE fails with MH_ERROR_BYE and the server's text. */
gboolean mh_imap_session_open (MhImapSession *s, GError **error);

/* Connects (tls.h), reads the greeting and, for MH_SECURITY_STARTTLS,
 * upgrades.  MH_SECURITY_NONE to a host that is not loopback gives a
 * session that refuses credentials.  Returns (transfer full) or NULL. */
MhImapSession *mh_imap_session_connect (const MhConnectOptions *opts,
                                        GError **error);

/* Sends STARTTLS and upgrades the transport.  Fails (never continuing in
 * plaintext) when STARTTLS is not announced, after PREAUTH, or when the
 * server answers NO/BAD.  Everything the server sent after its tagged OK
 * and before the handshake is discarded.  Capabilities are requested
 * again afterwards. */
gboolean mh_imap_session_starttls (MhImapSession *s, GError **error);

/* Turns on COMPRESS=DEFLATE (RFC 4978) after authentication: sends
 * COMPRESS DEFLATE and, on OK, reads and writes through a deflate
 * transport (net.h) from then on.  FALSE, with the session usable and
 * uncompressed, when the server does not announce it (MH_ERROR_PROTOCOL,
 * nothing sent) or answers NO or BAD (MH_ERROR_SERVER_NO or _BAD); any
 * other failure breaks the session. */
gboolean mh_imap_session_compress (MhImapSession *s, GError **error);

/* TRUE once COMPRESS=DEFLATE is on. */
gboolean mh_imap_session_is_compressed (MhImapSession *s);

/* For a session from mh_imap_session_connect(): its TLS protocol and
 * cipher suite, as mh_tls_describe() gives them, or NULL without TLS. */
const char *mh_imap_session_get_tls (MhImapSession *s);

/* Sends CAPABILITY and replaces the known capabilities. */
gboolean mh_imap_session_capability (MhImapSession *s, GError **error);

/* TRUE when @cap (e.g. "AUTH=PLAIN", case-insensitive) was announced.
 * Capabilities come from the greeting, CAPABILITY responses and
 * [CAPABILITY ...] codes. */
gboolean mh_imap_session_has_capability (MhImapSession *s, const char *cap);

gboolean mh_imap_session_is_authenticated (MhImapSession *s);

/* Authenticates with a password (AUTO, PLAIN, LOGIN) or a bearer token
 * (XOAUTH2, OAUTHBEARER).  With AUTO: PLAIN when AUTH=PLAIN is announced,
 * else LOGIN unless LOGINDISABLED.  Capabilities are refreshed afterwards
 * when the server did not include them.  Failure: MH_ERROR_AUTH with the
 * server's text (for XOAUTH2/OAUTHBEARER also status and scope from the
 * server's JSON challenge); MH_ERROR_CONFIG when credentials are refused
 * or no mechanism is possible. */
gboolean mh_imap_session_authenticate (MhImapSession *s, const char *user,
                                       const char *secret,
                                       MhImapAuthMech mech, GError **error);

typedef struct {
  char *name;        /* as on the wire (modified UTF-7) */
  char *name_utf8;   /* decoded, or a copy of @name when decoding failed */
  char delimiter;    /* '\0' for NIL */
  char **flags;      /* as sent, e.g. "\\HasNoChildren"; never NULL */
  char *role;        /* special use: "\\All", "\\Sent", ... or NULL */
  gboolean noselect; /* \Noselect or \NonExistent */
} MhImapMailbox;

void mh_imap_mailbox_free (MhImapMailbox *mb);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhImapMailbox, mh_imap_mailbox_free)

/* Lists every mailbox ("" "*").  Uses LIST ... RETURN (SPECIAL-USE) when
 * SPECIAL-USE is announced, XLIST when only XLIST is (its \AllMail,
 * \Spam, \Starred and \Inbox are mapped to \All, \Junk, \Flagged and no
 * role), plain LIST otherwise.  Returns MhImapMailbox* (transfer full). */
GPtrArray *mh_imap_session_list (MhImapSession *s, GError **error);

typedef struct {
  guint32 messages;
  guint32 uidnext;
  guint32 uidvalidity;
} MhImapStatus;

/* STATUS @mailbox (MESSAGES UIDNEXT UIDVALIDITY); @mailbox is the wire
 * name.  Items the server omits are 0. */
gboolean mh_imap_session_status (MhImapSession *s, const char *mailbox,
                                 MhImapStatus *status_out, GError **error);

typedef struct {
  guint32 exists;
  guint32 uidvalidity;
  guint32 uidnext;
  guint64 highestmodseq; /* 0 without CONDSTORE */
  gboolean read_only;    /* the server confirmed [READ-ONLY] */
} MhImapExamine;

/* EXAMINE @mailbox (the wire name); never SELECT. */
gboolean mh_imap_session_examine (MhImapSession *s, const char *mailbox,
                                  MhImapExamine *result_out, GError **error);

/* UID SEARCH @criteria (e.g. "ALL", "UID 100:*"); @criteria is sent as
 * is and must not contain CR, LF or NUL.  Returns the UIDs sorted
 * ascending without duplicates (GArray of guint32, transfer full). */
GArray *mh_imap_session_uid_search (MhImapSession *s, const char *criteria,
                                    GError **error);

/* Orders two guint32 UIDs, for g_array_sort(). */
int mh_imap_uid_cmp (gconstpointer a, gconstpointer b);

/* Appends to @set the sequence set ("3:5,9") of the first UIDs of @uids
 * (ascending, no duplicates): at most @max_uids of them, and none once
 * @set is @max_len bytes or longer.  Returns how many it took (at least
 * one when @n_uids and @max_uids are not 0). */
gsize mh_imap_uid_set_append (GString *set, const guint32 *uids,
                              gsize n_uids, gsize max_uids, gsize max_len);

/* EXAMINE @mailbox and UID SEARCH @criteria in it, sent together: one
 * round trip.  Fills @result_out and returns the UIDs as above; when the
 * EXAMINE fails, that is the error. */
GArray *mh_imap_session_examine_search (MhImapSession *s,
                                        const char *mailbox,
                                        const char *criteria,
                                        MhImapExamine *result_out,
                                        GError **error);

typedef struct {
  guint32 uid;
  guint32 seq;
  char **flags;         /* never NULL */
  gint64 internaldate;  /* unix time, 0 when absent or malformed */
  guint64 size;         /* RFC822.SIZE */
  guint64 gm_msgid;     /* X-GM-MSGID, 0 when absent */
  guint64 gm_thrid;     /* X-GM-THRID, 0 when absent */
  char **gm_labels;     /* X-GM-LABELS, never NULL */
  gboolean has_body;    /* a body was streamed to the sink */
  guint64 body_size;    /* bytes given to the sink */
  guint64 too_big;      /* the body's size when it was larger than
                         * @max_body and skipped (has_body FALSE), else 0 */
  const guint8 *header; /* with @header in the options: the message's
                         * header block, blank line included, at most
                         * MH_IMAP_HEADER_PEEK bytes of it; borrowed for
                         * the call; NULL when the server sent none */
  gsize header_len;
} MhImapMessageInfo;

/* The sink of UID FETCH.  Callbacks return FALSE with @error to abort the
 * whole fetch (the session is unusable afterwards).
 *
 * begin:  a body of @total bytes starts; returns the handle passed to the
 *         other callbacks (may be NULL only with @error set).
 * write:  the next @len bytes of the body (never called with len 0).
 * done:   the message is complete: @info holds its metadata, @handle is
 *         the body's handle or NULL for metadata-only fetches.  Ownership
 *         of @handle passes to done.
 * abort:  optional; releases a handle whose message did not complete
 *         (error, BYE, or a response without UID).
 * refused: optional.  Without it, a NO to one of the pipelined commands
 *         fails the fetch (after the commands in flight are answered).
 *         With it, the fetch goes on, and each UID of that command that
 *         the server did not return is given to refused with the server's
 *         answer (scrubbed) as @reason.  A NO that asks to slow down
 *         (MH_ERROR_THROTTLED) still fails the fetch.
 * incomplete: optional, body fetches only: an answer for @uid, asked for
 *         and not delivered yet, came with its RFC822.SIZE or INTERNALDATE
 *         but without its body.  The body may still come in a later
 *         answer; but a server that cannot read a message may also send
 *         what it has and end the session (Dovecot: "* BYE FETCH
 *         failed: Internal error occurred"). */
typedef struct {
  gpointer (*begin) (guint64 total, gpointer user_data, GError **error);
  gboolean (*write) (gpointer handle, const guint8 *data, gsize len,
                     gpointer user_data, GError **error);
  gboolean (*done) (const MhImapMessageInfo *info, gpointer handle,
                    gpointer user_data, GError **error);
  void (*abort) (gpointer handle, gpointer user_data);
  void (*refused) (guint32 uid, const char *reason, gpointer user_data);
  void (*incomplete) (guint32 uid, gpointer user_data);
} MhImapFetchSink;

/* The most of a header block BODY.PEEK[HEADER] asks for. */
#define MH_IMAP_HEADER_PEEK 65536

typedef struct {
  gboolean body;       /* add BODY.PEEK[] to the metadata items */
  guint batch_size;    /* UIDs per command; 0: 100 (bodies 25) */
  guint max_in_flight; /* pipelined commands; 0: 16 */
  gboolean header;     /* without @body: add BODY.PEEK[HEADER] of at
                        * most MH_IMAP_HEADER_PEEK bytes */
  guint64 max_body;    /* with @body: a body larger than this is read and
                        * dropped, never given to begin or write; done
                        * gets it with too_big set.  0: no limit but the
                        * parser's max_streamed */
} MhImapFetchOptions;

/* UID FETCH of @uids (any order, duplicates ignored) after EXAMINE.
 * Items: UID FLAGS INTERNALDATE RFC822.SIZE, plus X-GM-MSGID X-GM-THRID
 * X-GM-LABELS when X-GM-EXT-1 is announced, plus BODY.PEEK[] when
 * @opts->body or the start of BODY.PEEK[HEADER] when @opts->header.
 * Each message is delivered once through @sink->done, in the server's
 * order; UIDs the server does not return (expunged) are simply not
 * delivered.  Stores in *delivered_out (may be NULL) how many
 * messages were delivered, also when failing. */
gboolean mh_imap_session_uid_fetch (MhImapSession *s, const guint32 *uids,
                                    gsize n_uids,
                                    const MhImapFetchOptions *opts,
                                    const MhImapFetchSink *sink,
                                    gpointer user_data, guint *delivered_out,
                                    GError **error);

/* Nodes one THREAD answer may hold. */
#define MH_IMAP_MAX_THREAD_NODES 10000000u

/* One node of a server's THREAD answer (RFC 5256 section 4). */
typedef struct _MhImapThreadNode MhImapThreadNode;
struct _MhImapThreadNode {
  guint32 uid;           /* 0 for the server's placeholder of a missing
                          * parent: "((3)(5))" is one thread of two */
  GPtrArray *children;   /* MhImapThreadNode* (owned), in the server's
                          * order; never NULL */
};

void mh_imap_thread_node_free (MhImapThreadNode *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhImapThreadNode, mh_imap_thread_node_free)

/* UID THREAD @algorithm @charset @criteria after EXAMINE, e.g.
 * ("REFERENCES", "UTF-8", "ALL").  @algorithm and @charset must be atoms
 * (letters, digits, '-', '_', '.'), @criteria has no CR, LF or NUL
 * (MH_ERROR_CONFIG otherwise).  Stores in *threads_out the threads as
 * trees of UIDs (GPtrArray of MhImapThreadNode*, transfer full), one root
 * per thread, in the server's order; a server that does not know the
 * algorithm answers BAD or NO (MH_ERROR_SERVER_BAD / _NO).  Numbers that
 * are not valid UIDs are a protocol error.  Limits: the session's parser
 * limits (nesting depth 32, so a server answer that branches more deeply
 * than that fails with MH_ERROR_LIMIT), at most MH_IMAP_MAX_THREAD_NODES
 * nodes (MH_ERROR_LIMIT). */
gboolean mh_imap_session_uid_thread (MhImapSession *s,
                                     const char *algorithm,
                                     const char *charset,
                                     const char *criteria,
                                     GPtrArray **threads_out,
                                     GError **error);

/* LOGOUT; the BYE it provokes is expected.  The transport is closed. */
gboolean mh_imap_session_logout (MhImapSession *s, GError **error);

/* Sends LOGOUT without waiting for its answer, which
 * mh_imap_session_logout() then reads: a caller with other work to do
 * (the conversation step) does it meanwhile instead of waiting a round
 * trip.  No other command may follow. */
gboolean mh_imap_session_logout_begin (MhImapSession *s, GError **error);

/* The backoff the server suggested in its last throttling answer, in
 * milliseconds, or 0 when it gave none. */
guint64 mh_imap_session_get_backoff_ms (MhImapSession *s);

/* The count of commands of @kind sent so far. */
guint mh_imap_session_get_command_count (MhImapSession *s,
                                         MhImapCommandKind kind);
/* Bytes read from the transport so far. */
guint64 mh_imap_session_get_bytes_received (MhImapSession *s);
/* The last EXISTS count seen, and how many EXPUNGE and unsolicited FETCH
 * (flag update) responses arrived since the session started. */
guint32 mh_imap_session_get_exists (MhImapSession *s);
guint mh_imap_session_get_expunge_count (MhImapSession *s);
guint mh_imap_session_get_fetch_update_count (MhImapSession *s);

/* The text of the server's BYE, or NULL if none arrived. */
const char *mh_imap_session_get_bye_text (MhImapSession *s);

G_END_DECLS
