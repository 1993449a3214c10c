/* test-imap-parser.c - the IMAP response parser on good input, fed whole,
 * one byte at a time and split at every position; streamed literals and
 * the response helpers.  Malformed input and limits are in
 * test-imap-parser-bad.c.
 *
 * Responses are compared through a canonical dump, so that feeding the
 * same bytes in different pieces must give byte-identical results. */
#include <string.h>

#include "mailharvest/error.h"
#include "mailharvest/imap-parser.h"

#include "imap-parser-harness.h"
#include "testlib.h"

typedef struct {
  const char *in;
  gsize len;
  const char *expect;
} Case;

static const Case good_cases[] = {
  { IN ("A1 OK [READ-ONLY] done\r\n"),
    "T:A1 S:OK [READ-ONLY] T:\"done\"\n" },
  { IN ("* OK [UIDVALIDITY 42] x\r\n"),
    "* S:OK [UIDVALIDITY 42] T:\"x\"\n" },
  { IN ("* OK [UIDNEXT 4392]\r\n"), "* S:OK [UIDNEXT 4392]\n" },
  { IN ("a002 no [THROTTLED] slow down\r\n"),
    "T:a002 S:NO [THROTTLED] T:\"slow down\"\n" },
  { IN ("* BYE shutting down\r\n"), "* S:BYE T:\"shutting down\"\n" },
  { IN ("* PREAUTH [CAPABILITY IMAP4rev1] welcome\r\n"),
    "* S:PREAUTH [CAPABILITY IMAP4rev1] T:\"welcome\"\n" },
  { IN ("* OK [ALERT] System (going down \"soon) [really\r\n"),
    "* S:OK [ALERT] T:\"System (going down \\\"soon) [really\"\n" },
  { IN ("* OK [PERMANENTFLAGS (\\Seen \\Deleted \\*)] Limited\r\n"),
    "* S:OK [PERMANENTFLAGS (\\Seen \\Deleted \\*)] T:\"Limited\"\n" },
  { IN ("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] Dovecot ready.\r\n"),
    "* S:OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] "
    "T:\"Dovecot ready.\"\n" },
  { IN ("* NO [X-WEIRD \"unbalanced (] text\r\n"),
    "* S:NO [X-WEIRD \"unbalanced (] T:\"text\"\n" },
  { IN ("* OK [X (a] b\r\n"), "* S:OK [X (a] T:\"b\"\n" },
  { IN ("* OK [X {3}]\r\n"), "* S:OK [X {3}]\n" },
  { IN ("* X ~x a~{1}\r\n"), "* N:X A:~x a~{1}\n" },
  { IN ("* OK [WEBALERT https://x.example/a?b=c] go\r\n"),
    "* S:OK [WEBALERT https://x.example/a?b=c] T:\"go\"\n" },
  { IN ("* OK [COPYUID 38505 304,319:320 3956:3958] ok\r\n"),
    "* S:OK [COPYUID 38505 304,319:320 3956:3958] T:\"ok\"\n" },
  { IN ("A3 BAD\r\n"), "T:A3 S:BAD\n" },
  { IN ("* OK\r\n"), "* S:OK\n" },
  { IN ("* CAPABILITY IMAP4rev1 X\r\n"),
    "* N:CAPABILITY A:IMAP4rev1 X\n" },
  { IN ("* 12 EXISTS\r\n"), "* #12 N:EXISTS\n" },
  { IN ("* 4294967295 expunge\r\n"), "* #4294967295 N:EXPUNGE\n" },
  { IN ("* 3 FETCH (UID 7 FLAGS (\\Seen $Forwarded) RFC822.SIZE 100)\r\n"),
    "* #3 N:FETCH A:(UID 7 FLAGS (\\Seen $Forwarded) RFC822.SIZE 100)\n" },
  { IN ("* LIST (\\All \\HasNoChildren) \"/\" \"[Gmail]/All Mail\"\r\n"),
    "* N:LIST A:(\\All \\HasNoChildren) \"/\" \"[Gmail]/All Mail\"\n" },
  { IN ("* LIST () NIL INBOX\r\n"), "* N:LIST A:() NIL INBOX\n" },
  { IN ("* LIST () \".\" [Gmail]/Sent\r\n"),
    "* N:LIST A:() \".\" [Gmail]/Sent\n" },
  { IN ("* SEARCH 1 5 9\r\n"), "* N:SEARCH A:1 5 9\n" },
  { IN ("* SEARCH\r\n"), "* N:SEARCH\n" },
  { IN ("* SEARCH \r\n"), "* N:SEARCH\n" },
  { IN ("+ dGVzdA==\r\n"), "+ T:\"dGVzdA==\"\n" },
  { IN ("+ \r\n"), "+ T:\"\"\n" },
  { IN ("+\r\n"), "+ T:\"\"\n" },
  { IN ("+ Ready for literal data\r\n"),
    "+ T:\"Ready for literal data\"\n" },
  { IN ("* X \"a\\\"b\\\\c\" \"\" \"\xc3\xa4\"\r\n"),
    "* N:X A:\"a\\\"b\\\\c\" \"\" \"\\xc3\\xa4\"\n" },
  { IN ("* X nil Nil \"NIL\" NILS\r\n"),
    "* N:X A:NIL NIL \"NIL\" NILS\n" },
  { IN ("* X ((a (b)) () ((c)))\r\n"), "* N:X A:((a (b)) () ((c)))\n" },
  { IN ("* 1 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" NIL NIL NIL "
        "\"7bit\" 1 1)(\"text\" \"html\" NIL NIL NIL \"7bit\" 2 1) "
        "\"alternative\"))\r\n"),
    "* #1 N:FETCH A:(BODYSTRUCTURE ((\"text\" \"plain\" NIL NIL NIL "
    "\"7bit\" 1 1) (\"text\" \"html\" NIL NIL NIL \"7bit\" 2 1) "
    "\"alternative\"))\n" },
  { IN ("* 2 FETCH (BODY[HEADER.FIELDS (FROM TO)]<0> \"x\" UID 3)\r\n"),
    "* #2 N:FETCH A:(BODY[HEADER.FIELDS (FROM TO)]<0> \"x\" UID 3)\n" },
  { IN ("* 2 FETCH (BODY[1.2.MIME] NIL)\r\n"),
    "* #2 N:FETCH A:(BODY[1.2.MIME] NIL)\n" },
  { IN ("* 5 FETCH (BODY[] {5}\r\nab\0\r\n UID 9)\r\n"),
    "* #5 N:FETCH A:(BODY[] {5}\"ab\\x00\\x0d\\x0a\" UID 9)\n" },
  { IN ("* 5 FETCH (BINARY[1] ~{3}\r\n\xff\0x)\r\n"),
    "* #5 N:FETCH A:(BINARY[1] ~{3}\"\\xff\\x00x\")\n" },
  { IN ("* LIST () \"/\" {4+}\r\na)b\"\r\n"),
    "* N:LIST A:() \"/\" {4}\"a)b\\\"\"\n" },
  { IN ("* X {0}\r\n {0}\r\n\r\n"), "* N:X A:{0}\"\" {0}\"\"\n" },
  { IN ("* OK bare LF\n"), "* S:OK T:\"bare LF\"\n" },
  { IN ("* 1 FETCH (BODY[] {2}\nhi)\n"),
    "* #1 N:FETCH A:(BODY[] {2}\"hi\")\n" },
  { IN ("* OK tab\there \x01 \xe2\x82\xac\r\n"),
    "* S:OK T:\"tab\\x09here \\x01 \\xe2\\x82\\xac\"\n" },
  { IN ("* X  a   (b  c )\r\n"), "* N:X A:a (b c)\n" },
};

