/* test-msgid.c - ids, In-Reply-To heuristics, base subjects and
 * Thread-Index values. */
#include "mailharvest/msgid.h"

#include "testlib.h"

#include <string.h>

static char *
join_ids (GPtrArray *ids)
{
  g_ptr_array_add (ids, NULL);
  return g_strjoinv (" ", (char **) ids->pdata);
}

static const struct {
  const char *value;
  const char *ids;
} ref_cases[] = {
  { "<a@b> <c@d>", "a@b c@d" },
  { "<a@b>,<c@d>", "a@b c@d" },
  { "<a@b>(comment (nested <x@y>) more)<c@d>", "a@b c@d" },
  { "<a@b>\r\n\t<c@\r\n d>", "a@b c@d" },
  { "<yes> <a@b> some junk text", "a@b" },
  { "a@b c@d", "a@b c@d" },
  { "<a@b> <c@d", "a@b c@d" },
  { "(unterminated <a@b>", "a@b" },
  { "\"<q@x>\" <a@b>", "a@b" },
  { "<a<b@c>", "b@c" },
  { "<> <@b> <a@> < >", "" },
  { "", "" },
  { "<Mixed.Case@Example.COM>", "Mixed.Case@Example.COM" },
  { "<a@b> <a@b>", "a@b a@b" },
  { "((((((((((((((((((((<x@y>", "x@y" },
};

static void
test_references_table (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (ref_cases); i++)
    {
      g_autoptr(GPtrArray) ids = mh_msgid_parse_references (ref_cases[i].value);
      g_autofree char *got = join_ids (ids);

      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, ref_cases[i].value);
      g_assert_cmpstr (got, ==, ref_cases[i].ids);
    }
}

static void
test_references_null_and_trim (void)
{
  g_autoptr(GPtrArray) none = mh_msgid_parse_references (NULL);
  g_autoptr(GString) many = g_string_new (NULL);
  g_autoptr(GPtrArray) ids = NULL;
  g_autofree char *last = NULL;
  guint i;

  g_assert_cmpuint (none->len, ==, 0);
  for (i = 0; i < 1000; i++)
    g_string_append_printf (many, "<%u@x> ", i);
  ids = mh_msgid_parse_references (many->str);
  g_assert_cmpuint (ids->len, ==, MH_MSGID_MAX_IDS);
  g_assert_cmpstr (g_ptr_array_index (ids, 0), ==, "0@x");
  last = g_strdup_printf ("%u@x", 999);
  g_assert_cmpstr (g_ptr_array_index (ids, ids->len - 1), ==, last);
  g_assert_cmpstr (g_ptr_array_index (ids, 1), ==, "745@x");
}

static void
test_references_hostile (void)
{
  g_autofree char *parens = g_strnfill (MH_MSGID_MAX_INPUT * 2, '(');
  g_autofree char *angles = g_strnfill (MH_MSGID_MAX_INPUT, '<');
  g_autofree char *longid = g_strnfill (5000, 'a');
  g_autofree char *hdr = g_strdup_printf ("<%s@x> <ok@x>", longid);
  g_autoptr(GPtrArray) a = mh_msgid_parse_references (parens);
  g_autoptr(GPtrArray) b = mh_msgid_parse_references (angles);
  g_autoptr(GPtrArray) c = mh_msgid_parse_references (hdr);

  g_assert_cmpuint (a->len, ==, 0);
  g_assert_cmpuint (b->len, ==, 0);
  g_assert_cmpuint (c->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (c, 0), ==, "ok@x");
}

