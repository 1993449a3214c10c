/* test-message-hostile.c - the message module over hostile messages
 * generated here: broken encodings and charsets, NULs, names meant to
 * escape, nesting and headers beyond the limits, and every fixture of
 * tests/data/mime/message checked for sane output. */
#include "mailharvest/charset.h"
#include "mailharvest/error.h"
#include "mailharvest/message.h"

#include "testlib.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "message-testlib.h"

/* ---- hostile input ------------------------------------------------------ */

static void
test_broken_base64 (void)
{
  g_autoptr(MhMessage) msg = parse ("h-broken-base64.eml");
  g_autoptr(GByteArray) b = NULL;

  g_assert_cmpstr (msg->text, ==, "body");
  b = content (msg, att_at (msg, 0));
  /* The junk bytes are skipped; the complete groups decode. */
  g_assert_cmpuint (b->len, >=, 9);
  g_assert_cmpmem (b->data, 9, "Hello wor", 9);
  g_assert_true (has_warning (msg, "part 2: 3 bytes that are not base64*"));
  g_assert_true (has_warning (msg, "part 2: base64 content is truncated"));
}

static void
test_truncated (void)
{
  g_autoptr(MhMessage) msg = parse ("h-truncated.eml");
  g_autoptr(GByteArray) b = NULL;

  g_assert_cmpstr (msg->text, ==, "body");
  g_assert_cmpuint (msg->attachments->len, ==, 1);
  g_assert_cmpstr (att_at (msg, 0)->filename, ==, "cut.pdf");
  b = content (msg, att_at (msg, 0));
  g_assert_cmpuint (b->len, >=, 9);
  g_assert_cmpmem (b->data, 9, "%PDF-1.4\n", 9);
  g_assert_true (has_warning (msg, "parser: truncated message*"));
}

static void
test_no_boundary (void)
{
  g_autoptr(MhMessage) msg = parse ("h-no-boundary.eml");

  g_assert_cmpstr (msg->text, ==, "body");
  g_assert_true (has_warning (msg, "parser: multipart without boundary*"));
  g_assert_true (has_warning (msg, "*read with the boundary of its first*"));
}

static void
test_nul (void)
{
  g_autoptr(MhMessage) msg = parse ("h-nul.eml");

  g_assert_cmpstr (msg->text, ==, "before\xef\xbf\xbd" "after\n");
  g_assert_cmpstr (msg->text_charset, ==, "utf-8");
  /* GMime keeps header values as C strings: the Subject ends at the NUL. */
  g_assert_cmpstr (msg->subject, ==, "nul");
}

static void
test_8bit_headers (void)
{
  g_autoptr(MhMessage) msg = parse ("h-8bit-headers.eml");

  g_assert_cmpstr (msg->subject, ==, "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln");
  g_assert_cmpstr (msg->from, ==, "Ren\xc3\xa9 <rene@example.com>");
  g_assert_cmpstr (msg->to, ==, "J\xc3\xbcrgen <j@example.com>");
  g_assert_cmpstr (msg->text, ==, "Gr\xc3\xbc\xc3\x9f" "e\n");
  g_assert_true (has_warning (msg, "parser: unencoded 8-bit header*"));
  g_assert_true (has_warning (msg, "part 1: 8-bit text without a charset*"));
}

static void
test_wrong_charset (void)
{
  g_autoptr(MhMessage) msg = parse ("h-wrong-charset.eml");

  g_assert_cmpstr (msg->text, ==, "caf\xc3\xa9 \xe2\x82\xac");
  g_assert_cmpstr (msg->text_charset, ==, "utf-8");
  g_assert_cmpstr (msg->html, ==, "<p>caf\xc3\xa9 \xe2\x82\xac</p>");
  g_assert_cmpstr (msg->html_charset, ==, "windows-1252");
  g_assert_true (has_warning (msg, "part 1: charset \"iso-8859-1\"*"));
  g_assert_true (has_warning (msg, "part 2: charset \"utf-8\"*"));
}

static void
test_unknown_charset (void)
{
  g_autoptr(MhMessage) msg = parse ("h-unknown-charset.eml");

  g_assert_cmpstr (msg->text, ==, "na\xc3\xafve");
  g_assert_true (has_warning (msg, "*\"x-no-such-charset\" is unknown*"));
  g_assert_cmpstr (att_at (msg, 0)->filename, ==, "gbk.txt");
  assert_content (msg, att_at (msg, 0), "\x81\x40");
}

