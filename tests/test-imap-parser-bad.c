/* test-imap-parser-bad.c - the IMAP response parser on malformed input
 * and at its limits: errors stay until reset, limits are enforced as soon
 * as they are passed, and a reset midway forgets the response. */
#include <string.h>

#include "mailharvest/error.h"
#include "mailharvest/imap-parser.h"

#include "imap-parser-harness.h"
#include "testlib.h"

typedef struct {
  const char *in;
  gsize len;
  gint code;
} BadCase;

#define PROTO MH_ERROR_PROTOCOL
#define LIMIT MH_ERROR_LIMIT

static const BadCase bad_cases[] = {
  { IN ("\r\n"), PROTO },
  { IN ("\n"), PROTO },
  { IN ("*\r\n"), PROTO },
  { IN ("*x\r\n"), PROTO },
  { IN ("* \r\n"), PROTO },
  { IN ("A1\r\n"), PROTO },
  { IN ("A1 \r\n"), PROTO },
  { IN ("A1 BYE x\r\n"), PROTO },
  { IN ("A1 FETCH x\r\n"), PROTO },
  { IN ("A(1 OK x\r\n"), PROTO },
  { IN ("+x\r\n"), PROTO },
  { IN ("* 12\r\n"), PROTO },
  { IN ("* 4294967296 EXISTS\r\n"), PROTO },
  { IN ("* 1x EXISTS\r\n"), PROTO },
  { IN ("* X \"abc\r\n"), PROTO },
  { IN ("* X \"a\\nb\"\r\n"), PROTO },
  { IN ("* X \"a\\\r\n"), PROTO },
  { IN ("* X \"a\rb\"\r\n"), PROTO },
  { IN ("* X \"a\0b\"\r\n"), PROTO },
  { IN ("* OK a\0b\r\n"), PROTO },
  { IN ("* OK a\rb\r\n"), PROTO },
  { IN ("* X a\x01\r\n"), PROTO },
  { IN ("* X (a\r\n"), PROTO },
  { IN ("* X a)\r\n"), PROTO },
  { IN ("* X ((a)\r\n"), PROTO },
  { IN ("* X {5\r\nhello\r\n"), PROTO },
  { IN ("* X {}\r\n"), PROTO },
  { IN ("* X {-1}\r\n"), PROTO },
  { IN ("* X {+}\r\n"), PROTO },
  { IN ("* X {1} \r\na\r\n"), PROTO },
  { IN ("* X ~{1\r\n"), PROTO },
  { IN ("* 1 FETCH (BODY[HEADER.FIELDS (A)\r\n"), PROTO },
  { IN ("* 1 FETCH (BODY[HEADER.FIELDS (A]] x)\r\n"), PROTO },
  { IN ("* 1 FETCH (BODY[x)] x)\r\n"), PROTO },
  { IN ("* OK [\r\n"), PROTO },
  { IN ("* OK []\r\n"), PROTO },
  { IN ("* OK [ALERT\r\n"), PROTO },
  { IN ("* OK [CAPABILITY IMAP4rev1\r\n"), PROTO },
  { IN ("* X {99999999999999999999999}\r\n"), LIMIT },
  { IN ("* X {1048577}\r\n"), LIMIT },
};