static void
test_normalize (void)
{
  g_autofree char *a = mh_msgid_normalize ("<Abc.Def@Example.COM>");
  g_autofree char *b = mh_msgid_normalize ("  abc.def@EXAMPLE.com ");
  g_autofree char *c = mh_msgid_normalize ("ABC.DEF@example.com");
  g_autofree char *d = mh_msgid_normalize ("<yes>");
  g_autofree char *e = mh_msgid_normalize ("< a@\r\n b >");
  g_autofree char *f = mh_msgid_normalize ("a@b@Host.Org");

  g_assert_cmpstr (a, ==, "Abc.Def@example.com");
  g_assert_cmpstr (b, ==, "abc.def@example.com");
  g_assert_cmpstr (c, ==, "ABC.DEF@example.com");
  g_assert_cmpstr (a, !=, c);
  g_assert_null (d);
  g_assert_cmpstr (e, ==, "a@b");
  g_assert_cmpstr (f, ==, "a@b@host.org");
  g_assert_null (mh_msgid_normalize (NULL));
  g_assert_null (mh_msgid_normalize ("@x"));
  g_assert_null (mh_msgid_normalize ("x@"));
  g_assert_true (mh_msgid_is_valid ("x@y"));
  g_assert_false (mh_msgid_is_valid ("x\001@y"));
  g_assert_false (mh_msgid_is_valid ("yes"));
}

static void
test_message_id (void)
{
  g_autofree char *a = mh_msgid_parse_message_id ("  <a@b>  (generated)");
  g_autofree char *b = mh_msgid_parse_message_id ("(c) <x@y>");
  g_autofree char *c = mh_msgid_parse_message_id ("bare@host");

  g_assert_cmpstr (a, ==, "a@b");
  g_assert_cmpstr (b, ==, "x@y");
  g_assert_cmpstr (c, ==, "bare@host");
  g_assert_null (mh_msgid_parse_message_id ("<yes>"));
  g_assert_null (mh_msgid_parse_message_id (NULL));
}

static const char *const hints[] = { "alice@example.com", "bob@example.org",
                                     NULL };

static const struct {
  const char *value;
  gboolean with_hints;
  const char *id;
} irt_cases[] = {
  { "<id@x>", FALSE, "id@x" },
  { "<id@x> (Alice's message of Mon, 1 Jan 2024 10:00:00 +0000)", FALSE,
    "id@x" },
  { "Your message of Mon, 1 Jan 2024 12:00:00 +0000 <id@x>", FALSE,
    "id@x" },
  { "Your message of \"Mon, 1 Jan 2024\" <id@x>", FALSE, "id@x" },
  { "In reply to <id@x>", FALSE, "id@x" },
  { "Alice <alice@example.com>", FALSE, NULL },
  { "\"Alice Smith\" <alice@example.com>", FALSE, NULL },
  { "message from alice@example.com", FALSE, NULL },
  { "message from <carol@example.net>", FALSE, NULL },
  { "Message from Alice Smith <alice@example.com> of \"Mon, 1 Jan 2024\""
    " <id@x>", FALSE, "id@x" },
  { "Alice <alice@example.com> <id@x>", FALSE, "id@x" },
  { "<alice@example.com>'s message of Mon, 1 Jan 2024", FALSE, NULL },
  { "alice@example.com's message of Mon, 1 Jan <id@x>", FALSE, "id@x" },
  { "<alice@example.com>", FALSE, "alice@example.com" },
  { "<alice@example.com>", TRUE, NULL },
  { "<ALICE@Example.com> <id@x>", TRUE, "id@x" },
  { "bob@example.org", TRUE, NULL },
  { "id@x", FALSE, "id@x" },
  { "id@x.", FALSE, "id@x" },
  { "Sua mensagem <CAF=x1234@mail.gmail.com>", FALSE,
    "CAF=x1234@mail.gmail.com" },
  { "Sua mensagem <20240101120000.GA1234@host.example>", FALSE,
    "20240101120000.GA1234@host.example" },
  { "John <john1@example.com>", FALSE, NULL },
  { "<yes>", FALSE, NULL },
  { "<a@x> <b@y>", FALSE, "a@x" },
  { "", FALSE, NULL },
};

