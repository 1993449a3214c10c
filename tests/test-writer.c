/* test-writer.c - message dirs: exact files, bytes and names, hostile
 * names and symbolic links, atomic replace (the dir primitives below it
 * are in test-writer-dirs.c). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mailharvest/error.h"
#include "mailharvest/message.h"
#include "mailharvest/writer.h"

#include "testlib.h"
#include "writer-testlib.h"

static char *
fixture_path (const char *area, const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "data", "mime", area, name,
                                NULL);
}

/* Relative paths of everything below @dir, sorted, dirs ending in '/'. */
static char *
list_tree (const char *dir)
{
  return mh_test_tree_listing (dir, FALSE, NULL, TRUE, "|");
}

static gboolean
dir_is_empty (const char *path)
{
  g_autoptr(GDir) d = g_dir_open (path, 0, NULL);

  g_assert_nonnull (d);
  return g_dir_read_name (d) == NULL;
}

static MhMessage *
parse (const char *path)
{
  g_autoptr(GError) error = NULL;
  MhMessage *msg = mh_message_parse_file (path, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (msg);
  return msg;
}

static MhWriteResult *
write_one (Fixture *f, const char *raw, const char *dir, MhMessage *msg,
           const MhWriteMeta *meta)
{
  g_autoptr(GError) error = NULL;
  MhWriteResult *result = NULL;

  g_assert_true (mh_writer_write_message (f->out_fd, dir, raw, FALSE, msg,
                                          meta, &result, &error));
  g_assert_no_error (error);
  return result;
}

static const MhLocation inbox_loc[] = { { "INBOX", 7, 42 } };

static void
test_basic (Fixture *f, gconstpointer data)
{
  static const char *const keys[] = {
    "message_id", "in_reply_to", "references", "subject", "date",
    "date_source", "from", "to", "cc", "account", "mailbox", "uid",
    "uidvalidity", "mailboxes", "flags", "internaldate", "size", "sha256",
    "gmail", "text", "html", "text_derived", "attachments", "warnings",
  };
  static const char *const flags[] = { "\\Seen", NULL };
  static const char *const labels[] = { "Inbox", "Important", NULL };
  g_autofree char *raw = fixture_path ("import", "basic/basic.eml");
  g_autoptr(MhMessage) msg = parse (raw);
  MhWriteMeta meta = { "work", inbox_loc, 1,
                       G_GUINT64_CONSTANT (1781234567890123456),
                       G_GUINT64_CONSTANT (1781234567890123000), labels,
                       flags, 1700003600 };
  g_autoptr(MhWriteResult) result = write_one (f, raw, "M", msg, &meta);
  g_autofree char *tree = list_tree (f->out);
  g_autofree char *raw_sum = mh_test_sha256_file (raw);
  g_autofree char *dir = g_build_filename (f->out, "M", NULL);
  g_autofree char *eml = g_build_filename (dir, "message.eml", NULL);
  g_autofree char *eml_sum = mh_test_sha256_file (eml);
  g_autofree char *json_path = g_build_filename (dir, "message.json", NULL);
  g_autofree char *hello = g_build_filename (dir, "attachments", "hello.txt",
                                             NULL);
  g_autofree char *hello_data = NULL;
  g_autofree char *text = NULL;
  g_autofree char *html = NULL;
  g_autofree char *body_txt = g_build_filename (dir, "body.txt", NULL);
  g_autofree char *body_html = g_build_filename (dir, "body.html", NULL);
  g_autofree char *want_hello = g_compute_checksum_for_string (
      G_CHECKSUM_SHA256, "Hello, attachment!\n", -1);
  g_autoptr(JsonNode) root = mh_test_load_json (json_path);
  JsonObject *o = json_node_get_object (root);
  g_autoptr(GList) members = json_object_get_members (o);
  JsonArray *atts, *boxes;
  JsonObject *a0, *gmail;
  guint i = 0;

  g_assert_cmpstr (tree, ==,
                   "M/|M/attachments/|M/attachments/hello.txt|"
                   "M/attachments/part-3.pdf|M/body.html|M/body.txt|"
                   "M/message.eml|M/message.json");
  /* message.eml byte for byte; the result describes it. */
  g_assert_cmpstr (eml_sum, ==, raw_sum);
  g_assert_cmpstr (result->sha256, ==, raw_sum);
  g_assert_cmpstr (result->dir, ==, "M");
  g_assert_cmpuint (result->attachments->len, ==, 2);
  g_assert_cmpstr (((MhWrittenAttachment *) result->attachments->pdata[0])
                       ->path, ==, "attachments/hello.txt");
  g_assert_cmpstr (((MhWrittenAttachment *) result->attachments->pdata[0])
                       ->sha256, ==, want_hello);

  g_assert_true (g_file_get_contents (hello, &hello_data, NULL, NULL));
  g_assert_cmpstr (hello_data, ==, "Hello, attachment!\n");
  g_assert_true (g_file_get_contents (body_txt, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, msg->text);
  g_assert_true (g_file_get_contents (body_html, &html, NULL, NULL));
  g_assert_cmpstr (html, ==, msg->html);

  /* Every key, in the documented order. */
  for (GList *l = members; l != NULL; l = l->next, i++)
    {
      g_assert_cmpuint (i, <, G_N_ELEMENTS (keys));
      g_assert_cmpstr (l->data, ==, keys[i]);
    }
  g_assert_cmpuint (i, ==, G_N_ELEMENTS (keys));

  g_assert_cmpstr (json_object_get_string_member (o, "message_id"), ==,
                   "basic@example.com");
  g_assert_cmpstr (json_object_get_string_member (o, "in_reply_to"), ==,
                   "parent@example.com");
  g_assert_cmpuint (json_array_get_length (
      json_object_get_array_member (o, "references")), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (o, "subject"), ==,
                   "Caf\xc3\xa9 plans");
  g_assert_cmpstr (json_object_get_string_member (o, "date"), ==,
                   "2023-11-14T22:13:20Z");
  g_assert_cmpstr (json_object_get_string_member (o, "internaldate"), ==,
                   "2023-11-14T23:13:20Z");
  g_assert_cmpstr (json_object_get_string_member (o, "mailbox"), ==,
                   "INBOX");
  g_assert_cmpint (json_object_get_int_member (o, "uid"), ==, 42);
  g_assert_cmpint (json_object_get_int_member (o, "uidvalidity"), ==, 7);
  boxes = json_object_get_array_member (o, "mailboxes");
  g_assert_cmpuint (json_array_get_length (boxes), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (
      json_object_get_array_member (o, "flags"), 0), ==, "\\Seen");
  g_assert_cmpint (json_object_get_int_member (o, "size"), ==,
                   (gint64) result->size);
  g_assert_cmpstr (json_object_get_string_member (o, "sha256"), ==,
                   raw_sum);
  gmail = json_object_get_object_member (o, "gmail");
  g_assert_cmpstr (json_object_get_string_member (gmail, "msgid"), ==,
                   "1781234567890123456");
  g_assert_cmpstr (json_object_get_string_member (gmail, "thrid"), ==,
                   "1781234567890123000");
  g_assert_cmpstr (json_object_get_string_member (o, "text"), ==,
                   "body.txt");
  g_assert_cmpstr (json_object_get_string_member (o, "html"), ==,
                   "body.html");
  atts = json_object_get_array_member (o, "attachments");
  g_assert_cmpuint (json_array_get_length (atts), ==, 2);
  a0 = json_array_get_object_element (atts, 0);
  g_assert_cmpstr (json_object_get_string_member (a0, "filename"), ==,
                   "hello.txt");
  g_assert_cmpstr (json_object_get_string_member (a0, "path"), ==,
                   "attachments/hello.txt");
  g_assert_cmpstr (json_object_get_string_member (a0, "content_type"), ==,
                   "text/plain");
  g_assert_cmpint (json_object_get_int_member (a0, "size"), ==, 19);
  g_assert_cmpstr (json_object_get_string_member (a0, "sha256"), ==,
                   want_hello);
  g_assert_cmpstr (json_object_get_string_member (a0, "part"), ==, "2");
  g_assert_true (json_object_get_null_member (
      json_array_get_object_element (atts, 1), "filename"));
}

typedef struct {
  const char *file;
  const char *tree;  /* of attachments/ */
} HostileCase;

static const HostileCase hostile[] = {
  { "01-dotdot.eml", "x" },
  { "02-etc-passwd.eml", "passwd" },
  { "03-absolute.eml", "passwd" },
  { "04-windows-path.eml", "evil.exe" },
  { "05-backslash-dotdot.eml", "x" },
  { "06-nul.eml", "evil\xef\xbf\xbd.exe" },
  { "07-control.eml", "abcd.txt" },
  { "08-bidi.eml", "invoicegpj.exe|x.pdf" },
  { "09-reserved.eml", "_CON|_lpt1.doc|_nul.txt" },
  { "13-empty-name.eml", "part-2.bin" },
  { "14-only-dots.eml", "attachment|attachment (2)" },
  { "15-windows-chars.eml", "Report.PDF|a_b_c_d_e_f_g.txt|report (2).pdf" },
  { "16-embedded.eml",
    "fwd/|fwd.eml|fwd/attachments/|fwd/attachments/inner.txt|fwd/body.txt" },
};

static char *
write_and_list (Fixture *f, const char *file, const char *dir)
{
  g_autofree char *raw = fixture_path ("hostile", file);
  g_autoptr(MhMessage) msg = parse (raw);
  g_autofree char *att = g_build_filename (f->out, dir, "attachments", NULL);

  mh_write_result_free (write_one (f, raw, dir, msg, NULL));
  return list_tree (att);
}

static void
test_hostile_names (Fixture *f, gconstpointer data)
{
  for (gsize i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      g_autofree char *dir = g_strdup_printf ("m%" G_GSIZE_FORMAT, i);
      g_autofree char *tree = write_and_list (f, hostile[i].file, dir);
      g_autofree char *want = g_strdup (hostile[i].tree);
      g_auto(GStrv) parts = g_strsplit (want, "|", -1);
      g_autofree char *sorted = NULL;

      /* The table is readable; compare in list_tree's order. */
      qsort (parts, g_strv_length (parts), sizeof (char *),
             (int (*) (const void *, const void *)) mh_test_cmp_str);
      sorted = g_strjoinv ("|", parts);
      g_test_message ("%s", hostile[i].file);
      g_assert_cmpstr (tree, ==, sorted);
    }
  g_assert_true (dir_is_empty (f->sibling));
}

static void
test_long_names (Fixture *f, gconstpointer data)
{
  g_autofree char *t300 = write_and_list (f, "10-long-300.eml", "a");
  g_autofree char *t1000 = write_and_list (f, "11-long-utf8.eml", "b");
  GString *want = g_string_new (NULL);

  for (int i = 0; i < 196; i++)
    g_string_append_c (want, 'a');
  g_string_append (want, ".pdf");
  g_assert_cmpstr (t300, ==, want->str);
  g_string_truncate (want, 0);
  for (int i = 0; i < 98; i++)
    g_string_append (want, "\xc3\xa9");
  g_string_append (want, ".txt");
  g_assert_cmpstr (t1000, ==, want->str);
  g_string_free (want, TRUE);
}

static void
test_same_name (Fixture *f, gconstpointer data)
{
  g_autofree char *raw = fixture_path ("hostile", "12-same-name.eml");
  g_autoptr(MhMessage) msg = parse (raw);
  g_autoptr(MhWriteResult) result = write_one (f, raw, "m", msg, NULL);

  g_assert_cmpuint (result->attachments->len, ==, 20);
  for (guint n = 1; n <= 20; n++)
    {
      g_autofree char *name = n == 1 ? g_strdup ("report.pdf")
                                     : g_strdup_printf ("report (%u).pdf", n);
      g_autofree char *path = g_build_filename (f->out, "m", "attachments",
                                                name, NULL);
      g_autofree char *want = g_strdup_printf ("report %u\n", n);
      g_autofree char *got = NULL;
      MhWrittenAttachment *w = result->attachments->pdata[n - 1];
      g_autofree char *rel = g_strconcat ("attachments/", name, NULL);

      /* Names follow document order, so each file holds its own part. */
      g_assert_true (g_file_get_contents (path, &got, NULL, NULL));
      g_assert_cmpstr (got, ==, want);
      g_assert_cmpstr (w->path, ==, rel);
      g_assert_cmpstr (w->filename, ==, "report.pdf");
    }
}

static void
test_embedded (Fixture *f, gconstpointer data)
{
  g_autofree char *raw = fixture_path ("hostile", "16-embedded.eml");
  g_autoptr(MhMessage) msg = parse (raw);
  g_autoptr(MhWriteResult) result = write_one (f, raw, "m", msg, NULL);
  g_autofree char *json = g_build_filename (f->out, "m", "message.json",
                                            NULL);
  g_autofree char *inner_txt = g_build_filename (
      f->out, "m", "attachments", "fwd", "attachments", "inner.txt", NULL);
  g_autofree char *data_inner = NULL;
  g_autoptr(JsonNode) root = mh_test_load_json (json);
  JsonObject *a0 = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (root),
                                    "attachments"), 0);
  JsonObject *inner = json_object_get_object_member (a0, "message");
  JsonObject *ia0 = json_array_get_object_element (
      json_object_get_array_member (inner, "attachments"), 0);

  g_assert_cmpuint (result->attachments->len, ==, 2);
  g_assert_cmpstr (json_object_get_string_member (a0, "path"), ==,
                   "attachments/fwd.eml");
  g_assert_cmpstr (json_object_get_string_member (a0, "origin"), ==,
                   "message");
  g_assert_cmpstr (json_object_get_string_member (inner, "subject"), ==,
                   "inner");
  g_assert_cmpstr (json_object_get_string_member (inner, "text"), ==,
                   "attachments/fwd/body.txt");
  g_assert_cmpstr (json_object_get_string_member (ia0, "filename"), ==,
                   "../inner.txt");
  g_assert_cmpstr (json_object_get_string_member (ia0, "path"), ==,
                   "attachments/fwd/attachments/inner.txt");
  g_assert_true (g_file_get_contents (inner_txt, &data_inner, NULL, NULL));
  g_assert_cmpstr (data_inner, ==, "inner attachment");
}

