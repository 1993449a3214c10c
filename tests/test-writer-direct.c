/* test-writer-direct.c - big files written around the page cache
 * (writer-direct.c), from the reused buffers of rawbuf.h: the bytes are
 * right for every size around the alignments, and they are not left in
 * the page cache where the file system takes direct I/O. */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailharvest/message.h"
#include "mailharvest/rawbuf.h"
#include "mailharvest/sha256.h"
#include "mailharvest/writer.h"

#include "testlib.h"
#include "writer-testlib.h"

/* Sizes around the 512-byte and 4 KiB alignments, the 64 KiB threshold
 * and the writer's 1 MiB buffer. */
static const gsize att_sizes[] = {
  0, 1, 511, 512, 513, 4096, 65535, 65536, 65537,
  1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024 + 1234,
};

static guint8 *
pattern (gsize len, guint seed)
{
  g_autoptr(GRand) r = g_rand_new_with_seed (seed);
  guint8 *p = g_malloc (MAX (len, 1));

  for (gsize i = 0; i < len; i++)
    p[i] = (guint8) g_rand_int (r);
  return p;
}

/* A multipart message with one attachment per @sizes entry, each of
 * pattern (size, index), into a buffer of rawbuf.h as a network thread
 * would hold it. */
static GBytes *
build_message (const gsize *sizes, guint n)
{
  g_autoptr(GString) s = g_string_new (
      "From: a@example.org\r\nTo: b@example.org\r\n"
      "Subject: sizes\r\nMessage-ID: <sizes@example.org>\r\n"
      "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n");
  guint8 *buf;

  for (guint i = 0; i < n; i++)
    {
      g_autofree guint8 *data = pattern (sizes[i], i);
      g_autofree char *b64 = g_base64_encode (data, sizes[i]);
      gsize len = strlen (b64);

      g_string_append_printf (
          s, "--b\r\nContent-Type: application/octet-stream\r\n"
             "Content-Disposition: attachment; filename=\"f%u.bin\"\r\n"
             "Content-Transfer-Encoding: base64\r\n\r\n", i);
      for (gsize off = 0; off < len; off += 76)
        {
          g_string_append_len (s, b64 + off, MIN ((gsize) 76, len - off));
          g_string_append (s, "\r\n");
        }
    }
  g_string_append (s, "--b--\r\n");
  buf = mh_rawbuf_take (s->len);
  g_assert_nonnull (buf);
  memcpy (buf, s->str, s->len);
  return mh_rawbuf_to_bytes (buf, s->len);
}

/* Pages of @path in the page cache, and all its pages. */
static void
resident (const char *path, gsize *in_cache, gsize *pages)
{
  long page = sysconf (_SC_PAGESIZE);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  void *map;
  g_autofree unsigned char *vec = NULL;

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (fstat (fd, &st), ==, 0);
  *pages = ((gsize) st.st_size + (gsize) page - 1) / (gsize) page;
  *in_cache = 0;
  if (*pages == 0)
    {
      close (fd);
      return;
    }
  map = mmap (NULL, (gsize) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  g_assert_true (map != MAP_FAILED);
  vec = g_malloc (*pages);
  g_assert_cmpint (mincore (map, (gsize) st.st_size, vec), ==, 0);
  for (gsize i = 0; i < *pages; i++)
    *in_cache += vec[i] & 1;
  munmap (map, (gsize) st.st_size);
  close (fd);
}

/* Whether the file system of @dir takes direct I/O. */
static gboolean
dir_has_direct_io (const char *dir)
{
  g_autofree char *probe = g_build_filename (dir, "probe", NULL);
  struct statx stx;
  int fd = open (probe, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  gboolean ok;

  g_assert_cmpint (fd, >=, 0);
  ok = statx (fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0
       && (stx.stx_mask & STATX_DIOALIGN) != 0
       && stx.stx_dio_offset_align != 0
       && stx.stx_dio_offset_align <= 4096
       && stx.stx_dio_mem_align <= 4096;
  close (fd);
  g_assert_cmpint (g_unlink (probe), ==, 0);
  return ok;
}

/* Writes the message dir @name from @raw and checks every file's bytes;
 * returns the pages of message.eml and the attachments, and how many of
 * them are in the page cache. */
static void
write_and_check (Fixture *f, const char *name, GBytes *raw, const gsize *sizes,
                 guint n, gsize *in_cache, gsize *pages)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MhMessage) msg = mh_message_parse_bytes (raw, NULL);
  g_autoptr(MhWriteResult) result = NULL;
  MhWriterRaw from_bytes = { NULL, -1, FALSE, raw };
  g_autofree char *eml = g_build_filename (f->out, name, "message.eml",
                                           NULL);
  g_autofree char *contents = NULL;
  gsize len = 0;
  gsize c, p;

  g_assert_nonnull (msg);
  g_assert_true (mh_writer_stage_message (f->out_fd, name, &from_bytes, msg,
                                          NULL, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (result->attachments->len, ==, n);
  /* Before anything reads them back. */
  resident (eml, in_cache, pages);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s/attachments/f%u.bin",
                                               f->out, name, i);

      resident (path, &c, &p);
      *in_cache += c;
      *pages += p;
    }

  g_assert_true (g_file_get_contents (eml, &contents, &len, NULL));
  g_assert_cmpmem (contents, len, g_bytes_get_data (raw, NULL),
                   g_bytes_get_size (raw));
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s/attachments/f%u.bin",
                                               f->out, name, i);
      g_autofree guint8 *want = pattern (sizes[i], i);
      g_autofree char *got = NULL;
      gsize got_len = 0;

      g_assert_true (g_file_get_contents (path, &got, &got_len, NULL));
      g_assert_cmpmem (got, got_len, want, sizes[i]);
    }
}

