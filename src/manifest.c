/* manifest.c - message.json, written with json-out.h. */
#include <string.h>
#include <time.h>

#include "mailharvest/json-out.h"
#include "mailharvest/manifest.h"

/* The order of message.json's keys; mh_manifest_set_locations() keeps it
 * so that a rewritten manifest equals a freshly written one. */
static const char *const key_order[] = {
  "message_id", "in_reply_to", "references", "subject", "date",
  "date_source", "from", "to", "cc", "account", "mailbox", "uid",
  "uidvalidity", "mailboxes", "flags", "internaldate", "size", "sha256",
  "gmail", "text", "html", "text_derived", "attachments", "warnings",
};

static const char *const location_keys[] = {
  "account", "mailbox", "uid", "uidvalidity", "mailboxes", "flags",
  "internaldate",
};

void
mh_written_attachment_free (MhWrittenAttachment *att)
{
  if (att == NULL)
    return;
  g_free (att->path);
  g_free (att->filename);
  g_free (att->content_type);
  g_free (att->part);
  g_free (att->sha256);
  g_free (att->text_path);
  g_free (att->html_path);
  g_free (att);
}

/* The range GDateTime takes: years 1 to 9999. */
#define FIRST_DATE G_GINT64_CONSTANT (-62135596800)
#define LAST_DATE G_GINT64_CONSTANT (253402300799)