static void
test_cjk (void)
{
  g_autoptr(MhMessage) msg = parse ("h-cjk.eml");

  g_assert_cmpstr (msg->subject, ==, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
  g_assert_cmpstr (msg->text, ==,
                   "\xe2\x91\xa0\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\n");
  g_assert_cmpstr (msg->text_charset, ==, "cp932");
}

static void
test_encoded_words (void)
{
  g_autoptr(MhMessage) msg = parse ("h-encoded-words.eml");

  /* Adjacent words without space, a word glued to text, an unknown charset
   * and an unterminated word. */
  g_assert_cmpstr (msg->subject, ==,
                   "ab\xc3\xa9x q\xc3\xa9 =?utf-8?q?broken");
}

static void
test_rfc2231 (void)
{
  g_autoptr(MhMessage) msg = parse ("h-rfc2231.eml");

  g_assert_cmpuint (msg->attachments->len, ==, 3);
  /* Segments 2, 0, 1 in that order, charset on segment 0. */
  g_assert_cmpstr (att_at (msg, 0)->filename, ==,
                   "r\xc3\xa9sum\xc3\xa9 final.txt");
  /* RFC 2047 inside a quoted name. */
  g_assert_cmpstr (att_at (msg, 1)->filename, ==, "d\xc3\xa9j\xc3\xa0 vu.doc");
  g_assert_cmpstr (att_at (msg, 2)->filename, ==, "\xc3\xa9t\xc3\xa9.txt");
  assert_content (msg, att_at (msg, 2), "z");
}

static void
test_hostile_name (void)
{
  g_autoptr(MhMessage) msg = parse ("h-hostile-name.eml");

  /* As the sender meant it: the writer makes it safe. */
  g_assert_cmpstr (att_at (msg, 0)->filename, ==, "../../etc/passwd\x01\n");
}

static void
test_8bit_names (void)
{
  static const char text[] =
    "From: a@example.com\nSubject: names\n"
    "Content-Type: multipart/mixed; boundary=n\n\n"
    "--n\nContent-Type: text/plain\n\nbody\n"
    "--n\nContent-Type: application/pdf\n"
    "Content-Disposition: attachment; filename=\"r\xe9sum\xe9.pdf\"\n\nx\n"
    "--n\nContent-Type: application/pdf; name=\"\xc3\xbc" "ber.pdf\"\n\ny\n"
    "--n--\n";
  g_autofree char *path = NULL;
  g_autoptr(MhMessage) msg = NULL;
  char *tmp_path;
  int fd = g_file_open_tmp ("mh-names-XXXXXX", &tmp_path, NULL);

  close (fd);
  path = tmp_path;
  g_assert_true (g_file_set_contents (path, text, sizeof text - 1, NULL));
  msg = mh_message_parse_file (path, NULL, NULL);
  g_assert_cmpuint (msg->attachments->len, ==, 2);
  /* Raw Latin-1 and raw UTF-8 bytes in parameters. */
  g_assert_cmpstr (att_at (msg, 0)->filename, ==, "r\xc3\xa9sum\xc3\xa9.pdf");
  g_assert_cmpstr (att_at (msg, 1)->filename, ==, "\xc3\xbc" "ber.pdf");
  g_unlink (path);
}

static void
test_not_mail (void)
{
  static const char *const names[] = { "h-empty.eml", "h-not-mail.txt",
                                       "h-binary.bin" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(MhMessage) msg = parse (names[i]);

      g_assert_null (msg->text);
      g_assert_null (msg->html);
      g_assert_null (msg->subject);
      g_assert_cmpuint (msg->attachments->len, ==, 0);
      g_assert_true (has_warning (msg, "no message could be parsed*"));
      assert_sane (msg);
    }
}

static void
test_all_fixtures_sane (void)
{
  g_autofree char *dir_path = g_test_build_filename (
    G_TEST_DIST, "data", "mime", "message", NULL);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;
  guint count = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autoptr(MhMessage) msg = NULL;

      if (g_str_has_suffix (name, ".py") || g_str_has_suffix (name, ".dat"))
        continue;
      msg = parse (name);
      assert_sane (msg);
      count++;
    }
  g_assert_cmpuint (count, >=, 24);
}

