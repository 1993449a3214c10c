/* fuzz-mbox.c - libFuzzer target for the mbox reader (source-mbox.c).
 *
 * The first byte chooses the mode.
 *   Raw: the rest, after a "From " line, is the mbox file as it comes.
 *     Every message the reader hands over is a non-empty file, UIDs grow,
 *     and the messages together are no larger than the file.
 *   Round trip: the rest is cut at 0xFE bytes into up to 16 messages
 *     (0xFD n stands for (n + 1) * 4096 bytes of 'x', so that lines cross
 *     the reader's 64 KiB pieces), each given a final newline, and written
 *     as mboxrd writes them: a "From " line, every line matching ^>*From
 *     with one more '>', an empty line after each message.  The reader
 *     must give back exactly those messages, the empty ones skipped with
 *     their UIDs kept, and each with the date of its "From " line.
 * In both modes the date a separator gives is one line, at most 128
 * bytes, and GMime's date parser takes it.
 * A violation aborts, which libFuzzer reports as a crash. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mailharvest/message.h"
#include "mailharvest/source-local.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

#define CHECK(cond) \
  do { if (!(cond)) { g_printerr ("check failed: %s\n", #cond); abort (); } } \
  while (0)

#define MAX_MSGS 16

typedef struct {
  GPtrArray *want;      /* GBytes* by UID - 1, or NULL: no check */
  guint32 last_uid;
  guint count;
  guint64 total;
} Seen;

static void
bytes_unref0 (gpointer b)
{
  if (b != NULL)
    g_bytes_unref (b);
}

static gboolean
on_message (const MhLocalMessage *m, gpointer user_data, GError **error)
{
  Seen *seen = user_data;
  g_autofree char *got = NULL;
  gsize len = 0;

  /* In memory up to the limit, else in a temporary file. */
  CHECK ((m->bytes != NULL) != (m->path != NULL));
  CHECK (m->path == NULL || m->is_temp);
  CHECK (m->uid > seen->last_uid);
  seen->last_uid = m->uid;
  if (m->bytes != NULL)
    {
      const void *data = g_bytes_get_data (m->bytes, &len);

      got = g_malloc (MAX (len, 1));
      memcpy (got, data, len);
    }
  else
    CHECK (g_file_get_contents (m->path, &got, &len, NULL));
  CHECK (len > 0);
  CHECK ((len <= MH_LOCAL_IN_MEMORY) == (m->bytes != NULL));
  if (m->envelope_date != NULL)
    {
      gsize n = strlen (m->envelope_date);

      CHECK (n > 0 && n <= 128);
      CHECK (strchr (m->envelope_date, '\n') == NULL);
      (void) mh_message_parse_date (m->envelope_date);
    }
  /* The round trip's separators all carry 2024-01-01T00:00:00Z. */
  if (seen->want != NULL)
    CHECK (mh_message_parse_date (m->envelope_date) == 1704067200);
  seen->total += len;
  seen->count++;
  if (seen->want != NULL)
    {
      GBytes *want;

      CHECK (m->uid >= 1 && m->uid <= seen->want->len);
      want = seen->want->pdata[m->uid - 1];
      CHECK (want != NULL);
      CHECK (g_bytes_get_size (want) == len);
      CHECK (memcmp (g_bytes_get_data (want, NULL), got, len) == 0);
    }
  return TRUE;
}

/* Appends @msg as mboxrd writes it. */
static void
write_mboxrd (GByteArray *out, const guint8 *msg, gsize len)
{
  static const char from[] = "From fuzz@example.org Thu Jan  1 00:00:00 2024\n";
  gsize i = 0;

  g_byte_array_append (out, (const guint8 *) from, sizeof from - 1);
  while (i < len)
    {
      const guint8 *nl = memchr (msg + i, '\n', len - i);
      gsize end = nl != NULL ? (gsize) (nl - msg) + 1 : len;
      gsize k = i;

      while (k < end && msg[k] == '>')
        k++;
      if (end - k >= 5 && memcmp (msg + k, "From ", 5) == 0)
        g_byte_array_append (out, (const guint8 *) ">", 1);
      g_byte_array_append (out, msg + i, (guint) (end - i));
      i = end;
    }
  g_byte_array_append (out, (const guint8 *) "\n", 1);
}

static const char *
work_dir (void)
{
  static char *dir;

  if (dir == NULL)
    {
      g_autofree char *tmp = NULL;

      mh_message_init ();
      dir = g_dir_make_tmp ("fuzz-mbox-XXXXXX", NULL);
      CHECK (dir != NULL);
      tmp = g_build_filename (dir, "tmp", NULL);
      CHECK (g_mkdir (tmp, 0700) == 0);
    }
  return dir;
}

static void
run (const GByteArray *file, GPtrArray *want)
{
  const char *dir = work_dir ();
  g_autofree char *path = g_build_filename (dir, "in.mbox", NULL);
  g_autofree char *tmp = g_build_filename (dir, "tmp", NULL);
  const char *paths[] = { path, NULL };
  g_autoptr(GPtrArray) boxes = NULL;
  g_autoptr(GError) error = NULL;
  Seen seen = { want, 0, 0, 0 };
  guint expected = 0;

  CHECK (g_file_set_contents (path, (const char *) file->data,
                              (gssize) file->len, NULL));
  boxes = mh_local_scan (paths, &error);
  CHECK (boxes != NULL && error == NULL);
  CHECK (boxes->len == 1);
  CHECK (((MhLocalMailbox *) boxes->pdata[0])->kind == MH_LOCAL_MBOX);
  CHECK (mh_local_mailbox_foreach (boxes->pdata[0], tmp, on_message, &seen,
                                   &error));
  CHECK (seen.total <= file->len);
  if (want != NULL)
    {
      for (guint i = 0; i < want->len; i++)
        expected += want->pdata[i] != NULL;
      CHECK (seen.count == expected);
    }
  /* Every temporary file is gone. */
  {
    g_autoptr(GDir) d = g_dir_open (tmp, 0, NULL);

    CHECK (d != NULL && g_dir_read_name (d) == NULL);
  }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr(GByteArray) file = g_byte_array_new ();

  if (size < 1)
    return 0;
  if ((data[0] & 1) == 0)
    {
      static const char from[] = "From a@b Mon Jan  1 00:00:00 2024\n";

      g_byte_array_append (file, (const guint8 *) from, sizeof from - 1);
      g_byte_array_append (file, data + 1, (guint) (size - 1));
      run (file, NULL);
      return 0;
    }

  {
    g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func (bytes_unref0);
    g_autoptr(GByteArray) msg = g_byte_array_new ();

    for (gsize i = 1; i <= size && want->len < MAX_MSGS; i++)
      {
        if (i < size && data[i] == 0xfd && i + 1 < size)
          {
            gsize n = ((gsize) data[++i] + 1) * 4096;

            for (gsize k = 0; k < n; k++)
              g_byte_array_append (msg, (const guint8 *) "x", 1);
            continue;
          }
        if (i < size && data[i] != 0xfe)
          {
            g_byte_array_append (msg, data + i, 1);
            continue;
          }
        /* The end of a message: it gets its final newline. */
        if (msg->len > 0 && msg->data[msg->len - 1] != '\n')
          g_byte_array_append (msg, (const guint8 *) "\n", 1);
        write_mboxrd (file, msg->data, msg->len);
        g_ptr_array_add (want, msg->len > 0
                                 ? g_bytes_new (msg->data, msg->len) : NULL);
        g_byte_array_set_size (msg, 0);
      }
    run (file, want);
  }
  return 0;
}
