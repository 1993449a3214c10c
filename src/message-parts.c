/* message-parts.c - bodies and attachments of a parsed message.
 *
 * Choices, as a mail client shows a message:
 * - multipart/alternative: the last usable text/plain and the last usable
 *   text/html (a nested multipart/related counts as its root).
 * - multipart/related: its root (the start parameter, else the first part).
 * - multipart/mixed and unknown multiparts: the first child that yields a
 *   body.  Later inline text parts are not appended to it: they may have
 *   other charsets or HTML twins, so they are kept as attachments with
 *   disposition "inline", and nothing is lost.
 * - multipart/signed: the signed content; the signature is an attachment.
 * - multipart/encrypted: no body; every part is an attachment.
 * - A text part with Content-Disposition: attachment or a file name is an
 *   attachment, never a body.
 * - Uuencoded blocks in a text/plain body are cut out of the text and
 *   become attachments, as mail clients that decode them show them.
 */
#include "message-private.h"
#include "mailharvest/charset.h"
#include "mailharvest/error.h"
#include "mailharvest/html2text.h"
#include "mailharvest/tnef.h"

#include <string.h>

typedef struct {
  MhMessage *msg;
  const MhParseCtx *ctx;
  GMimeObject *text_part;
  GMimeObject *html_part;
  GHashTable *cids; /* content ids the HTML body refers to */
  GHashTable *repaired; /* multipart without boundary -> reparsed one */
} Walk;

static char *
child_path (const char *path, int index)
{
  if (path[0] == '\0')
    return g_strdup_printf ("%d", index + 1);
  return g_strdup_printf ("%s.%d", path, index + 1);
}

static gboolean
is_type (GMimeObject *obj, const char *type, const char *subtype)
{
  GMimeContentType *ct = g_mime_object_get_content_type (obj);

  return ct != NULL && g_mime_content_type_is_type (ct, type, subtype);
}

static gboolean
usable_body (GMimeObject *obj, const MhParseCtx *ctx)
{
  g_autofree char *disp = mh_part_disposition (obj);
  g_autofree char *name = NULL;

  if (!GMIME_IS_PART (obj))
    return FALSE;
  if (disp != NULL && strcmp (disp, "attachment") == 0)
    return FALSE;
  name = mh_part_name (obj, ctx);
  return name == NULL;
}

/* The longest boundary line taken from a multipart's text when its
 * Content-Type has no boundary parameter. */
#define MAX_GUESSED_BOUNDARY 200

/* A multipart whose Content-Type lacks the boundary parameter has no parts
 * in GMime: its whole content lands in the prologue.  Mail clients guess
 * the boundary from the first "--" line; so does this, by parsing the
 * prologue again under a repaired header.  Returns @obj itself when there
 * is nothing to repair. */
static GMimeObject *
repaired (Walk *w, GMimeObject *obj)
{
  GMimeMultipart *mp = GMIME_MULTIPART (obj);
  const char *pro = g_mime_multipart_get_prologue (mp);
  const char *line;
  const char *eol;
  GMimeObject *fixed;

  if (g_mime_multipart_get_count (mp) > 0 || pro == NULL)
    return obj;
  if (w->repaired == NULL)
    w->repaired = g_hash_table_new_full (NULL, NULL, NULL, g_object_unref);
  fixed = g_hash_table_lookup (w->repaired, obj);
  if (fixed != NULL)
    return fixed;
  line = strncmp (pro, "--", 2) == 0 ? pro : strstr (pro, "\n--");
  if (line == NULL)
    return obj;
  if (*line == '\n')
    line++;
  eol = line + strcspn (line, "\r\n");
  if (eol - line <= 2 || eol - line > MAX_GUESSED_BOUNDARY)
    return obj;
  {
    g_autofree char *boundary = g_strndup (line + 2, (gsize) (eol - line - 2));
    g_autofree char *type = mh_part_mime_type (obj);
    g_autofree char *text = NULL;
    g_autoptr(GMimeStream) mem = NULL;
    g_autoptr(GMimeParser) parser = NULL;

    if (strchr (boundary, '"') != NULL || strchr (boundary, '\\') != NULL)
      return obj;
    text = g_strdup_printf ("Content-Type: %s; boundary=\"%s\"\n\n%s", type,
                            boundary, pro);
    mem = g_mime_stream_mem_new_with_buffer (text, strlen (text));
    parser = g_mime_parser_new_with_stream (mem);
    g_mime_parser_set_format (parser, GMIME_FORMAT_MESSAGE);
    fixed = g_mime_parser_construct_part (parser, w->ctx->gopts);
  }
  if (fixed == NULL || !GMIME_IS_MULTIPART (fixed)
      || g_mime_multipart_get_count (GMIME_MULTIPART (fixed)) == 0)
    {
      g_clear_object (&fixed);
      return obj;
    }
  g_hash_table_insert (w->repaired, obj, fixed);
  return fixed;
}

