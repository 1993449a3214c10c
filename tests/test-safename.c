/* test-safename.c - safe names, collisions and directory names. */
#include <string.h>

#include "mailharvest/layout.h"
#include "mailharvest/safename.h"

#include "testlib.h"

typedef struct {
  const char *in;
  const char *fallback;
  const char *out;
} Case;

static const Case cases[] = {
  /* Directory parts, Unix and Windows. */
  { "../x", "fb", "x" },
  { "../../etc/passwd", "fb", "passwd" },
  { "/etc/passwd", "fb", "passwd" },
  { "C:\\Windows\\evil.exe", "fb", "evil.exe" },
  { "..\\..\\x", "fb", "x" },
  { "a/b\\c/d.txt", "fb", "d.txt" },
  { "dir/", "fb", "fb" },
  { "C:evil.exe", "fb", "C_evil.exe" },
  /* Controls: C0, DEL, C1. */
  { "a\x01" "b\x1f" "c\x7f" "d\xc2\x85" "e.txt", "fb", "abcde.txt" },
  { "tab\there\nnewline", "fb", "tabherenewline" },
  { "\x1b[31mred", "fb", "[31mred" },
  /* Bidi overrides, isolates and marks. */
  { "invoice\xe2\x80\xae" "gpj.exe", "fb", "invoicegpj.exe" },
  { "\xe2\x81\xa6" "x\xe2\x81\xa9\xe2\x80\x8e\xe2\x80\x8f.pdf", "fb",
    "x.pdf" },
  { "\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", "fb", "fb" },
  /* Leading and trailing dots and spaces. */
  { "....", "fb", "fb" },
  { ". . .", "fb", "fb" },
  { "  .hidden  ", "fb", "hidden" },
  { "name. . ", "fb", "name" },
  { ".bashrc", "fb", "bashrc" },
  /* Windows device names, with and without extension. */
  { "CON", "fb", "_CON" },
  { "con.txt", "fb", "_con.txt" },
  { "nul.txt", "fb", "_nul.txt" },
  { "Aux.tar.gz", "fb", "_Aux.tar.gz" },
  { "COM1", "fb", "_COM1" },
  { "lpt9.doc", "fb", "_lpt9.doc" },
  { "CON .txt", "fb", "_CON .txt" },
  { "COM0", "fb", "COM0" },
  { "CONSOLE", "fb", "CONSOLE" },
  { "prn2.txt", "fb", "prn2.txt" },
  /* Characters Windows rejects. */
  { "a<b>c:d\"e|f?g*h", "fb", "a_b_c_d_e_f_g_h" },
  /* Encodings: invalid UTF-8 repaired, NFC. */
  { "caf\xe9.txt", "fb", "caf\xef\xbf\xbd.txt" },
  { "e\xcc\x81.txt", "fb", "\xc3\xa9.txt" },
  /* A control dropped between a letter and its combining mark: the two
   * meet, and NFC makes them one character (found by fuzz-names). */
  { "e\x01\xcc\x81.txt", "fb", "\xc3\xa9.txt" },
  { "i\x1a\xcc\x81", "fb", "\xc3\xad" },
  { "A\xe2\x80\xae\xcc\x8a.pdf", "fb", "\xc3\x85.pdf" },
  /* Empty and missing names. */
  { "", "part-1.2.pdf", "part-1.2.pdf" },
  { NULL, "part-3.bin", "part-3.bin" },
  { NULL, NULL, "attachment" },
  { "", "../..", "attachment" },
  { "/", "", "attachment" },
  { "ok.txt", NULL, "ok.txt" },
};

static void
test_table (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = mh_safename (cases[i].in, cases[i].fallback);
      g_autofree char *shown =
          g_strescape (cases[i].in != NULL ? cases[i].in : "(null)", NULL);

      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, shown);
      g_assert_cmpstr (out, ==, cases[i].out);
    }
}

