/* message.c - one raw message into an MhMessage: headers, ids, dates,
 * addresses and the parser's warnings.  Bodies and attachments are in
 * message-parts.c. */
#include "message-private.h"
#include "mailharvest/charset.h"
#include "mailharvest/error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

/* A header value longer than this is cut before it is decoded. */
#define MAX_HEADER_VALUE (64 * 1024)
/* Ids longer than RFC 5322's line limit are junk. */
#define MAX_ID 998
#define MAX_REFERENCES 500
#define DEFAULT_MAX_DEPTH 16
#define DEFAULT_MAX_BODY (32u * 1024u * 1024u)

void
mh_message_init (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      g_mime_init ();
      mh_charset_preload ();
      g_once_init_leave (&done, 1);
    }
}

void
mh_message_warn (MhMessage *msg, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *text = NULL;

  if (msg->warnings->len > MH_MAX_WARNINGS)
    return;
  if (msg->warnings->len == MH_MAX_WARNINGS)
    {
      g_ptr_array_add (msg->warnings,
                       g_strdup ("too many warnings, the rest were dropped"));
      return;
    }
  va_start (ap, fmt);
  text = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  for (guint i = 0; i < msg->warnings->len; i++)
    if (strcmp (g_ptr_array_index (msg->warnings, i), text) == 0)
      return;
  g_ptr_array_add (msg->warnings, g_steal_pointer (&text));
}

static const char *
warning_kind (GMimeParserWarning code)
{
  switch (code)
    {
    case GMIME_WARN_DUPLICATED_HEADER: return "duplicated header";
    case GMIME_WARN_DUPLICATED_PARAMETER: return "duplicated parameter";
    case GMIME_WARN_UNENCODED_8BIT_HEADER: return "unencoded 8-bit header";
    case GMIME_WARN_INVALID_CONTENT_TYPE: return "invalid Content-Type";
    case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
      return "invalid RFC 2047 header value";
    case GMIME_WARN_MALFORMED_MULTIPART: return "malformed multipart";
    case GMIME_WARN_TRUNCATED_MESSAGE: return "truncated message";
    case GMIME_WARN_MALFORMED_MESSAGE: return "malformed message";
    case GMIME_CRIT_INVALID_HEADER_NAME: return "invalid header name";
    case GMIME_CRIT_CONFLICTING_HEADER: return "conflicting header";
    case GMIME_CRIT_CONFLICTING_PARAMETER: return "conflicting parameter";
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
      return "multipart without boundary";
    case GMIME_WARN_INVALID_PARAMETER: return "invalid parameter";
    case GMIME_WARN_INVALID_ADDRESS_LIST: return "invalid address list";
    case GMIME_CRIT_NESTING_OVERFLOW: return "nesting overflow";
    case GMIME_WARN_PART_WITHOUT_CONTENT: return "part without content";
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
      return "part without headers or content";
    default: return "parser warning";
    }
}

/* Quotes at most MH_MAX_WARNING_ITEM bytes of @item as clean UTF-8. */
static char *
warning_item (const char *item)
{
  gsize len = strnlen (item, MH_MAX_WARNING_ITEM + 1);
  g_autofree char *clean = NULL;
  gboolean cut = len > MH_MAX_WARNING_ITEM;

  if (cut)
    len = MH_MAX_WARNING_ITEM;
  clean = mh_charset_clean_utf8 (item, len);
  for (char *p = clean; *p != '\0'; p++)
    if ((guchar) *p < 0x20)
      *p = ' ';
  return g_strdup_printf ("\"%s%s\"", clean, cut ? "..." : "");
}

static void
on_parser_warning (gint64 offset, GMimeParserWarning code, const gchar *item,
                   gpointer user_data)
{
  MhMessage *msg = user_data;

  if (offset < 0)
    offset = 0;
  if (item != NULL && *item != '\0')
    {
      g_autofree char *quoted = warning_item (item);
      mh_message_warn (msg, "parser: %s at byte %" G_GINT64_FORMAT ": %s",
                       warning_kind (code), offset, quoted);
    }
  else
    mh_message_warn (msg, "parser: %s at byte %" G_GINT64_FORMAT,
                     warning_kind (code), offset);
}