static void
test_in_reply_to_table (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (irt_cases); i++)
    {
      g_autofree char *got = mh_msgid_parse_in_reply_to (
        irt_cases[i].value, irt_cases[i].with_hints ? hints : NULL);

      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, irt_cases[i].value);
      g_assert_cmpstr (got, ==, irt_cases[i].id);
    }
  g_assert_null (mh_msgid_parse_in_reply_to (NULL, hints));
}

static const struct {
  const char *subject;
  const char *base;
  gboolean reply;
} subject_cases[] = {
  { "Re: hello world", "hello world", TRUE },
  { "RE: AW: Re[2]: Sv: x y", "x y", TRUE },
  { "Re(3): x", "x", TRUE },
  { "Re : x", "x", TRUE },
  { "Re:Re:x", "x", TRUE },
  { "[dev] Re: [dev] Patch review", "patch review", TRUE },
  { "Fwd: FW: Fw: TR: WG: VS: Antw: Antwort: R\xc3\xa9" "f: x", "x", TRUE },
  { "R\xc3\x89" "F : x", "x", TRUE },
  { "\xe5\x9b\x9e\xe5\xa4\x8d\xef\xbc\x9a\xe6\xb5\x8b\xe8\xaf\x95",
    "\xe6\xb5\x8b\xe8\xaf\x95", TRUE },
  { "\xe7\xad\x94\xe5\xa4\x8d: x", "x", TRUE },
  { "\xe8\xbd\xac\xe5\x8f\x91: Re: x", "x", TRUE },
  { "  Multiple   spaces\tHere ", "multiple spaces here", FALSE },
  { "Hello (fwd)", "hello", TRUE },
  { "[dev]", "[dev]", FALSE },
  { "[dev] Quarterly numbers", "quarterly numbers", FALSE },
  { "Recipe: cake", "recipe: cake", FALSE },
  { "Rechnung 42", "rechnung 42", FALSE },
  { "Re: ", "", TRUE },
  { "Re[x]: y", "re[x]: y", FALSE },
  { "GROSSE Stra\xc3\x9f" "e", "grosse strasse", FALSE },
  { "", "", FALSE },
};

static void
test_subject_table (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (subject_cases); i++)
    {
      gboolean reply = !subject_cases[i].reply;
      g_autofree char *got = mh_msgid_subject_base (subject_cases[i].subject,
                                                    &reply);

      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i,
                      subject_cases[i].subject);
      g_assert_cmpstr (got, ==, subject_cases[i].base);
      g_assert_cmpint (reply, ==, subject_cases[i].reply);
    }
}

static void
test_subject_hostile (void)
{
  g_autofree char *null = mh_msgid_subject_base (NULL, NULL);
  g_autofree char *bad = NULL;
  g_autoptr(GString) many = g_string_new (NULL);
  g_autofree char *manyb = NULL;
  gboolean reply = FALSE;
  guint i;

  g_assert_cmpstr (null, ==, "");
  bad = mh_msgid_subject_base ("Re: caf\xe9 \xff", &reply);
  g_assert_true (reply);
  g_assert_true (g_utf8_validate (bad, -1, NULL));
  g_assert_true (g_str_has_prefix (bad, "caf"));
  for (i = 0; i < 5000; i++)
    g_string_append (many, "Re: [x] ");
  g_string_append (many, "end");
  manyb = mh_msgid_subject_base (many->str, NULL);
  g_assert_cmpuint (strlen (manyb), <=, MH_MSGID_MAX_SUBJECT);
  g_assert_true (g_utf8_validate (manyb, -1, NULL));
}

/* ASCII subjects take a short way round Unicode normalisation and case
 * folding; with one non-ASCII letter after them they take the long one,
 * and the two must agree. */
