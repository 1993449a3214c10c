/* test-message.c - the message module over tests/data/mime/message/ and
 * over large and cut-off messages generated here (test-message-hostile.c
 * has the hostile ones).  The pure helpers it uses (charset, html2text,
 * TNEF) have their own tests in test-charset.c. */
#include "mailharvest/charset.h"
#include "mailharvest/error.h"
#include "mailharvest/html2text.h"
#include "mailharvest/message.h"
#include "mailharvest/tnef.h"

#include "testlib.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "message-testlib.h"

/* ---- messages ----------------------------------------------------------- */

static void
test_headers (void)
{
  g_autoptr(MhMessage) msg = parse ("simple.eml");
  static const char *const refs[] = { "root@example.com", "mid@example.com",
                                      "parent@example.com" };
  static const char *const people[] = { "rene.dupont@example.com",
                                        "bob@example.org",
                                        "carol@example.net" };

  g_assert_cmpstr (msg->message_id, ==, "abc.123@example.com");
  g_assert_cmpstr (msg->in_reply_to, ==, "parent@example.com");
  g_assert_cmpstr (msg->in_reply_to_raw, ==,
                   "Your message of Monday <parent@example.com>");
  g_assert_cmpuint (msg->references->len, ==, G_N_ELEMENTS (refs));
  for (guint i = 0; i < G_N_ELEMENTS (refs); i++)
    g_assert_cmpstr (g_ptr_array_index (msg->references, i), ==, refs[i]);
  g_assert_cmpstr (msg->references_raw, ==,
                   "<root@example.com>, junk text  <mid@example.com> "
                   "<par ent@example.com>");
  g_assert_cmpstr (msg->subject, ==, "Caf\xc3\xa9 au lait and cr\xc3\xa8me");
  g_assert_cmpint (msg->date, ==, 1643717655);
  g_assert_cmpstr (msg->date_source, ==, "header");
  g_assert_cmpstr (msg->from, ==,
                   "Ren\xc3\xa9 Dupont <Rene.Dupont@Example.COM>");
  g_assert_cmpstr (msg->to, ==,
                   "bob@example.org, \"Carol C.\" <carol@example.net>");
  g_assert_nonnull (strstr (msg->cc, "BOB@example.org"));
  g_assert_cmpuint (msg->participants->len, ==, G_N_ELEMENTS (people));
  for (guint i = 0; i < G_N_ELEMENTS (people); i++)
    g_assert_cmpstr (g_ptr_array_index (msg->participants, i), ==,
                     people[i]);
  g_assert_cmpstr (msg->thread_index, ==, "AQHYBAbcdef==");
  g_assert_cmpstr (msg->thread_topic, ==, "Caf\xc3\xa9 topic");
  g_assert_cmpstr (msg->gm_thrid, ==, "1723456789012345678");
  g_assert_cmpstr (msg->gm_labels, ==, "Inbox,Important");
  g_assert_cmpstr (msg->text, ==, "Hello caf\xc3\xa9.\nSecond line.\n");
  g_assert_cmpstr (msg->text_charset, ==, "utf-8");
  g_assert_null (msg->html);
  g_assert_false (msg->text_derived);
  g_assert_cmpuint (msg->attachments->len, ==, 0);
  g_assert_cmpuint (msg->warnings->len, ==, 0);
}