static MhMessage *
message_new (void)
{
  MhMessage *msg = g_new0 (MhMessage, 1);

  msg->references = g_ptr_array_new_with_free_func (g_free);
  msg->participants = g_ptr_array_new_with_free_func (g_free);
  msg->attachments =
    g_ptr_array_new_with_free_func ((GDestroyNotify) mh_attachment_free);
  msg->warnings = g_ptr_array_new_with_free_func (g_free);
  msg->date_source = "none";
  return msg;
}

void
mh_attachment_free (MhAttachment *att)
{
  if (att == NULL)
    return;
  g_free (att->part);
  g_free (att->filename);
  g_free (att->fallback_name);
  g_free (att->content_type);
  g_free (att->disposition);
  g_free (att->content_id);
  g_clear_pointer (&att->embedded, mh_message_free);
  g_clear_object (&att->priv_object);
  g_clear_pointer (&att->priv_data, g_bytes_unref);
  g_free (att);
}

void
mh_message_free (MhMessage *msg)
{
  if (msg == NULL)
    return;
  g_free (msg->message_id);
  g_free (msg->in_reply_to);
  g_clear_pointer (&msg->references, g_ptr_array_unref);
  g_free (msg->references_raw);
  g_free (msg->in_reply_to_raw);
  g_free (msg->thread_index);
  g_free (msg->thread_topic);
  g_free (msg->gm_thrid);
  g_free (msg->gm_labels);
  g_free (msg->subject);
  g_free (msg->from);
  g_free (msg->to);
  g_free (msg->cc);
  g_clear_pointer (&msg->participants, g_ptr_array_unref);
  g_free (msg->text);
  g_free (msg->html);
  g_free (msg->text_charset);
  g_free (msg->html_charset);
  /* Attachments hold references into the GMime tree; the tree holds the
   * parser options, whose warning callback points at this message. */
  g_clear_pointer (&msg->attachments, g_ptr_array_unref);
  g_clear_object (&msg->priv_mime);
  g_clear_object (&msg->priv_stream);
  g_clear_pointer (&msg->warnings, g_ptr_array_unref);
  g_free (msg);
}

/* The unfolded raw value of the first header @name, cut to a limit and
 * made valid UTF-8 (8-bit bytes detected as UTF-8 or a legacy charset),
 * or NULL when absent. */
static char *
raw_header (GMimeObject *obj, const char *name)
{
  GMimeHeaderList *list = g_mime_object_get_header_list (obj);
  GMimeHeader *h = g_mime_header_list_get_header (list, name);
  const char *raw;
  g_autofree char *unfolded = NULL;
  gsize len;

  if (h == NULL || (raw = g_mime_header_get_raw_value (h)) == NULL)
    return NULL;
  len = strnlen (raw, MAX_HEADER_VALUE);
  {
    g_autofree char *cut = g_strndup (raw, len);
    unfolded = g_mime_utils_header_unfold (cut);
  }
  g_strstrip (unfolded);
  return mh_charset_to_utf8 (unfolded, strlen (unfolded), NULL, NULL, NULL);
}

static char *
decoded_header (GMimeObject *obj, const char *name, const MhParseCtx *ctx)
{
  g_autofree char *raw = raw_header (obj, name);
  g_autofree char *dec = NULL;

  if (raw == NULL)
    return NULL;
  dec = g_mime_utils_header_decode_text (ctx->gopts, raw);
  if (dec == NULL)
    return g_steal_pointer (&raw);
  {
    char *clean = mh_charset_clean_utf8 (dec, strlen (dec));
    return g_strstrip (clean);
  }
}

static gboolean
id_ok (const char *id)
{
  gsize len = strlen (id);

  if (len == 0 || len > MAX_ID)
    return FALSE;
  for (const char *p = id; *p != '\0'; p++)
    if ((guchar) *p <= ' ')
      return FALSE;
  return TRUE;
}

/* The ids of a References or In-Reply-To value, for senders that leave out
 * the angle brackets or separate ids with commas: every token with an @. */
