/* test-deflate.c - the COMPRESS=DEFLATE transport (net-deflate.c) over
 * an in-memory one: what it writes inflates to the commands, each whole
 * at once; what it reads is the server's stream inflated, whatever the
 * chunks; a corrupt stream or one that inflates to nothing is an error,
 * never a hang. */
#include <string.h>

#include <zlib.h>

#include "mailharvest/error.h"
#include "mailharvest/net.h"

/* The inner transport: reads hand out @input @chunk bytes at a time,
 * then end of stream (or an error when @fail_at_end); writes append to
 * @output. */
typedef struct {
  MhTransport parent;
  GByteArray *input;
  gsize pos;
  gsize chunk;
  gboolean fail_at_end;
  gboolean repeat;   /* at the end, start @input over, forever */
  GByteArray *output;
  gboolean *freed;
} MemTransport;

static gssize
mem_read (MhTransport *t, guint8 *buf, gsize len, int timeout_ms,
          GError **error)
{
  MemTransport *m = (MemTransport *) t;
  gsize n;

  if (m->repeat && m->pos == m->input->len)
    m->pos = 0;
  n = MIN (MIN (len, m->chunk), m->input->len - m->pos);
  if (n == 0 && m->fail_at_end)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_TIMEOUT, "too slow");
      return -1;
    }
  memcpy (buf, m->input->data + m->pos, n);
  m->pos += n;
  return (gssize) n;
}

static gboolean
mem_write_all (MhTransport *t, const guint8 *data, gsize len, int timeout_ms,
               GError **error)
{
  MemTransport *m = (MemTransport *) t;

  g_byte_array_append (m->output, data, (guint) len);
  return TRUE;
}

static void
mem_close (MhTransport *t)
{
}

static void
mem_free (MhTransport *t)
{
  MemTransport *m = (MemTransport *) t;

  *m->freed = TRUE;
  g_byte_array_unref (m->input);
  g_byte_array_unref (m->output);
  g_free (m);
}

static const MhTransportClass mem_class = {
  mem_read, mem_write_all, NULL, mem_close, mem_free
};

static MemTransport *
mem_new (gsize chunk, gboolean *freed)
{
  MemTransport *m = g_new0 (MemTransport, 1);

  m->parent.klass = &mem_class;
  m->input = g_byte_array_new ();
  m->output = g_byte_array_new ();
  m->chunk = chunk;
  m->freed = freed;
  *freed = FALSE;
  return m;
}

/* Raw deflate of @data, with a sync flush after every @flush_every
 * bytes, as a server sends its responses. */
static GByteArray *
deflate_raw (const guint8 *data, gsize len, gsize flush_every)
{
  GByteArray *out = g_byte_array_new ();
  z_stream z = { 0 };
  guint8 buf[4096];
  gsize done = 0;

  g_assert_cmpint (deflateInit2 (&z, 6, Z_DEFLATED, -15, 8,
                                 Z_DEFAULT_STRATEGY), ==, Z_OK);
  while (done < len)
    {
      gsize step = MIN (flush_every, len - done);

      z.next_in = (Bytef *) data + done;
      z.avail_in = (uInt) step;
      do
        {
          z.next_out = buf;
          z.avail_out = sizeof buf;
          g_assert_cmpint (deflate (&z, Z_SYNC_FLUSH), !=, Z_STREAM_ERROR);
          g_byte_array_append (out, buf, (guint) (sizeof buf - z.avail_out));
        }
      while (z.avail_out == 0);
      done += step;
    }
  deflateEnd (&z);
  return out;
}

/* Inflates all of @data (a raw deflate stream cut at a sync flush). */
static GByteArray *
inflate_raw (const guint8 *data, gsize len)
{
  GByteArray *out = g_byte_array_new ();
  z_stream z = { 0 };
  guint8 buf[4096];
  int rc;

  g_assert_cmpint (inflateInit2 (&z, -15), ==, Z_OK);
  z.next_in = (Bytef *) data;
  z.avail_in = (uInt) len;
  do
    {
      z.next_out = buf;
      z.avail_out = sizeof buf;
      rc = inflate (&z, Z_SYNC_FLUSH);
      g_assert_true (rc == Z_OK || rc == Z_BUF_ERROR);
      g_byte_array_append (out, buf, (guint) (sizeof buf - z.avail_out));
    }
  while (z.avail_in > 0 || z.avail_out == 0);
  inflateEnd (&z);
  return out;
}

/* A server's stream: text, and bytes that do not compress. */
static GByteArray *
payload (gsize len)
{
  GByteArray *p = g_byte_array_sized_new ((guint) len);
  GRand *r = g_rand_new_with_seed (4978);

  for (gsize i = 0; i < len; i++)
    {
      guint8 c = (i / 5000) % 2 ? (guint8) g_rand_int (r)
                                : (guint8) ("* 1 FETCH (BODY[] {42}\r\n"[i % 24]);

      g_byte_array_append (p, &c, 1);
    }
  g_rand_free (r);
  return p;
}

