/* imap-parser.c - pure, incremental IMAP response parser.
 *
 * A response is read one line segment at a time: the bytes up to a line
 * end, which either ends the response or announces a literal.  Each
 * segment is tokenised as soon as it is complete, so that when a literal
 * is announced the parser already knows which FETCH item it belongs to
 * and can decide whether to stream it.  The list nesting is kept on an
 * explicit stack that survives from one segment to the next.
 *
 * Line ends: CRLF is expected, but a bare LF is accepted as a line end as
 * well.  That is safe because LF can never occur inside a line outside a
 * literal, so a stream that uses CRLF is parsed identically; a CR that is
 * not directly followed by LF is a protocol error.
 *
 * Besides the limits of MhImapParserLimits, the literals buffered for one
 * response may not exceed LITERAL_TOTAL_FACTOR times max_literal together:
 * without that bound a 64 KiB line could announce thousands of literals.
 */
#include "mailharvest/imap-parser.h"

#include <string.h>

#include "mailharvest/error.h"
#include "imap-parser-private.h"

#define LITERAL_TOTAL_FACTOR 8

void
mh_imap_parser_limits_init (MhImapParserLimits *limits)
{
  limits->max_line = 64 * 1024;
  limits->max_literal = 1024 * 1024;
  limits->max_streamed = G_GUINT64_CONSTANT (16) << 30;
  limits->max_depth = 32;
  limits->max_args = 100000;
}

void
mh_imap_arg_free (gpointer data)
{
  MhImapArg *arg = data;

  if (arg == NULL)
    return;
  g_free (arg->str);
  if (arg->list != NULL)
    g_ptr_array_unref (arg->list);
  g_free (arg);
}

void
mh_imap_response_free (MhImapResponse *resp)
{
  if (resp == NULL)
    return;
  g_free (resp->tag);
  g_free (resp->status);
  g_free (resp->code);
  g_clear_pointer (&resp->code_args, g_ptr_array_unref);
  g_free (resp->text);
  g_free (resp->name);
  g_clear_pointer (&resp->args, g_ptr_array_unref);
  g_free (resp);
}

static MhImapResponse *
response_new (void)
{
  MhImapResponse *resp = g_new0 (MhImapResponse, 1);

  resp->code_args = g_ptr_array_new_with_free_func (mh_imap_arg_free);
  resp->args = g_ptr_array_new_with_free_func (mh_imap_arg_free);
  return resp;
}

MhImapParser *
mh_imap_parser_new (const MhImapParserLimits *limits)
{
  MhImapParser *p = g_new0 (MhImapParser, 1);

  if (limits != NULL)
    p->limits = *limits;
  else
    mh_imap_parser_limits_init (&p->limits);
  /* A line is kept in a GByteArray, whose length is a guint, and a
   * buffered literal is one allocation: 2 GiB is far beyond any sane
   * setting of either. */
  p->limits.max_line = MIN (p->limits.max_line, (gsize) G_MAXINT32);
  p->limits.max_literal = MIN (p->limits.max_literal,
                               (guint64) G_MAXINT32);
  p->line = g_byte_array_new ();
  p->stack = g_ptr_array_new ();
  p->state = ST_LINE;
  return p;
}

static void
forget_response (MhImapParser *p)
{
  g_clear_pointer (&p->resp, mh_imap_response_free);
  g_ptr_array_set_size (p->stack, 0);
  g_byte_array_set_size (p->line, 0);
  p->line_total = 0;
  p->literal_total = 0;
  p->nargs = 0;
  p->literal = NULL;
  p->lit_done = 0;
}

void
mh_imap_parser_reset (MhImapParser *p)
{
  forget_response (p);
  g_clear_error (&p->error);
  p->state = ST_LINE;
}

void
mh_imap_parser_free (MhImapParser *p)
{
  if (p == NULL)
    return;
  forget_response (p);
  g_clear_error (&p->error);
  g_byte_array_unref (p->line);
  g_ptr_array_unref (p->stack);
  g_free (p);
}