static void
test_good (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (good_cases); i++)
    {
      g_autofree char *got = NULL;

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      got = parse_all_ways (good_cases[i].in, good_cases[i].len, FALSE,
                            0, TRUE);
      g_assert_cmpstr (got, ==, good_cases[i].expect);
    }
}

/* Streaming changes nothing for responses that have no streamable
 * literal, and turns BODY[] literals into chunks. */
static const Case stream_cases[] = {
  { IN ("* 5 FETCH (BODY[] {5}\r\nab\0\r\n UID 9)\r\n"),
    "STREAM #5 {5} \"ab\\x00\\x0d\\x0a\"\n"
    "* #5 N:FETCH A:(BODY[] STREAMED{5} UID 9)\n" },
  { IN ("* 7 FETCH (UID 1 BINARY[] ~{2}\r\n\xff\xfe)\r\n"),
    "STREAM #7 {2} \"\\xff\\xfe\"\n"
    "* #7 N:FETCH A:(UID 1 BINARY[] ~STREAMED{2})\n" },
  { IN ("* 1 FETCH (RFC822 {1}\r\nx RFC822.HEADER {1}\r\ny "
        "RFC822.TEXT {1}\r\nz rfc822.size {1}\r\n7 BODY[]<10> {1}\r\nw)\r\n"),
    "STREAM #1 {1} \"x\"\nSTREAM #1 {1} \"y\"\nSTREAM #1 {1} \"z\"\n"
    "STREAM #1 {1} \"w\"\n"
    "* #1 N:FETCH A:(RFC822 STREAMED{1} RFC822.HEADER STREAMED{1} "
    "RFC822.TEXT STREAMED{1} rfc822.size {1}\"7\" BODY[]<10> "
    "STREAMED{1})\n" },
  { IN ("* 2 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {4}\r\nS: x UID 2)\r\n"),
    "STREAM #2 {4} \"S: x\"\n"
    "* #2 N:FETCH A:(BODY[HEADER.FIELDS (SUBJECT)] STREAMED{4} UID 2)\n" },
  { IN ("* 3 FETCH (BODY[] {0}\r\n)\r\n"),
    "STREAM #3 {0} \"\"\n* #3 N:FETCH A:(BODY[] STREAMED{0})\n" },
  /* Not streamed: not FETCH, not untagged, not an item value, nested. */
  { IN ("* LIST () \"/\" {5}\r\nINBOX\r\n"),
    "* N:LIST A:() \"/\" {5}\"INBOX\"\n" },
  { IN ("* 4 FETCH (X-GM-LABELS ({3}\r\nabc) BODY[] NIL)\r\n"),
    "* #4 N:FETCH A:(X-GM-LABELS ({3}\"abc\") BODY[] NIL)\n" },
  { IN ("* 4 FETCH ({2}\r\nab {1}\r\nc)\r\n"),
    "* #4 N:FETCH A:({2}\"ab\" {1}\"c\")\n" },
  { IN ("* 4 FETCH (BODY[] ({1}\r\nq))\r\n"),
    "* #4 N:FETCH A:(BODY[] ({1}\"q\"))\n" },
  { IN ("* SEARCH BODY[] {1}\r\nq\r\n"), "* N:SEARCH A:BODY[] {1}\"q\"\n" },
};

