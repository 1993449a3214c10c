/* fuzz-message.c - libFuzzer target for the message module.
 *
 * The input is one raw message on a memfd: it is parsed, every attachment
 * (and every embedded message's attachments) is streamed into a sink that
 * only counts, and the pure helpers (charset, html2text, TNEF) get the
 * same bytes.  Crashes, over-reads, leaks and hangs are the findings. */
#include "mailharvest/charset.h"
#include "mailharvest/html2text.h"
#include "mailharvest/message.h"
#include "mailharvest/tnef.h"

#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static gboolean
null_sink (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  *(gsize *) user_data += len;
  return TRUE;
}

static void
walk (MhMessage *msg, guint depth)
{
  g_assert (depth <= 32);
  g_assert (msg->references != NULL && msg->participants != NULL);
  if (msg->text != NULL)
    g_assert (g_utf8_validate (msg->text, -1, NULL));
  if (msg->html != NULL)
    g_assert (g_utf8_validate (msg->html, -1, NULL));
  if (msg->subject != NULL)
    g_assert (g_utf8_validate (msg->subject, -1, NULL));
  for (guint i = 0; i < msg->attachments->len; i++)
    {
      MhAttachment *att = g_ptr_array_index (msg->attachments, i);
      gsize total = 0;
      GError *error = NULL;

      g_assert (att->filename != NULL || att->fallback_name != NULL);
      if (!mh_attachment_write (msg, att, null_sink, &total, &error))
        g_clear_error (&error);
      if (att->embedded != NULL)
        walk (att->embedded, depth + 1);
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  MhParseOptions opts = { .max_body = 64 * 1024 };
  MhMessage *msg;
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
  msg = mh_message_parse_fd (fd, 0, -1, &opts, NULL);
  if (msg != NULL)
    {
      walk (msg, 0);
      mh_message_free (msg);
    }
  close (fd);

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