static void
test_mixed (void)
{
  g_autoptr(MhMessage) msg = parse ("mixed.eml");
  MhAttachment *a;
  g_autofree char *sha_png = NULL;
  g_autofree char *sha_pdf = NULL;

  /* iso-8859-1 label, cp1252 euro sign: read as windows-1252. */
  g_assert_cmpstr (msg->text, ==, "Price: 5 \xe2\x82\xac, caf\xc3\xa9");
  g_assert_cmpstr (msg->text_charset, ==, "windows-1252");
  g_assert_cmpstr (msg->html, ==,
                   "<p>Price: 5 &euro;, caf\xc3\xa9</p>"
                   "<img src=\"cid:logo%40x\">");
  g_assert_cmpstr (msg->html_charset, ==, "utf-8");
  g_assert_cmpuint (msg->attachments->len, ==, 5);

  a = att_at (msg, 0);
  g_assert_cmpstr (a->part, ==, "1.2.2");
  g_assert_null (a->filename);
  g_assert_cmpstr (a->fallback_name, ==, "part-1.2.2.png");
  g_assert_cmpstr (a->content_type, ==, "image/png");
  g_assert_cmpstr (a->disposition, ==, "inline");
  g_assert_cmpstr (a->content_id, ==, "logo@x");
  g_assert_true (a->referenced);
  g_assert_cmpint (a->origin, ==, MH_ORIGIN_MIME);
  sha_png = content_sha256 (msg, a);
  g_assert_cmpstr (sha_png, ==, "8650fa3ad33b680c77fdf3067057857d"
                                "38ade7f3ce31806131530d3a4d027052");

  /* No Content-Disposition, no name: still an attachment. */
  a = att_at (msg, 1);
  g_assert_cmpstr (a->part, ==, "2");
  g_assert_cmpstr (a->fallback_name, ==, "part-2.pdf");
  g_assert_null (a->disposition);
  g_assert_false (a->referenced);
  sha_pdf = content_sha256 (msg, a);
  g_assert_cmpstr (sha_pdf, ==, "2bf7df315f80effa37865a768959ca1a"
                                "59f9447924a5f9019266fc9e17ea9d5a");

  /* A text part with a name is an attachment, not a body. */
  a = att_at (msg, 2);
  g_assert_cmpstr (a->part, ==, "3");
  g_assert_cmpstr (a->filename, ==, "notes.txt");
  g_assert_null (a->fallback_name);
  assert_content (msg, a, "my notes");

  a = att_at (msg, 3);
  g_assert_cmpstr (a->content_type, ==, "text/calendar");
  g_assert_cmpstr (a->fallback_name, ==, "part-4.ics");
  assert_content (msg, a, "BEGIN:VCALENDAR\nEND:VCALENDAR");

  /* A part without any header is text/plain, after the body: kept. */
  a = att_at (msg, 4);
  g_assert_cmpstr (a->part, ==, "5");
  g_assert_cmpstr (a->content_type, ==, "text/plain");
  g_assert_cmpstr (a->fallback_name, ==, "part-5.txt");
  assert_content (msg, a, "no headers at all");
  g_assert_cmpuint (msg->warnings->len, ==, 0);
}

static void
test_forwarded (void)
{
  g_autoptr(MhMessage) msg = parse ("forwarded.eml");
  MhAttachment *a;
  MhMessage *inner;
  g_autoptr(GByteArray) eml = NULL;

  g_assert_cmpstr (msg->text, ==, "See below.");
  g_assert_cmpuint (msg->attachments->len, ==, 1);
  a = att_at (msg, 0);
  g_assert_cmpstr (a->part, ==, "2");
  g_assert_cmpint (a->origin, ==, MH_ORIGIN_MESSAGE);
  g_assert_cmpstr (a->content_type, ==, "message/rfc822");
  g_assert_cmpstr (a->filename, ==, "Inner r\xc3\xa9port.eml");
  inner = a->embedded;
  g_assert_nonnull (inner);
  g_assert_cmpstr (inner->message_id, ==, "inner@example.com");
  g_assert_cmpstr (inner->subject, ==, "Inner r\xc3\xa9port");
  g_assert_cmpint (inner->date, ==, 1643619600);
  g_assert_cmpstr (inner->text, ==, "Inner text.");
  g_assert_cmpuint (inner->attachments->len, ==, 1);
  g_assert_cmpstr (att_at (inner, 0)->part, ==, "2.2");
  g_assert_cmpstr (att_at (inner, 0)->filename, ==, "report.csv");
  g_assert_cmpstr (att_at (inner, 0)->content_type, ==, "text/csv");
  assert_content (inner, att_at (inner, 0), "a,b\n1,2");

  /* The .eml is the inner message itself. */
  eml = content (msg, a);
  g_byte_array_append (eml, (const guint8 *) "", 1);
  g_assert_true (g_str_has_prefix ((char *) eml->data,
                                   "From: inner@example.com\n"));
  g_assert_nonnull (strstr ((char *) eml->data, "a,b\n1,2\n--i--"));
}

