/* imap-session-private.h - what imap-session.c shares with imap-auth.c,
 * imap-mailbox.c and imap-fetch.c.  Not installed, not for other
 * modules. */
#pragma once

#include "mailharvest/imap-parser.h"
#include "mailharvest/imap-session.h"

#define MH_IMAP_RBUF_SIZE (256 * 1024)
/* A SEARCH answer for a large mailbox is one long line: allow 16 MiB and
 * two million arguments rather than the parser's defaults. */
#define MH_IMAP_MAX_LINE (16 * 1024 * 1024)
#define MH_IMAP_MAX_ARGS 2000000
/* The trace keeps at most this much of one response. */
#define MH_IMAP_TRACE_MAX 4096

struct _MhImapSession {
  MhTransport *transport;
  MhImapParser *parser;
  char *host;
  guint16 port;
  int timeout_ms;

  guint8 *rbuf;
  gsize rstart;
  gsize rend;

  guint tag_seq;
  GHashTable *caps; /* upper-cased capability -> itself */
  guint caps_seq;   /* bumped whenever capabilities are replaced */
  gboolean greeted;
  gboolean authenticated;
  gboolean tls_started;
  gboolean compressed;  /* COMPRESS=DEFLATE is on */
  char *tls;            /* "TLSv1.3 SUITE" once TLS is up, or NULL */
  gboolean broken;
  gboolean logging_out;
  struct _MhImapCmd *logout; /* LOGOUT sent, its answer not read yet */
  gboolean refuse_credentials;
  char *bye_text;
  guint64 backoff_ms;

  guint counts[MH_IMAP_CMD_N_KINDS];
  guint64 bytes_received;
  guint32 exists;
  guint expunges;
  guint fetch_updates;

  MhImapTraceFunc trace;
  gpointer trace_data;
  GString *trace_acc;
  gboolean trace_truncated;

  GPtrArray *hidden;    /* the forms the credentials were sent in
                         * (mh_imap_session_hide()) */
};

/* A command being built: its wire bytes, split where a synchronising
 * literal must wait for the server's "+", and its trace text. */
typedef struct _MhImapCmd {
  MhImapCommandKind kind;
  char *tag;
  char *what;          /* the verb, for error messages */
  GPtrArray *segments; /* GString*, the first starts with the tag */
  GString *trace;
} MhImapCmd;

MhImapCmd *mh_imap_cmd_new (MhImapSession *s, MhImapCommandKind kind,
                            const char *verb);
void mh_imap_cmd_free (MhImapCmd *cmd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhImapCmd, mh_imap_cmd_free)
/* Appends @text verbatim (it must be plain ASCII without CR/LF). */
void mh_imap_cmd_add_raw (MhImapCmd *cmd, const char *text);
/* Appends " " and @str as a quoted string or, when it cannot be quoted,
 * as a literal; @secret replaces it by "<redacted>" in the trace. */
void mh_imap_cmd_add_string (MhImapSession *s, MhImapCmd *cmd,
                             const char *str, gboolean secret);

/* Called for each untagged response and continuation while a command
 * runs (after the session's own bookkeeping).  Returning FALSE aborts the
 * command with @error; the session is then unusable. */
typedef gboolean (*MhImapHandler) (MhImapSession *s,
                                   const MhImapResponse *resp,
                                   gpointer data, GError **error);

/* The two halves of mh_imap_session_run(): send @cmd (reading the
 * greeting first if need be), and read until its tagged answer.  A
 * caller may do other work between them, but must send nothing else. */
gboolean mh_imap_session_send (MhImapSession *s, MhImapCmd *cmd,
                               GError **error);
gboolean mh_imap_session_finish (MhImapSession *s, MhImapCmd *cmd,
                                 MhImapHandler handler, gpointer data,
                                 MhImapResponse **tagged_out,
                                 GError **error);

