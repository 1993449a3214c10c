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
} Walk;

static const struct {
  const char *type;
  const char *ext;
} extensions[] = {
  { "application/pdf", "pdf" },
  { "application/zip", "zip" },
  { "application/x-zip-compressed", "zip" },
  { "application/gzip", "gz" },
  { "application/x-gzip", "gz" },
  { "application/x-tar", "tar" },
  { "application/x-7z-compressed", "7z" },
  { "application/x-rar-compressed", "rar" },
  { "application/vnd.rar", "rar" },
  { "application/json", "json" },
  { "application/xml", "xml" },
  { "application/rtf", "rtf" },
  { "application/msword", "doc" },
  { "application/vnd.ms-excel", "xls" },
  { "application/vnd.ms-powerpoint", "ppt" },
  { "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "docx" },
  { "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xlsx" },
  { "application/vnd.openxmlformats-officedocument.presentationml."
    "presentation", "pptx" },
  { "application/vnd.oasis.opendocument.text", "odt" },
  { "application/vnd.oasis.opendocument.spreadsheet", "ods" },
  { "application/ms-tnef", "dat" },
  { "application/vnd.ms-tnef", "dat" },
  { "application/pgp-signature", "asc" },
  { "application/pgp-encrypted", "pgp" },
  { "application/pgp-keys", "asc" },
  { "application/pkcs7-signature", "p7s" },
  { "application/x-pkcs7-signature", "p7s" },
  { "application/pkcs7-mime", "p7m" },
  { "application/x-pkcs7-mime", "p7m" },
  { "application/ics", "ics" },
  { "application/octet-stream", "bin" },
  { "image/jpeg", "jpg" },
  { "image/jpg", "jpg" },
  { "image/pjpeg", "jpg" },
  { "image/png", "png" },
  { "image/gif", "gif" },
  { "image/bmp", "bmp" },
  { "image/webp", "webp" },
  { "image/tiff", "tif" },
  { "image/svg+xml", "svg" },
  { "image/heic", "heic" },
  { "audio/mpeg", "mp3" },
  { "audio/wav", "wav" },
  { "audio/ogg", "ogg" },
  { "video/mp4", "mp4" },
  { "video/quicktime", "mov" },
  { "text/plain", "txt" },
  { "text/html", "html" },
  { "text/calendar", "ics" },
  { "text/csv", "csv" },
  { "text/vcard", "vcf" },
  { "text/x-vcard", "vcf" },
  { "text/xml", "xml" },
  { "text/rfc822-headers", "txt" },
  { "message/rfc822", "eml" },
  { "message/global", "eml" },
  { "message/delivery-status", "txt" },
  { "message/disposition-notification", "txt" },
};

static const char *
extension_for (const char *content_type)
{
  for (gsize i = 0; i < G_N_ELEMENTS (extensions); i++)
    if (strcmp (content_type, extensions[i].type) == 0)
      return extensions[i].ext;
  if (g_str_has_prefix (content_type, "text/"))
    return "txt";
  return "bin";
}

static const char *
type_for_extension (const char *name)
{
  const char *dot = name != NULL ? strrchr (name, '.') : NULL;

  if (dot == NULL || dot[1] == '\0')
    return "application/octet-stream";
  for (gsize i = 0; i < G_N_ELEMENTS (extensions); i++)
    if (g_ascii_strcasecmp (dot + 1, extensions[i].ext) == 0
        && strcmp (extensions[i].ext, "bin") != 0)
      return extensions[i].type;
  return "application/octet-stream";
}

static char *
child_path (const char *path, int index)
{
  if (path[0] == '\0')
    return g_strdup_printf ("%d", index + 1);
  return g_strdup_printf ("%s.%d", path, index + 1);
}

static char *
mime_type_of (GMimeObject *obj)
{
  GMimeContentType *ct = g_mime_object_get_content_type (obj);
  g_autofree char *t = ct != NULL ? g_mime_content_type_get_mime_type (ct)
                                  : NULL;

  if (t == NULL)
    return g_strdup ("application/octet-stream");
  return g_ascii_strdown (t, -1);
}

static gboolean
is_type (GMimeObject *obj, const char *type, const char *subtype)
{
  GMimeContentType *ct = g_mime_object_get_content_type (obj);

  return ct != NULL && g_mime_content_type_is_type (ct, type, subtype);
}

/* A parameter value made readable: RFC 2047 words inside it decoded (not
 * standard, but what many mailers send) and 8-bit bytes detected. */
static char *
clean_name (const char *value, const MhParseCtx *ctx)
{
  g_autofree char *utf8 = NULL;
  g_autofree char *dec = NULL;
  char *out;

  if (value == NULL || *value == '\0')
    return NULL;
  utf8 = mh_charset_to_utf8 (value, strnlen (value, 4096), NULL, NULL, NULL);
  if (strstr (utf8, "=?") != NULL)
    dec = g_mime_utils_header_decode_text (ctx->gopts, utf8);
  out = dec != NULL ? mh_charset_clean_utf8 (dec, strlen (dec))
                    : g_steal_pointer (&utf8);
  if (*out == '\0')
    g_clear_pointer (&out, g_free);
  return out;
}

static char *name_from_raw_2231 (GMimeObject *obj, const char *header,
                                 const char *param);

static char *
part_name (GMimeObject *obj, const MhParseCtx *ctx)
{
  char *name = name_from_raw_2231 (obj, "Content-Disposition", "filename");

  if (name == NULL)
    name = clean_name (
      g_mime_object_get_content_disposition_parameter (obj, "filename"), ctx);
  if (name == NULL)
    name = name_from_raw_2231 (obj, "Content-Type", "name");
  if (name == NULL)
    name = clean_name (g_mime_object_get_content_type_parameter (obj, "name"),
                       ctx);
  return name;
}

static char *
disposition_of (GMimeObject *obj)
{
  const char *d = g_mime_object_get_disposition (obj);

  if (d == NULL || *d == '\0')
    return NULL;
  if (g_ascii_strcasecmp (d, "inline") == 0)
    return g_strdup ("inline");
  /* RFC 2183 2.8: an unknown disposition is treated as attachment. */
  return g_strdup ("attachment");
}

static gboolean
usable_body (GMimeObject *obj, const MhParseCtx *ctx)
{
  g_autofree char *disp = disposition_of (obj);
  g_autofree char *name = NULL;

  if (!GMIME_IS_PART (obj))
    return FALSE;
  if (disp != NULL && strcmp (disp, "attachment") == 0)
    return FALSE;
  name = part_name (obj, ctx);
  return name == NULL;
}

static void
choose_bodies (Walk *w, GMimeObject *obj, guint depth, GMimeObject **text,
               GMimeObject **html)
{
  if (depth > w->ctx->max_depth)
    return;
  if (GMIME_IS_MULTIPART (obj))
    {
      GMimeMultipart *mp = GMIME_MULTIPART (obj);
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

#define MAX_2231_SEGMENTS 100

typedef struct {
  char *value;
  gboolean encoded;
} Segment;

/* Splits @text at ';' outside quotes into name=value pairs and hands the
 * ones named @param, @param*, @param*N or @param*N* to @segs. */
static gboolean
collect_2231 (const char *text, const char *param, Segment *segs,
              Segment *ext)
{
  gsize plen = strlen (param);
  const char *p = strchr (text, ';');
  gboolean found = FALSE;

  while (p != NULL && *p != '\0')
    {
      const char *name;
      gsize nlen;
      GString *val;

      p++;
      while (*p == ' ' || *p == '\t')
        p++;
      name = p;
      while (*p != '\0' && *p != '=' && *p != ';')
        p++;
      nlen = (gsize) (p - name);
      while (nlen > 0 && (name[nlen - 1] == ' ' || name[nlen - 1] == '\t'))
        nlen--;
      if (*p != '=')
        continue;
      p++;
      while (*p == ' ' || *p == '\t')
        p++;
      val = g_string_new (NULL);
      if (*p == '"')
        {
          p++;
          while (*p != '\0' && *p != '"')
            {
              if (*p == '\\' && p[1] != '\0')
                p++;
              g_string_append_c (val, *p++);
            }
          if (*p == '"')
            p++;
          while (*p != '\0' && *p != ';')
            p++;
        }
      else
        {
          while (*p != '\0' && *p != ';')
            g_string_append_c (val, *p++);
          while (val->len > 0 && (val->str[val->len - 1] == ' '
                                  || val->str[val->len - 1] == '\t'))
            g_string_truncate (val, val->len - 1);
        }
      if (nlen > plen && g_ascii_strncasecmp (name, param, plen) == 0
          && name[plen] == '*')
        {
          const char *rest = name + plen + 1;
          gsize rlen = nlen - plen - 1;

          if (rlen == 0)
            {
              g_free (ext->value);
              ext->value = g_string_free (val, FALSE);
              ext->encoded = TRUE;
              found = TRUE;
              continue;
            }
          {
            guint idx = 0;
            gsize k = 0;

            while (k < rlen && g_ascii_isdigit (rest[k]) && idx < 1000)
              idx = idx * 10 + (guint) g_ascii_digit_value (rest[k++]);
            if (k > 0 && idx < MAX_2231_SEGMENTS
                && (k == rlen || (k + 1 == rlen && rest[k] == '*')))
              {
                g_free (segs[idx].value);
                segs[idx].value = g_string_free (val, FALSE);
                segs[idx].encoded = k + 1 == rlen;
                found = TRUE;
                continue;
              }
          }
        }
      g_string_free (val, TRUE);
    }
  return found;
}

static void
percent_decode (GString *out, const char *s)
{
  for (; *s != '\0'; s++)
    {
      if (*s == '%' && g_ascii_isxdigit (s[1]) && g_ascii_isxdigit (s[2]))
        {
          g_string_append_c (out, (char) (g_ascii_xdigit_value (s[1]) * 16
                                          + g_ascii_xdigit_value (s[2])));
          s += 2;
        }
      else
        g_string_append_c (out, *s);
    }
}

/* RFC 2231 parameters read from the raw header.  GMime joins continuations
 * but, when they arrive out of order, keeps the charset'language' prefix
 * in the name; this reader sorts the segments first.  Returns NULL when
 * the header has no extended parameter of that name (GMime's value is
 * then used). */
static char *
name_from_raw_2231 (GMimeObject *obj, const char *header, const char *param)
{
  GMimeHeaderList *list = g_mime_object_get_header_list (obj);
  GMimeHeader *h = g_mime_header_list_get_header (list, header);
  const char *raw = h != NULL ? g_mime_header_get_raw_value (h) : NULL;
  g_autofree char *text = NULL;
  Segment segs[MAX_2231_SEGMENTS] = { { 0 } };
  Segment ext = { 0 };
  g_autofree char *charset = NULL;
  g_autoptr(GString) bytes = g_string_new (NULL);
  char *out = NULL;

  if (raw == NULL || strnlen (raw, 65536) == 65536)
    return NULL;
  text = g_mime_utils_header_unfold (raw);
  if (collect_2231 (text, param, segs, &ext))
    {
      Segment *first = ext.value != NULL ? &ext : &segs[0];

      for (guint i = 0; i < MAX_2231_SEGMENTS; i++)
        {
          Segment *s = ext.value != NULL ? (i == 0 ? &ext : NULL) : &segs[i];
          const char *v;

          if (s == NULL || s->value == NULL)
            continue;
          v = s->value;
          if (s == first && s->encoded)
            {
              const char *q1 = strchr (v, '\'');
              const char *q2 = q1 != NULL ? strchr (q1 + 1, '\'') : NULL;

              if (q2 != NULL)
                {
                  charset = g_strndup (v, (gsize) (q1 - v));
                  v = q2 + 1;
                }
            }
          if (s->encoded)
            percent_decode (bytes, v);
          else
            g_string_append (bytes, v);
        }
      out = mh_charset_to_utf8 (bytes->str, bytes->len,
                                charset != NULL && *charset != '\0'
                                  ? charset : NULL,
                                NULL, NULL);
      if (*out == '\0')
        g_clear_pointer (&out, g_free);
    }
  for (guint i = 0; i < MAX_2231_SEGMENTS; i++)
    g_free (segs[i].value);
  g_free (ext.value);
  return out;
}

typedef struct {
  gsize alphabet; /* base64 alphabet characters seen */
  gsize invalid;  /* bytes that are neither alphabet, padding nor space */
  gboolean padded;
  gboolean after_pad; /* alphabet characters after the padding */
} B64Check;

static void
b64_check (B64Check *c, const char *buf, gsize len)
{
  for (gsize i = 0; i < len; i++)
    {
      guchar b = (guchar) buf[i];

      if (g_ascii_isalnum (b) || b == '+' || b == '/')
        {
          c->alphabet++;
          if (c->padded)
            c->after_pad = TRUE;
        }
      else if (b == '=')
        c->padded = TRUE;
      else if (b != '\r' && b != '\n' && b != ' ' && b != '\t')
        c->invalid++;
    }
}

/* Streams the decoded content of @part to @sink in MH_CHUNK pieces. */
static gboolean
decode_part (MhMessage *msg, GMimeObject *obj, const char *path,
             MhSinkFunc sink, gpointer user_data, GError **error)
{
  GMimeDataWrapper *w = g_mime_part_get_content (GMIME_PART (obj));
  GMimeStream *src;
  GMimeContentEncoding enc;
  g_autoptr(GMimeFilter) filter = NULL;
  g_autofree char *buf = NULL;
  B64Check chk = { 0 };

  if (w == NULL || (src = g_mime_data_wrapper_get_stream (w)) == NULL)
    return TRUE;
  enc = g_mime_data_wrapper_get_encoding (w);
  if (enc == GMIME_CONTENT_ENCODING_BASE64
      || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE
      || enc == GMIME_CONTENT_ENCODING_UUENCODE)
    filter = g_mime_filter_basic_new (enc, FALSE);
  if (g_mime_stream_reset (src) < 0)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO,
                   "cannot read part %s of the message", path);
      return FALSE;
    }
  buf = g_malloc (MH_CHUNK);
  for (;;)
    {
      ssize_t n = g_mime_stream_read (src, buf, MH_CHUNK);
      char *out = buf;
      size_t outlen = n > 0 ? (size_t) n : 0;
      size_t outpre = 0;

      if (n < 0)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_IO,
                       "cannot read part %s of the message", path);
          return FALSE;
        }
      if (n == 0)
        break;
      if (enc == GMIME_CONTENT_ENCODING_BASE64)
        b64_check (&chk, buf, (gsize) n);
      if (filter != NULL)
        g_mime_filter_filter (filter, buf, (size_t) n, 0, &out, &outlen,
                              &outpre);
      if (outlen > 0 && !sink ((const guint8 *) out, outlen, user_data,
                               error))
        return FALSE;
    }
  if (filter != NULL)
    {
      char *out = NULL;
      size_t outlen = 0, outpre = 0;

      g_mime_filter_complete (filter, buf, 0, 0, &out, &outlen, &outpre);
      if (outlen > 0 && !sink ((const guint8 *) out, outlen, user_data,
                               error))
        return FALSE;
    }
  if (chk.invalid > 0)
    mh_message_warn (msg, "part %s: %" G_GSIZE_FORMAT " bytes that are "
                     "not base64 were skipped", path, chk.invalid);
  if (chk.alphabet % 4 == 1 || (chk.alphabet % 4 != 0 && !chk.padded))
    mh_message_warn (msg, "part %s: base64 content is truncated", path);
  if (chk.after_pad)
    mh_message_warn (msg, "part %s: base64 content continues after its "
                     "padding", path);
  return TRUE;
}