static void
test_streaming (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (stream_cases); i++)
    {
      g_autofree char *got = NULL;

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      got = parse_all_ways (stream_cases[i].in, stream_cases[i].len, TRUE,
                            0, FALSE);
      g_assert_cmpstr (got, ==, stream_cases[i].expect);
    }
}

/* Multi-literal responses split at every position and at pairs of
 * positions (all pairs for the shorter input). */
static void
test_every_split (void)
{
  static const char in1[] = "* 9 FETCH (UID 4 BODY[HEADER] {6}\r\nH: v\r\n"
                            " BODY[TEXT] {0}\r\n BODY[] ~{3}\r\nxyz)\r\n"
                            "A7 OK [X] done\r\n";
  static const char in2[] = "* LIST (\\X) \"/\" {3}\r\na b\r\n"
                            "* X {2}\r\n\r\n {1}\r\n\"\r\n";
  g_autofree char *s1 = parse_all_ways (IN (in1), TRUE, 16, FALSE);
  g_autofree char *s2 = parse_all_ways (IN (in1), FALSE, 16, FALSE);
  g_autofree char *s3 = parse_all_ways (IN (in2), TRUE, G_MAXSIZE, FALSE);

  g_assert_cmpstr (s1, ==,
                   "STREAM #9 {6} \"H: v\\x0d\\x0a\"\n"
                   "STREAM #9 {0} \"\"\n"
                   "STREAM #9 {3} \"xyz\"\n"
                   "* #9 N:FETCH A:(UID 4 BODY[HEADER] STREAMED{6} "
                   "BODY[TEXT] STREAMED{0} BODY[] ~STREAMED{3})\n"
                   "T:A7 S:OK [X] T:\"done\"\n");
  g_assert_cmpstr (s2, ==,
                   "* #9 N:FETCH A:(UID 4 BODY[HEADER] {6}\"H: v\\x0d\\x0a\" "
                   "BODY[TEXT] {0}\"\" BODY[] ~{3}\"xyz\")\n"
                   "T:A7 S:OK [X] T:\"done\"\n");
  g_assert_cmpstr (s3, ==,
                   "* N:LIST A:(\\X) \"/\" {3}\"a b\"\n"
                   "* N:X A:{2}\"\\x0d\\x0a\" {1}\"\\\"\"\n");
}