/* Sends @cmd and reads until its tagged answer.  A tagged NO/BAD is an
 * error (see mh_imap_session_tagged_error); the tagged response is stored
 * in *tagged_out (may be NULL) in every case where one arrived. */
gboolean mh_imap_session_run (MhImapSession *s, MhImapCmd *cmd,
                              MhImapHandler handler, gpointer data,
                              MhImapResponse **tagged_out, GError **error);

/* Sends the @n commands at once and reads their answers: one round trip
 * instead of @n.  handlers[i] and data[i] get the untagged responses
 * that come before the tagged answer of cmds[i].  Every tagged answer is
 * read (and stored in tagged_out[i], an array of @n) even after one was
 * NO or BAD; the first such is the error.  Commands with a literal are
 * run one by one. */
gboolean mh_imap_session_run_pipelined (MhImapSession *s, MhImapCmd **cmds,
                                        guint n,
                                        const MhImapHandler *handlers,
                                        gpointer *data,
                                        MhImapResponse **tagged_out,
                                        GError **error);

/* A server may echo the command it rejects ("BAD invalid command: A002
 * LOGIN user password"), at once or in a later answer.  From the moment
 * credentials are sent until the session is freed, the forms they went
 * out in are kept here, and every text from the server that reaches a
 * trace line, an error message or the BYE text has them replaced by
 * "<redacted>" (mh_imap_session_scrub()).  Hide adds a copy of @form
 * (nothing for NULL or "").  Forget wipes and drops them all. */
void mh_imap_session_hide (MhImapSession *s, const char *form);
void mh_imap_session_forget_hidden (MhImapSession *s);
/* Takes @text and returns it, or a copy with the hidden forms replaced
 * (transfer full; NULL for NULL). */
char *mh_imap_session_scrub (MhImapSession *s, char *text);

/* Fails with MH_ERROR_NET when the session is unusable or closed. */
gboolean mh_imap_session_check_usable (MhImapSession *s, GError **error);

/* check_usable and no LOGOUT sent, then reads the greeting if that was
 * not done yet, so that commands are built knowing the server's
 * capabilities. */
gboolean mh_imap_session_ready (MhImapSession *s, GError **error);

/* Writes bytes (no CRLF added) and traces @trace_line (or the bytes
 * themselves when NULL).  Counts a command of @kind unless it is -1. */
gboolean mh_imap_session_write (MhImapSession *s, int kind,
                                const char *data, gsize len,
                                const char *trace_line, GError **error);

/* The next parser event, reading as needed. */
MhImapParseStatus mh_imap_session_next_event (MhImapSession *s,
                                              MhImapEvent *event,
                                              GError **error);

/* Bookkeeping for an untagged response: capabilities, EXISTS, EXPUNGE,
 * BYE (FALSE with MH_ERROR_BYE unless logging out). */
gboolean mh_imap_session_untagged (MhImapSession *s,
                                   const MhImapResponse *resp,
                                   GError **error);

/* The error for a tagged response that is not OK: NO -> SERVER_NO or
 * THROTTLED, BAD -> SERVER_BAD.  @what names the command. */
void mh_imap_session_tagged_error (MhImapSession *s,
                                   const MhImapResponse *resp,
                                   const char *what, GError **error);

/* Whether the NO @resp to a login says the server cannot take it now
 * (UNAVAILABLE, INUSE, LIMIT, a throttle, too many connections), so that
 * a later try may pass, rather than that the credentials are wrong. */
gboolean mh_imap_response_is_temporary (const MhImapResponse *resp);

/* Replaces the capabilities with the ATOMs of @args. */
void mh_imap_session_set_caps (MhImapSession *s, const GPtrArray *args);

/* Marks the session unusable (after an error that desynchronises it). */
void mh_imap_session_break (MhImapSession *s);

/* "[CODE args] text" of a status response, for error messages. */
char *mh_imap_response_describe (const MhImapResponse *resp);