static void
bare_ids (const char *value, GPtrArray *out)
{
  g_auto(GStrv) tokens = g_strsplit_set (value, " \t,;", -1);

  for (char **t = tokens; *t != NULL && out->len < MAX_REFERENCES; t++)
    {
      char *s = *t;
      gsize n;

      while (*s == '<')
        s++;
      n = strlen (s);
      while (n > 0 && s[n - 1] == '>')
        s[--n] = '\0';
      if (strchr (s, '@') != NULL && strchr (s, '<') == NULL
          && strchr (s, '>') == NULL && id_ok (s))
        g_ptr_array_add (out, g_strdup (s));
    }
}

/* The <id>s of a References or In-Reply-To value, in order.  GMime's
 * g_mime_references_parse() stops at the first word that is not an id
 * ("<a@b> junk <c@d>" gives only a@b), so the brackets are scanned here;
 * values without any bracketed id fall back to bare words with an @. */
static void
parse_ids (const char *value, GPtrArray *out, const MhParseCtx *ctx)
{
  const char *p = value;

  while ((p = strchr (p, '<')) != NULL && out->len < MAX_REFERENCES)
    {
      const char *close = strchr (p + 1, '>');
      GString *id;

      if (close == NULL)
        break;
      /* Folding may leave white space inside an id; it is not part of it. */
      id = g_string_new (NULL);
      for (const char *q = p + 1; q < close; q++)
        if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')
          g_string_append_c (id, *q);
      if (strchr (id->str, '<') == NULL && id_ok (id->str))
        g_ptr_array_add (out, g_string_free (id, FALSE));
      else
        g_string_free (id, TRUE);
      p = close + 1;
    }
  if (out->len == 0)
    bare_ids (value, out);
}

static char *
parse_message_id (GMimeObject *obj, const MhParseCtx *ctx)
{
  g_autofree char *raw = raw_header (obj, "Message-ID");
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *token = NULL;

  if (raw == NULL)
    return NULL;
  parse_ids (raw, ids, ctx);
  if (ids->len > 0)
    return g_strdup (g_ptr_array_index (ids, 0));
  /* A Message-ID without an @ is still this message's identity. */
  token = g_strdup (raw);
  g_strdelimit (token, "<>", ' ');
  g_strstrip (token);
  if (strpbrk (token, " \t") != NULL)
    *strpbrk (token, " \t") = '\0';
  return id_ok (token) ? g_steal_pointer (&token) : NULL;
}

/* The date of the newest Received header, or 0. */
static gint64
received_date (GMimeObject *obj)
{
  GMimeHeaderList *list = g_mime_object_get_header_list (obj);
  int count = g_mime_header_list_get_count (list);
  gint64 best = 0;

  for (int i = 0; i < count; i++)
    {
      GMimeHeader *h = g_mime_header_list_get_header_at (list, i);
      const char *raw = g_mime_header_get_raw_value (h);
      const char *semi;
      g_autofree char *text = NULL;
      GDateTime *dt;

      if (g_ascii_strcasecmp (g_mime_header_get_name (h), "Received") != 0
          || raw == NULL
          || strnlen (raw, MAX_HEADER_VALUE) >= MAX_HEADER_VALUE)
        continue;
      semi = strrchr (raw, ';');
      if (semi == NULL)
        continue;
      text = g_mime_utils_header_unfold (semi + 1);
      dt = g_mime_utils_header_decode_date (text);
      if (dt != NULL)
        {
          best = MAX (best, g_date_time_to_unix (dt));
          g_date_time_unref (dt);
        }
    }
  return best;
}

static void
parse_date (MhMessage *msg, GMimeObject *obj, const MhParseCtx *ctx)
{
  g_autofree char *raw = raw_header (obj, "Date");
  GDateTime *dt = raw != NULL ? g_mime_utils_header_decode_date (raw) : NULL;
  gint64 t;

  if (dt != NULL)
    {
      msg->date = g_date_time_to_unix (dt);
      msg->date_source = "header";
      g_date_time_unref (dt);
      return;
    }
  if (raw != NULL)
    {
      g_autofree char *q = warning_item (raw);
      mh_message_warn (msg, "unreadable Date header %s", q);
    }
  t = received_date (obj);
  if (t != 0)
    {
      msg->date = t;
      msg->date_source = "received";
    }
  else if (ctx->fallback_date != 0)
    {
      msg->date = ctx->fallback_date;
      msg->date_source = "internaldate";
    }
}

