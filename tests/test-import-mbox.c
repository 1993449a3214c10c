/* test-import-mbox.c - the mbox reader through `import`: lines longer
 * than its buffer, lines and separators at every offset from the
 * buffer's edges, and garbage in mbox form. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mailharvest/import.h"
#include "mailharvest/message.h"

#include "testlib.h"

#include "import-testlib.h"

/* Lines longer than the reader's buffer, ">From " inside them at every
 * offset, and CRLF line ends (Takeout): only line starts are unescaped. */
static void
test_mbox_long_lines (Fixture *f, gconstpointer data)
{
  const char *headers[] = {
    "From: a@example.com\nSubject: long\nMessage-ID: <long@x>\n\n",
    "From: a@example.com\r\nSubject: crlf\r\nMessage-ID: <crlf@x>\r\n\r\n",
  };
  const char *eol[] = { "\n", "\r\n" };
  g_autofree char *mbox = g_build_filename (f->base, "long.mbox", NULL);
  g_autoptr(GString) file = g_string_new (NULL);
  g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) sums = NULL;
  g_autoptr(GError) error = NULL;
  const char *paths[] = { mbox, NULL };
  MhImportOptions options = { 0 };
  MhImportStats stats;

  for (guint m = 0; m < 2; m++)
    {
      GString *raw = g_string_new (headers[m]);
      GString *escaped = g_string_new (headers[m]);

      /* The reader takes a long line in 64 KiB pieces from its start:
       * put escape-like text where each later piece begins, and some
       * more anywhere. */
      for (guint k = 1; k <= 3; k++)
        {
          gsize line_start = strlen (headers[m]);

          while (raw->len - line_start < k * 65536)
            g_string_append_c (raw, raw->len % 97 == 0 ? '>' : 'y');
          g_string_append (raw, k % 2 == 1 ? ">From " : ">>From ");
        }
      g_string_append (raw, eol[m]);
      g_string_append (escaped, raw->str + strlen (headers[m]));
      /* Escaped "From " lines right after a long line. */
      g_string_append_printf (raw, "From one%s>From two%s", eol[m], eol[m]);
      g_string_append_printf (escaped, ">From one%s>>From two%s", eol[m],
                              eol[m]);
      for (guint i = 0; i < 100000; i++)
        g_string_append_c (raw, 'x');
      g_string_append (raw, eol[m]);
      for (guint i = 0; i < 100000; i++)
        g_string_append_c (escaped, 'x');
      g_string_append (escaped, eol[m]);

      /* The second separator line is longer than the reader's buffer. */
      g_string_append (file, "From a@example.com Sat Jan  1 00:00:00 2000");
      for (guint i = 0; m == 1 && i < 70000; i++)
        g_string_append_c (file, ' ');
      g_string_append_printf (file, "%s%s%s", eol[m], escaped->str, eol[m]);
      g_ptr_array_add (want, g_compute_checksum_for_string (
          G_CHECKSUM_SHA256, raw->str, (gssize) raw->len));
      g_string_free (raw, TRUE);
      g_string_free (escaped, TRUE);
    }
  g_assert_true (g_file_set_contents (mbox, file->str, (gssize) file->len,
                                      NULL));
  options.output = f->out;
  options.account = "local";
  options.paths = paths;
  g_assert_true (mh_import (&options, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.imported, ==, 2);
  sums = eml_sums_by_subject (f);
  g_assert_cmpstr (g_hash_table_lookup (sums, "long"), ==, want->pdata[0]);
  g_assert_cmpstr (g_hash_table_lookup (sums, "crlf"), ==, want->pdata[1]);
  mh_import_stats_clear (&stats);
}

/* Many short lines, so that lines, escapes and separators fall at every
 * offset from the edges of the reader's 64 KiB buffer: each member comes
 * out as the bytes it was before the mbox escaped it. */
