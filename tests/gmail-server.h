/* gmail-server.h - a tiny scripted Gmail-like IMAP server for the tests
 * of `mailharvest run` (test-run-gmail.c and test-run-gmail-faults.c).
 *
 * A thread listens on 127.0.0.1 (plain TCP, a free port) and serves one
 * connection at a time: greeting, CAPABILITY (IMAP4rev1 X-GM-EXT-1
 * SPECIAL-USE AUTH=PLAIN AUTH=XOAUTH2 SASL-IR), LOGIN, AUTHENTICATE PLAIN
 * and XOAUTH2, LIST with
 * "[Gmail]/All Mail" flagged \All, EXAMINE of that folder, UID SEARCH
 * (of a UID set, of a sequence set, or else of every message), UID FETCH of metadata and of
 * BODY.PEEK[] for the UID sets the client sends, NOOP and LOGOUT.  Any
 * other command is answered BAD.  Every command line received is
 * recorded (an AUTHENTICATE answer as "<sasl>").
 *
 * Limits: lines of at most GM_SERVER_MAX_LINE bytes (a longer one ends
 * the connection), GM_SERVER_MAX_MESSAGES messages, a client silent for
 * GM_SERVER_IDLE_MS is dropped.  Nothing here asserts: a misbehaving
 * client gets BAD or a closed connection, and the test sees that in its
 * results.  The messages may be changed only while no client is
 * connected (between runs of the binary).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GM_SERVER_MAX_LINE 16384
#define GM_SERVER_MAX_MESSAGES 1000
#define GM_SERVER_IDLE_MS 30000

typedef enum {
  GM_FAULT_NONE,
  GM_FAULT_REFUSE,    /* a body FETCH naming it sends the others, then
                       * "NO Some messages could not be FETCHed (Failure)" */
  GM_FAULT_LEAVE_OUT, /* a body FETCH leaves it out and says OK */
  GM_FAULT_REFUSE_META,    /* as GM_FAULT_REFUSE, for a FETCH without
                            * the body; a body FETCH sends it */
  GM_FAULT_LEAVE_OUT_META, /* as GM_FAULT_LEAVE_OUT, for a FETCH without
                            * the body; a body FETCH sends it */
  GM_FAULT_CUT,       /* a body FETCH sends the messages before it, then
                       * the connection is closed without a BYE */
  GM_FAULT_VANISH,    /* expunged at the next UID SEARCH, before its
                       * answer, as by another client */
} GmFault;

typedef struct _GmServer GmServer;

/* Starts listening; @user and @password are what LOGIN and AUTHENTICATE
 * PLAIN accept (copied).  Returns (transfer full); aborts when no socket
 * can be had. */
GmServer *gm_server_new (const char *user, const char *password);

/* Stops the thread, closes the sockets and frees.  NULL is fine. */
void gm_server_free (GmServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GmServer, gm_server_free)

guint16 gm_server_get_port (GmServer *server);

/* The state of "[Gmail]/All Mail" that EXAMINE reports; UIDNEXT is one
 * more than the highest UID. */
void gm_server_set_uidvalidity (GmServer *server, guint32 uidvalidity);

/* Adds a message (or replaces the one with @uid).  @labels is the inside
 * of the X-GM-LABELS list as sent ("\\Inbox \"Project X\""), @flags the
 * inside of FLAGS; @text the raw message (copied). */
void gm_server_add (GmServer *server, guint32 uid, guint64 msgid,
                    guint64 thrid, const char *labels, const char *flags,
                    const char *text);

/* Removes every message. */
void gm_server_clear (GmServer *server);

/* Makes the message @uid (0: every message) misbehave as @fault. */
void gm_server_set_fault (GmServer *server, guint32 uid, GmFault fault);

/* Faults of sessions rather than of one message, each with a count @n
 * (0: off) given by gm_server_set_session_fault(). */
typedef enum {
  GM_DETACH_SESSIONS,  /* the next @n sessions that log in answer every
                        * later command as Exchange does when it cannot
                        * reach the mailbox: "BAD User is authenticated
                        * but not connected." */
  GM_REFUSE_LOGINS,    /* the next @n logins (LOGIN, AUTHENTICATE PLAIN)
                        * are refused as Gmail refuses one over its
                        * connection limit: "NO [ALERT] Too many
                        * simultaneous connections. (Failure)" */
  GM_CUT_AFTER,        /* every session's connection is closed, without
                        * a BYE, right after it has sent @n bodies */
  GM_EXPIRE_TOKENS_AFTER, /* a session logged in with an OAuth2 token
                        * (AUTHENTICATE XOAUTH2: tokens starting "tok-"
                        * pass) ends after it has sent @n bodies with
                        * Exchange's "* BYE Session invalidated -
                        * AccessTokenExpired", and that token fails from
                        * then on */
  GM_THROTTLE_AFTER,   /* every UID FETCH that asks for BODY.PEEK[] sends
                        * @n bodies at most, then is answered "NO
                        * [THROTTLED] ..." as below */
  GM_THROTTLE_FETCHES, /* the next @n UID FETCH commands that ask for
                        * BODY.PEEK[] are answered "NO [THROTTLED] ...
                        * Suggested Backoff Time: 5 milliseconds" */
  GM_N_SESSION_FAULTS
} GmSessionFault;

/* Sets the count of @fault (see GmSessionFault) to @n. */
void gm_server_set_session_fault (GmServer *server, GmSessionFault fault,
                                  guint n);

/* The command lines received since the last call (tags included),
 * NULL-terminated, (transfer full). */
char **gm_server_take_commands (GmServer *server);

/* How many commands were answered BAD since the last call. */
guint gm_server_take_bad_count (GmServer *server);

/* How many lines of @commands contain @needle. */
guint gm_server_count (char **commands, const char *needle);

G_END_DECLS