static void
expect_error (MhImapParser *p, const char *in, gsize len, gint code)
{
  g_autoptr(GError) error = NULL;
  Collector c;
  MhImapParseStatus st = MH_IMAP_PARSE_NEED_MORE;
  gboolean ok;

  collector_init (&c);
  ok = feed_piece (p, in, len, &c, &st, &error);
  g_assert_false (ok);
  g_assert_cmpint (st, ==, MH_IMAP_PARSE_ERROR);
  g_assert_error (error, MH_ERROR, code);
  collector_clear (&c);

  /* The parser stays failed until reset, and then works again. */
  g_clear_error (&error);
  collector_init (&c);
  g_assert_false (feed_piece (p, IN ("A1 OK x\r\n"), &c, &st, &error));
  g_assert_error (error, MH_ERROR, code);
  g_clear_error (&error);
  mh_imap_parser_reset (p);
  g_assert_true (feed_piece (p, IN ("A1 OK x\r\n"), &c, &st, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (c.log->str, ==, "T:A1 S:OK T:\"x\"\n");
  collector_clear (&c);
}

static void
test_bad (void)
{
  g_autoptr(MhImapParser) p = mh_imap_parser_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autoptr(GError) error = NULL;
      Collector c;
      MhImapParseStatus st;
      gboolean ok = TRUE;

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      expect_error (p, bad_cases[i].in, bad_cases[i].len,
                    bad_cases[i].code);
      mh_imap_parser_reset (p);

      /* One byte at a time fails with the same code. */
      collector_init (&c);
      for (gsize k = 0; k < bad_cases[i].len && ok; k++)
        ok = feed_piece (p, bad_cases[i].in + k, 1, &c, &st, &error);
      g_assert_false (ok);
      g_assert_error (error, MH_ERROR, bad_cases[i].code);
      collector_clear (&c);
      mh_imap_parser_reset (p);
    }
}

static MhImapParser *
small_parser (void)
{
  MhImapParserLimits lim;

  mh_imap_parser_limits_init (&lim);
  lim.max_line = 40;
  lim.max_literal = 10;
  lim.max_streamed = 20;
  lim.max_depth = 3;
  lim.max_args = 6;
  return mh_imap_parser_new (&lim);
}

static void
expect_limit (const char *in, gsize len, gboolean streaming,
              const char *message)
{
  g_autoptr(MhImapParser) p = small_parser ();
  g_autoptr(GError) error = NULL;
  Collector c;
  MhImapParseStatus st;

  mh_imap_parser_set_streaming (p, streaming);
  collector_init (&c);
  g_assert_false (feed_piece (p, in, len, &c, &st, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_LIMIT);
  g_assert_cmpstr (error->message, ==, message);
  collector_clear (&c);
}

static void
expect_ok (const char *in, gsize len, gboolean streaming)
{
  g_autoptr(MhImapParser) p = small_parser ();
  g_autoptr(GError) error = NULL;
  Collector c;
  MhImapParseStatus st;

  mh_imap_parser_set_streaming (p, streaming);
  collector_init (&c);
  feed_piece (p, in, len, &c, &st, &error);
  g_assert_no_error (error);
  g_assert_cmpint (st, ==, MH_IMAP_PARSE_RESPONSE);
  collector_clear (&c);
}

static void
test_limits (void)
{
  MhImapParserLimits lim;

  mh_imap_parser_limits_init (&lim);
  g_assert_cmpuint (lim.max_line, ==, 65536);
  g_assert_cmpuint (lim.max_literal, ==, 1048576);
  g_assert_cmpuint (lim.max_streamed, ==, G_GUINT64_CONSTANT (17179869184));
  g_assert_cmpuint (lim.max_depth, ==, 32);
  g_assert_cmpuint (lim.max_args, ==, 100000);

  /* Line: 40 bytes pass, 41 fail, with or without the line end seen. */
  expect_ok (IN ("* OK xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"), FALSE);
  expect_ok (IN ("* OK xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"), FALSE);
  expect_limit (IN ("* OK xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"),
                FALSE, "IMAP line longer than 40 bytes");
  expect_limit (IN ("* OK xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
                FALSE, "IMAP line longer than 40 bytes");
  /* The segments of one response count together, literals excluded. */
  expect_ok (IN ("* X {10}\r\n0123456789 "
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"), FALSE);
  expect_limit (IN ("* X {10}\r\n0123456789 "
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"),
                FALSE, "IMAP line longer than 40 bytes");
  /* Literal. */
  expect_limit (IN ("* X {11}\r\n"), FALSE,
                "IMAP literal larger than 10 bytes");
  expect_limit (IN ("* 1 FETCH (BODY[] {11}\r\n"), FALSE,
                "IMAP literal larger than 10 bytes");
  /* Streamed literal: up to 20 when streaming, still 10 when not. */
  expect_ok (IN ("* 1 FETCH (BODY[] {20}\r\n01234567890123456789)\r\n"),
             TRUE);
  expect_limit (IN ("* 1 FETCH (BODY[] {21}\r\n"), TRUE,
                "IMAP streamed literal larger than 20 bytes");
  expect_limit (IN ("* 1 FETCH (BODY[] {20}\r\n"), FALSE,
                "IMAP literal larger than 10 bytes");
  /* Depth: lists and brackets. */
  expect_ok (IN ("* X (((a)))\r\n"), FALSE);
  expect_limit (IN ("* X ((((a))))\r\n"), FALSE,
                "IMAP nesting deeper than 3 levels");
  expect_ok (IN ("* 1 FETCH (BODY[X (A)] 1)\r\n"), FALSE);
  expect_limit (IN ("* 1 FETCH (BODY[X ((A))] 1)\r\n"), FALSE,
                "IMAP nesting deeper than 3 levels");
  expect_limit (IN ("* X (a[[[b]]])\r\n"), FALSE,
                "IMAP nesting deeper than 3 levels");
  /* Arguments, all levels and code arguments counted. */
  expect_ok (IN ("* X a b (c d) e\r\n"), FALSE);
  expect_limit (IN ("* X a b (c d) e f\r\n"), FALSE,
                "IMAP response with more than 6 arguments");
  expect_limit (IN ("* X (((a))) b c d\r\n"), FALSE,
                "IMAP response with more than 6 arguments");
  expect_ok (IN ("* OK [X a b c d e f] t\r\n"), FALSE);
  /* Too many code arguments fall back to one raw argument. */
  expect_ok (IN ("* OK [X a b c d e f g] t\r\n"), FALSE);
}

/* A huge line is refused as soon as the limit is passed, without waiting
 * for its end, and literals of one response are bounded together. */
static void
test_limits_early (void)
{
  g_autoptr(MhImapParser) p = mh_imap_parser_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *junk = g_malloc (70000);
  g_autoptr(GString) many = g_string_new ("* X");
  Collector c;
  MhImapParseStatus st;
  gboolean ok = TRUE;

  memset (junk, 'a', 70000);
  collector_init (&c);
  g_assert_true (feed_piece (p, junk, 60000, &c, &st, &error));
  g_assert_cmpint (st, ==, MH_IMAP_PARSE_NEED_MORE);
  g_assert_false (feed_piece (p, junk, 10000, &c, &st, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_LIMIT);
  g_assert_cmpstr (error->message, ==, "IMAP line longer than 65536 bytes");
  g_clear_error (&error);
  mh_imap_parser_reset (p);

  for (guint i = 0; i < 9 && ok; i++)
    {
      g_string_printf (many, "%s{1048576}\r\n", i == 0 ? "* X " : " ");
      ok = feed_piece (p, many->str, many->len, &c, &st, &error);
      if (ok)
        {
          for (guint k = 0; k < 16 && ok; k++)
            ok = feed_piece (p, junk, 65536, &c, &st, &error);
        }
      g_assert_true (ok || i == 8);
    }
  g_assert_false (ok);
  g_assert_error (error, MH_ERROR, MH_ERROR_LIMIT);
  g_assert_cmpstr (error->message, ==,
                   "IMAP literals of one response larger than 8388608 "
                   "bytes together");
  collector_clear (&c);
}

/* Reset in the middle of a response forgets it entirely. */
static void
test_reset_midway (void)
{
  g_autoptr(MhImapParser) p = mh_imap_parser_new (NULL);
  g_autoptr(GError) error = NULL;
  Collector c;
  MhImapParseStatus st;

  mh_imap_parser_set_streaming (p, TRUE);
  collector_init (&c);
  g_assert_true (feed_piece (p, IN ("* 1 FETCH (BODY[] {10}\r\nabc"), &c,
                                &st, &error));
  g_assert_cmpint (st, ==, MH_IMAP_PARSE_LITERAL_DATA);
  mh_imap_parser_reset (p);
  g_string_truncate (c.literal, 0);
  c.next_offset = 0;
  c.in_literal = FALSE;
  g_assert_true (feed_piece (p, IN ("* 2 EXISTS\r\n"), &c, &st, &error));
  g_assert_true (g_str_has_suffix (c.log->str, "* #2 N:EXISTS\n"));
  mh_imap_parser_reset (p);
  g_assert_true (feed_piece (p, IN ("* X (a {3}\r\nab"), &c, &st, &error));
  mh_imap_parser_reset (p);
  g_assert_true (feed_piece (p, IN ("A1 OK x\r\n"), &c, &st, &error));
  g_assert_true (g_str_has_suffix (c.log->str, "T:A1 S:OK T:\"x\"\n"));
  collector_clear (&c);
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0:malloc_context_size=8");
MH_TEST_LSAN_GLIB_SUPPRESSION;

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/imap-parser/bad", test_bad);
  g_test_add_func ("/imap-parser/limits", test_limits);
  g_test_add_func ("/imap-parser/limits-early", test_limits_early);
  g_test_add_func ("/imap-parser/reset-midway", test_reset_midway);
  return g_test_run ();
}