static void
test_sizes (Fixture *f, gconstpointer data)
{
  g_autoptr(GBytes) raw = build_message (att_sizes,
                                         G_N_ELEMENTS (att_sizes));
  gsize in_cache, pages;

  write_and_check (f, "direct", raw, att_sizes, G_N_ELEMENTS (att_sizes),
                   &in_cache, &pages);
  g_test_message ("direct: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                  " pages in the page cache", in_cache, pages);
  if (!dir_has_direct_io (f->out))
    {
      g_test_skip ("the test dir's file system has no direct I/O");
      return;
    }
  /* Only the tails went through the page cache: at most a page per file
   * (message.eml and the attachments over 64 KiB), and a few of the
   * smaller ones. */
  g_assert_cmpuint (pages, >, 1500);
  g_assert_cmpuint (in_cache, <, 40);

  /* The same through the page cache keeps the pages there: the count
   * above does see them. */
  mh_writer_set_direct (FALSE);
  write_and_check (f, "cached", raw, att_sizes, G_N_ELEMENTS (att_sizes),
                   &in_cache, &pages);
  mh_writer_set_direct (TRUE);
  g_test_message ("buffered: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                  " pages in the page cache", in_cache, pages);
  g_assert_cmpuint (in_cache, >, pages / 2);
}

static void
test_rawbuf (void)
{
  guint8 *a, *b, *c;
  GPtrArray *held = g_ptr_array_new ();
  GBytes *bytes;

  mh_rawbuf_trim ();
  g_assert_cmpuint (mh_rawbuf_allocated (), ==, 0);
  g_assert_null (mh_rawbuf_take (MH_RAWBUF_MAX + 1));

  /* Aligned for direct I/O, in whole grains. */
  a = mh_rawbuf_take (3 * MH_RAWBUF_GRAIN - 5);
  g_assert_nonnull (a);
  g_assert_cmpuint ((guintptr) a % 4096, ==, 0);
  g_assert_cmpuint (mh_rawbuf_allocated (), ==, 3 * MH_RAWBUF_GRAIN);
  memset (a, 1, 3 * MH_RAWBUF_GRAIN - 5);

  /* Given back, it is handed out again for a message that fits, without
   * new memory; a second one at the same time gets its own. */
  mh_rawbuf_give (a);
  b = mh_rawbuf_take (2 * MH_RAWBUF_GRAIN);
  g_assert_true (b == a);
  c = mh_rawbuf_take (MH_RAWBUF_GRAIN);
  g_assert_true (c != a);
  g_assert_cmpuint (mh_rawbuf_allocated (), ==, 4 * MH_RAWBUF_GRAIN);

  /* Through GBytes: back when the last reference goes. */
  bytes = mh_rawbuf_to_bytes (c, 10);
  g_bytes_unref (bytes);
  g_assert_true (mh_rawbuf_take (MH_RAWBUF_GRAIN) == c);
  mh_rawbuf_give (c);

  /* The budget holds: once every byte of it is in use, NULL (the caller
   * streams to a file), and room again when one comes back.  A kept
   * buffer too small for a request is let go to make room. */
  for (guint8 *p; (p = mh_rawbuf_take (MH_RAWBUF_GRAIN)) != NULL;)
    g_ptr_array_add (held, p);
  g_assert_cmpuint (mh_rawbuf_allocated (), <=, MH_RAWBUF_BUDGET);
  g_assert_cmpuint (mh_rawbuf_allocated (), >=,
                    MH_RAWBUF_BUDGET - MH_RAWBUF_GRAIN);
  g_assert_null (mh_rawbuf_take (1));
  mh_rawbuf_give (b);
  g_assert_null (mh_rawbuf_take (MH_RAWBUF_MAX));
  g_assert_true (mh_rawbuf_take (1) == b);
  mh_rawbuf_give (b);
  for (guint i = 0; i < 4; i++)
    mh_rawbuf_give (g_ptr_array_index (held, i));
  c = mh_rawbuf_take (6 * MH_RAWBUF_GRAIN);
  g_assert_nonnull (c);
  g_assert_cmpuint (mh_rawbuf_allocated (), <=, MH_RAWBUF_BUDGET);
  mh_rawbuf_give (c);
  for (guint i = 4; i < held->len; i++)
    mh_rawbuf_give (g_ptr_array_index (held, i));
  g_ptr_array_unref (held);

  mh_rawbuf_trim ();
  g_assert_cmpuint (mh_rawbuf_allocated (), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  mh_message_init ();
  g_test_add ("/writer/direct/sizes", Fixture, NULL, fixture_setup,
              test_sizes, fixture_teardown);
  g_test_add_func ("/writer/direct/rawbuf", test_rawbuf);
  return g_test_run ();
}