static void
test_winmail (void)
{
  g_autoptr(MhMessage) msg = parse ("winmail.eml");
  g_autoptr(GBytes) dat = mh_test_data_bytes ("mime", "message",
                                               "winmail.dat", NULL);
  g_autoptr(GByteArray) got = NULL;
  MhAttachment *a;

  g_assert_cmpstr (msg->text, ==, "See attached.");
  g_assert_cmpuint (msg->attachments->len, ==, 3);
  a = att_at (msg, 0);
  g_assert_cmpstr (a->part, ==, "2");
  g_assert_cmpstr (a->filename, ==, "winmail.dat");
  g_assert_cmpstr (a->content_type, ==, "application/ms-tnef");
  got = content (msg, a);
  g_assert_cmpmem (got->data, got->len, g_bytes_get_data (dat, NULL),
                   g_bytes_get_size (dat));

  a = att_at (msg, 1);
  g_assert_cmpstr (a->part, ==, "2.t1");
  g_assert_cmpint (a->origin, ==, MH_ORIGIN_TNEF);
  g_assert_cmpstr (a->filename, ==, "Long name r\xc3\xa9sum\xc3\xa9.txt");
  g_assert_cmpstr (a->content_type, ==, "text/plain");
  assert_content (msg, a, "Quarterly numbers: 42\n");

  a = att_at (msg, 2);
  g_assert_cmpstr (a->part, ==, "2.t2");
  g_assert_cmpstr (a->filename, ==, "caf\xc3\xa9.png");
  g_assert_cmpstr (a->content_type, ==, "image/png");
  assert_content (msg, a, "\x89PNG\r\n\x1a\nfake");
}

static void
test_signed_encrypted (void)
{
  g_autoptr(MhMessage) s = parse ("signed.eml");
  g_autoptr(MhMessage) e = parse ("encrypted.eml");

  g_assert_cmpstr (s->text, ==, "Signed text.");
  g_assert_cmpuint (s->attachments->len, ==, 1);
  g_assert_cmpstr (att_at (s, 0)->part, ==, "2");
  g_assert_cmpstr (att_at (s, 0)->filename, ==, "signature.asc");
  g_assert_cmpstr (att_at (s, 0)->content_type, ==,
                   "application/pgp-signature");

  g_assert_null (e->text);
  g_assert_null (e->html);
  g_assert_cmpuint (e->attachments->len, ==, 2);
  g_assert_cmpstr (att_at (e, 0)->fallback_name, ==, "part-1.pgp");
  assert_content (e, att_at (e, 0), "Version: 1");
  g_assert_cmpstr (att_at (e, 1)->filename, ==, "encrypted.asc");
}

static void
test_uuencode (void)
{
  g_autoptr(MhMessage) msg = parse ("uuencode.eml");
  MhAttachment *a;

  /* The block is cut out of the text. */
  g_assert_cmpstr (msg->text, ==, "Before.\nAfter.\n");
  g_assert_cmpuint (msg->attachments->len, ==, 1);
  a = att_at (msg, 0);
  g_assert_cmpstr (a->part, ==, "1.u1");
  g_assert_cmpint (a->origin, ==, MH_ORIGIN_UUENCODE);
  g_assert_cmpstr (a->filename, ==, "hello.txt");
  g_assert_cmpstr (a->content_type, ==, "text/plain");
  assert_content (msg, a, "hi\n");
}