void
mh_imap_parser_set_streaming (MhImapParser *p, gboolean streaming)
{
  p->streaming = streaming;
}

/* TRUE if a literal announced now is the value of a FETCH item whose
 * bytes should be streamed: BODY[...], BINARY[...] or RFC822(.HEADER,
 * .TEXT), possibly with a <partial> suffix. */
static gboolean
should_stream (MhImapParser *p)
{
  GPtrArray *items;
  const MhImapArg *key;
  gsize len;

  if (!p->streaming || p->resp->kind != MH_IMAP_RESP_UNTAGGED
      || !p->resp->has_number || p->resp->name == NULL
      || strcmp (p->resp->name, "FETCH") != 0 || p->stack->len != 2)
    return FALSE;
  items = g_ptr_array_index (p->stack, 1);
  if (items->len % 2 != 1)
    return FALSE;
  key = g_ptr_array_index (items, items->len - 1);
  if (key->type != MH_IMAP_ARG_ATOM)
    return FALSE;
  if (g_ascii_strncasecmp (key->str, "BODY[", 5) == 0
      || g_ascii_strncasecmp (key->str, "BINARY[", 7) == 0)
    return TRUE;
  len = strcspn (key->str, "<");
  return (len == 6 && g_ascii_strncasecmp (key->str, "RFC822", 6) == 0)
         || (len == 13
             && (g_ascii_strncasecmp (key->str, "RFC822.HEADER", 13) == 0))
         || (len == 11
             && g_ascii_strncasecmp (key->str, "RFC822.TEXT", 11) == 0);
}

static guint64
literal_cap (const MhImapParser *p)
{
  if (p->limits.max_literal > G_MAXUINT64 / LITERAL_TOTAL_FACTOR)
    return G_MAXUINT64;
  return p->limits.max_literal * LITERAL_TOTAL_FACTOR;
}

/* Sets up the literal announced at the end of a segment. */
static gboolean
start_literal (MhImapParser *p, const MhImapMarker *m, GError **error)
{
  GPtrArray *top = g_ptr_array_index (p->stack, p->stack->len - 1);
  MhImapArg *arg;

  if (should_stream (p))
    {
      if (m->size > p->limits.max_streamed)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_LIMIT,
                       "IMAP streamed literal larger than %" G_GUINT64_FORMAT
                       " bytes", p->limits.max_streamed);
          return FALSE;
        }
      arg = mh_imap_arg_new (MH_IMAP_ARG_STREAMED);
      p->state = ST_STREAM;
    }
  else
    {
      if (m->size > p->limits.max_literal)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_LIMIT,
                       "IMAP literal larger than %" G_GUINT64_FORMAT
                       " bytes", p->limits.max_literal);
          return FALSE;
        }
      if (m->size > literal_cap (p) - p->literal_total)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_LIMIT,
                       "IMAP literals of one response larger than %"
                       G_GUINT64_FORMAT " bytes together", literal_cap (p));
          return FALSE;
        }
      p->literal_total += m->size;
      arg = mh_imap_arg_new (MH_IMAP_ARG_LITERAL);
      arg->str = g_malloc ((gsize) m->size + 1);
      arg->str[m->size] = '\0';
      arg->len = (gsize) m->size;
      p->state = ST_LITERAL;
    }
  arg->literal8 = m->literal8;
  arg->literal_size = m->size;
  if (!mh_imap_add_arg (p, top, arg, error))
    return FALSE;
  p->literal = arg;
  p->lit_done = 0;
  return TRUE;
}

/* Handles one complete segment (without its line end).  Returns TRUE
 * with *done_out set when the response is complete. */
