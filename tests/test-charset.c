/* test-charset.c - the pure helpers of the message module: charset
 * conversion, html2text and the TNEF reader. */
#include "mailharvest/charset.h"
#include "mailharvest/error.h"
#include "mailharvest/html2text.h"
#include "mailharvest/tnef.h"

#include "testlib.h"

#include <string.h>

/* ---- charset ------------------------------------------------------------ */

static void
test_charset_table (void)
{
  static const struct {
    const char *in;
    gssize len;
    const char *label;
    const char *out;
    const char *used;
    gboolean lossy;
  } cases[] = {
    { "caf\xc3\xa9", -1, "utf-8", "caf\xc3\xa9", "utf-8", FALSE },
    { "caf\xe9 \x80", -1, "iso-8859-1", "caf\xc3\xa9 \xe2\x82\xac",
      "windows-1252", FALSE },
    { "caf\xe9", -1, "us-ascii", "caf\xc3\xa9", "windows-1252", FALSE },
    /* A UTF-8 text labelled Latin-1. */
    { "caf\xc3\xa9", -1, "ISO-8859-1", "caf\xc3\xa9", "utf-8", TRUE },
    /* A Latin-1 text labelled UTF-8. */
    { "caf\xe9", -1, "utf-8", "caf\xc3\xa9", "windows-1252", TRUE },
    { "caf\xe9", -1, NULL, "caf\xc3\xa9", "windows-1252", TRUE },
    { "plain", -1, NULL, "plain", "utf-8", FALSE },
    { "na\xefve", -1, "x-no-such", "na\xc3\xafve", "windows-1252", TRUE },
    /* GBK bytes (U+4E02) under the gb2312 label. */
    { "\x81\x40", -1, "gb2312", "\xe4\xb8\x82", "gb18030", FALSE },
    /* cp932 circled digit one under the shift_jis label. */
    { "\x87\x40", -1, "Shift_JIS", "\xe2\x91\xa0", "cp932", FALSE },
    { "\x1b$B$\"\x1b(B", -1, "iso-2022-jp", "\xe3\x81\x82", "iso-2022-jp-2",
      FALSE },
    { "\xcf\xf0", -1, "windows-1251", "\xd0\x9f\xd1\x80", "windows-1251",
      FALSE },
    { "\xfd", -1, "iso-8859-9", "\xc4\xb1", "windows-1254", FALSE },
    /* NUL becomes U+FFFD and does not end the string. */
    { "a\0b", 3, "utf-8", "a\xef\xbf\xbd" "b", "utf-8", FALSE },
    /* Mostly UTF-8 with one broken byte. */
    { "\xc3\xa9t\xc3\xa9 \xff", -1, "utf-8", "\xc3\xa9t\xc3\xa9 \xef\xbf\xbd",
      "utf-8", TRUE },
    /* Undefined windows-1252 bytes still map. */
    { "\x81\x8d", -1, "windows-1252", "\xc2\x81\xc2\x8d", "windows-1252",
      FALSE },
    { "", 0, "utf-16", "", "utf-16", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *used = NULL;
      gboolean lossy = FALSE;
      gsize len = cases[i].len < 0 ? strlen (cases[i].in)
                                   : (gsize) cases[i].len;
      g_autofree char *out =
        mh_charset_to_utf8 (cases[i].in, len, cases[i].label, &used, &lossy);

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      g_assert_cmpstr (out, ==, cases[i].out);
      g_assert_cmpstr (used, ==, cases[i].used);
      g_assert_cmpint (lossy, ==, cases[i].lossy);
    }
  g_assert_cmpstr (mh_charset_decoder_for ("\"GBK\""), ==, "gb18030");
  g_assert_null (mh_charset_decoder_for ("no such charset"));
  g_assert_null (mh_charset_decoder_for (NULL));
}

static void
test_charset_all_bytes (void)
{
  char all[256];
  g_autofree char *out = NULL;

  for (int i = 0; i < 256; i++)
    all[i] = (char) i;
  /* The last resort maps every byte: 256 characters come out. */
  out = mh_charset_to_utf8 (all, sizeof all, "utf-8", NULL, NULL);
  g_assert_true (g_utf8_validate (out, -1, NULL));
  g_assert_cmpint (g_utf8_strlen (out, -1), ==, 256);
}

/* ---- html2text ---------------------------------------------------------- */

static void
test_html2text (void)
{
  static const struct {
    const char *in;
    const char *out;
  } cases[] = {
    { "<p>Hello <b>world</b></p><p>Two</p>", "Hello world\n\nTwo" },
    { "a<br>b<br/>c", "a\nb\nc" },
    { "  lots   of\n\n  space  ", "lots of space" },
    { "<script>var x = '<p>';</script>x<style>p{}</style>y", "xy" },
    { "<!-- <p>hidden</p> -->shown", "shown" },
    { "&lt;&gt;&amp;&quot;&#39;&#x41;&#66;&nbsp;&euro;&unknown;",
      "<>&\"'AB \xe2\x82\xac&unknown;" },
    { "&#0;&#xD800;&#99999999;", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
    { "<ul><li>one<li>two</ul>after", "- one\n- two\n\nafter" },
    { "<a href=\"https://x.org/\">site</a>", "site <https://x.org/>" },
    { "<a href='https://x.org/'>https://x.org/</a>", "https://x.org/" },
    { "<a href=\"mailto:a@b\">a@b</a>", "a@b" },
    { "<a href=\"#top\">up</a>", "up" },
    { "<pre>a  b\n c</pre>", "a  b\n c" },
    { "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>",
      "1 2\n3" },
    { "<img alt=\"x>y\" src=a>z", "z" },
    /* "<d" opens a tag, as in browsers. */
    { "a < b and c<d", "a < b and c" },
    { "unterminated <b", "unterminated" },
    { "<p>\xff</p>", "\xef\xbf\xbd" },
    { "<title>T</title><h1>Head</h1>text", "Head\n\ntext" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = mh_html_to_text (cases[i].in, -1);

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      g_assert_cmpstr (out, ==, cases[i].out);
    }
}

static void
test_html_meta_charset (void)
{
  static const char a[] = "<html><head><meta charset=\"koi8-r\">";
  static const char b[] = "<META HTTP-EQUIV=\"content-type\" "
                          "CONTENT=\"text/html; charset=Windows-1251\">";
  static const char c[] = "<p>charset=utf-8 in text is not a meta tag</p>";
  g_autofree char *ra = mh_html_meta_charset (a, sizeof a - 1);
  g_autofree char *rb = mh_html_meta_charset (b, sizeof b - 1);
  g_autofree char *rc = mh_html_meta_charset (c, sizeof c - 1);

  g_assert_cmpstr (ra, ==, "koi8-r");
  g_assert_cmpstr (rb, ==, "Windows-1251");
  g_assert_null (rc);
}

/* ---- TNEF --------------------------------------------------------------- */

static void
test_tnef (void)
{
  g_autoptr(GBytes) dat = mh_test_data_bytes ("mime", "message",
                                               "winmail.dat", NULL);
  gsize len;
  const guint8 *data = g_bytes_get_data (dat, &len);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) members = mh_tnef_parse (data, len, warnings, NULL);
  MhTnefMember *m;

  g_assert_nonnull (members);
  g_assert_cmpuint (members->len, ==, 2);
  g_assert_cmpuint (warnings->len, ==, 0);
  m = g_ptr_array_index (members, 0);
  g_assert_cmpstr (m->name, ==, "Long name r\xc3\xa9sum\xc3\xa9.txt");
  g_assert_cmpstr (m->content_type, ==, "text/plain");
  g_assert_cmpmem (g_bytes_get_data (m->data, NULL),
                   g_bytes_get_size (m->data), "Quarterly numbers: 42\n", 22);
  m = g_ptr_array_index (members, 1);
  g_assert_cmpstr (m->name, ==, "caf\xc3\xa9.png");
  g_assert_null (m->content_type);
  g_assert_cmpuint (g_bytes_get_size (m->data), ==, 12);
}

static void
test_tnef_damaged (void)
{
  g_autoptr(GBytes) dat = mh_test_data_bytes ("mime", "message",
                                               "winmail.dat", NULL);
  gsize len;
  const guint8 *data = g_bytes_get_data (dat, &len);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) none = mh_tnef_parse ((const guint8 *) "nope", 4, NULL,
                                             &error);

  g_assert_null (none);
  g_assert_error (error, MH_ERROR, MH_ERROR_PARSE);

  /* Every truncation and every flipped byte: no crash, no over-read (ASan),
   * and a member is never returned with made-up data. */
  for (gsize cut = 0; cut < len; cut++)
    {
      g_autoptr(GPtrArray) w = g_ptr_array_new_with_free_func (g_free);
      g_autofree guint8 *copy = g_memdup2 (data, cut);
      g_autoptr(GPtrArray) m = mh_tnef_parse (copy, cut, w, NULL);

      if (cut >= 6)
        g_assert_nonnull (m);
      else
        g_assert_null (m);
    }
  for (gsize i = 6; i < len; i++)
    {
      g_autofree guint8 *copy = g_memdup2 (data, len);
      g_autoptr(GPtrArray) w = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GPtrArray) m = NULL;

      copy[i] ^= 0xFF;
      m = mh_tnef_parse (copy, len, w, NULL);
      g_assert_nonnull (m);
      g_assert_cmpuint (m->len, <=, 2);
    }
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0");

/* The character-by-character cleaner mh_charset_clean_utf8 replaced
 * with one that copies valid runs whole: the reference it must match. */
static char *
clean_by_char (const char *data, gsize len)
{
  GString *out = g_string_new (NULL);
  const char *p = data, *end = data + len;

  while (p < end)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);

      if (c == (gunichar) -1 || c == (gunichar) -2 || c == 0)
        {
          g_string_append (out, "\xEF\xBF\xBD");
          p++;
          continue;
        }
      g_string_append_len (out, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
  return g_string_free (out, FALSE);
}

static void
test_clean_utf8 (void)
{
  /* Pieces to build from: ASCII, NUL, valid 2-4 byte characters,
   * surrogates, overlong forms, noncharacters, lone continuation and
   * lead bytes, bytes never valid. */
  static const char *const pieces[] = {
    "a", "xyz ", "\n", "", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
    "\xed\xa0\x80", "\xc0\xaf", "\xe0\x80\xaf", "\xef\xbf\xbe",
    "\xf4\x90\x80\x80", "\x80", "\xbf", "\xc3", "\xe2\x82", "\xf0\x9f\x98",
    "\xf5", "\xff", "\xfe",
  };
  static const gsize piece_len[] = {
    1, 4, 1, 1, 2, 3, 4, 3, 2, 3, 3, 4, 1, 1, 1, 2, 3, 1, 1, 1,
  };
  g_autoptr(GRand) r = g_rand_new_with_seed (65533);

  for (guint round = 0; round < 20000; round++)
    {
      g_autoptr(GString) in = g_string_new (NULL);
      g_autofree char *want = NULL;
      g_autofree char *got = NULL;
      guint n = g_rand_int_range (r, 0, 24);

      for (guint i = 0; i < n; i++)
        {
          guint k = g_rand_int_range (r, 0, G_N_ELEMENTS (pieces));

          g_string_append_len (in, pieces[k], piece_len[k]);
        }
      want = clean_by_char (in->str, in->len);
      got = mh_charset_clean_utf8 (in->str, in->len);
      g_assert_cmpstr (got, ==, want);
      g_assert_true (g_utf8_validate (got, -1, NULL));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/charset/table", test_charset_table);
  g_test_add_func ("/charset/all-bytes", test_charset_all_bytes);
  g_test_add_func ("/charset/clean-utf8", test_clean_utf8);
  g_test_add_func ("/html2text/cases", test_html2text);
  g_test_add_func ("/html2text/meta-charset", test_html_meta_charset);
  g_test_add_func ("/tnef/members", test_tnef);
  g_test_add_func ("/tnef/damaged", test_tnef_damaged);
  return g_test_run ();
}
