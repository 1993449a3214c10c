/* message-names.c - names, types and dispositions of MIME parts.
 *
 * Attachment names arrive as RFC 2231 parameters (possibly continued, out
 * of order, with a charset), as RFC 2047 encoded words inside quoted
 * parameters (not standard, but common), or as raw 8-bit bytes.  All of
 * them end up as UTF-8 here, as the sender meant them: making them safe
 * for a file system is the writer's job.
 */
#include "message-private.h"
#include "mailharvest/charset.h"

#include <string.h>

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

const char *
mh_part_extension (const char *content_type)
{
  for (gsize i = 0; i < G_N_ELEMENTS (extensions); i++)
    if (strcmp (content_type, extensions[i].type) == 0)
      return extensions[i].ext;
  if (g_str_has_prefix (content_type, "text/"))
    return "txt";
  return "bin";
}

const char *
mh_part_type_for_name (const char *name)
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

char *
mh_part_mime_type (GMimeObject *obj)
{
  GMimeContentType *ct = g_mime_object_get_content_type (obj);
  g_autofree char *t = ct != NULL ? g_mime_content_type_get_mime_type (ct)
                                  : NULL;

  if (t == NULL)
    return g_strdup ("application/octet-stream");
  return g_ascii_strdown (t, -1);
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

char *
mh_part_name (GMimeObject *obj, const MhParseCtx *ctx)
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

char *
mh_part_disposition (GMimeObject *obj)
{
  const char *d = g_mime_object_get_disposition (obj);

  if (d == NULL || *d == '\0')
    return NULL;
  if (g_ascii_strcasecmp (d, "inline") == 0)
    return g_strdup ("inline");
  /* RFC 2183 2.8: an unknown disposition is treated as attachment. */
  return g_strdup ("attachment");
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

void
mh_percent_decode (GString *out, const char *s)
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
            mh_percent_decode (bytes, v);
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