static void
choose_bodies (Walk *w, GMimeObject *obj, guint depth, GMimeObject **text,
               GMimeObject **html)
{
  if (depth > w->ctx->max_depth)
    return;
  if (GMIME_IS_MULTIPART (obj))
    {
      GMimeMultipart *mp = GMIME_MULTIPART (repaired (w, obj));
      int n = g_mime_multipart_get_count (mp);

      if (is_type (obj, "multipart", "alternative"))
        {
          for (int i = 0; i < n; i++)
            {
              GMimeObject *t = NULL, *h = NULL;

              choose_bodies (w, g_mime_multipart_get_part (mp, i), depth + 1,
                             &t, &h);
              if (t != NULL)
                *text = t;
              if (h != NULL)
                *html = h;
            }
        }
      else if (is_type (obj, "multipart", "related"))
        {
          const char *start =
            g_mime_object_get_content_type_parameter (obj, "start");
          GMimeObject *root = n > 0 ? g_mime_multipart_get_part (mp, 0)
                                    : NULL;
          g_autofree char *sid = start != NULL
                                   ? g_mime_utils_decode_message_id (start)
                                   : NULL;

          for (int i = 0; sid != NULL && i < n; i++)
            {
              GMimeObject *c = g_mime_multipart_get_part (mp, i);
              const char *cid = g_mime_object_get_content_id (c);

              if (cid != NULL && strcmp (cid, sid) == 0)
                root = c;
            }
          if (root != NULL)
            choose_bodies (w, root, depth + 1, text, html);
        }
      else if (is_type (obj, "multipart", "encrypted"))
        return;
      else
        {
          int last = is_type (obj, "multipart", "signed") ? MIN (n, 1) : n;

          for (int i = 0; i < last; i++)
            {
              GMimeObject *t = NULL, *h = NULL;

              choose_bodies (w, g_mime_multipart_get_part (mp, i), depth + 1,
                             &t, &h);
              if (t != NULL || h != NULL)
                {
                  *text = t;
                  *html = h;
                  return;
                }
            }
        }
      return;
    }
  if (!usable_body (obj, w->ctx))
    return;
  if (is_type (obj, "text", "plain"))
    *text = obj;
  else if (is_type (obj, "text", "html"))
    *html = obj;
}

static char *
read_body (Walk *w, GMimeObject *obj, const char *path, gboolean html,
           char **charset_out)
{
  gboolean cut = FALSE;
  /* A few bytes more than the limit, so that the cut below falls on a
   * character boundary rather than inside a multi-byte sequence. */
  g_autoptr(GByteArray) bytes =
    mh_part_read_decoded (w->msg, obj, path, w->ctx->max_body + 8, &cut);
  const char *declared =
    g_mime_object_get_content_type_parameter (obj, "charset");
  g_autofree char *meta = NULL;
  gboolean lossy = FALSE;
  char *text;

  if (html && (declared == NULL || *declared == '\0'))
    declared = meta = mh_html_meta_charset ((const char *) bytes->data,
                                            bytes->len);
  text = mh_charset_to_utf8 ((const char *) bytes->data, bytes->len,
                             declared, charset_out, &lossy);
  if (lossy && declared != NULL)
    {
      g_autofree char *label = mh_charset_clean_utf8 (declared,
                                                      strnlen (declared, 64));
      mh_message_warn (w->msg, "part %s: charset \"%s\" is unknown or does "
                       "not fit the text, read as %s", path, label,
                       *charset_out);
    }
  else if (lossy)
    mh_message_warn (w->msg, "part %s: 8-bit text without a charset, read "
                     "as %s", path, *charset_out);
  if (cut || strlen (text) > w->ctx->max_body)
    {
      gsize len = strlen (text);

      if (len > w->ctx->max_body)
        {
          const char *end =
            g_utf8_find_prev_char (text, text + w->ctx->max_body + 1);
          text[end != NULL ? (gsize) (end - text) : 0] = '\0';
        }
      mh_message_warn (w->msg, "part %s: body longer than %" G_GSIZE_FORMAT
                       " bytes was cut", path, w->ctx->max_body);
    }
  return text;
}

