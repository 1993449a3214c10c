/* imap-parser.h - pure, incremental IMAP response parser (RFC 3501/9051).
 *
 * The parser never does I/O: the caller reads bytes from wherever it likes
 * and hands them to mh_imap_parser_feed().  It returns one event at a time:
 * a complete response, or a chunk of a "streamed" literal (the body of a
 * FETCH BODY[] item), so that a 100 MB message never sits in memory.
 *
 * Every buffer is bounded: the length of one line (outside literals), the
 * size of a buffered literal, the size of a streamed literal, the nesting
 * depth of lists and the number of arguments of one response.  Exceeding a
 * limit is an MH_ERROR_LIMIT error naming the limit; malformed input is an
 * MH_ERROR_PROTOCOL error.  After an error the parser is unusable until
 * mh_imap_parser_reset().
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  MH_IMAP_ARG_NIL,
  MH_IMAP_ARG_ATOM,     /* also numbers, flags (\Seen), BODY[...]<n> items */
  MH_IMAP_ARG_STRING,   /* quoted string, escapes removed */
  MH_IMAP_ARG_LITERAL,  /* {N}, {N+} or ~{N}, buffered in memory */
  MH_IMAP_ARG_STREAMED, /* a literal delivered as LITERAL_DATA events */
  MH_IMAP_ARG_LIST,     /* ( ... ) */
} MhImapArgType;

typedef struct _MhImapArg MhImapArg;
struct _MhImapArg {
  MhImapArgType type;
  /* ATOM, STRING, LITERAL: the bytes, always followed by a NUL that is not
   * counted in @len.  A literal may contain NUL bytes: use @len. */
  char *str;
  gsize len;
  gboolean literal8;    /* LITERAL or STREAMED announced as ~{N} */
  guint64 literal_size; /* STREAMED: the announced size */
  GPtrArray *list;      /* LIST: MhImapArg* (owned) */
};

typedef enum {
  MH_IMAP_RESP_UNTAGGED,     /* "* ..." */
  MH_IMAP_RESP_TAGGED,       /* "A001 OK ..." */
  MH_IMAP_RESP_CONTINUATION, /* "+ ..." */
} MhImapRespKind;

/* One response.  Examples of how lines map onto the fields:
 *
 *   A1 OK [READ-ONLY] done    kind TAGGED, tag "A1", status "OK",
 *                             code "READ-ONLY", text "done"
 *   * OK [UIDVALIDITY 42] x   kind UNTAGGED, status "OK", code "UIDVALIDITY",
 *                             code_args [ATOM "42"], text "x"
 *   * BYE shutting down       status "BYE", text "shutting down"
 *   * CAPABILITY IMAP4rev1 X  name "CAPABILITY", args [ATOM, ATOM]
 *   * 12 EXISTS               has_number, number 12, name "EXISTS"
 *   * 3 FETCH (UID 7 ...)     number 3, name "FETCH", args [LIST]
 *   * LIST (\All) "/" x       name "LIST", args [LIST, STRING, ATOM]
 *   * SEARCH 1 5 9            name "SEARCH", args [ATOM, ATOM, ATOM]
 *   + dGVzdA==                kind CONTINUATION, text "dGVzdA=="
 *
 * Status responses (OK, NO, BAD, BYE, PREAUTH) keep everything after the
 * optional [code] as free @text: it is never tokenised, so unbalanced
 * quotes or parentheses in a server's message are fine.  status, code and
 * name are upper-cased. */
typedef struct {
  MhImapRespKind kind;
  char *tag;            /* TAGGED only */
  char *status;         /* "OK", "NO", "BAD", "BYE", "PREAUTH" or NULL */
  char *code;           /* response code atom, or NULL */
  GPtrArray *code_args; /* MhImapArg* after the code atom (never NULL) */
  char *text;           /* free text (status and continuation), or NULL */
  gboolean has_number;
  guint32 number;       /* "* N EXISTS", "* N FETCH", "* N EXPUNGE" */
  char *name;           /* data response keyword, or NULL for status */
  GPtrArray *args;      /* MhImapArg* (never NULL) */
} MhImapResponse;

void mh_imap_response_free (MhImapResponse *resp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhImapResponse, mh_imap_response_free)

typedef struct {
  gsize max_line;           /* bytes of one line outside literals */
  guint64 max_literal;      /* bytes of a literal buffered in memory */
  guint64 max_streamed;     /* bytes of a streamed literal */
  guint max_depth;          /* nesting of ( ) and [ ] */
  guint max_args;           /* arguments in one response, all levels */
} MhImapParserLimits;