static gboolean
process_segment (MhImapParser *p, const guint8 *s, gsize n,
                 gboolean *done_out, GError **error)
{
  MhImapCursor c = { s, n, 0 };
  MhImapMarker marker;
  MhImapTokResult r;

  *done_out = FALSE;
  if (n > p->limits.max_line - p->line_total)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_LIMIT,
                   "IMAP line longer than %" G_GSIZE_FORMAT " bytes",
                   p->limits.max_line);
      return FALSE;
    }
  p->line_total += n;
  if (memchr (s, '\0', n) != NULL)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                   "NUL byte in an IMAP line");
      return FALSE;
    }
  if (memchr (s, '\r', n) != NULL)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                   "CR without LF in an IMAP line");
      return FALSE;
    }

  if (p->resp == NULL)
    {
      p->resp = response_new ();
      g_ptr_array_add (p->stack, p->resp->args);
      if (!mh_imap_read_head (p, &c, p->resp, error))
        return FALSE;
    }
  r = mh_imap_tokenize (p, &c, p->stack, 0, FALSE, &marker, error);
  if (r == TOK_ERROR)
    return FALSE;
  if (r == TOK_LITERAL)
    return start_literal (p, &marker, error);
  if (p->stack->len != 1)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                   "unterminated list in IMAP response");
      return FALSE;
    }
  *done_out = TRUE;
  return TRUE;
}

static MhImapParseStatus
fail (MhImapParser *p, gsize consumed, gsize *consumed_out, GError *err,
      GError **error)
{
  forget_response (p);
  p->state = ST_ERROR;
  p->error = g_error_copy (err);
  *consumed_out = consumed;
  g_propagate_error (error, err);
  return MH_IMAP_PARSE_ERROR;
}

/* Consumes the line-mode bytes at data[*i..len).  Returns TRUE with
 * *resp_out set when a response is complete, TRUE with *resp_out NULL
 * when all input was taken or a literal begins, FALSE on error. */
static gboolean
feed_line (MhImapParser *p, const guint8 *data, gsize len, gsize *i,
           MhImapResponse **resp_out, GError **error)
{
  const guint8 *start = data + *i;
  gsize avail = len - *i;
  const guint8 *lf = memchr (start, '\n', avail);
  const guint8 *seg;
  gsize n;
  gboolean done;

  *resp_out = NULL;
  if (lf == NULL)
    {
      /* One byte of slack: the last byte may be the CR of the line end. */
      if (p->line->len + avail - 1 > p->limits.max_line - p->line_total)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_LIMIT,
                       "IMAP line longer than %" G_GSIZE_FORMAT " bytes",
                       p->limits.max_line);
          return FALSE;
        }
      g_byte_array_append (p->line, start, (guint) avail);
      *i = len;
      return TRUE;
    }

  n = (gsize) (lf - start);
  *i += n + 1;
  if (p->line->len == 0)
    seg = start;
  else
    {
      if (p->line->len + n - 1 > p->limits.max_line - p->line_total)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_LIMIT,
                       "IMAP line longer than %" G_GSIZE_FORMAT " bytes",
                       p->limits.max_line);
          return FALSE;
        }
      g_byte_array_append (p->line, start, (guint) n);
      seg = p->line->data;
      n = p->line->len;
    }
  if (n > 0 && seg[n - 1] == '\r')
    n--;
  if (!process_segment (p, seg, n, &done, error))
    return FALSE;
  g_byte_array_set_size (p->line, 0);
  if (done)
    {
      *resp_out = g_steal_pointer (&p->resp);
      forget_response (p);
    }
  return TRUE;
}