static MhAttachment *
attachment_new (const char *path, const char *content_type, MhOrigin origin)
{
  MhAttachment *att = g_new0 (MhAttachment, 1);

  att->part = g_strdup (path);
  att->content_type = g_strdup (content_type);
  att->origin = origin;
  return att;
}

static void
set_fallback_name (MhAttachment *att)
{
  if (att->filename == NULL)
    att->fallback_name =
      g_strdup_printf ("part-%s.%s", att->part,
                       mh_part_extension (att->content_type));
}

/* Decodes one uuencoded line into @out.  FALSE when it is not one. */
static gboolean
uudecode_line (const char *line, gsize len, GByteArray *out)
{
  guint n;
  guint8 quad[4];
  gsize i = 1;

  if (len == 0)
    return FALSE;
  for (gsize k = 0; k < len; k++)
    if (line[k] < 32 || line[k] > 96)
      return FALSE;
  n = ((guint) line[0] - 32) & 63;
  if ((n + 2) / 3 * 4 > len - 1)
    return FALSE;
  while (n > 0)
    {
      guint8 b[3];

      for (guint k = 0; k < 4; k++)
        quad[k] = (guint8) (((guint) line[i + k] - 32) & 63);
      b[0] = (guint8) (quad[0] << 2 | quad[1] >> 4);
      b[1] = (guint8) (quad[1] << 4 | quad[2] >> 2);
      b[2] = (guint8) (quad[2] << 6 | quad[3]);
      g_byte_array_append (out, b, MIN (n, 3u));
      n -= MIN (n, 3u);
      i += 4;
    }
  return TRUE;
}

static gboolean
uu_begin (const char *line, gsize len, char **name_out)
{
  gsize i = 6;
  gsize digits = 0;

  if (len < 8 || strncmp (line, "begin ", 6) != 0)
    return FALSE;
  while (i < len && line[i] >= '0' && line[i] <= '7')
    {
      i++;
      digits++;
    }
  if (digits < 3 || digits > 4 || i >= len || line[i] != ' ')
    return FALSE;
  while (i < len && line[i] == ' ')
    i++;
  if (i >= len)
    return FALSE;
  *name_out = mh_charset_clean_utf8 (line + i, MIN (len - i, 1024));
  return TRUE;
}

/* Takes the uuencoded blocks out of @text (in place) and adds them as
 * attachments after the body's position. */
static void
extract_uuencode (Walk *w, char *text, const char *path)
{
  GString *kept;
  const char *p = text;
  guint count = 0;

  if (strstr (text, "begin ") == NULL)
    return;
  kept = g_string_sized_new (strlen (text));
  while (*p != '\0')
    {
      const char *nl = strchr (p, '\n');
      gsize len = nl != NULL ? (gsize) (nl - p) : strlen (p);
      gsize tlen = len > 0 && p[len - 1] == '\r' ? len - 1 : len;
      const char *next = nl != NULL ? nl + 1 : p + len;
      g_autofree char *name = NULL;

      if (count < MH_MAX_UUENCODE && uu_begin (p, tlen, &name))
        {
          g_autoptr(GByteArray) data = g_byte_array_new ();
          const char *q = next;
          gboolean ended = FALSE;
          guint lines = 0;

          while (*q != '\0')
            {
              const char *qnl = strchr (q, '\n');
              gsize ql = qnl != NULL ? (gsize) (qnl - q) : strlen (q);
              gsize qt = ql > 0 && q[ql - 1] == '\r' ? ql - 1 : ql;
              const char *qnext = qnl != NULL ? qnl + 1 : q + ql;

              if (qt == 3 && strncmp (q, "end", 3) == 0)
                {
                  ended = TRUE;
                  q = qnext;
                  break;
                }
              if (!uudecode_line (q, qt, data))
                break;
              lines++;
              q = qnext;
            }
          if (lines > 0)
            {
              MhAttachment *att;

              count++;
              {
                g_autofree char *upath =
                  g_strdup_printf ("%s.u%u", path, count);
                att = attachment_new (upath, mh_part_type_for_name (name),
                                      MH_ORIGIN_UUENCODE);
              }
              att->filename = g_steal_pointer (&name);
              att->disposition = g_strdup ("attachment");
              att->priv_data = g_byte_array_free_to_bytes (
                g_steal_pointer (&data));
              g_ptr_array_add (w->msg->attachments, att);
              if (!ended)
                mh_message_warn (w->msg, "part %s: uuencoded block %u has "
                                 "no end line", path, count);
              p = q;
              continue;
            }
        }
      g_string_append_len (kept, p, (gssize) (next - p));
      p = next;
    }
  memcpy (text, kept->str, kept->len + 1);
  g_string_free (kept, TRUE);
}