static void
test_subject_ascii (void)
{
  static const char alphabet[] =
      "abcXYZ019 \t\v\f\r\n:;,.-_[](){}<>!?#'\"\x01\x1f\x7f";
  g_autoptr(GRand) r = g_rand_new_with_seed (5256);

  for (guint round = 0; round < 20000; round++)
    {
      g_autoptr(GString) s = g_string_new (NULL);
      g_autofree char *with = NULL;
      g_autofree char *short_way = NULL;
      g_autofree char *long_way = NULL;
      g_autofree char *expected = NULL;
      gboolean reply1 = FALSE, reply2 = FALSE;
      guint n = g_rand_int_range (r, 0, 40);

      /* Reply and list markers now and then, to be stripped. */
      if (g_rand_int_range (r, 0, 3) == 0)
        g_string_append (s, "Re: ");
      if (g_rand_int_range (r, 0, 4) == 0)
        g_string_append (s, "[list] FWD: ");
      for (guint i = 0; i < n; i++)
        g_string_append_c (s, alphabet[g_rand_int_range (
                                  r, 0, sizeof alphabet - 1)]);
      /* A letter last: the appended one then follows it directly. */
      g_string_append_c (s, 'Q');
      short_way = mh_msgid_subject_base (s->str, &reply1);
      with = g_strconcat (s->str, "\xc3\x89", NULL); /* É */
      long_way = mh_msgid_subject_base (with, &reply2);
      expected = g_strconcat (short_way, "\xc3\xa9", NULL); /* é */
      g_assert_cmpstr (long_way, ==, expected);
      g_assert_cmpint (reply1, ==, reply2);
    }
}

static void
test_subject_generic (void)
{
  const char *generic[] = { "", "hello", "invoice", "hi", "re", "invoice!",
                            "no subject", "meeting", "a1", "???" };
  const char *specific[] = { "quarterly budget review", "invoice 2024-117",
                             "hello from the lisbon office" };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (generic); i++)
    g_assert_true (mh_msgid_subject_is_generic (generic[i]));
  for (i = 0; i < G_N_ELEMENTS (specific); i++)
    g_assert_false (mh_msgid_subject_is_generic (specific[i]));
  g_assert_true (mh_msgid_subject_is_generic (NULL));
}

/* A real-shaped Thread-Index: reserved byte, 5 bytes of FILETIME, a
 * 16-byte GUID, then @blocks 5-byte child blocks. */
static char *
make_index (guint8 guid_seed, guint blocks, guint8 block_seed)
{
  guint8 raw[22 + 5 * 8];
  guint i;

  g_assert_cmpuint (blocks, <=, 8);
  raw[0] = 0x01;
  for (i = 1; i < 6; i++)
    raw[i] = 0xd0 + i;
  for (i = 6; i < 22; i++)
    raw[i] = guid_seed * 7 + i;
  for (i = 0; i < 5 * blocks; i++)
    raw[22 + i] = block_seed + i;
  return g_base64_encode (raw, 22 + 5 * blocks);
}

