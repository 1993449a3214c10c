/* imap-parser-private.h - shared between imap-parser.c (the incremental
 * state machine) and imap-grammar.c (the tokeniser of one line segment).
 * Not installed and not part of the API. */
#pragma once

#include "mailharvest/imap-parser.h"

typedef enum {
  ST_LINE,
  ST_LITERAL,
  ST_STREAM,
  ST_ERROR,
} MhImapParserState;

struct _MhImapParser {
  MhImapParserLimits limits;
  gboolean streaming;
  MhImapParserState state;
  GError *error;          /* a copy of the error that stopped the parser */

  GByteArray *line;       /* an incomplete segment, copied from the input */
  MhImapResponse *resp;   /* the response being assembled, or NULL */
  GPtrArray *stack;       /* GPtrArray* containers; [0] is resp->args */
  gsize line_total;       /* bytes of all segments of this response */
  guint64 literal_total;  /* bytes of all buffered literals of it */
  guint nargs;            /* arguments of this response, all levels */

  MhImapArg *literal;     /* the literal being filled or streamed */
  guint64 lit_done;       /* bytes of it already received */
};

typedef struct {
  const guint8 *s;
  gsize n;
  gsize i;
} MhImapCursor;

typedef enum {
  TOK_END,      /* the segment ended with every list closed or open */
  TOK_LITERAL,  /* the segment ended with a literal marker */
  TOK_CODE_END, /* a ']' closed a response code */
  TOK_ERROR,
} MhImapTokResult;

/* Literal announced by the segment just tokenised. */
typedef struct {
  guint64 size;
  gboolean literal8;
} MhImapMarker;


/* Frees an MhImapArg and everything it owns; NULL-safe. */
void mh_imap_arg_free (gpointer arg);

/* A zeroed argument of @type. */
MhImapArg *mh_imap_arg_new (MhImapArgType type);

/* Appends @arg (transfer full) to @container, counting it against
 * max_args; on failure @arg is freed and the error set. */
gboolean mh_imap_add_arg (MhImapParser *p, GPtrArray *container,
                          MhImapArg *arg, GError **error);

/* Tokenises c->s[c->i..] into the containers on @stack, whose bottom
 * (@stack[0]) takes the top-level arguments and whose top is the list
 * being filled; lists opened are pushed, closed lists popped.  @depth0 is
 * the nesting outside the bottom container.  In a response code
 * (@in_code) a ']' outside any list ends the arguments (TOK_CODE_END)
 * and literals are refused.  TOK_LITERAL fills *marker_out. */
MhImapTokResult mh_imap_tokenize (MhImapParser *p, MhImapCursor *c,
                                  GPtrArray *stack, guint depth0,
                                  gboolean in_code,
                                  MhImapMarker *marker_out, GError **error);

/* Parses the start of a response: "+", "* [N] NAME" or "TAG STATUS",
 * and for status and continuation responses the code and text as well.
 * Returns TRUE with c->i at the arguments of a data response, or at the
 * end of the segment. */
gboolean mh_imap_read_head (MhImapParser *p, MhImapCursor *c,
                            MhImapResponse *resp, GError **error);