gint64
mh_message_parse_date (const char *text)
{
  GDateTime *dt;
  gint64 t;

  if (text == NULL || strnlen (text, MAX_HEADER_VALUE) >= MAX_HEADER_VALUE)
    return 0;
  dt = g_mime_utils_header_decode_date (text);
  if (dt == NULL)
    return 0;
  t = g_date_time_to_unix (dt);
  g_date_time_unref (dt);
  return t;
}

static void
add_participants (MhMessage *msg, InternetAddressList *list, guint depth)
{
  int n = internet_address_list_length (list);

  for (int i = 0; i < n && depth < 4; i++)
    {
      InternetAddress *ia = internet_address_list_get_address (list, i);

      if (INTERNET_ADDRESS_IS_GROUP (ia))
        add_participants (msg,
                          internet_address_group_get_members (
                            INTERNET_ADDRESS_GROUP (ia)),
                          depth + 1);
      else if (INTERNET_ADDRESS_IS_MAILBOX (ia))
        {
          const char *addr =
            internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (ia));
          g_autofree char *clean = NULL;
          gboolean seen = FALSE;

          if (addr == NULL || *addr == '\0' || strlen (addr) > MAX_ID)
            continue;
          clean = mh_charset_clean_utf8 (addr, strlen (addr));
          {
            char *lower = g_utf8_strdown (clean, -1);
            g_free (clean);
            clean = lower;
          }
          for (guint k = 0; k < msg->participants->len && !seen; k++)
            seen = strcmp (g_ptr_array_index (msg->participants, k),
                           clean) == 0;
          if (!seen)
            g_ptr_array_add (msg->participants, g_steal_pointer (&clean));
        }
    }
}

static char *
parse_addresses (MhMessage *msg, GMimeObject *obj, const char *name,
                 const MhParseCtx *ctx)
{
  g_autofree char *raw = raw_header (obj, name);
  g_autoptr(InternetAddressList) list = NULL;
  g_autofree char *text = NULL;

  if (raw == NULL)
    return NULL;
  list = internet_address_list_parse (ctx->gopts, raw);
  if (list == NULL || internet_address_list_length (list) == 0)
    {
      /* Keep what the header said, decoded, when it holds no address. */
      g_autofree char *dec = g_mime_utils_header_decode_text (ctx->gopts, raw);
      text = mh_charset_clean_utf8 (dec, strlen (dec));
      return *g_strstrip (text) != '\0' ? g_steal_pointer (&text) : NULL;
    }
  add_participants (msg, list, 0);
  text = internet_address_list_to_string (list, NULL, FALSE);
  if (text == NULL)
    return NULL;
  return mh_charset_clean_utf8 (text, strlen (text));
}

static void
parse_headers (MhMessage *msg, GMimeMessage *gmsg, const MhParseCtx *ctx)
{
  GMimeObject *obj = GMIME_OBJECT (gmsg);
  g_autoptr(GPtrArray) irt = g_ptr_array_new_with_free_func (g_free);

  msg->message_id = parse_message_id (obj, ctx);
  msg->references_raw = raw_header (obj, "References");
  msg->in_reply_to_raw = raw_header (obj, "In-Reply-To");
  if (msg->references_raw != NULL)
    parse_ids (msg->references_raw, msg->references, ctx);
  if (msg->in_reply_to_raw != NULL)
    parse_ids (msg->in_reply_to_raw, irt, ctx);
  if (irt->len > 0)
    msg->in_reply_to = g_strdup (g_ptr_array_index (irt, 0));
  msg->thread_index = raw_header (obj, "Thread-Index");
  msg->thread_topic = decoded_header (obj, "Thread-Topic", ctx);
  msg->gm_thrid = raw_header (obj, "X-GM-THRID");
  msg->gm_labels = decoded_header (obj, "X-Gmail-Labels", ctx);
  msg->subject = decoded_header (obj, "Subject", ctx);
  parse_date (msg, obj, ctx);
  msg->from = parse_addresses (msg, obj, "From", ctx);
  msg->to = parse_addresses (msg, obj, "To", ctx);
  msg->cc = parse_addresses (msg, obj, "Cc", ctx);
}

MhMessage *
mh_message_from_gmime (GMimeMessage *gmsg, const char *prefix, guint depth,
                       const MhParseCtx *ctx)
{
  MhMessage *msg = message_new ();

  msg->priv_mime = g_object_ref (gmsg);
  parse_headers (msg, gmsg, ctx);
  mh_message_collect_parts (msg, gmsg, prefix, depth, ctx);
  return msg;
}