/* A symbolic link where the message dir goes is replaced, not followed. */
static void
test_symlink_target (Fixture *f, gconstpointer data)
{
  g_autofree char *link = g_build_filename (f->out, "m", NULL);
  g_autofree char *tree = NULL;
  GStatBuf st;

  g_assert_cmpint (symlink (f->sibling, link), ==, 0);
  tree = write_and_list (f, "01-dotdot.eml", "m");
  g_assert_cmpstr (tree, ==, "x");
  g_assert_cmpint (g_lstat (link, &st), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  g_assert_true (dir_is_empty (f->sibling));
}

/* Symbolic links where files go, in a dir left by an earlier run: the
 * dir is replaced as a whole and no link is followed, neither by the
 * writer nor by a later manifest update. */
static void
test_symlink_files (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (f->out, "m", NULL);
  g_autofree char *att = g_build_filename (dir, "attachments", NULL);
  g_autofree char *eml = g_build_filename (dir, "message.eml", NULL);
  g_autofree char *json = g_build_filename (dir, "message.json", NULL);
  g_autofree char *x = g_build_filename (att, "x", NULL);
  g_autofree char *victim = g_build_filename (f->sibling, "victim", NULL);
  g_autofree char *tree = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  g_assert_true (g_file_set_contents (victim, "keep me", -1, NULL));
  g_assert_cmpint (g_mkdir_with_parents (att, 0755), ==, 0);
  g_assert_cmpint (symlink (victim, eml), ==, 0);
  g_assert_cmpint (symlink (victim, json), ==, 0);
  g_assert_cmpint (symlink (victim, x), ==, 0);

  tree = write_and_list (f, "01-dotdot.eml", "m");
  g_assert_cmpstr (tree, ==, "x");
  g_assert_cmpint (g_lstat (x, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  g_assert_cmpint (g_lstat (eml, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  g_assert_true (g_file_get_contents (victim, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "keep me");
  g_clear_pointer (&contents, g_free);

  /* A link planted as message.json afterwards is not read through. */
  g_assert_cmpint (g_unlink (json), ==, 0);
  g_assert_cmpint (symlink (victim, json), ==, 0);
  g_assert_false (mh_writer_update_locations (f->out_fd, "m", NULL,
                                              &error));
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_assert_true (g_file_get_contents (victim, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "keep me");
}

/* A symbolic link where a parent dir goes is refused. */
static void
test_symlink_parent (Fixture *f, gconstpointer data)
{
  g_autofree char *link = g_build_filename (f->out, "threads", NULL);
  g_autoptr(GError) error = NULL;
  int fd;

  g_assert_cmpint (symlink (f->sibling, link), ==, 0);
  fd = mh_writer_open_dir (f->out_fd, "threads", TRUE, &error);
  g_assert_cmpint (fd, ==, -1);
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_assert_false (mh_writer_dir_exists (f->out_fd, "threads"));
  g_assert_true (dir_is_empty (f->sibling));
}

static void
test_replace (Fixture *f, gconstpointer data)
{
  g_autofree char *raw = fixture_path ("import", "basic/basic.eml");
  g_autoptr(MhMessage) msg = parse (raw);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *junk = g_build_filename (f->out, "m", "junk", NULL);
  g_autofree char *json = g_build_filename (f->out, "m", "message.json",
                                            NULL);
  g_autofree char *sum1 = NULL;
  g_autofree char *sum2 = NULL;

  mh_write_result_free (write_one (f, raw, "m", msg, NULL));
  first = list_tree (f->out);
  sum1 = mh_test_sha256_file (json);
  /* A dir from an earlier run that died before its store commit. */
  g_assert_true (g_file_set_contents (junk, "stale", -1, NULL));
  mh_write_result_free (write_one (f, raw, "m", msg, NULL));
  second = list_tree (f->out);
  sum2 = mh_test_sha256_file (json);
  g_assert_cmpstr (second, ==, first);
  g_assert_cmpstr (sum2, ==, sum1);
  g_assert_false (g_file_test (junk, G_FILE_TEST_EXISTS));
}

static void
test_update_locations (Fixture *f, gconstpointer data)
{
  static const MhLocation two[] = { { "INBOX", 7, 42 },
                                    { "Archive", 9, 3 } };
  g_autofree char *raw = fixture_path ("import", "basic/basic.eml");
  g_autoptr(MhMessage) msg = parse (raw);
  MhWriteMeta one_meta = { "work", inbox_loc, 1, 0, 0, NULL, NULL, 0 };
  MhWriteMeta two_meta = { "work", two, 2, 0, 0, NULL, NULL, 0 };
  g_autofree char *json = g_build_filename (f->out, "m", "message.json",
                                            NULL);
  g_autofree char *original = NULL;
  g_autofree char *updated = NULL;
  g_autofree char *back = NULL;
  g_autofree char *tree = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonArray *boxes;

  mh_write_result_free (write_one (f, raw, "m", msg, &one_meta));
  g_assert_true (g_file_get_contents (json, &original, NULL, NULL));

  g_assert_true (mh_writer_update_locations (f->out_fd, "m", &two_meta,
                                             &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (json, &updated, NULL, NULL));
  g_assert_cmpstr (updated, !=, original);
  root = mh_test_load_json (json);
  boxes = json_object_get_array_member (json_node_get_object (root),
                                        "mailboxes");
  g_assert_cmpuint (json_array_get_length (boxes), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (
      json_array_get_object_element (boxes, 1), "mailbox"), ==, "Archive");
  g_assert_cmpstr (json_object_get_string_member (
      json_node_get_object (root), "mailbox"), ==, "INBOX");

  /* Back to the first metadata: the very same bytes as a fresh write. */
  g_assert_true (mh_writer_update_locations (f->out_fd, "m", &one_meta,
                                             &error));
  g_assert_true (g_file_get_contents (json, &back, NULL, NULL));
  g_assert_cmpstr (back, ==, original);
  tree = list_tree (f->out);
  g_assert_cmpstr (tree, ==,
                   "m/|m/attachments/|m/attachments/hello.txt|"
                   "m/attachments/part-3.pdf|m/body.html|m/body.txt|"
                   "m/message.eml|m/message.json");
}

static void
test_move (Fixture *f, gconstpointer data)
{
  g_autofree char *src = fixture_path ("import", "basic/basic.eml");
  g_autofree char *raw = g_build_filename (f->base, "raw.eml", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *eml = g_build_filename (f->out, "m", "message.eml", NULL);
  g_autofree char *want = mh_test_sha256_file (src);
  g_autofree char *got = NULL;
  g_autoptr(MhMessage) msg = NULL;
  g_autoptr(MhWriteResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (src, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (raw, contents, (gssize) len, NULL));
  msg = parse (raw);
  g_assert_true (mh_writer_write_message (f->out_fd, "m", raw, TRUE, msg,
                                          NULL, &result, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (raw, G_FILE_TEST_EXISTS));
  got = mh_test_sha256_file (eml);
  g_assert_cmpstr (got, ==, want);
  g_assert_cmpstr (result->sha256, ==, want);
  g_assert_cmpuint (result->size, ==, len);
}

/* An unnamed file (O_TMPFILE) as the raw message: linked in as
 * message.eml where it lives on the same file system, copied where it
 * does not (a tmpfs in /dev/shm, when that is another file system), and
 * left open for the caller either way. */
static void
test_unnamed (Fixture *f, gconstpointer data)
{
  g_autofree char *src = fixture_path ("import", "basic/basic.eml");
  g_autofree char *contents = NULL;
  g_autofree char *want = mh_test_sha256_file (src);
  const char *dirs[] = { f->base, "/dev/shm" };
  struct stat out_st;
  gsize len = 0;

  g_assert_true (g_file_get_contents (src, &contents, &len, NULL));
  g_assert_cmpint (fstat (f->out_fd, &out_st), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *name = g_strdup_printf ("m%u", i);
      g_autofree char *eml = g_build_filename (f->out, name, "message.eml",
                                               NULL);
      g_autofree char *got = NULL;
      g_autoptr(MhMessage) msg = NULL;
      g_autoptr(MhWriteResult) result = NULL;
      g_autoptr(GError) error = NULL;
      struct stat fd_st, eml_st;
      int fd = open (dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

      if (fd < 0)
        {
          g_test_message ("no O_TMPFILE in %s: %s", dirs[i],
                          g_strerror (errno));
          g_assert_cmpuint (i, >, 0);
          continue;
        }
      g_assert_cmpint (write (fd, contents, len), ==, (gssize) len);
      msg = mh_message_parse_fd (fd, 0, -1, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (mh_writer_write_message_fd (f->out_fd, name, fd, msg,
                                                 NULL, &result, &error));
      g_assert_no_error (error);
      got = mh_test_sha256_file (eml);
      g_assert_cmpstr (got, ==, want);
      g_assert_cmpstr (result->sha256, ==, want);
      g_assert_cmpuint (result->size, ==, len);
      /* Still the caller's: the message was parsed from it. */
      g_assert_cmpint (fstat (fd, &fd_st), ==, 0);
      g_assert_cmpint (g_stat (eml, &eml_st), ==, 0);
      if (fd_st.st_dev == out_st.st_dev)
        g_assert_cmpuint (eml_st.st_ino, ==, fd_st.st_ino);
      else
        g_assert_cmpuint (eml_st.st_ino, !=, fd_st.st_ino);
      g_assert_cmpint (close (fd), ==, 0);
    }
}

/* A message dir staged (mh_writer_stage_message(), the archive's
 * .incoming) is the one writing it gives, made under its name, and one a
 * killed run left there under that name is replaced: from a raw file
 * (rounds 0 and 1) and from the message's bytes alone, as the fetch
 * hands small messages over (rounds 2 and 3). */
static void
test_stage (Fixture *f, gconstpointer data)
{
  g_autofree char *raw = fixture_path ("import", "basic/basic.eml");
  g_autoptr(MhMessage) msg = parse (raw);
  g_autofree char *want = mh_test_sha256_file (raw);
  g_autofree char *ref = g_build_filename (f->out, "ref", "message.json",
                                           NULL);
  g_autofree char *json = g_build_filename (f->out, "m", "message.json",
                                            NULL);
  g_autofree char *eml = g_build_filename (f->out, "m", "message.eml", NULL);
  g_autofree char *junk = g_build_filename (f->out, "m", "junk", NULL);
  g_autofree char *sum_ref = NULL;
  g_autofree char *sum = NULL;
  g_autofree char *got = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (raw, &contents, &len, NULL));
  bytes = g_bytes_new (contents, len);
  mh_write_result_free (write_one (f, raw, "ref", msg, NULL));
  sum_ref = mh_test_sha256_file (ref);
  for (guint round = 0; round < 4; round++)
    {
      g_autoptr(MhWriteResult) result = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GDir) d = NULL;
      MhWriterRaw from_file = { raw, -1, FALSE, NULL };
      MhWriterRaw from_bytes = { NULL, -1, FALSE, bytes };
      const char *e;

      g_assert_true (mh_writer_stage_message (f->out_fd, "m",
                                              round < 2 ? &from_file
                                                        : &from_bytes,
                                              msg, NULL, &result, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (result->sha256, ==, want);
      g_assert_cmpuint (result->size, ==, len);
      g_clear_pointer (&got, g_free);
      got = mh_test_sha256_file (eml);
      g_assert_cmpstr (got, ==, want);
      g_clear_pointer (&sum, g_free);
      sum = mh_test_sha256_file (json);
      g_assert_cmpstr (sum, ==, sum_ref);
      g_assert_false (g_file_test (junk, G_FILE_TEST_EXISTS));
      d = g_dir_open (f->out, 0, NULL);
      g_assert_nonnull (d);
      while ((e = g_dir_read_name (d)) != NULL)
        g_assert_false (g_str_has_prefix (e, ".tmp-"));
      /* What a run killed while it wrote the dir leaves for the next. */
      g_assert_true (g_file_set_contents (junk, "stale", -1, NULL));
      g_assert_cmpint (g_unlink (json), ==, 0);
    }
}

static void
test_bad_name (Fixture *f, gconstpointer data)
{
  g_autofree char *raw = fixture_path ("import", "basic/basic.eml");
  g_autoptr(MhMessage) msg = parse (raw);
  static const char *const bad[] = { "", ".", "..", "../x", "a/b",
                                     ".tmp-x" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (mh_writer_write_message (f->out_fd, bad[i], raw, FALSE,
                                               msg, NULL, NULL, &error));
      g_assert_error (error, MH_ERROR, MH_ERROR_IO);
    }
  g_assert_true (dir_is_empty (f->out));
  g_assert_true (dir_is_empty (f->sibling));
}

static void
test_deterministic (Fixture *f, gconstpointer data)
{
  g_autofree char *raw = fixture_path ("hostile", "16-embedded.eml");
  g_autoptr(MhMessage) m1 = parse (raw);
  g_autoptr(MhMessage) m2 = parse (raw);
  g_autofree char *j1 = g_build_filename (f->out, "a", "message.json", NULL);
  g_autofree char *j2 = g_build_filename (f->out, "b", "message.json", NULL);
  g_autofree char *s1 = NULL;
  g_autofree char *s2 = NULL;

  mh_write_result_free (write_one (f, raw, "a", m1, NULL));
  mh_write_result_free (write_one (f, raw, "b", m2, NULL));
  s1 = mh_test_sha256_file (j1);
  s2 = mh_test_sha256_file (j2);
  g_assert_cmpstr (s1, ==, s2);
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0");
MH_TEST_LSAN_GLIB_SUPPRESSION;

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  mh_message_init ();
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/writer/basic", test_basic);
  ADD ("/writer/hostile-names", test_hostile_names);
  ADD ("/writer/long-names", test_long_names);
  ADD ("/writer/same-name", test_same_name);
  ADD ("/writer/embedded", test_embedded);
  ADD ("/writer/symlink-target", test_symlink_target);
  ADD ("/writer/symlink-files", test_symlink_files);
  ADD ("/writer/symlink-parent", test_symlink_parent);
  ADD ("/writer/replace", test_replace);
  ADD ("/writer/update-locations", test_update_locations);
  ADD ("/writer/move", test_move);
  ADD ("/writer/unnamed", test_unnamed);
  ADD ("/writer/stage", test_stage);
  ADD ("/writer/bad-name", test_bad_name);
  ADD ("/writer/deterministic", test_deterministic);
#undef ADD
  return g_test_run ();
}
