/* imap-parser-harness.h - feeding the IMAP response parser in pieces and
 * comparing what it gives through a canonical dump (test-imap-parser.c,
 * test-imap-parser-bad.c).
 *
 * Every piece is copied into a heap block of exactly its size before it
 * is fed, so that AddressSanitizer catches any read past the caller's
 * bytes.  The helpers assert instead of returning errors, except where a
 * GError is part of their contract.
 */
#pragma once

#include <glib.h>

#include "mailharvest/imap-parser.h"

G_BEGIN_DECLS

/* A string literal as the (pointer, length) pair the helpers take. */
#define IN(s) s, sizeof (s) - 1

/* What the parser gave, as one dump line per response and per streamed
 * literal.  Offsets of streamed chunks are checked as they arrive. */
typedef struct {
  GString *log;        /* dumps of responses and streamed literals */
  GString *literal;    /* the streamed literal being received */
  guint64 next_offset;
  gboolean in_literal;
  guint events;
} Collector;

void collector_init (Collector *c);
void collector_clear (Collector *c);

/* Feeds @len bytes of @piece to @p, dumping every response and streamed
 * literal into @c.  Returns FALSE on a parser error, stored in @error;
 * *@last_status_out is the status that consumed the piece's final byte. */
gboolean feed_piece (MhImapParser *p, const char *piece, gsize len,
                     Collector *c, MhImapParseStatus *last_status_out,
                     GError **error);

/* Parses @in whole, then one byte at a time, then (if @pair_span > 0)
 * split at every single position and at every pair of positions at most
 * @pair_span apart; asserts that all give the same dump, and returns it.
 * @expect_need_more: the input ends inside a response. */
char *parse_all_ways (const char *in, gsize len, gboolean streaming,
                      gsize pair_span, gboolean expect_need_more);

G_END_DECLS