/* Hundreds of responses in one buffer, as a 64 KiB read delivers them. */
static void
test_many_in_one_buffer (void)
{
  g_autoptr(GString) in = g_string_new (NULL);
  g_autoptr(GString) expect = g_string_new (NULL);
  g_autofree char *got = NULL;

  for (guint i = 1; i <= 500; i++)
    {
      g_string_append_printf (in, "* %u FETCH (UID %u BODY[] {%u}\r\n", i,
                              i * 3, i % 7);
      g_string_append_len (in, "abcdefg", i % 7);
      g_string_append (in, ")\r\n");
      g_string_append_printf (expect, "STREAM #%u {%u} \"%.*s\"\n", i, i % 7,
                              (int) (i % 7), "abcdefg");
      g_string_append_printf (expect,
                              "* #%u N:FETCH A:(UID %u BODY[] STREAMED{%u})\n",
                              i, i * 3, i % 7);
    }
  g_string_append (in, "A1 OK done\r\n");
  g_string_append (expect, "T:A1 S:OK T:\"done\"\n");
  got = parse_all_ways (in->str, in->len, TRUE, 0, FALSE);
  g_assert_cmpstr (got, ==, expect->str);
}

/* A big streamed literal arrives in pieces whose offsets add up, and the
 * chunks point into the caller's buffer rather than a copy. */
static void
test_stream_chunks (void)
{
  g_autoptr(MhImapParser) p = mh_imap_parser_new (NULL);
  g_autoptr(GError) error = NULL;
  static const char head[] = "* 42 FETCH (UID 1 BODY[] {100000}\r\n";
  g_autofree guint8 *body = g_malloc (100000);
  guint64 expect_offset = 0;
  guint chunks = 0;
  gsize consumed;
  MhImapEvent ev;
  MhImapParseStatus st;

  for (gsize i = 0; i < 100000; i++)
    body[i] = (guint8) (i * 7);
  mh_imap_parser_set_streaming (p, TRUE);
  st = mh_imap_parser_feed (p, (const guint8 *) head, sizeof head - 1,
                            &consumed, &ev, &error);
  g_assert_cmpint (st, ==, MH_IMAP_PARSE_NEED_MORE);
  g_assert_cmpuint (consumed, ==, sizeof head - 1);

  for (gsize pos = 0; pos < 100000;)
    {
      gsize piece = MIN ((gsize) 4093, 100000 - pos);

      st = mh_imap_parser_feed (p, body + pos, piece, &consumed, &ev,
                                &error);
      g_assert_no_error (error);
      g_assert_cmpint (st, ==, MH_IMAP_PARSE_LITERAL_DATA);
      g_assert_cmpuint (consumed, ==, piece);
      g_assert_true (ev.chunk.data == body + pos);
      g_assert_cmpuint (ev.chunk.len, ==, piece);
      g_assert_cmpuint (ev.chunk.offset, ==, expect_offset);
      g_assert_cmpuint (ev.chunk.total, ==, 100000);
      g_assert_cmpuint (ev.chunk.number, ==, 42);
      g_assert_cmpint (ev.chunk.last, ==, pos + piece == 100000);
      expect_offset += piece;
      pos += piece;
      chunks++;

      /* Empty input while a literal is pending: nothing happens. */
      st = mh_imap_parser_feed (p, body, 0, &consumed, &ev, &error);
      if (pos < 100000)
        g_assert_cmpint (st, ==, MH_IMAP_PARSE_NEED_MORE);
      g_assert_cmpuint (consumed, ==, 0);
    }
  g_assert_cmpuint (chunks, ==, (100000 + 4092) / 4093);
  st = mh_imap_parser_feed (p, (const guint8 *) ")\r\n", 3, &consumed, &ev,
                            &error);
  g_assert_cmpint (st, ==, MH_IMAP_PARSE_RESPONSE);
  g_assert_cmpuint (mh_imap_fetch_item (ev.response, "BODY[]")->literal_size,
                    ==, 100000);
  mh_imap_response_free (ev.response);
}