MhImapParseStatus
mh_imap_parser_feed (MhImapParser *p, const guint8 *data, gsize len,
                     gsize *consumed_out, MhImapEvent *event_out,
                     GError **error)
{
  static const guint8 nothing[1];
  gsize i = 0;

  memset (event_out, 0, sizeof *event_out);
  *consumed_out = 0;
  /* Arithmetic on a NULL pointer is undefined even with an offset of 0. */
  if (data == NULL)
    {
      g_return_val_if_fail (len == 0, MH_IMAP_PARSE_ERROR);
      data = nothing;
    }
  if (p->state == ST_ERROR)
    {
      g_propagate_error (error, g_error_copy (p->error));
      return MH_IMAP_PARSE_ERROR;
    }

  for (;;)
    {
      GError *err = NULL;
      MhImapResponse *resp;
      gsize take;

      switch (p->state)
        {
        case ST_LITERAL:
          take = (gsize) MIN ((guint64) (len - i),
                              p->literal->literal_size - p->lit_done);
          memcpy (p->literal->str + p->lit_done, data + i, take);
          i += take;
          p->lit_done += take;
          if (p->lit_done < p->literal->literal_size)
            {
              *consumed_out = i;
              return MH_IMAP_PARSE_NEED_MORE;
            }
          p->literal = NULL;
          p->state = ST_LINE;
          break;

        case ST_STREAM:
          if (i == len && p->literal->literal_size > 0)
            {
              *consumed_out = i;
              return MH_IMAP_PARSE_NEED_MORE;
            }
          take = (gsize) MIN ((guint64) (len - i),
                              p->literal->literal_size - p->lit_done);
          event_out->chunk.data = data + i;
          event_out->chunk.len = take;
          event_out->chunk.offset = p->lit_done;
          event_out->chunk.total = p->literal->literal_size;
          event_out->chunk.number = p->resp->number;
          i += take;
          p->lit_done += take;
          event_out->chunk.last = p->lit_done == p->literal->literal_size;
          if (event_out->chunk.last)
            {
              p->literal = NULL;
              p->state = ST_LINE;
            }
          *consumed_out = i;
          return MH_IMAP_PARSE_LITERAL_DATA;

        case ST_LINE:
          if (i == len)
            {
              *consumed_out = i;
              return MH_IMAP_PARSE_NEED_MORE;
            }
          if (!feed_line (p, data, len, &i, &resp, &err))
            return fail (p, i, consumed_out, err, error);
          if (resp != NULL)
            {
              event_out->response = resp;
              *consumed_out = i;
              return MH_IMAP_PARSE_RESPONSE;
            }
          break;

        case ST_ERROR:
        default:
          g_assert_not_reached ();
        }
    }
}

const MhImapArg *
mh_imap_fetch_item (const MhImapResponse *resp, const char *name)
{
  const MhImapArg *items;

  if (resp == NULL || name == NULL || resp->kind != MH_IMAP_RESP_UNTAGGED
      || resp->name == NULL || strcmp (resp->name, "FETCH") != 0
      || resp->args->len < 1)
    return NULL;
  items = g_ptr_array_index (resp->args, 0);
  if (items->type != MH_IMAP_ARG_LIST)
    return NULL;
  for (guint i = 0; i + 1 < items->list->len; i += 2)
    {
      const MhImapArg *key = g_ptr_array_index (items->list, i);

      if (key->type == MH_IMAP_ARG_ATOM
          && g_ascii_strcasecmp (key->str, name) == 0)
        return g_ptr_array_index (items->list, i + 1);
    }
  return NULL;
}

gboolean
mh_imap_arg_get_uint64 (const MhImapArg *arg, guint64 *value_out)
{
  guint64 v = 0;

  if (arg == NULL || arg->type != MH_IMAP_ARG_ATOM || arg->len == 0)
    return FALSE;
  for (gsize i = 0; i < arg->len; i++)
    {
      guint d;

      if (!g_ascii_isdigit (arg->str[i]))
        return FALSE;
      d = (guint) (arg->str[i] - '0');
      if (v > (G_MAXUINT64 - d) / 10)
        return FALSE;
      v = v * 10 + d;
    }
  *value_out = v;
  return TRUE;
}

const char *
mh_imap_arg_get_string (const MhImapArg *arg)
{
  if (arg == NULL)
    return NULL;
  switch (arg->type)
    {
    case MH_IMAP_ARG_ATOM:
    case MH_IMAP_ARG_STRING:
    case MH_IMAP_ARG_LITERAL:
      return arg->str;
    case MH_IMAP_ARG_NIL:
    case MH_IMAP_ARG_STREAMED:
    case MH_IMAP_ARG_LIST:
    default:
      return NULL;
    }
}