static MhMessage *
parse_stream (GMimeStream *stream, const MhParseOptions *options)
{
  MhParseCtx ctx = { 0 };
  g_autoptr(GMimeParser) parser = NULL;
  g_autoptr(GMimeMessage) gmsg = NULL;
  MhMessage *msg = message_new ();
  static const char *fallback[] = { "UTF-8", "windows-1252", NULL };

  mh_message_init ();
  ctx.max_depth = options != NULL && options->max_depth != 0
                    ? options->max_depth : DEFAULT_MAX_DEPTH;
  ctx.max_body = options != NULL && options->max_body != 0
                   ? MIN (options->max_body, G_MAXSIZE / 2)
                   : DEFAULT_MAX_BODY;
  ctx.fallback_date = options != NULL ? options->fallback_date : 0;

  ctx.gopts = g_mime_parser_options_new ();
  g_mime_parser_options_set_rfc2047_compliance_mode (
    ctx.gopts, GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_parameter_compliance_mode (
    ctx.gopts, GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_address_compliance_mode (
    ctx.gopts, GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_allow_addresses_without_domain (ctx.gopts, TRUE);
  g_mime_parser_options_set_fallback_charsets (ctx.gopts, fallback);
  g_mime_parser_options_set_warning_callback (ctx.gopts, on_parser_warning,
                                              msg);

  msg->priv_stream = g_object_ref (stream);
  parser = g_mime_parser_new_with_stream (stream);
  g_mime_parser_set_persist_stream (parser, TRUE);
  g_mime_parser_set_format (parser, GMIME_FORMAT_MESSAGE);
  gmsg = g_mime_parser_construct_message (parser, ctx.gopts);
  if (gmsg == NULL)
    {
      mh_message_warn (msg, "no message could be parsed from the input");
      g_mime_parser_options_free (ctx.gopts);
      return msg;
    }
  /* GMime decodes some headers lazily with these options, so they live as
   * long as the tree does. */
  g_object_set_data_full (G_OBJECT (gmsg), "mh-parser-options", ctx.gopts,
                          (GDestroyNotify) g_mime_parser_options_free);
  msg->priv_mime = g_object_ref (gmsg);
  parse_headers (msg, gmsg, &ctx);
  mh_message_collect_parts (msg, gmsg, "", 0, &ctx);
  return msg;
}

MhMessage *
mh_message_parse_fd (int fd, gint64 offset, gint64 length,
                     const MhParseOptions *options, GError **error)
{
  g_autoptr(GMimeStream) stream = NULL;
  gint64 end;

  mh_message_init ();
  if (fd < 0 || offset < 0 || length < -1
      || (length >= 0 && offset > G_MAXINT64 - length))
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "invalid file range");
      return NULL;
    }
  if (lseek (fd, offset, SEEK_SET) < 0)
    {
      int e = errno;
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot read message: %s",
                   g_strerror (e));
      return NULL;
    }
  end = length < 0 ? -1 : offset + length;
  stream = mh_stream_file_new (fd, FALSE, offset, end);
  return parse_stream (stream, options);
}

MhMessage *
mh_message_parse_bytes (GBytes *bytes, const MhParseOptions *options)
{
  g_autoptr(GMimeStream) stream = NULL;

  mh_message_init ();
  stream = mh_stream_bytes_new (bytes);
  return parse_stream (stream, options);
}

MhMessage *
mh_message_parse_file (const char *path, const MhParseOptions *options,
                       GError **error)
{
  g_autoptr(GMimeStream) stream = NULL;
  struct stat st = { 0 };
  int fd;

  mh_message_init ();
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot open %s: %s", path,
                   g_strerror (e));
      return NULL;
    }
  if (fstat (fd, &st) < 0 || S_ISDIR (st.st_mode))
    {
      int e = S_ISDIR (st.st_mode) ? EISDIR : errno;

      close (fd);
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot read %s: %s", path,
                   g_strerror (e));
      return NULL;
    }
  stream = mh_stream_file_new (fd, TRUE, 0, -1);
  return parse_stream (stream, options);
}