/* An empty streamed literal gives exactly one chunk, of length 0. */
static void
test_stream_empty (void)
{
  g_autoptr(MhImapParser) p = mh_imap_parser_new (NULL);
  g_autoptr(GError) error = NULL;
  static const char in[] = "* 1 FETCH (BODY[] {0}\r\n)\r\n";
  gsize consumed;
  MhImapEvent ev;
  MhImapParseStatus st;

  mh_imap_parser_set_streaming (p, TRUE);
  st = mh_imap_parser_feed (p, (const guint8 *) in, sizeof in - 1,
                            &consumed, &ev, &error);
  g_assert_cmpint (st, ==, MH_IMAP_PARSE_LITERAL_DATA);
  g_assert_cmpuint (consumed, ==, sizeof in - 1 - 3);
  g_assert_cmpuint (ev.chunk.len, ==, 0);
  g_assert_cmpuint (ev.chunk.total, ==, 0);
  g_assert_true (ev.chunk.last);
  st = mh_imap_parser_feed (p, (const guint8 *) in + consumed, 3, &consumed,
                            &ev, &error);
  g_assert_cmpint (st, ==, MH_IMAP_PARSE_RESPONSE);
  g_assert_cmpuint (consumed, ==, 3);
  mh_imap_response_free (ev.response);
}