static char *
repeat (const char *s, guint n)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append (out, s);
  return g_string_free (out, FALSE);
}

static void
test_long (void)
{
  g_autofree char *a296 = repeat ("a", 296);
  g_autofree char *a196 = repeat ("a", 196);
  g_autofree char *a300 = repeat ("a", 300);
  g_autofree char *a200 = repeat ("a", 200);
  g_autofree char *e498 = repeat ("\xc3\xa9", 498);
  g_autofree char *e98 = repeat ("\xc3\xa9", 98);
  g_autofree char *euro100 = repeat ("\xe2\x82\xac", 100);
  g_autofree char *euro66 = repeat ("\xe2\x82\xac", 66);
  g_autofree char *in = NULL;
  g_autofree char *want = NULL;
  g_autofree char *out = NULL;

  /* 300 ASCII bytes: the stem is cut, the extension kept. */
  in = g_strconcat (a296, ".pdf", NULL);
  want = g_strconcat (a196, ".pdf", NULL);
  out = mh_safename (in, "fb");
  g_assert_cmpstr (out, ==, want);
  g_assert_cmpuint (strlen (out), ==, MH_SAFENAME_MAX);
  g_clear_pointer (&in, g_free);
  g_clear_pointer (&want, g_free);
  g_clear_pointer (&out, g_free);

  /* 1000 bytes of two-byte characters. */
  in = g_strconcat (e498, ".txt", NULL);
  want = g_strconcat (e98, ".txt", NULL);
  out = mh_safename (in, "fb");
  g_assert_cmpstr (out, ==, want);
  g_clear_pointer (&in, g_free);
  g_clear_pointer (&want, g_free);
  g_clear_pointer (&out, g_free);

  /* Three-byte characters: 200 is not a boundary, 198 is. */
  out = mh_safename (euro100, "fb");
  g_assert_cmpstr (out, ==, euro66);
  g_assert_true (g_utf8_validate (out, -1, NULL));
  g_clear_pointer (&out, g_free);

  /* An extension longer than MH_SAFENAME_MAX_EXT is not one. */
  in = g_strconcat (a300, ".averyveryverylongextension", NULL);
  out = mh_safename (in, "fb");
  g_assert_cmpstr (out, ==, a200);
}

static void
test_collisions (void)
{
  g_autoptr(MhNameSet) set = mh_name_set_new ();
  g_autofree char *a = mh_name_set_claim (set, "report.pdf");
  g_autofree char *b = mh_name_set_claim (set, "report.pdf");
  g_autofree char *c = mh_name_set_claim (set, "REPORT.PDF");
  g_autofree char *d = mh_name_set_claim (set, "report (4).pdf");
  g_autofree char *e = mh_name_set_claim (set, "report.pdf");
  g_autofree char *f = mh_name_set_claim (set, "noext");
  g_autofree char *g = mh_name_set_claim (set, "NoExt");
  g_autofree char *h = mh_name_set_claim (set, "\xc3\x89t\xc3\xa9.txt");
  g_autofree char *i = mh_name_set_claim (set, "\xc3\xa9T\xc3\x89.TXT");

  g_assert_cmpstr (a, ==, "report.pdf");
  g_assert_cmpstr (b, ==, "report (2).pdf");
  g_assert_cmpstr (c, ==, "REPORT (3).PDF");
  g_assert_cmpstr (d, ==, "report (4).pdf");
  g_assert_cmpstr (e, ==, "report (5).pdf");
  g_assert_cmpstr (f, ==, "noext");
  g_assert_cmpstr (g, ==, "NoExt (2)");
  g_assert_cmpstr (h, ==, "\xc3\x89t\xc3\xa9.txt");
  g_assert_cmpstr (i, ==, "\xc3\xa9T\xc3\x89 (2).TXT");
  g_assert_true (mh_name_set_contains (set, "Report (2).PDF"));
  g_assert_false (mh_name_set_contains (set, "report (6).pdf"));
}

