/* fuzz-imap-parser.c - libFuzzer target for mh_imap_parser_feed().
 *
 * The input is a server's byte stream.  It is parsed with streaming off
 * and on, each time once in one piece and once in pieces whose sizes are
 * derived from the input, and with default or small limits (also derived
 * from the input).  Both ways of feeding must give the same events, and
 * every event must keep the contract of imap-parser.h; a violation
 * aborts, which libFuzzer reports as a crash. */
#include <stdlib.h>
#include <string.h>

#include "mailharvest/error.h"
#include "mailharvest/imap-parser.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

#define CHECK(cond) \
  do { if (!(cond)) { g_printerr ("check failed: %s\n", #cond); abort (); } } \
  while (0)

typedef struct {
  guint64 digest;     /* of every event, in order */
  guint responses;
  gboolean failed;
  gint error_code;
  /* the streamed literal in progress */
  gboolean in_literal;
  guint64 next_offset;
  guint64 total;
  guint32 number;
} Run;

static guint64
mix (guint64 h, guint64 v)
{
  h ^= v + G_GUINT64_CONSTANT (0x9e3779b97f4a7c15) + (h << 6) + (h >> 2);
  return h;
}

static guint64
mix_bytes (guint64 h, const void *p, gsize len)
{
  const guint8 *b = p;

  for (gsize i = 0; i < len; i++)
    h = mix (h, b[i]);
  return mix (h, len);
}

static guint64
mix_str (guint64 h, const char *s)
{
  if (s == NULL)
    return mix (h, 0xdead);
  return mix_bytes (h, s, strlen (s));
}

static guint64
mix_args (guint64 h, const GPtrArray *args, guint depth)
{
  CHECK (args != NULL);
  CHECK (depth <= 64);
  h = mix (h, args->len);
  for (guint i = 0; i < args->len; i++)
    {
      const MhImapArg *a = g_ptr_array_index (args, i);

      h = mix (h, a->type);
      switch (a->type)
        {
        case MH_IMAP_ARG_NIL:
          CHECK (a->str == NULL && a->list == NULL);
          break;
        case MH_IMAP_ARG_ATOM:
        case MH_IMAP_ARG_STRING:
        case MH_IMAP_ARG_LITERAL:
          CHECK (a->str != NULL && a->str[a->len] == '\0');
          CHECK (a->type != MH_IMAP_ARG_ATOM || a->len > 0);
          CHECK (a->type != MH_IMAP_ARG_LITERAL || a->literal_size == a->len);
          h = mix_bytes (h, a->str, a->len);
          h = mix (h, a->literal8);
          break;
        case MH_IMAP_ARG_STREAMED:
          CHECK (a->str == NULL);
          h = mix (h, a->literal_size);
          h = mix (h, a->literal8);
          break;
        case MH_IMAP_ARG_LIST:
          h = mix_args (h, a->list, depth + 1);
          break;
        default:
          CHECK (FALSE);
        }
    }
  return h;
}

static void
check_response (Run *run, MhImapResponse *r)
{
  guint64 h = run->digest;

  CHECK (r != NULL);
  CHECK (!run->in_literal);
  CHECK ((r->kind == MH_IMAP_RESP_TAGGED) == (r->tag != NULL));
  CHECK (r->status == NULL || r->name == NULL);
  CHECK (r->kind != MH_IMAP_RESP_CONTINUATION || r->text != NULL);
  CHECK (r->code != NULL || r->code_args->len == 0);
  h = mix (h, r->kind);
  h = mix_str (h, r->tag);
  h = mix_str (h, r->status);
  h = mix_str (h, r->code);
  h = mix_args (h, r->code_args, 0);
  h = mix_str (h, r->text);
  h = mix (h, r->has_number);
  h = mix (h, r->number);
  h = mix_str (h, r->name);
  h = mix_args (h, r->args, 0);
  (void) mh_imap_fetch_item (r, "BODY[]");
  run->digest = h;
  run->responses++;
  mh_imap_response_free (r);
}

static void
check_chunk (Run *run, const MhImapLiteralChunk *c, const guint8 *buf,
             gsize len)
{
  if (!run->in_literal)
    {
      CHECK (c->offset == 0);
      run->total = c->total;
      run->number = c->number;
      run->next_offset = 0;
    }
  CHECK (c->offset == run->next_offset);
  CHECK (c->total == run->total && c->number == run->number);
  CHECK (c->len <= c->total - c->offset);
  CHECK (c->len > 0 || (c->total == 0 && c->last));
  CHECK (c->last == (c->offset + c->len == c->total));
  if (c->len > 0)
    CHECK (c->data >= buf && c->data + c->len <= buf + len);
  /* Byte by byte, so that the digest does not depend on the chunking. */
  for (gsize i = 0; i < c->len; i++)
    run->digest = mix (run->digest, c->data[i]);
  run->next_offset += c->len;
  run->in_literal = !c->last;
  if (c->last)
    run->digest = mix (run->digest, c->total);
}

/* Feeds one piece, copied to a block of exactly its size.  Returns FALSE
 * once the parser has failed. */
static gboolean
feed (MhImapParser *p, Run *run, const guint8 *piece, gsize len)
{
  /* A real block even for an empty piece: NULL + 0 is undefined. */
  guint8 *buf = g_malloc (MAX (len, 1));
  gsize pos = 0;
  guint idle = 0;
  gboolean ok = TRUE;

  if (len > 0)
    memcpy (buf, piece, len);
  for (;;)
    {
      GError *error = NULL;
      MhImapEvent ev;
      gsize consumed = G_MAXSIZE;
      MhImapParseStatus st;

      st = mh_imap_parser_feed (p, buf + pos, len - pos, &consumed, &ev,
                                &error);
      CHECK (consumed <= len - pos);
      pos += consumed;
      /* Progress: an event without input is only the empty literal's. */
      idle = consumed == 0 ? idle + 1 : 0;
      CHECK (idle <= 2);
      if (st == MH_IMAP_PARSE_NEED_MORE)
        {
          CHECK (pos == len && error == NULL && ev.response == NULL);
          break;
        }
      if (st == MH_IMAP_PARSE_ERROR)
        {
          CHECK (error != NULL && error->domain == MH_ERROR);
          CHECK (error->code == MH_ERROR_PROTOCOL
                 || error->code == MH_ERROR_LIMIT);
          CHECK (ev.response == NULL);
          run->failed = TRUE;
          run->error_code = error->code;
          g_error_free (error);
          ok = FALSE;
          break;
        }
      /* Even at the end of the piece, call again: the parser must then
       * answer NEED_MORE without consuming anything. */
      CHECK (error == NULL);
      if (st == MH_IMAP_PARSE_RESPONSE)
        check_response (run, ev.response);
      else
        {
          CHECK (st == MH_IMAP_PARSE_LITERAL_DATA && ev.response == NULL);
          check_chunk (run, &ev.chunk, buf, len);
        }
    }
  g_free (buf);
  return ok;
}

static guint64
hash_input (const guint8 *data, size_t size)
{
  return mix_bytes (G_GUINT64_CONSTANT (1469598103934665603), data, size);
}

static void
run_once (const guint8 *data, size_t size, const MhImapParserLimits *lim,
          gboolean streaming, guint64 seed, Run *run)
{
  g_autoptr(MhImapParser) p = mh_imap_parser_new (lim);
  gsize pos = 0;

  mh_imap_parser_set_streaming (p, streaming);
  memset (run, 0, sizeof *run);
  if (seed == 0)
    {
      feed (p, run, data, size);
      return;
    }
  while (pos < size)
    {
      gsize piece;

      /* xorshift64: piece sizes from 1 to 64, sometimes larger. */
      seed ^= seed << 13;
      seed ^= seed >> 7;
      seed ^= seed << 17;
      piece = (seed & 7) == 0 ? (gsize) (seed >> 8) % 1024 + 1
                              : (gsize) (seed >> 8) % 64 + 1;
      piece = MIN (piece, size - pos);
      if (!feed (p, run, data + pos, piece))
        return;
      pos += piece;
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  guint64 h = hash_input (data, size);
  MhImapParserLimits lim;

  mh_imap_parser_limits_init (&lim);
  if (h & 1)
    {
      lim.max_line = 32 + (h >> 8) % 256;
      lim.max_literal = (h >> 16) % 64;
      lim.max_streamed = (h >> 24) % 512;
      lim.max_depth = 1 + (guint) ((h >> 32) % 8);
      lim.max_args = 1 + (guint) ((h >> 40) % 64);
    }

  for (int streaming = 0; streaming < 2; streaming++)
    {
      Run whole, split;

      run_once (data, size, &lim, streaming, 0, &whole);
      run_once (data, size, &lim, streaming, h | 1, &split);
      CHECK (whole.responses == split.responses);
      CHECK (whole.digest == split.digest);
      CHECK (whole.failed == split.failed);
      if (whole.failed)
        CHECK (whole.error_code == split.error_code);
    }
  return 0;
}