char *
mh_manifest_format_date (gint64 date)
{
  time_t t = (time_t) date;
  struct tm tm;

  /* gmtime_r and a format, not a GDateTime: this runs for every
   * message and every line of thread.json and index.html.  The year is
   * not padded, as GDateTime's %Y was not. */
  if (date < FIRST_DATE || date > LAST_DATE || gmtime_r (&t, &tm) == NULL)
    return NULL;
  return g_strdup_printf ("%d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                          tm.tm_sec);
}

static void
add_date (MhJsonOut *j, const char *key, gint64 date, gboolean known)
{
  g_autofree char *s = known ? mh_manifest_format_date (date) : NULL;

  mh_json_out_member (j, key, s);
}

static void
add_string_array (MhJsonOut *j, const char *key, const char *const *v,
                  gsize n)
{
  mh_json_out_key (j, key);
  mh_json_out_begin_array (j);
  for (gsize i = 0; v != NULL && i < n && v[i] != NULL; i++)
    mh_json_out_string (j, v[i]);
  mh_json_out_end_array (j);
}

static void
add_ptr_array (MhJsonOut *j, const char *key, GPtrArray *a)
{
  add_string_array (j, key, a != NULL ? (const char *const *) a->pdata : NULL,
                    a != NULL ? a->len : 0);
}

static const char *
origin_name (MhOrigin origin)
{
  switch (origin)
    {
    case MH_ORIGIN_UUENCODE:
      return "uuencode";
    case MH_ORIGIN_TNEF:
      return "tnef";
    case MH_ORIGIN_MESSAGE:
      return "message";
    case MH_ORIGIN_MIME:
    default:
      return "mime";
    }
}

static void add_attachments (MhJsonOut *j, const MhMessage *msg,
                             GHashTable *written, guint depth);

static void
add_headers (MhJsonOut *j, const MhMessage *msg)
{
  mh_json_out_member (j, "message_id", msg->message_id);
  mh_json_out_member (j, "in_reply_to", msg->in_reply_to);
  add_ptr_array (j, "references", msg->references);
  mh_json_out_member (j, "subject", msg->subject);
  add_date (j, "date", msg->date,
            msg->date_source == NULL
                || strcmp (msg->date_source, "none") != 0);
  mh_json_out_member (j, "date_source", msg->date_source);
  mh_json_out_member (j, "from", msg->from);
  mh_json_out_member (j, "to", msg->to);
  mh_json_out_member (j, "cc", msg->cc);
}

/* An embedded message: its headers, where its bodies went, its own
 * attachments and warnings. */
static void
add_embedded (MhJsonOut *j, const MhMessage *inner,
              const MhWrittenAttachment *w, GHashTable *written,
              guint depth)
{
  mh_json_out_key (j, "message");
  mh_json_out_begin_object (j);
  add_headers (j, inner);
  mh_json_out_member (j, "text", w != NULL ? w->text_path : NULL);
  mh_json_out_member (j, "html", w != NULL ? w->html_path : NULL);
  mh_json_out_key (j, "text_derived");
  mh_json_out_bool (j, inner->text_derived);
  add_attachments (j, inner, written, depth + 1);
  add_ptr_array (j, "warnings", inner->warnings);
  mh_json_out_end_object (j);
}

static void
add_attachments (MhJsonOut *j, const MhMessage *msg, GHashTable *written,
                 guint depth)
{
  mh_json_out_key (j, "attachments");
  mh_json_out_begin_array (j);
  for (guint i = 0; msg->attachments != NULL && i < msg->attachments->len;
       i++)
    {
      const MhAttachment *att = msg->attachments->pdata[i];
      const MhWrittenAttachment *w =
          written != NULL ? g_hash_table_lookup (written, att) : NULL;

      mh_json_out_begin_object (j);
      mh_json_out_member (j, "filename", att->filename);
      mh_json_out_member (j, "path", w != NULL ? w->path : NULL);
      mh_json_out_member (j, "content_type", att->content_type);
      mh_json_out_key (j, "size");
      if (w != NULL)
        mh_json_out_int (j, (gint64) w->size);
      else
        mh_json_out_null (j);
      mh_json_out_member (j, "sha256", w != NULL ? w->sha256 : NULL);
      mh_json_out_member (j, "disposition", att->disposition);
      mh_json_out_member (j, "content_id", att->content_id);
      mh_json_out_member (j, "part", att->part);
      mh_json_out_member (j, "origin", origin_name (att->origin));
      mh_json_out_key (j, "referenced");
      mh_json_out_bool (j, att->referenced);
      if (att->origin == MH_ORIGIN_MESSAGE && att->embedded != NULL
          && depth < 64)
        add_embedded (j, att->embedded, w, written, depth);
      mh_json_out_end_object (j);
    }
  mh_json_out_end_array (j);
}

/* Splits the X-Gmail-Labels header of Takeout mbox files. */
static GStrv
split_labels (const char *header)
{
  g_auto(GStrv) parts = NULL;
  GPtrArray *out = g_ptr_array_new ();

  if (header != NULL)
    parts = g_strsplit (header, ",", 1024);
  for (gsize i = 0; parts != NULL && parts[i] != NULL; i++)
    {
      char *label = g_strstrip (g_strdup (parts[i]));

      if (label[0] != '\0')
        g_ptr_array_add (out, label);
      else
        g_free (label);
    }
  g_ptr_array_add (out, NULL);
  return (GStrv) g_ptr_array_free (out, FALSE);
}

static void
add_uint64_string (MhJsonOut *j, const char *key, guint64 v)
{
  g_autofree char *s = NULL;

  if (v != 0)
    s = g_strdup_printf ("%" G_GUINT64_FORMAT, v);
  mh_json_out_member (j, key, s);
}

/* The members that describe where the message was found. */
static void
add_locations (MhJsonOut *j, const MhWriteMeta *meta)
{
  const MhLocation *first =
      meta != NULL && meta->n_locations > 0 ? &meta->locations[0] : NULL;

  mh_json_out_member (j, "account", meta != NULL ? meta->account : NULL);
  mh_json_out_member (j, "mailbox", first != NULL ? first->mailbox : NULL);
  mh_json_out_key (j, "uid");
  if (first != NULL)
    mh_json_out_int (j, first->uid);
  else
    mh_json_out_null (j);
  mh_json_out_key (j, "uidvalidity");
  if (first != NULL)
    mh_json_out_int (j, first->uidvalidity);
  else
    mh_json_out_null (j);
  mh_json_out_key (j, "mailboxes");
  mh_json_out_begin_array (j);
  for (guint i = 0; meta != NULL && i < meta->n_locations; i++)
    {
      mh_json_out_begin_object (j);
      mh_json_out_member (j, "mailbox", meta->locations[i].mailbox);
      mh_json_out_key (j, "uidvalidity");
      mh_json_out_int (j, meta->locations[i].uidvalidity);
      mh_json_out_key (j, "uid");
      mh_json_out_int (j, meta->locations[i].uid);
      mh_json_out_end_object (j);
    }
  mh_json_out_end_array (j);
  add_string_array (j, "flags", meta != NULL ? meta->flags : NULL,
                    G_MAXSIZE);
  add_date (j, "internaldate", meta != NULL ? meta->internaldate : 0,
            meta != NULL && meta->internaldate != 0);
}

static gboolean
meta_has_gmail (const MhWriteMeta *meta)
{
  return meta != NULL
         && (meta->gmail_msgid != 0 || meta->gmail_thrid != 0
             || meta->gmail_labels != NULL);
}

static void
add_gmail (MhJsonOut *j, const MhMessage *msg, const MhWriteMeta *meta)
{
  g_auto(GStrv) header_labels = NULL;
  const char *const *labels = meta != NULL ? meta->gmail_labels : NULL;

  mh_json_out_key (j, "gmail");
  mh_json_out_begin_object (j);
  add_uint64_string (j, "msgid", meta != NULL ? meta->gmail_msgid : 0);
  if (meta != NULL && meta->gmail_thrid != 0)
    add_uint64_string (j, "thrid", meta->gmail_thrid);
  else
    mh_json_out_member (j, "thrid", msg != NULL ? msg->gm_thrid : NULL);
  if (labels == NULL && msg != NULL)
    {
      header_labels = split_labels (msg->gm_labels);
      labels = (const char *const *) header_labels;
    }
  add_string_array (j, "labels", labels, G_MAXSIZE);
  mh_json_out_end_object (j);
}

char *
mh_manifest_build (const MhMessage *msg, const MhWriteMeta *meta,
                   const char *sha256, guint64 size, const char *text_path,
                   const char *html_path, GHashTable *written,
                   gsize *length_out)
{
  MhJsonOut j;

  mh_json_out_init (&j);
  mh_json_out_begin_object (&j);
  add_headers (&j, msg);
  add_locations (&j, meta);
  mh_json_out_member_int (&j, "size", (gint64) size);
  mh_json_out_member (&j, "sha256", sha256);
  /* "gmail" is there only when something Gmail-specific is known. */
  if (meta_has_gmail (meta) || msg->gm_thrid != NULL
      || msg->gm_labels != NULL)
    add_gmail (&j, msg, meta);
  mh_json_out_member (&j, "text", text_path);
  mh_json_out_member (&j, "html", html_path);
  mh_json_out_key (&j, "text_derived");
  mh_json_out_bool (&j, msg->text_derived);
  add_attachments (&j, msg, written, 0);
  add_ptr_array (&j, "warnings", msg->warnings);
  mh_json_out_end_object (&j);
  return mh_json_out_finish (&j, length_out);
}

static gboolean
is_location_key (const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (location_keys); i++)
    if (strcmp (key, location_keys[i]) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
is_known_key (const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (key_order); i++)
    if (strcmp (key, key_order[i]) == 0)
      return TRUE;
  return FALSE;
}

JsonNode *
mh_manifest_set_locations (JsonNode *root, const MhWriteMeta *meta)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GList) members = NULL;
  g_autofree char *fresh_text = NULL;
  JsonObject *old, *fresh, *out;
  JsonNode *result;
  MhJsonOut j;
  gsize fresh_len = 0;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  old = json_node_get_object (root);

  /* The new members, written as a fresh manifest writes them, and read
   * back to be merged: this path runs only for a copy found again. */
  mh_json_out_init (&j);
  mh_json_out_begin_object (&j);
  add_locations (&j, meta);
  if (meta_has_gmail (meta))
    add_gmail (&j, NULL, meta);
  mh_json_out_end_object (&j);
  fresh_text = mh_json_out_finish (&j, &fresh_len);
  if (!json_parser_load_from_data (parser, fresh_text, (gssize) fresh_len,
                                   NULL))
    return NULL;
  fresh = json_node_get_object (json_parser_get_root (parser));

  result = json_node_new (JSON_NODE_OBJECT);
  out = json_object_new ();
  json_node_take_object (result, out);
  for (gsize i = 0; i < G_N_ELEMENTS (key_order); i++)
    {
      const char *key = key_order[i];
      JsonObject *from = NULL;

      /* Flags and INTERNALDATE describe a copy on the server: when the
       * caller knows none (a location forgotten, not a new copy seen),
       * the ones already written stay. */
      gboolean keep = meta != NULL
                      && ((strcmp (key, "flags") == 0 && meta->flags == NULL)
                          || (strcmp (key, "internaldate") == 0
                              && meta->internaldate == 0));

      if ((is_location_key (key) && !(keep && json_object_has_member (old,
                                                                       key)))
          || (strcmp (key, "gmail") == 0
              && json_object_has_member (fresh, key)))
        from = fresh;
      else if (json_object_has_member (old, key))
        from = old;
      if (from != NULL)
        json_object_set_member (out, key,
                                json_node_copy (json_object_get_member (
                                    from, key)));
    }
  /* Keys of a newer version are kept, after the known ones. */
  members = json_object_get_members (old);
  for (GList *l = members; l != NULL; l = l->next)
    if (!is_known_key (l->data))
      json_object_set_member (out, l->data,
                              json_node_copy (json_object_get_member (
                                  old, l->data)));
  return result;
}

char *
mh_manifest_to_data (JsonNode *root, gsize *length_out)
{
  MhJsonOut j;

  mh_json_out_init (&j);
  mh_json_out_node (&j, root);
  return mh_json_out_finish (&j, length_out);
}