static void
test_thread_index (void)
{
  g_autofree char *root = make_index (1, 0, 0);
  g_autofree char *child = make_index (1, 1, 10);
  g_autofree char *grand = make_index (1, 2, 10);
  g_autofree char *other = make_index (2, 1, 10);
  g_autofree char *cousin = make_index (1, 2, 40);
  g_autoptr(GBytes) r = mh_msgid_thread_index_decode (root);
  g_autoptr(GBytes) c = mh_msgid_thread_index_decode (child);
  g_autoptr(GBytes) g = mh_msgid_thread_index_decode (grand);
  g_autoptr(GBytes) o = mh_msgid_thread_index_decode (other);
  g_autoptr(GBytes) k = mh_msgid_thread_index_decode (cousin);
  g_autofree char *spaced = g_strdup_printf (" %.*s\r\n %s", 8, root,
                                             root + 8);
  g_autoptr(GBytes) s = mh_msgid_thread_index_decode (spaced);
  guint8 short_raw[21] = { 1 };
  guint8 odd_raw[25] = { 1 };
  g_autofree char *short_b64 = g_base64_encode (short_raw, 21);
  g_autofree char *odd_b64 = g_base64_encode (odd_raw, 25);
  g_autofree char *huge = g_strnfill (4000, 'A');

  g_assert_nonnull (r);
  g_assert_nonnull (c);
  g_assert_nonnull (g);
  g_assert_nonnull (s);
  g_assert_true (g_bytes_equal (r, s));
  g_assert_cmpuint (mh_msgid_thread_index_depth (r), ==, 0);
  g_assert_cmpuint (mh_msgid_thread_index_depth (g), ==, 2);
  g_assert_true (mh_msgid_thread_index_is_ancestor (r, c));
  g_assert_true (mh_msgid_thread_index_is_ancestor (r, g));
  g_assert_true (mh_msgid_thread_index_is_ancestor (c, g));
  g_assert_false (mh_msgid_thread_index_is_ancestor (g, c));
  g_assert_false (mh_msgid_thread_index_is_ancestor (c, c));
  g_assert_false (mh_msgid_thread_index_is_ancestor (o, g));
  g_assert_false (mh_msgid_thread_index_is_ancestor (c, k));
  g_assert_true (mh_msgid_thread_index_is_ancestor (r, k));

  g_assert_null (mh_msgid_thread_index_decode (short_b64));
  g_assert_null (mh_msgid_thread_index_decode (odd_b64));
  g_assert_null (mh_msgid_thread_index_decode ("!!!!not base64!!!!"));
  g_assert_null (mh_msgid_thread_index_decode ("AQ==AQ=="));
  g_assert_null (mh_msgid_thread_index_decode (huge));
  g_assert_null (mh_msgid_thread_index_decode (""));
  g_assert_null (mh_msgid_thread_index_decode (NULL));
}

/* The id of a raw header block's Message-ID field, as the store keeps
 * it: first field only, folded values, case of the field name free, the
 * body never looked at. */
static void
test_from_header_block (void)
{
  static const struct {
    const char *block;
    const char *want;
  } cases[] = {
    { "From: a@b\r\nMessage-ID: <Abc@Example.COM>\r\n\r\n",
      "Abc@example.com" },
    { "message-id:\r\n  <x1@h>\r\nSubject: s\r\n\r\n", "x1@h" },
    { "Message-ID: <first@h>\nMessage-ID: <second@h>\n\n", "first@h" },
    { "Subject: no id\r\n\r\nMessage-ID: <in-body@h>\r\n", NULL },
    { "Message-IDs: <not@this>\r\n\r\n", NULL },
    { "Message-ID: no brackets here\r\n\r\n", NULL },
    { "Message-ID: <cut@h", "cut@h" },
    { "", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *id = mh_msgid_from_header_block (
          cases[i].block, strlen (cases[i].block));

      g_assert_cmpstr (id, ==, cases[i].want);
    }
  /* Stops at the length given, NUL bytes or not. */
  {
    static const char block[] = "Message-ID: <a@b>\r\n";
    g_autofree char *id = mh_msgid_from_header_block (block, 14);

    g_assert_null (id);
  }
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0:malloc_context_size=8");
MH_TEST_LSAN_GLIB_SUPPRESSION;

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/msgid/references/table", test_references_table);
  g_test_add_func ("/msgid/references/null-and-trim",
                   test_references_null_and_trim);
  g_test_add_func ("/msgid/references/hostile", test_references_hostile);
  g_test_add_func ("/msgid/normalize", test_normalize);
  g_test_add_func ("/msgid/message-id", test_message_id);
  g_test_add_func ("/msgid/from-header-block", test_from_header_block);
  g_test_add_func ("/msgid/in-reply-to/table", test_in_reply_to_table);
  g_test_add_func ("/msgid/subject/table", test_subject_table);
  g_test_add_func ("/msgid/subject/hostile", test_subject_hostile);
  g_test_add_func ("/msgid/subject/ascii", test_subject_ascii);
  g_test_add_func ("/msgid/subject/generic", test_subject_generic);
  g_test_add_func ("/msgid/thread-index", test_thread_index);
  return g_test_run ();
}