typedef struct {
  GByteArray *bytes;
  gsize limit;
  gboolean cut;
} Collect;

static gboolean
collect_sink (const guint8 *data, gsize len, gpointer user_data,
              GError **error)
{
  Collect *c = user_data;

  if (c->bytes->len + len > c->limit)
    {
      g_byte_array_append (c->bytes, data, (guint) (c->limit - c->bytes->len));
      c->cut = TRUE;
      g_set_error_literal (error, MH_ERROR, MH_ERROR_LIMIT, "limit");
      return FALSE;
    }
  g_byte_array_append (c->bytes, data, (guint) len);
  return TRUE;
}

/* The decoded bytes of @obj, at most @limit of them. */
static GByteArray *
read_decoded (MhMessage *msg, GMimeObject *obj, const char *path,
              gsize limit, gboolean *cut_out)
{
  Collect c = { g_byte_array_new (), limit, FALSE };
  g_autoptr(GError) error = NULL;

  if (!decode_part (msg, obj, path, collect_sink, &c, &error) && !c.cut)
    mh_message_warn (msg, "part %s: %s", path, error->message);
  *cut_out = c.cut;
  return c.bytes;
}

static char *
read_body (Walk *w, GMimeObject *obj, const char *path, gboolean html,
           char **charset_out)
{
  gboolean cut = FALSE;
  g_autoptr(GByteArray) bytes =
    read_decoded (w->msg, obj, path, w->ctx->max_body, &cut);
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
          const char *end = g_utf8_find_prev_char (text,
                                                   text + w->ctx->max_body + 1);
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
    att->fallback_name = g_strdup_printf ("part-%s.%s", att->part,
                                          extension_for (att->content_type));
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
                att = attachment_new (upath, type_for_extension (name),
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
    read_decoded (w->msg, obj, path, MH_MAX_TNEF, &cut);
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
                 ? m->content_type : type_for_extension (m->name),
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
  g_autofree char *type = mime_type_of (obj);
  MhAttachment *att = attachment_new (path, type, MH_ORIGIN_MESSAGE);
  const char *cid = g_mime_object_get_content_id (obj);

  att->priv_object = g_object_ref (obj);
  att->disposition = disposition_of (obj);
  att->content_id = cid != NULL ? mh_charset_clean_utf8 (cid, strlen (cid))
                                : NULL;
  att->filename = part_name (obj, w->ctx);
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
  g_autofree char *type = mime_type_of (obj);
  MhAttachment *att = attachment_new (path, type, MH_ORIGIN_MIME);
  const char *cid = g_mime_object_get_content_id (obj);

  att->priv_object = g_object_ref (obj);
  att->disposition = disposition_of (obj);
  att->content_id = cid != NULL ? mh_charset_clean_utf8 (cid, strlen (cid))
                                : NULL;
  att->filename = part_name (obj, w->ctx);
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
      int n = g_mime_multipart_get_count (mp);

      if (depth >= w->ctx->max_depth)
        {
          mh_message_warn (w->msg, "part %s: multiparts nested deeper than "
                           "%u, the parts inside were skipped",
                           path[0] != '\0' ? path : "0", w->ctx->max_depth);
          return;
        }
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
        percent_decode (id, raw);
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
  Walk w = { msg, ctx, NULL, NULL, NULL };

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

/* A GMime stream that hands what is written to an MhSinkFunc, so that an
 * embedded message is serialised without a copy in memory. */
typedef struct {
  GMimeStream parent;
  MhSinkFunc sink;
  gpointer user_data;
  GError *error;
} SinkStream;

typedef struct {
  GMimeStreamClass parent_class;
} SinkStreamClass;

GType sink_stream_get_type (void);
G_DEFINE_TYPE (SinkStream, sink_stream, GMIME_TYPE_STREAM)

static ssize_t
sink_stream_write (GMimeStream *stream, const char *buf, size_t len)
{
  SinkStream *s = (SinkStream *) stream;

  if (s->error != NULL)
    return -1;
  if (len > 0
      && !s->sink ((const guint8 *) buf, len, s->user_data, &s->error))
    {
      if (s->error == NULL)
        g_set_error_literal (&s->error, MH_ERROR, MH_ERROR_IO,
                             "the sink refused the data");
      return -1;
    }
  return (ssize_t) len;
}

static ssize_t
sink_stream_read (GMimeStream *stream, char *buf, size_t len)
{
  return -1;
}

static int
sink_stream_flush (GMimeStream *stream)
{
  return 0;
}

static int
sink_stream_close (GMimeStream *stream)
{
  return 0;
}

static gboolean
sink_stream_eos (GMimeStream *stream)
{
  return TRUE;
}

static int
sink_stream_reset (GMimeStream *stream)
{
  return 0;
}

static gint64
sink_stream_seek (GMimeStream *stream, gint64 offset,
                  GMimeSeekWhence whence)
{
  return -1;
}

static gint64
sink_stream_tell (GMimeStream *stream)
{
  return -1;
}

static gint64
sink_stream_length (GMimeStream *stream)
{
  return -1;
}

static GMimeStream *
sink_stream_substream (GMimeStream *stream, gint64 start, gint64 end)
{
  return NULL;
}

static void
sink_stream_finalize (GObject *object)
{
  SinkStream *s = (SinkStream *) object;

  g_clear_error (&s->error);
  G_OBJECT_CLASS (sink_stream_parent_class)->finalize (object);
}

static void
sink_stream_class_init (SinkStreamClass *klass)
{
  GMimeStreamClass *sc = GMIME_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = sink_stream_finalize;
  sc->read = sink_stream_read;
  sc->write = sink_stream_write;
  sc->flush = sink_stream_flush;
  sc->close = sink_stream_close;
  sc->eos = sink_stream_eos;
  sc->reset = sink_stream_reset;
  sc->seek = sink_stream_seek;
  sc->tell = sink_stream_tell;
  sc->length = sink_stream_length;
  sc->substream = sink_stream_substream;
}

static void
sink_stream_init (SinkStream *s)
{
}

gboolean
mh_attachment_write (MhMessage *msg, const MhAttachment *att,
                     MhSinkFunc sink, gpointer user_data, GError **error)
{
  g_return_val_if_fail (msg != NULL && att != NULL && sink != NULL, FALSE);

  if (att->priv_data != NULL)
    {
      gsize len = 0;
      const guint8 *data = g_bytes_get_data (att->priv_data, &len);

      for (gsize off = 0; off < len; off += MH_CHUNK)
        if (!sink (data + off, MIN ((gsize) MH_CHUNK, len - off), user_data,
                   error))
          return FALSE;
      return TRUE;
    }
  if (att->priv_object == NULL)
    return TRUE;
  if (GMIME_IS_MESSAGE_PART (att->priv_object))
    {
      GMimeMessage *inner = g_mime_message_part_get_message (
        GMIME_MESSAGE_PART (att->priv_object));
      g_autoptr(GMimeStream) out = NULL;
      SinkStream *s;

      if (inner == NULL)
        return TRUE;
      out = g_object_new (sink_stream_get_type (), NULL);
      g_mime_stream_construct (out, 0, -1);
      s = (SinkStream *) out;
      s->sink = sink;
      s->user_data = user_data;
      if (g_mime_object_write_to_stream (GMIME_OBJECT (inner), NULL, out) < 0
          || s->error != NULL)
        {
          if (s->error != NULL)
            g_propagate_error (error, g_steal_pointer (&s->error));
          else
            g_set_error (error, MH_ERROR, MH_ERROR_IO,
                         "cannot write part %s", att->part);
          return FALSE;
        }
      return TRUE;
    }
  if (GMIME_IS_PART (att->priv_object))
    return decode_part (msg, att->priv_object, att->part, sink, user_data,
                        error);
  return TRUE;
}