/* Details of the limits: max_line counts the bytes of all lines of one
 * response (a response with literals has several), without the literals
 * and line ends.  The buffered literals of one response may not exceed
 * 8 * max_literal together.  max_line and max_literal are capped at
 * 2 GiB.  Arguments of a response code count towards max_args.
 *
 * Other details: lines end in CRLF, but a bare LF is accepted as a line
 * end too (LF never occurs inside a line, so this cannot change how a
 * CRLF stream parses); a CR elsewhere is a protocol error, and so is NUL.
 * A status response without text has text NULL; a continuation always has
 * text ("" for a bare "+").  When the arguments of a response code cannot
 * be tokenised (RFC 3501 lets unknown codes carry any text but "]"),
 * code_args holds them as one raw ATOM.  Atoms are not upper-cased. */

/* Defaults: 64 KiB line, 1 MiB buffered literal, 16 GiB streamed literal
 * (its bytes are not kept here: the consumer bounds what it keeps, see
 * MhImapFetchOptions.max_body), depth 32, 100000 args. */
void mh_imap_parser_limits_init (MhImapParserLimits *limits);

typedef struct _MhImapParser MhImapParser;

/* @limits may be NULL for the defaults. */
MhImapParser *mh_imap_parser_new (const MhImapParserLimits *limits);
void mh_imap_parser_free (MhImapParser *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhImapParser, mh_imap_parser_free)

/* Forget any partial response and any error. */
void mh_imap_parser_reset (MhImapParser *p);

/* When on, a literal that is the value of a FETCH item named BODY[...],
 * BINARY[...], RFC822, RFC822.HEADER or RFC822.TEXT (in an untagged FETCH
 * response) is not buffered: its bytes are returned as LITERAL_DATA events
 * and the argument appears in the final response as MH_IMAP_ARG_STREAMED.
 * Off by default. */
void mh_imap_parser_set_streaming (MhImapParser *p, gboolean streaming);

typedef enum {
  MH_IMAP_PARSE_NEED_MORE,    /* all input consumed, no event yet */
  MH_IMAP_PARSE_RESPONSE,     /* event->response is set */
  MH_IMAP_PARSE_LITERAL_DATA, /* event->chunk is set */
  MH_IMAP_PARSE_ERROR,        /* *error is set */
} MhImapParseStatus;

typedef struct {
  const guint8 *data; /* points into the caller's input buffer */
  gsize len;          /* may be 0 once, for an empty literal */
  guint64 offset;     /* offset of @data within the literal */
  guint64 total;      /* the literal's announced size */
  guint32 number;     /* message sequence number of the FETCH response */
  gboolean last;      /* this chunk ends the literal */
} MhImapLiteralChunk;

typedef struct {
  MhImapResponse *response; /* RESPONSE: (transfer full) */
  MhImapLiteralChunk chunk; /* LITERAL_DATA: valid until the caller's
                             * buffer changes */
} MhImapEvent;

/* Consumes bytes from @data (@len bytes) and stores in *consumed_out how
 * many it took; the caller advances by that much and calls again while
 * input remains.  Returns NEED_MORE only when it consumed all of @len.
 * A line (and a literal that is not streamed) is copied into the parser;
 * streamed literal bytes are not copied: event->chunk.data points into
 * @data.  Each response starts with a fresh @event (zeroed by the parser). */
MhImapParseStatus mh_imap_parser_feed (MhImapParser *p,
                                       const guint8 *data, gsize len,
                                       gsize *consumed_out,
                                       MhImapEvent *event_out,
                                       GError **error);

/* Helpers for reading responses. */

/* For an untagged FETCH response: the value following the item @name
 * (case-insensitive; "BODY[]" matches "BODY[]" exactly, ignoring case),
 * or NULL. */
const MhImapArg *mh_imap_fetch_item (const MhImapResponse *resp,
                                     const char *name);

/* TRUE and *value_out for an ATOM that is a decimal number fitting 64 bits. */
gboolean mh_imap_arg_get_uint64 (const MhImapArg *arg, guint64 *value_out);

/* The string value of an ATOM, STRING or LITERAL; NULL for others
 * (NIL included). */
const char *mh_imap_arg_get_string (const MhImapArg *arg);

G_END_DECLS