static void
test_mbox_short_lines (Fixture *f, gconstpointer data)
{
  g_autofree char *mbox = g_build_filename (f->base, "short.mbox", NULL);
  g_autoptr(GString) file = g_string_new (NULL);
  g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) sums = NULL;
  g_autoptr(GError) error = NULL;
  const char *paths[] = { mbox, NULL };
  MhImportOptions options = { 0 };
  MhImportStats stats;
  GRand *rand = g_rand_new_with_seed (7);
  const guint n = 40;

  for (guint m = 0; m < n; m++)
    {
      g_autoptr(GString) raw = g_string_new (NULL);
      guint target = (guint) g_rand_int_range (rand, 1, 60000);

      g_string_append_printf (raw, "From: a@example.com\nSubject: short %u\n"
                              "Message-ID: <short%u@x>\n\n", m, m);
      g_string_append_printf (file, "From a@example.com Sat Jan  1 00:00:00 "
                              "2000\n%s", raw->str);
      while (raw->len < target)
        {
          g_autoptr(GString) line = g_string_new (NULL);
          guint32 kind = (guint32) g_rand_int_range (rand, 0, 10);
          guint len = (guint) g_rand_int_range (rand, 0, 120);

          if (kind == 0)
            g_string_append (line, "From here");
          else if (kind == 1)
            g_string_append (line, ">>From there");
          for (guint i = 0; kind > 1 && i < len; i++)
            g_string_append_c (line, (char) ('a' + (i + m) % 26));
          g_string_append_printf (raw, "%s\n", line->str);
          /* mboxrd: one '>' more before any ">*From " at a line start. */
          g_string_append_printf (file, "%s%s\n", kind <= 1 ? ">" : "",
                                  line->str);
        }
      g_string_append_c (file, '\n');
      g_ptr_array_add (want, g_compute_checksum_for_string (
          G_CHECKSUM_SHA256, raw->str, (gssize) raw->len));
    }
  g_rand_free (rand);
  g_assert_cmpuint (file->len, >, 8 * 65536);
  g_assert_true (g_file_set_contents (mbox, file->str, (gssize) file->len,
                                      NULL));
  options.output = f->out;
  options.account = "local";
  options.paths = paths;
  g_assert_true (mh_import (&options, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.imported, ==, n);
  sums = eml_sums_by_subject (f);
  for (guint m = 0; m < n; m++)
    {
      g_autofree char *subject = g_strdup_printf ("short %u", m);

      g_assert_cmpstr (g_hash_table_lookup (sums, subject), ==,
                       want->pdata[m]);
    }
  mh_import_stats_clear (&stats);
}

/* Garbage in mbox form: separators, escapes, empty lines, CRs, NULs and
 * overlong lines in random order.  Whatever comes out, every member is
 * imported without a failure, nothing is left behind, and no member is
 * longer than the file it came from. */
static void
test_mbox_random (Fixture *f, gconstpointer data)
{
  static const char *const tokens[] = {
    "From x@y Sat Jan  1 00:00:00 2000\n", "From \n", ">From a\n",
    ">>From b\n", "\n", "\r\n", "\r", "Subject: s\n", "Date: junk\n",
    "Content-Type: multipart/mixed; boundary=b\n", "--b\n", "--b--\n",
    "From", " ", "x",
  };
  g_autofree char *mbox = g_build_filename (f->base, "random.mbox", NULL);
  const char *paths[] = { mbox, NULL };

  for (guint round = 0; round < 20; round++)
    {
      g_autoptr(GString) file = g_string_new ("From a@b Sat Jan  1 00:00:00 "
                                              "2000\n");
      g_autoptr(GError) error = NULL;
      g_autofree char *list = NULL;
      MhImportOptions options = { 0 };
      MhImportStats stats;
      GRand *rand = g_rand_new_with_seed (round);
      guint n = (guint) g_rand_int_range (rand, 1, 400);

      for (guint i = 0; i < n; i++)
        {
          guint32 pick = (guint32) g_rand_int_range (rand, 0, 20);

          if (pick < G_N_ELEMENTS (tokens))
            g_string_append (file, tokens[pick]);
          else if (pick == 15)
            g_string_append_c (file, '\0');
          else if (pick == 16)
            for (guint j = 0; j < 70000; j++)
              g_string_append_c (file, (char) g_rand_int_range (rand, 1, 256));
          else
            g_string_append_c (file, (char) g_rand_int_range (rand, 0, 256));
        }
      g_rand_free (rand);
      g_assert_true (g_file_set_contents (mbox, file->str, (gssize) file->len,
                                          NULL));
      options.output = f->out;
      options.account = "local";
      options.paths = paths;
      g_assert_true (mh_import (&options, &stats, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (stats.failed, ==, 0);
      g_assert_cmpuint (stats.imported + stats.duplicates + stats.already,
                        >=, 1);
      mh_import_stats_clear (&stats);
      list = listing (f->out);
      g_assert_null (strstr (list, ".tmp-"));
      {
        g_autoptr(GPtrArray) jsons = manifests (f);

        for (guint i = 0; i < jsons->len; i++)
          {
            g_autoptr(JsonObject) o = load_object (jsons->pdata[i]);

            g_assert_cmpint (json_object_get_int_member (o, "size"), <=,
                             (gint64) file->len);
          }
      }
      g_assert_true (mh_writer_remove_tree (AT_FDCWD, f->out, NULL));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  mh_message_init ();
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/import/mbox-long-lines", test_mbox_long_lines);
  ADD ("/import/mbox-short-lines", test_mbox_short_lines);
  ADD ("/import/mbox-random", test_mbox_random);
#undef ADD
  return g_test_run ();
}
