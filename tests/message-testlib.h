/* message-testlib.h - helpers shared by test-message.c and
 * test-message-hostile.c: parse a fixture, read an attachment's decoded
 * content, and check that every string of a message is sane. */
#pragma once

#include "mailharvest/message.h"

#include <string.h>
#include <unistd.h>

static inline MhMessage *
parse (const char *name)
{
  g_autofree char *path =
    g_test_build_filename (G_TEST_DIST, "data", "mime", "message", name, NULL);
  g_autoptr(GError) error = NULL;
  MhMessage *msg = mh_message_parse_file (path, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (msg);
  return msg;
}

static inline gboolean
bytes_sink (const guint8 *data, gsize len, gpointer user_data,
            GError **error)
{
  g_byte_array_append (user_data, data, (guint) len);
  return TRUE;
}

/* The decoded content of @att, as a NUL-terminated string (for asserts). */
static inline GByteArray *
content (MhMessage *msg, const MhAttachment *att)
{
  GByteArray *b = g_byte_array_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (mh_attachment_write (msg, att, bytes_sink, b, &error));
  g_assert_no_error (error);
  return b;
}

static inline char *
content_sha256 (MhMessage *msg, const MhAttachment *att)
{
  g_autoptr(GByteArray) b = content (msg, att);

  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, b->data, b->len);
}

static inline void
assert_content (MhMessage *msg, const MhAttachment *att, const char *want)
{
  g_autoptr(GByteArray) b = content (msg, att);

  g_assert_cmpmem (b->data, b->len, want, strlen (want));
}

static inline MhAttachment *
att_at (MhMessage *msg, guint i)
{
  g_assert_cmpuint (i, <, msg->attachments->len);
  return g_ptr_array_index (msg->attachments, i);
}

static inline gboolean
has_warning (MhMessage *msg, const char *pattern)
{
  for (guint i = 0; i < msg->warnings->len; i++)
    if (g_pattern_match_simple (pattern,
                                g_ptr_array_index (msg->warnings, i)))
      return TRUE;
  return FALSE;
}

static inline void
assert_clean (const char *s)
{
  if (s == NULL)
    return;
  g_assert_true (g_utf8_validate (s, -1, NULL));
}

/* Every string of @msg and its embedded messages is valid UTF-8, and every
 * attachment can be written. */
static inline void
assert_sane (MhMessage *msg)
{
  assert_clean (msg->subject);
  assert_clean (msg->from);
  assert_clean (msg->to);
  assert_clean (msg->cc);
  assert_clean (msg->text);
  assert_clean (msg->html);
  assert_clean (msg->message_id);
  for (guint i = 0; i < msg->references->len; i++)
    assert_clean (g_ptr_array_index (msg->references, i));
  for (guint i = 0; i < msg->warnings->len; i++)
    assert_clean (g_ptr_array_index (msg->warnings, i));
  for (guint i = 0; i < msg->attachments->len; i++)
    {
      MhAttachment *att = att_at (msg, i);
      /* Every attachment can be written out, whatever the damage. */
      g_autoptr(GByteArray) b = content (msg, att);

      g_assert_nonnull (b);
      assert_clean (att->filename);
      g_assert_true (att->filename != NULL || att->fallback_name != NULL);
      g_assert_nonnull (att->content_type);
      if (att->embedded != NULL)
        assert_sane (att->embedded);
    }
}

/* A temporary file holding @data (transfer full: the path). */
static inline char *
write_temp (const char *data, gsize len)
{
  g_autoptr(GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("mh-message-XXXXXX", &path, &error);

  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, data, (gssize) len, &error));
  return path;
}