static void
test_collision_long (void)
{
  g_autoptr(MhNameSet) set = mh_name_set_new ();
  g_autofree char *stem = repeat ("\xc3\xa9", 98);
  g_autofree char *name = g_strconcat (stem, ".txt", NULL);
  g_autofree char *first = mh_name_set_claim (set, name);
  g_autofree char *second = mh_name_set_claim (set, name);
  g_autofree char *short_stem = repeat ("\xc3\xa9", 96);
  g_autofree char *want = g_strconcat (short_stem, " (2).txt", NULL);

  g_assert_cmpstr (first, ==, name);
  /* 192 + 4 + 4 bytes: the stem gives way to the suffix, by whole
   * characters. */
  g_assert_cmpstr (second, ==, want);
  g_assert_cmpuint (strlen (second), <=, MH_SAFENAME_MAX);
}

static void
test_many_same (void)
{
  g_autoptr(MhNameSet) set = mh_name_set_new ();

  for (guint n = 1; n <= 1000; n++)
    {
      g_autofree char *got = mh_name_set_claim (set, "x.bin");
      g_autofree char *want = n == 1 ? g_strdup ("x.bin")
                                     : g_strdup_printf ("x (%u).bin", n);

      g_assert_cmpstr (got, ==, want);
    }
}

typedef struct {
  const char *subject;
  const char *slug;
} SlugCase;

static const SlugCase slugs[] = {
  { "Hello, World!", "hello-world" },
  { "Re: Fwd: Hello, World!", "hello-world" },
  { "RE[2]: AW: Test", "test" },
  { "Re (3) : fw: WG: Sv: stuff", "stuff" },
  { "Re:Re:Re: deep", "deep" },
  { "Reply needed", "reply-needed" },
  { "Fwdx: not a prefix", "fwdx-not-a-prefix" },
  { "\xc3\x84rger \xc3\xbc" "ber \xc3\x96l", "arger-uber-ol" },
  { "R\xc3\xa9sum\xc3\xa9", "resume" },
  { "  --Weird__spacing--  ", "weird-spacing" },
  { "!!!", "no-subject" },
  { "Re: ", "no-subject" },
  { "", "no-subject" },
  { NULL, "no-subject" },
  { "bad \xff utf8", "bad-utf8" },
  /* Other scripts keep their letters and digits, lower-cased. */
  { "\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac" },
  { "\xe8\xa6\x8b\xe7\xa9\x8d\xe6\x9b\xb8\xe3\x81\xae"
    "\xe9\x80\x81\xe4\xbb\x98",
    "\xe8\xa6\x8b\xe7\xa9\x8d\xe6\x9b\xb8\xe3\x81\xae"
    "\xe9\x80\x81\xe4\xbb\x98" },
  { "\xd0\x9e\xd1\x82\xd1\x87\xd1\x91\xd1\x82 \xd0\xb7\xd0\xb0 "
    "\xd0\xba\xd0\xb2\xd0\xb0\xd1\x80\xd1\x82\xd0\xb0\xd0\xbb",
    "\xd0\xbe\xd1\x82\xd1\x87\xd1\x91\xd1\x82-\xd0\xb7\xd0\xb0-"
    "\xd0\xba\xd0\xb2\xd0\xb0\xd1\x80\xd1\x82\xd0\xb0\xd0\xbb" },
  /* "Re: 报价单 2024" (Chinese), the prefix stripped, digits kept. */
  { "Re: \xe6\x8a\xa5\xe4\xbb\xb7\xe5\x8d\x95 2024",
    "\xe6\x8a\xa5\xe4\xbb\xb7\xe5\x8d\x95-2024" },
  /* Latin letters transliterated as GLib does: "Köln", "Straße", "Ærø". */
  { "K\xc3\xb6ln", "koln" },
  { "Stra\xc3\x9f" "e", "strasse" },
  { "\xc3\x86r\xc3\xb8", "aeroe" },
  /* NFD input ("e" + U+0301) becomes NFC first, then "e". */
  { "Cafe\xcc\x81 menu", "cafe-menu" },
  /* Greek in NFD: the accent is composed, then kept. */
  { "\xce\x91\xcc\x81\xce\xbb\xcf\x86\xce\xb1",
    "\xce\xac\xce\xbb\xcf\x86\xce\xb1" },
  /* Hindi "नमस्ते": the vowel signs and virama stay with their letters. */
  { "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4"
    "\xe0\xa5\x87",
    "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4"
    "\xe0\xa5\x87" },
  /* Bidi controls, emoji, fullwidth punctuation and NBSP separate words. */
  { "a\xe2\x80\xae" "b\xf0\x9f\x98\x80" "c\xef\xbc\x81" "d\xc2\xa0" "e",
    "a-b-c-d-e" },
  /* A combining mark with no letter before it is dropped. */
  { "\xcc\x81x", "x" },
};

