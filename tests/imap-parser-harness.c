/* imap-parser-harness.c - see imap-parser-harness.h. */
#include <string.h>

#include "imap-parser-harness.h"

/* Dumping responses. */

static void
dump_bytes (GString *out, const char *s, gsize len)
{
  g_string_append_c (out, '"');
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) s[i];

      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", c);
      else if (c < 0x20 || c >= 0x7f)
        g_string_append_printf (out, "\\x%02x", c);
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, '"');
}

static void dump_args (GString *out, const GPtrArray *args);

static void
dump_arg (GString *out, const MhImapArg *arg)
{
  switch (arg->type)
    {
    case MH_IMAP_ARG_NIL:
      g_assert_null (arg->str);
      g_string_append (out, "NIL");
      break;
    case MH_IMAP_ARG_ATOM:
      g_assert_cmpuint (strlen (arg->str), ==, arg->len);
      g_string_append (out, arg->str);
      break;
    case MH_IMAP_ARG_STRING:
      g_assert_cmpint (arg->str[arg->len], ==, '\0');
      dump_bytes (out, arg->str, arg->len);
      break;
    case MH_IMAP_ARG_LITERAL:
      g_assert_cmpint (arg->str[arg->len], ==, '\0');
      g_assert_cmpuint (arg->literal_size, ==, arg->len);
      g_string_append_printf (out, "%s{%" G_GSIZE_FORMAT "}",
                              arg->literal8 ? "~" : "", arg->len);
      dump_bytes (out, arg->str, arg->len);
      break;
    case MH_IMAP_ARG_STREAMED:
      g_assert_null (arg->str);
      g_string_append_printf (out, "%sSTREAMED{%" G_GUINT64_FORMAT "}",
                              arg->literal8 ? "~" : "", arg->literal_size);
      break;
    case MH_IMAP_ARG_LIST:
      g_string_append_c (out, '(');
      dump_args (out, arg->list);
      g_string_append_c (out, ')');
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
dump_args (GString *out, const GPtrArray *args)
{
  for (guint i = 0; i < args->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ' ');
      dump_arg (out, g_ptr_array_index (args, i));
    }
}

static char *
dump_response (const MhImapResponse *r)
{
  GString *out = g_string_new (NULL);

  switch (r->kind)
    {
    case MH_IMAP_RESP_UNTAGGED:
      g_assert_null (r->tag);
      g_string_append (out, "*");
      break;
    case MH_IMAP_RESP_TAGGED:
      g_string_append_printf (out, "T:%s", r->tag);
      break;
    case MH_IMAP_RESP_CONTINUATION:
      g_string_append (out, "+");
      break;
    default:
      g_assert_not_reached ();
    }
  if (r->has_number)
    g_string_append_printf (out, " #%u", r->number);
  if (r->status != NULL)
    g_string_append_printf (out, " S:%s", r->status);
  if (r->code != NULL)
    {
      g_string_append_printf (out, " [%s", r->code);
      if (r->code_args->len > 0)
        g_string_append_c (out, ' ');
      dump_args (out, r->code_args);
      g_string_append_c (out, ']');
    }
  else
    g_assert_cmpuint (r->code_args->len, ==, 0);
  if (r->text != NULL)
    {
      g_string_append (out, " T:");
      dump_bytes (out, r->text, strlen (r->text));
    }
  if (r->name != NULL)
    g_string_append_printf (out, " N:%s", r->name);
  if (r->args->len > 0)
    {
      g_string_append (out, " A:");
      dump_args (out, r->args);
    }
  return g_string_free (out, FALSE);
}

/* Feeding. */

void
collector_init (Collector *c)
{
  c->log = g_string_new (NULL);
  c->literal = g_string_new (NULL);
  c->next_offset = 0;
  c->in_literal = FALSE;
  c->events = 0;
}

void
collector_clear (Collector *c)
{
  g_string_free (c->log, TRUE);
  g_string_free (c->literal, TRUE);
}

static void
collect_chunk (Collector *c, const MhImapLiteralChunk *ch)
{
  /* Offsets must follow on from the previous chunk, and a zero-length
   * chunk is only allowed as the whole of an empty literal. */
  g_assert_cmpuint (ch->offset, ==, c->next_offset);
  g_assert_cmpuint (ch->offset + ch->len, <=, ch->total);
  if (ch->len == 0)
    {
      g_assert_cmpuint (ch->total, ==, 0);
      g_assert_true (ch->last);
    }
  g_assert_cmpint (ch->last, ==, ch->offset + ch->len == ch->total);
  g_string_append_len (c->literal, (const char *) ch->data, ch->len);
  c->next_offset += ch->len;
  c->in_literal = !ch->last;
  if (ch->last)
    {
      g_string_append_printf (c->log, "STREAM #%u {%" G_GUINT64_FORMAT "} ",
                              ch->number, ch->total);
      dump_bytes (c->log, c->literal->str, c->literal->len);
      g_string_append_c (c->log, '\n');
      g_string_truncate (c->literal, 0);
      c->next_offset = 0;
    }
}

/* Feeds one piece.  Returns FALSE on a parser error, which it stores in
 * @error.  *last_status_out is the status that consumed the piece's final
 * byte. */
gboolean
feed_piece (MhImapParser *p, const char *piece, gsize len, Collector *c,
            MhImapParseStatus *last_status_out, GError **error)
{
  guint8 *buf = g_memdup2 (piece, len);
  gsize pos = 0;
  gboolean ok = TRUE;

  do
    {
      MhImapEvent ev;
      gsize consumed = 12345;
      MhImapParseStatus st;

      st = mh_imap_parser_feed (p, buf + pos, len - pos, &consumed, &ev,
                                error);
      g_assert_cmpuint (consumed, <=, len - pos);
      pos += consumed;
      *last_status_out = st;
      if (st == MH_IMAP_PARSE_ERROR)
        {
          g_assert_true (error == NULL || *error != NULL);
          g_assert_null (ev.response);
          ok = FALSE;
          break;
        }
      if (st == MH_IMAP_PARSE_NEED_MORE)
        {
          g_assert_cmpuint (pos, ==, len);
          g_assert_null (ev.response);
          break;
        }
      c->events++;
      if (st == MH_IMAP_PARSE_RESPONSE)
        {
          g_autofree char *d = NULL;

          g_assert_nonnull (ev.response);
          g_assert_false (c->in_literal);
          d = dump_response (ev.response);
          g_string_append_printf (c->log, "%s\n", d);
          mh_imap_response_free (ev.response);
        }
      else
        {
          g_assert_cmpint (st, ==, MH_IMAP_PARSE_LITERAL_DATA);
          g_assert_null (ev.response);
          if (ev.chunk.len > 0)
            g_assert_true (ev.chunk.data >= buf
                           && ev.chunk.data + ev.chunk.len <= buf + len);
          collect_chunk (c, &ev.chunk);
        }
    }
  while (pos < len);
  g_free (buf);
  return ok;
}

/* Feeds @in split at the given cut points (sorted, each in 1..len-1). */
static gboolean
feed_cuts (MhImapParser *p, const char *in, gsize len, const gsize *cuts,
           gsize ncuts, Collector *c, GError **error)
{
  gsize start = 0;
  MhImapParseStatus st;

  for (gsize k = 0; k <= ncuts; k++)
    {
      gsize end = k < ncuts ? cuts[k] : len;

      if (!feed_piece (p, in + start, end - start, c, &st, error))
        return FALSE;
      start = end;
    }
  return TRUE;
}

/* Parses @in whole, then one byte at a time, then (if @pair_span > 0)
 * split at every single position and at every pair of positions at most
 * @pair_span apart, and checks that all give the same log, which is
 * returned. */
char *
parse_all_ways (const char *in, gsize len, gboolean streaming,
                gsize pair_span, gboolean expect_need_more)
{
  g_autoptr(MhImapParser) p = mh_imap_parser_new (NULL);
  g_autoptr(GError) error = NULL;
  Collector whole, bytes;
  MhImapParseStatus st = MH_IMAP_PARSE_ERROR;
  char *result;

  mh_imap_parser_set_streaming (p, streaming);
  collector_init (&whole);
  g_assert_true (feed_cuts (p, in, len, NULL, 0, &whole, &error));
  g_assert_no_error (error);

  /* One byte at a time: a response only appears on its last byte, so
   * for inputs of one response every byte before the last, and the last
   * byte itself for a complete one, gives the expected status. */
  mh_imap_parser_reset (p);
  collector_init (&bytes);
  for (gsize i = 0; i < len; i++)
    {
      guint before = bytes.events;

      g_assert_true (feed_piece (p, in + i, 1, &bytes, &st, &error));
      g_assert_no_error (error);
      if (expect_need_more && i + 1 < len)
        g_assert_cmpuint (bytes.events, ==, before);
    }
  if (expect_need_more)
    g_assert_cmpint (st, ==, MH_IMAP_PARSE_RESPONSE);
  g_assert_cmpstr (bytes.log->str, ==, whole.log->str);
  collector_clear (&bytes);

  if (pair_span > 0)
    {
      for (gsize a = 1; a < len; a++)
        for (gsize b = a; b < len && b - a <= pair_span; b++)
          {
            gsize cuts[2] = { a, b };
            Collector split;

            mh_imap_parser_reset (p);
            collector_init (&split);
            g_assert_true (feed_cuts (p, in, len, cuts, a == b ? 1 : 2,
                                      &split, &error));
            g_assert_no_error (error);
            g_assert_cmpstr (split.log->str, ==, whole.log->str);
            collector_clear (&split);
          }
    }

  result = g_strdup (whole.log->str);
  collector_clear (&whole);
  return result;
}