/* Each command reaches the server whole as soon as it is written. */
static void
test_write (void)
{
  static const char *const cmds[] = {
    "a1 NOOP\r\n", "a2 UID FETCH 1:* (BODY.PEEK[])\r\n", "a3 LOGOUT\r\n"
  };
  gboolean freed;
  MemTransport *m = mem_new (1, &freed);
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) want = g_string_new (NULL);
  MhTransport *t = mh_deflate_transport_new (&m->parent, NULL, 0, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (cmds); i++)
    {
      g_autoptr(GByteArray) got = NULL;

      g_assert_true (mh_transport_write_all (t, (const guint8 *) cmds[i],
                                             strlen (cmds[i]), 1000,
                                             &error));
      g_assert_no_error (error);
      g_string_append (want, cmds[i]);
      got = inflate_raw (m->output->data, m->output->len);
      g_assert_cmpmem (got->data, got->len, want->str, want->len);
    }
  mh_transport_free (t);
  g_assert_true (freed);
}

/* The server's stream comes back whole whatever the chunks it arrives in
 * and the sizes asked for, bytes already read before the switch
 * included; then end of stream. */
static void
test_read (gconstpointer data)
{
  gsize chunk = GPOINTER_TO_SIZE (data);
  g_autoptr(GByteArray) plain = payload (300000);
  g_autoptr(GByteArray) packed = deflate_raw (plain->data, plain->len, 777);
  g_autoptr(GByteArray) got = g_byte_array_new ();
  static const gsize asks[] = { 1, 5, 4096, 65536, 3 };
  gboolean freed;
  MemTransport *m = mem_new (chunk, &freed);
  g_autoptr(GError) error = NULL;
  gsize pending = MIN (packed->len, 10);
  MhTransport *t;
  guint round = 0;
  gssize n;

  g_byte_array_append (m->input, packed->data + pending,
                       packed->len - (guint) pending);
  t = mh_deflate_transport_new (&m->parent, packed->data, pending, &error);
  g_assert_no_error (error);
  for (;;)
    {
      guint8 buf[65536];

      n = mh_transport_read (t, buf, asks[round++ % G_N_ELEMENTS (asks)],
                             1000, &error);
      g_assert_no_error (error);
      g_assert_cmpint (n, >=, 0);
      if (n == 0)
        break;
      g_byte_array_append (got, buf, (guint) n);
    }
  g_assert_cmpmem (got->data, got->len, plain->data, plain->len);
  mh_transport_free (t);
  g_assert_true (freed);
}

/* Bytes that are no deflate stream: an error naming it, not a hang and
 * not garbage handed on. */
static void
test_corrupt (void)
{
  static const guint8 junk[] = { 0xff, 0xff, 0xff, 0xff, 0x13, 0x37 };
  gboolean freed;
  MemTransport *m = mem_new (2, &freed);
  g_autoptr(GError) error = NULL;
  MhTransport *t;
  guint8 buf[64];

  g_byte_array_append (m->input, junk, sizeof junk);
  t = mh_deflate_transport_new (&m->parent, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mh_transport_read (t, buf, sizeof buf, 1000, &error), ==,
                   -1);
  g_assert_error (error, MH_ERROR, MH_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "compressed"));
  mh_transport_free (t);
}

/* An error of the connection below comes through as it is. */
static void
test_inner_error (void)
{
  g_autoptr(GByteArray) packed = deflate_raw ((const guint8 *) "* OK\r\n", 6,
                                              6);
  gboolean freed;
  MemTransport *m = mem_new (4096, &freed);
  g_autoptr(GError) error = NULL;
  MhTransport *t;
  guint8 buf[64];

  m->fail_at_end = TRUE;
  g_byte_array_append (m->input, packed->data, packed->len);
  t = mh_deflate_transport_new (&m->parent, NULL, 0, &error);
  g_assert_cmpint (mh_transport_read (t, buf, sizeof buf, 1000, &error), ==,
                   6);
  g_assert_cmpmem (buf, 6, "* OK\r\n", 6);
  g_assert_cmpint (mh_transport_read (t, buf, sizeof buf, 1000, &error), ==,
                   -1);
  g_assert_error (error, MH_ERROR, MH_ERROR_TIMEOUT);
  mh_transport_free (t);
}

/* A server that sends empty blocks without end: the read fails once its
 * timeout is spent, instead of inflating nothing forever. */
static void
test_empty_blocks (void)
{
  static const guint8 empty[] = { 0x00, 0x00, 0x00, 0xff, 0xff };
  gboolean freed;
  MemTransport *m = mem_new (sizeof empty, &freed);
  g_autoptr(GError) error = NULL;
  MhTransport *t;
  guint8 buf[64];

  m->repeat = TRUE;
  g_byte_array_append (m->input, empty, sizeof empty);
  t = mh_deflate_transport_new (&m->parent, NULL, 0, &error);
  g_assert_cmpint (mh_transport_read (t, buf, sizeof buf, 200, &error), ==,
                   -1);
  g_assert_error (error, MH_ERROR, MH_ERROR_TIMEOUT);
  mh_transport_free (t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/deflate/write", test_write);
  g_test_add_data_func ("/deflate/read-1", GSIZE_TO_POINTER (1), test_read);
  g_test_add_data_func ("/deflate/read-7", GSIZE_TO_POINTER (7), test_read);
  g_test_add_data_func ("/deflate/read-64k", GSIZE_TO_POINTER (65536),
                        test_read);
  g_test_add_func ("/deflate/corrupt", test_corrupt);
  g_test_add_func ("/deflate/inner-error", test_inner_error);
  g_test_add_func ("/deflate/empty-blocks", test_empty_blocks);
  return g_test_run ();
}