static void
test_slug (void)
{
  g_autofree char *long_subject = repeat ("ab ", 40);
  g_autofree char *long_slug = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (slugs); i++)
    {
      g_autofree char *out = mh_layout_slug (slugs[i].subject);

      g_assert_cmpstr (out, ==, slugs[i].slug);
    }
  /* Cut at 60 bytes and never ending in '-'. */
  long_slug = mh_layout_slug (long_subject);
  g_assert_cmpstr (long_slug, ==,
                   "ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-"
                   "ab-ab-ab-ab-ab-ab-ab-ab-ab-ab");
  g_assert_cmpuint (strlen (long_slug), <=, MH_LAYOUT_SLUG_MAX);
}

/* Multi-byte characters at the limit: cut before a whole character. */
static void
test_slug_cut (void)
{
  /* 61 bytes: 20 three-byte characters then "x" would fit 60 exactly
   * without the "x"; shifted by one and two ASCII bytes, the 20th
   * character no longer fits and must be left out whole. */
  for (guint shift = 0; shift < 3; shift++)
    {
      g_autoptr(GString) subject = g_string_new (NULL);
      g_autofree char *slug = NULL;
      gsize want;

      for (guint i = 0; i < shift; i++)
        g_string_append_c (subject, 'a');
      for (guint i = 0; i < 25; i++)
        g_string_append (subject, "\xe8\xa6\x8b");
      slug = mh_layout_slug (subject->str);
      g_assert_true (g_utf8_validate (slug, -1, NULL));
      g_assert_cmpuint (strlen (slug), <=, MH_LAYOUT_SLUG_MAX);
      want = shift + (MH_LAYOUT_SLUG_MAX - shift) / 3 * 3;
      g_assert_cmpuint (strlen (slug), ==, want);
    }
  /* Four-byte characters (U+20BB7) and two-byte Cyrillic with dashes. */
  {
    g_autoptr(GString) subject = g_string_new (NULL);
    g_autofree char *slug = NULL;

    for (guint i = 0; i < 30; i++)
      g_string_append (subject, "\xf0\xa0\xae\xb7 \xd0\xb6 ");
    slug = mh_layout_slug (subject->str);
    g_assert_true (g_utf8_validate (slug, -1, NULL));
    g_assert_cmpuint (strlen (slug), <=, MH_LAYOUT_SLUG_MAX);
    g_assert_false (g_str_has_suffix (slug, "-"));
    g_assert_true (g_str_has_prefix (slug, "\xf0\xa0\xae\xb7-\xd0\xb6-"));
  }
}