static void
test_html_only (void)
{
  g_autoptr(MhMessage) msg = parse ("html-only.eml");

  g_assert_true (msg->text_derived);
  g_assert_cmpstr (msg->html_charset, ==, "windows-1251");
  g_assert_nonnull (strstr (msg->html, "\xd0\x9f\xd1\x80\xd0\xb8"));
  g_assert_cmpstr (msg->text, ==,
                   "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 & "
                   "welcome\n\n- one\n- two\n\nsite <https://example.com/x> "
                   "a\xc3\xa9\xe2\x82\xac\nend");
}

static void
test_dates (void)
{
  g_autoptr(MhMessage) r = parse ("nodate.eml");
  g_autofree char *path = g_test_build_filename (
    G_TEST_DIST, "data", "mime", "message", "nodate-noreceived.eml", NULL);
  MhParseOptions opts = { .fallback_date = 1700000000 };
  g_autoptr(MhMessage) f = mh_message_parse_file (path, &opts, NULL);
  g_autoptr(MhMessage) n = mh_message_parse_file (path, NULL, NULL);

  /* The newest Received date: 09:00 -0200 is 11:00 UTC. */
  g_assert_cmpstr (r->date_source, ==, "received");
  g_assert_cmpint (r->date, ==, 1646132400);
  g_assert_cmpstr (f->date_source, ==, "internaldate");
  g_assert_cmpint (f->date, ==, 1700000000);
  g_assert_true (has_warning (f, "unreadable Date header*"));
  g_assert_cmpstr (n->date_source, ==, "none");
  g_assert_cmpint (n->date, ==, 0);
}