static void
test_helpers (void)
{
  static const char in[] = "* 3 FETCH (UID 77 body[] {2}\r\nhi "
                           "X-GM-MSGID 18446744073709551615 FLAGS () "
                           "X-GM-THRID 18446744073709551616 MODSEQ (+1) "
                           "A -1 B \"12\" C NIL D 0007 E 1x)\r\n";
  g_autoptr(MhImapParser) p = mh_imap_parser_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MhImapResponse) r = NULL;
  const MhImapArg *a;
  guint64 v = 99;
  gsize consumed;
  MhImapEvent ev;

  g_assert_cmpint (mh_imap_parser_feed (p, (const guint8 *) in,
                                        sizeof in - 1, &consumed, &ev,
                                        &error),
                   ==, MH_IMAP_PARSE_RESPONSE);
  r = ev.response;

  a = mh_imap_fetch_item (r, "uid");
  g_assert_true (mh_imap_arg_get_uint64 (a, &v));
  g_assert_cmpuint (v, ==, 77);
  g_assert_cmpstr (mh_imap_arg_get_string (a), ==, "77");
  a = mh_imap_fetch_item (r, "BODY[]");
  g_assert_nonnull (a);
  g_assert_cmpint (a->type, ==, MH_IMAP_ARG_LITERAL);
  g_assert_cmpstr (mh_imap_arg_get_string (a), ==, "hi");
  g_assert_false (mh_imap_arg_get_uint64 (a, &v));
  g_assert_null (mh_imap_fetch_item (r, "BODY"));
  g_assert_null (mh_imap_fetch_item (r, "BODY[]<0>"));
  g_assert_null (mh_imap_fetch_item (r, "77"));
  a = mh_imap_fetch_item (r, "X-GM-MSGID");
  g_assert_true (mh_imap_arg_get_uint64 (a, &v));
  g_assert_cmpuint (v, ==, G_MAXUINT64);
  v = 5;
  g_assert_false (mh_imap_arg_get_uint64 (mh_imap_fetch_item (r,
                                                              "X-GM-THRID"),
                                          &v));
  g_assert_false (mh_imap_arg_get_uint64 (mh_imap_fetch_item (r, "FLAGS"),
                                          &v));
  g_assert_null (mh_imap_arg_get_string (mh_imap_fetch_item (r, "FLAGS")));
  g_assert_false (mh_imap_arg_get_uint64 (mh_imap_fetch_item (r, "A"), &v));
  g_assert_false (mh_imap_arg_get_uint64 (mh_imap_fetch_item (r, "B"), &v));
  g_assert_cmpstr (mh_imap_arg_get_string (mh_imap_fetch_item (r, "B")), ==,
                   "12");
  g_assert_false (mh_imap_arg_get_uint64 (mh_imap_fetch_item (r, "C"), &v));
  g_assert_null (mh_imap_arg_get_string (mh_imap_fetch_item (r, "C")));
  g_assert_true (mh_imap_arg_get_uint64 (mh_imap_fetch_item (r, "D"), &v));
  g_assert_cmpuint (v, ==, 7);
  g_assert_false (mh_imap_arg_get_uint64 (mh_imap_fetch_item (r, "E"), &v));
  g_assert_cmpuint (v, ==, 7);
  g_assert_null (mh_imap_fetch_item (r, "MISSING"));
  g_assert_false (mh_imap_arg_get_uint64 (NULL, &v));
  g_assert_null (mh_imap_arg_get_string (NULL));

  {
    MhImapArg empty = { MH_IMAP_ARG_ATOM, (char *) "", 0, FALSE, 0, NULL };
    MhImapArg plus = { MH_IMAP_ARG_ATOM, (char *) "+5", 2, FALSE, 0, NULL };

    g_assert_false (mh_imap_arg_get_uint64 (&empty, &v));
    g_assert_false (mh_imap_arg_get_uint64 (&plus, &v));
  }

  /* Not a FETCH response. */
  {
    static const char st[] = "* 3 EXISTS\r\n";
    g_autoptr(MhImapResponse) r2 = NULL;

    g_assert_cmpint (mh_imap_parser_feed (p, (const guint8 *) st,
                                          sizeof st - 1, &consumed, &ev,
                                          &error),
                     ==, MH_IMAP_PARSE_RESPONSE);
    r2 = ev.response;
    g_assert_null (mh_imap_fetch_item (r2, "UID"));
  }
  mh_imap_response_free (NULL);
  mh_imap_parser_free (NULL);
}

/* Transcripts in tests/data/imap/ parse without error, fed whole and in
 * one-byte pieces, with and without streaming. */
static void
test_transcripts (void)
{
  static const char *names[] = { "gmail-session.txt", "dovecot-fetch.txt" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data",
                                                     "imap", names[i],
                                                     NULL);
      g_autofree char *data = NULL;
      g_autofree char *a = NULL;
      g_autofree char *b = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (path, &data, &len, NULL));
      a = parse_all_ways (data, len, TRUE, 0, FALSE);
      b = parse_all_ways (data, len, FALSE, 0, FALSE);
      g_assert_true (g_str_has_suffix (a, " S:OK T:\"LOGOUT completed\"\n"));
      g_assert_true (g_str_has_suffix (b, " S:OK T:\"LOGOUT completed\"\n"));
      g_assert_nonnull (strstr (a, "STREAMED{"));
      g_assert_null (strstr (b, "STREAMED{"));
    }
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0:malloc_context_size=8");
MH_TEST_LSAN_GLIB_SUPPRESSION;

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/imap-parser/good", test_good);
  g_test_add_func ("/imap-parser/streaming", test_streaming);
  g_test_add_func ("/imap-parser/every-split", test_every_split);
  g_test_add_func ("/imap-parser/many-in-one-buffer",
                   test_many_in_one_buffer);
  g_test_add_func ("/imap-parser/stream-chunks", test_stream_chunks);
  g_test_add_func ("/imap-parser/stream-empty", test_stream_empty);
  g_test_add_func ("/imap-parser/helpers", test_helpers);
  g_test_add_func ("/imap-parser/transcripts", test_transcripts);
  return g_test_run ();
}