static void
test_dir_names (void)
{
  const char *sha =
      "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
  g_autofree char *m1 = mh_layout_message_dir (1700000000, sha);
  g_autofree char *m2 = mh_layout_message_dir (0, sha);
  g_autofree char *m3 = mh_layout_message_dir (-5, sha);
  g_autofree char *m4 = mh_layout_message_dir (G_MAXINT64, "12");
  g_autofree char *root_sum =
      g_compute_checksum_for_string (G_CHECKSUM_SHA256, "id@example.com", -1);
  g_autofree char *t1 =
      mh_layout_thread_dir (1700000000, "Re: Hi there", "id@example.com");
  g_autofree char *want = g_strdup_printf ("2023-11-14_hi-there_%.10s",
                                           root_sum);
  g_autofree char *t2 = mh_layout_thread_dir (86399, NULL, "x");

  g_assert_cmpstr (m1, ==, "20231114T221320Z_abcdef0123");
  g_assert_cmpstr (m2, ==, "19700101T000000Z_abcdef0123");
  g_assert_cmpstr (m3, ==, "19700101T000000Z_abcdef0123");
  g_assert_cmpstr (m4, ==, "19700101T000000Z_1200000000");
  g_assert_cmpstr (t1, ==, want);
  g_assert_true (g_str_has_prefix (t2, "1970-01-01_no-subject_"));
  g_assert_cmpuint (strlen (t2), ==, strlen ("1970-01-01_no-subject_") + 10);
}

/* A staging dir is a guess at the conversation: a root and its replies
 * (References keeps the root first; a reply with only In-Reply-To to
 * the root) share one; Gmail's thread id comes first; a message with no
 * id at all has one of its own; ids compare by their key (case of the
 * domain). */
static void
test_stage_dirs (void)
{
  g_autofree char *root = mh_layout_stage_dir (NULL, NULL, NULL,
                                               "root@example.com", "k1");
  g_autofree char *reply = mh_layout_stage_dir (
      NULL, "<root@Example.COM> <mid@example.com>", "<mid@example.com>",
      "r2@example.com", "k2");
  g_autofree char *irt = mh_layout_stage_dir (
      NULL, NULL, "your message <root@example.com> of Monday",
      "r3@example.com", "k3");
  g_autofree char *other = mh_layout_stage_dir (NULL, NULL, NULL,
                                                "other@example.com", "k4");
  g_autofree char *gmail1 = mh_layout_stage_dir ("1790000000000000001",
                                                 "<root@example.com>", NULL,
                                                 "g1@example.com", "k5");
  g_autofree char *gmail2 = mh_layout_stage_dir ("1790000000000000001", NULL,
                                                 NULL, "g2@example.com",
                                                 "k6");
  g_autofree char *bare1 = mh_layout_stage_dir (NULL, "no ids here", "",
                                                NULL, "k7");
  g_autofree char *bare2 = mh_layout_stage_dir (NULL, NULL, NULL, NULL,
                                                "k8");

  g_assert_cmpuint (strlen (root), ==, MH_LAYOUT_STAGE_CHARS);
  for (const char *c = root; *c != '\0'; c++)
    g_assert_true (g_ascii_isxdigit (*c) && !g_ascii_isupper (*c));
  g_assert_cmpstr (reply, ==, root);
  g_assert_cmpstr (irt, ==, root);
  g_assert_cmpstr (other, !=, root);
  g_assert_cmpstr (gmail1, ==, gmail2);
  g_assert_cmpstr (gmail1, !=, root);
  g_assert_cmpstr (bare1, !=, bare2);
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0");
MH_TEST_LSAN_GLIB_SUPPRESSION;

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/safename/table", test_table);
  g_test_add_func ("/safename/long", test_long);
  g_test_add_func ("/safename/collisions", test_collisions);
  g_test_add_func ("/safename/collision-long", test_collision_long);
  g_test_add_func ("/safename/many-same", test_many_same);
  g_test_add_func ("/layout/slug", test_slug);
  g_test_add_func ("/layout/slug-cut", test_slug_cut);
  g_test_add_func ("/layout/dir-names", test_dir_names);
  g_test_add_func ("/layout/stage-dirs", test_stage_dirs);
  return g_test_run ();
}