static gboolean
is_tnef (const MhAttachment *att)
{
  return strcmp (att->content_type, "application/ms-tnef") == 0
         || strcmp (att->content_type, "application/vnd.ms-tnef") == 0
         || (att->filename != NULL
             && g_ascii_strcasecmp (att->filename, "winmail.dat") == 0);
}

static void
unpack_tnef (Walk *w, GMimeObject *obj, const char *path)
{
  gboolean cut = FALSE;
  g_autoptr(GByteArray) bytes =
    mh_part_read_decoded (w->msg, obj, path, MH_MAX_TNEF, &cut);
  g_autoptr(GPtrArray) members = NULL;
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;

  if (cut)
    {
      mh_message_warn (w->msg, "part %s: winmail.dat larger than %u bytes "
                       "is kept but not unpacked", path, MH_MAX_TNEF);
      return;
    }
  members = mh_tnef_parse (bytes->data, bytes->len, notes, &error);
  if (members == NULL)
    {
      mh_message_warn (w->msg, "part %s: %s", path, error->message);
      return;
    }
  for (guint i = 0; i < notes->len; i++)
    mh_message_warn (w->msg, "part %s: %s", path,
                     (char *) g_ptr_array_index (notes, i));
  for (guint i = 0; i < members->len; i++)
    {
      MhTnefMember *m = g_ptr_array_index (members, i);
      g_autofree char *tpath = g_strdup_printf ("%s.t%u", path, i + 1);
      MhAttachment *att = attachment_new (
        tpath, m->content_type != NULL && strchr (m->content_type, '/')
                 ? m->content_type : mh_part_type_for_name (m->name),
        MH_ORIGIN_TNEF);

      att->filename = g_strdup (m->name);
      att->disposition = g_strdup ("attachment");
      att->priv_data = g_bytes_ref (m->data);
      set_fallback_name (att);
      g_ptr_array_add (w->msg->attachments, att);
    }
}

static void
add_message_part (Walk *w, GMimeObject *obj, const char *path, guint depth)
{
  GMimeMessage *inner = g_mime_message_part_get_message (
    GMIME_MESSAGE_PART (obj));
  g_autofree char *type = mh_part_mime_type (obj);
  MhAttachment *att = attachment_new (path, type, MH_ORIGIN_MESSAGE);
  const char *cid = g_mime_object_get_content_id (obj);

  att->priv_object = g_object_ref (obj);
  att->disposition = mh_part_disposition (obj);
  att->content_id = cid != NULL ? mh_charset_clean_utf8 (cid, strlen (cid))
                                : NULL;
  att->filename = mh_part_name (obj, w->ctx);
  g_ptr_array_add (w->msg->attachments, att);
  if (inner == NULL)
    {
      att->fallback_name = g_strdup_printf ("part-%s.eml", path);
      return;
    }
  if (depth + 1 > w->ctx->max_depth)
    mh_message_warn (w->msg, "part %s: messages nested deeper than %u, "
                     "the inner message is kept but not read", path,
                     w->ctx->max_depth);
  else
    att->embedded = mh_message_from_gmime (inner, path, depth + 1, w->ctx);
  if (att->filename == NULL)
    {
      g_autofree char *subject = NULL;

      if (att->embedded != NULL)
        subject = g_strdup (att->embedded->subject);
      else
        {
          const char *s = g_mime_message_get_subject (inner);
          subject = s != NULL ? mh_charset_clean_utf8 (s, strnlen (s, 1024))
                              : NULL;
        }
      if (subject != NULL && *subject != '\0')
        att->filename = g_strconcat (subject, ".eml", NULL);
      else
        att->fallback_name = g_strdup_printf ("part-%s.eml", path);
    }
}