static void
test_deep_multipart (void)
{
  g_autoptr(GString) s = g_string_new ("From: a@example.com\n"
                                       "Subject: deep\n");
  g_autofree char *path = NULL;
  g_autoptr(MhMessage) msg = NULL;

  for (int i = 0; i < 1000; i++)
    g_string_append_printf (s, "Content-Type: multipart/mixed; "
                            "boundary=b%d\n\n--b%d\n", i, i);
  g_string_append (s, "Content-Type: text/plain\n\ndeep\n");
  for (int i = 999; i >= 0; i--)
    g_string_append_printf (s, "--b%d--\n", i);
  path = write_temp (s->str, s->len);
  msg = mh_message_parse_file (path, NULL, NULL);
  g_assert_nonnull (msg);
  g_assert_cmpstr (msg->subject, ==, "deep");
  /* The text is below the nesting limit: not read, and said so. */
  g_assert_null (msg->text);
  g_assert_true (has_warning (msg, "*multiparts nested deeper than 16*"));
  assert_sane (msg);
  g_unlink (path);
}

static void
test_deep_rfc822 (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autofree char *path = NULL;
  g_autoptr(MhMessage) msg = NULL;
  MhMessage *m;
  guint levels = 0;

  for (int i = 0; i < 50; i++)
    g_string_append_printf (s, "From: l%d@example.com\nSubject: level %d\n"
                            "Content-Type: message/rfc822\n\n", i, i);
  g_string_append (s, "From: z@example.com\nSubject: bottom\n\nbottom\n");
  path = write_temp (s->str, s->len);
  msg = mh_message_parse_file (path, NULL, NULL);
  g_assert_nonnull (msg);
  g_assert_cmpstr (msg->subject, ==, "level 0");
  for (m = msg; m->attachments->len > 0 && att_at (m, 0)->embedded != NULL;
       m = att_at (m, 0)->embedded)
    {
      levels++;
      g_assert_cmpint (att_at (m, 0)->origin, ==, MH_ORIGIN_MESSAGE);
    }
  g_assert_cmpuint (levels, ==, 16);
  g_assert_cmpuint (m->attachments->len, ==, 1);
  g_assert_cmpstr (att_at (m, 0)->filename, ==, "level 17.eml");
  g_assert_true (has_warning (m, "*messages nested deeper than 16*"));
  g_assert_cmpstr (att_at (msg, 0)->part, ==, "1");
  g_assert_cmpstr (att_at (att_at (msg, 0)->embedded, 0)->part, ==, "1.1");
  assert_sane (msg);
  g_unlink (path);
}

static void
test_long_header (void)
{
  gsize n = 1024 * 1024;
  g_autoptr(GString) s = g_string_new ("From: a@example.com\nSubject: ");
  g_autofree char *path = NULL;
  g_autoptr(MhMessage) msg = NULL;

  for (gsize i = 0; i < n; i++)
    g_string_append_c (s, 'a');
  g_string_append (s, "\nX-Long: ");
  for (gsize i = 0; i < n; i++)
    g_string_append_c (s, i % 70 == 69 ? ' ' : 'b');
  g_string_append (s, "\n\nbody\n");
  path = write_temp (s->str, s->len);
  msg = mh_message_parse_file (path, NULL, NULL);
  g_assert_nonnull (msg);
  /* Cut at 64 KiB of raw value, whose first byte is the space after the
   * colon. */
  g_assert_cmpuint (strlen (msg->subject), ==, 64 * 1024 - 1);
  g_assert_cmpstr (msg->text, ==, "body\n");
  g_unlink (path);
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0");

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  mh_message_init ();

  g_test_add_func ("/hostile/broken-base64", test_broken_base64);
  g_test_add_func ("/hostile/truncated", test_truncated);
  g_test_add_func ("/hostile/no-boundary", test_no_boundary);
  g_test_add_func ("/hostile/nul", test_nul);
  g_test_add_func ("/hostile/8bit-headers", test_8bit_headers);
  g_test_add_func ("/hostile/wrong-charset", test_wrong_charset);
  g_test_add_func ("/hostile/unknown-charset", test_unknown_charset);
  g_test_add_func ("/hostile/cjk", test_cjk);
  g_test_add_func ("/hostile/encoded-words", test_encoded_words);
  g_test_add_func ("/hostile/rfc2231", test_rfc2231);
  g_test_add_func ("/hostile/name", test_hostile_name);
  g_test_add_func ("/hostile/not-mail", test_not_mail);
  g_test_add_func ("/hostile/8bit-names", test_8bit_names);
  g_test_add_func ("/hostile/deep-multipart", test_deep_multipart);
  g_test_add_func ("/hostile/deep-rfc822", test_deep_rfc822);
  g_test_add_func ("/hostile/long-header", test_long_header);
  g_test_add_func ("/hostile/all-fixtures", test_all_fixtures_sane);
  return g_test_run ();
}