static void
test_parse_fd_range (void)
{
  g_autofree char *src = g_test_build_filename (
    G_TEST_DIST, "data", "mime", "message", "simple.eml", NULL);
  g_autofree char *eml = NULL;
  gsize len = 0;
  g_autoptr(GString) mbox = g_string_new ("From junk\n\nprefix text\n");
  gsize offset = mbox->len;
  g_autofree char *path = NULL;
  g_autoptr(MhMessage) msg = NULL;
  g_autoptr(MhMessage) bad = NULL;
  g_autoptr(GError) error = NULL;
  int fd;

  g_assert_true (g_file_get_contents (src, &eml, &len, NULL));
  g_string_append_len (mbox, eml, (gssize) len);
  g_string_append (mbox, "From next\nSubject: other\n\nnot this one\n");
  path = write_temp (mbox->str, mbox->len);
  fd = g_open (path, O_RDONLY, 0);
  g_assert_cmpint (fd, >=, 0);
  msg = mh_message_parse_fd (fd, (gint64) offset, (gint64) len, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (msg->subject, ==, "Caf\xc3\xa9 au lait and cr\xc3\xa8me");
  g_assert_cmpstr (msg->text, ==, "Hello caf\xc3\xa9.\nSecond line.\n");
  bad = mh_message_parse_fd (fd, -1, 10, NULL, &error);
  g_assert_null (bad);
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_clear_pointer (&msg, mh_message_free);
  close (fd);
  g_unlink (path);
}

static void
test_missing_file (void)
{
  g_autoptr(GError) error = NULL;
  MhMessage *msg = mh_message_parse_file ("/nonexistent/x.eml", NULL, &error);

  g_assert_null (msg);
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_clear_error (&error);
  msg = mh_message_parse_file (g_get_tmp_dir (), NULL, &error);
  g_assert_null (msg);
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
}

static void
test_max_body (void)
{
  g_autofree char *path = g_test_build_filename (
    G_TEST_DIST, "data", "mime", "message", "simple.eml", NULL);
  MhParseOptions opts = { .max_body = 10 };
  g_autoptr(MhMessage) msg = mh_message_parse_file (path, &opts, NULL);

  /* "Hello café" is 11 bytes: the cut does not split the é. */
  g_assert_cmpstr (msg->text, ==, "Hello caf");
  g_assert_true (has_warning (msg, "part 1: body longer than 10 bytes*"));
}

typedef struct {
  GChecksum *sum;
  gsize total;
  gsize max_piece;
} Counter;

static gboolean
count_sink (const guint8 *data, gsize len, gpointer user_data,
            GError **error)
{
  Counter *c = user_data;

  g_checksum_update (c->sum, data, (gssize) len);
  c->total += len;
  c->max_piece = MAX (c->max_piece, len);
  return TRUE;
}

static gboolean
refusing_sink (const guint8 *data, gsize len, gpointer user_data,
               GError **error)
{
  g_set_error_literal (error, MH_ERROR, MH_ERROR_IO, "disk full");
  return FALSE;
}

static void
test_big_attachment (void)
{
  /* 50 MB of data as base64 lines of 57 bytes each. */
  const gsize lines = 50u * 1024u * 1024u / 57u;
  guint8 block[57];
  g_autofree char *line = NULL;
  g_autoptr(GChecksum) want = g_checksum_new (G_CHECKSUM_SHA256);
  Counter c = { g_checksum_new (G_CHECKSUM_SHA256), 0, 0 };
  g_autofree char *path = NULL;
  g_autoptr(MhMessage) msg = NULL;
  g_autoptr(GError) error = NULL;
  FILE *f;
  int fd;

  for (gsize i = 0; i < sizeof block; i++)
    block[i] = (guint8) (i * 7 + 3);
  line = g_base64_encode (block, sizeof block);
  fd = g_file_open_tmp ("mh-big-XXXXXX", &path, &error);
  g_assert_no_error (error);
  f = fdopen (fd, "w");
  fputs ("From: a@example.com\nSubject: big\nContent-Type: multipart/mixed;"
         " boundary=B\n\n--B\nContent-Type: text/plain\n\nsee file\n--B\n"
         "Content-Type: application/octet-stream; name=big.bin\n"
         "Content-Transfer-Encoding: base64\n\n", f);
  for (gsize i = 0; i < lines; i++)
    {
      fputs (line, f);
      fputc ('\n', f);
      g_checksum_update (want, block, sizeof block);
    }
  fputs ("--B--\n", f);
  fclose (f);

  msg = mh_message_parse_file (path, NULL, NULL);
  g_assert_cmpstr (msg->text, ==, "see file");
  g_assert_cmpuint (msg->attachments->len, ==, 1);
  g_assert_true (mh_attachment_write (msg, att_at (msg, 0), count_sink, &c,
                                      &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.total, ==, lines * 57);
  g_assert_cmpstr (g_checksum_get_string (c.sum), ==,
                   g_checksum_get_string (want));
  /* Streamed in pieces, never as one buffer. */
  g_assert_cmpuint (c.max_piece, <=, 64 * 1024);
  g_checksum_free (c.sum);

  g_assert_false (mh_attachment_write (msg, att_at (msg, 0), refusing_sink,
                                       NULL, &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_unlink (path);
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0");

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  mh_message_init ();

  g_test_add_func ("/message/headers", test_headers);
  g_test_add_func ("/message/mixed", test_mixed);
  g_test_add_func ("/message/forwarded", test_forwarded);
  g_test_add_func ("/message/winmail", test_winmail);
  g_test_add_func ("/message/signed-encrypted", test_signed_encrypted);
  g_test_add_func ("/message/uuencode", test_uuencode);
  g_test_add_func ("/message/html-only", test_html_only);
  g_test_add_func ("/message/dates", test_dates);
  g_test_add_func ("/message/parse-fd-range", test_parse_fd_range);
  g_test_add_func ("/message/missing-file", test_missing_file);
  g_test_add_func ("/message/max-body", test_max_body);
  g_test_add_func ("/message/big-attachment", test_big_attachment);
  return g_test_run ();
}
