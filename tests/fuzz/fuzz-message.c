/* fuzz-message.c - libFuzzer target for the message module.
 *
 * The input is one raw message, parsed twice: from a memfd, as a big
 * message is parsed from its file, and from memory, as the network thread
 * hands over a small one.  Every attachment (and every embedded message's
 * attachments) is streamed into a sink that sums and checksums it, and
 * the two parses must agree on every field, body and attachment byte: the
 * two ways of reading (message-stream.c) must be the same to the parser.
 * The pure helpers (charset, html2text, TNEF) get the same bytes.
 * Crashes, over-reads, leaks, hangs and disagreements are the findings. */
#include "mailharvest/charset.h"
#include "mailharvest/html2text.h"
#include "mailharvest/message.h"
#include "mailharvest/tnef.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

typedef struct {
  gsize total;
  guint32 sum;           /* FNV-1a of the bytes */
} Seen;

static gboolean
seen_sink (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  Seen *seen = user_data;

  seen->total += len;
  for (gsize i = 0; i < len; i++)
    seen->sum = (seen->sum ^ data[i]) * 16777619u;
  return TRUE;
}

/* Appends what @msg holds, and each attachment's bytes, to @out: two
 * parses of the same input must give the same text. */
static void
walk (MhMessage *msg, guint depth, GString *out)
{
  g_assert (depth <= 32);
  g_assert (msg->references != NULL && msg->participants != NULL);
  if (msg->text != NULL)
    g_assert (g_utf8_validate (msg->text, -1, NULL));
  if (msg->html != NULL)
    g_assert (g_utf8_validate (msg->html, -1, NULL));
  if (msg->subject != NULL)
    g_assert (g_utf8_validate (msg->subject, -1, NULL));
  g_string_append_printf (out, "[%u] id=%s irt=%s refs=%u subject=%s "
                          "date=%" G_GINT64_FORMAT " from=%s to=%s cc=%s "
                          "text=%s html=%s warnings=%u\n", depth,
                          msg->message_id, msg->in_reply_to,
                          msg->references->len, msg->subject, msg->date,
                          msg->from, msg->to, msg->cc, msg->text, msg->html,
                          msg->warnings->len);
  for (guint i = 0; i < msg->attachments->len; i++)
    {
      MhAttachment *att = g_ptr_array_index (msg->attachments, i);
      Seen seen = { 0, 2166136261u };
      GError *error = NULL;
      gboolean ok;

      g_assert (att->filename != NULL || att->fallback_name != NULL);
      ok = mh_attachment_write (msg, att, seen_sink, &seen, &error);
      g_clear_error (&error);
      g_string_append_printf (out, " %s %s %s %d %" G_GSIZE_FORMAT " %08x\n",
                              att->part, att->filename, att->content_type,
                              ok, seen.total, seen.sum);
      if (att->embedded != NULL)
        walk (att->embedded, depth + 1, out);
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  MhParseOptions opts = { .max_body = 64 * 1024 };
  MhMessage *msg;
  GBytes *bytes;
  GString *from_file, *from_memory;
  int fd;

  mh_message_init ();
  fd = memfd_create ("fuzz-message", MFD_CLOEXEC);
  if (fd < 0)
    return 0;
  if (size > 0 && write (fd, data, size) != (ssize_t) size)
    {
      close (fd);
      return 0;
    }
  from_file = g_string_new (NULL);
  from_memory = g_string_new (NULL);
  msg = mh_message_parse_fd (fd, 0, -1, &opts, NULL);
  g_assert (msg != NULL);
  walk (msg, 0, from_file);
  mh_message_free (msg);
  close (fd);

  bytes = g_bytes_new (data, size);
  msg = mh_message_parse_bytes (bytes, &opts);
  g_bytes_unref (bytes);
  walk (msg, 0, from_memory);
  mh_message_free (msg);
  if (strcmp (from_file->str, from_memory->str) != 0)
    {
      g_printerr ("from the file:\n%s\nfrom memory:\n%s\n", from_file->str,
                  from_memory->str);
      g_assert_not_reached ();
    }
  g_string_free (from_file, TRUE);
  g_string_free (from_memory, TRUE);

  {
    char *s = mh_charset_to_utf8 ((const char *) data, size, "shift_jis",
                                  NULL, NULL);
    g_assert (g_utf8_validate (s, -1, NULL));
    g_free (s);
    s = mh_html_to_text ((const char *) data, (gssize) size);
    g_assert (g_utf8_validate (s, -1, NULL));
    g_free (s);
    s = mh_html_meta_charset ((const char *) data, size);
    g_free (s);
  }
  {
    GPtrArray *members = mh_tnef_parse (data, size, NULL, NULL);

    if (members != NULL)
      g_ptr_array_unref (members);
  }
  return 0;
}