static void
add_leaf (Walk *w, GMimeObject *obj, const char *path)
{
  g_autofree char *type = mh_part_mime_type (obj);
  MhAttachment *att = attachment_new (path, type, MH_ORIGIN_MIME);
  const char *cid = g_mime_object_get_content_id (obj);

  att->priv_object = g_object_ref (obj);
  att->disposition = mh_part_disposition (obj);
  att->content_id = cid != NULL ? mh_charset_clean_utf8 (cid, strlen (cid))
                                : NULL;
  att->filename = mh_part_name (obj, w->ctx);
  set_fallback_name (att);
  g_ptr_array_add (w->msg->attachments, att);
  if (is_tnef (att) && GMIME_IS_PART (obj))
    unpack_tnef (w, obj, path);
}

static void
walk (Walk *w, GMimeObject *obj, const char *path, guint depth)
{
  if (GMIME_IS_MULTIPART (obj))
    {
      GMimeMultipart *mp = GMIME_MULTIPART (obj);
      int n;

      if (depth >= w->ctx->max_depth)
        {
          mh_message_warn (w->msg, "part %s: multiparts nested deeper than "
                           "%u, the parts inside were skipped",
                           path[0] != '\0' ? path : "0", w->ctx->max_depth);
          return;
        }
      if (repaired (w, obj) != obj)
        {
          mh_message_warn (w->msg, "part %s: multipart without a boundary "
                           "parameter, read with the boundary of its first "
                           "line", path[0] != '\0' ? path : "0");
          mp = GMIME_MULTIPART (repaired (w, obj));
        }
      n = g_mime_multipart_get_count (mp);
      for (int i = 0; i < n; i++)
        {
          g_autofree char *cpath = child_path (path, i);
          walk (w, g_mime_multipart_get_part (mp, i), cpath, depth + 1);
        }
      return;
    }
  if (GMIME_IS_MESSAGE_PART (obj))
    {
      add_message_part (w, obj, path, depth);
      return;
    }
  if (obj == w->text_part && w->msg->text == NULL)
    {
      w->msg->text = read_body (w, obj, path, FALSE, &w->msg->text_charset);
      extract_uuencode (w, w->msg->text, path);
      return;
    }
  if (obj == w->html_part && w->msg->html == NULL)
    {
      w->msg->html = read_body (w, obj, path, TRUE, &w->msg->html_charset);
      return;
    }
  add_leaf (w, obj, path);
}

#define MAX_CIDS 1000

static void
collect_cids (Walk *w, const char *html)
{
  for (const char *p = html; *p != '\0'; p++)
    {
      const char *q;
      GString *id;

      if (g_ascii_strncasecmp (p, "cid:", 4) != 0)
        continue;
      q = p + 4;
      while (*q != '\0' && strchr ("\"'<> \t\r\n)", *q) == NULL)
        q++;
      id = g_string_new (NULL);
      {
        g_autofree char *raw = g_strndup (p + 4, (gsize) (q - p - 4));
        mh_percent_decode (id, raw);
      }
      if (id->len > 0 && g_hash_table_size (w->cids) < MAX_CIDS)
        g_hash_table_add (w->cids, g_string_free (id, FALSE));
      else
        g_string_free (id, TRUE);
      p = q - 1;
    }
}

void
mh_message_collect_parts (MhMessage *msg, GMimeMessage *gmsg,
                          const char *prefix, guint depth,
                          const MhParseCtx *ctx)
{
  GMimeObject *root = g_mime_message_get_mime_part (gmsg);
  Walk w = { msg, ctx, NULL, NULL, NULL, NULL };

  if (root == NULL)
    return;
  choose_bodies (&w, root, depth, &w.text_part, &w.html_part);
  if (GMIME_IS_MULTIPART (root))
    walk (&w, root, prefix, depth);
  else
    {
      g_autofree char *path = child_path (prefix, 0);
      walk (&w, root, path, depth);
    }

  g_clear_pointer (&w.repaired, g_hash_table_unref);
  if (msg->html != NULL)
    {
      w.cids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      collect_cids (&w, msg->html);
      for (guint i = 0; i < msg->attachments->len; i++)
        {
          MhAttachment *att = g_ptr_array_index (msg->attachments, i);

          if (att->content_id != NULL
              && g_hash_table_contains (w.cids, att->content_id))
            att->referenced = TRUE;
        }
      g_hash_table_unref (w.cids);
      if (msg->text == NULL)
        {
          msg->text = mh_html_to_text (msg->html, -1);
          msg->text_derived = TRUE;
          msg->text_charset = g_strdup (msg->html_charset);
        }
    }
}
