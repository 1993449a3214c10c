/* manifest.c - message.json built with json-glib. */
#include <string.h>

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

void
mh_manifest_add_string (JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name (b, key);
  if (value == NULL)
    json_builder_add_null_value (b);
  else
    {
      g_autofree char *valid = g_utf8_make_valid (value, -1);

      json_builder_add_string_value (b, valid);
    }
}

char *
mh_manifest_format_date (gint64 date)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (date);

  return dt != NULL ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : NULL;
}

static void
add_date (JsonBuilder *b, const char *key, gint64 date, gboolean known)
{
  g_autofree char *s = known ? mh_manifest_format_date (date) : NULL;

  mh_manifest_add_string (b, key, s);
}

static void
add_string_array (JsonBuilder *b, const char *key, const char *const *v,
                  gsize n)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (gsize i = 0; v != NULL && i < n && v[i] != NULL; i++)
    {
      g_autofree char *valid = g_utf8_make_valid (v[i], -1);

      json_builder_add_string_value (b, valid);
    }
  json_builder_end_array (b);
}

static void
add_ptr_array (JsonBuilder *b, const char *key, GPtrArray *a)
{
  add_string_array (b, key, a != NULL ? (const char *const *) a->pdata : NULL,
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

static void add_attachments (JsonBuilder *b, const MhMessage *msg,
                             GHashTable *written, guint depth);

static void
add_headers (JsonBuilder *b, const MhMessage *msg)
{
  mh_manifest_add_string (b, "message_id", msg->message_id);
  mh_manifest_add_string (b, "in_reply_to", msg->in_reply_to);
  add_ptr_array (b, "references", msg->references);
  mh_manifest_add_string (b, "subject", msg->subject);
  add_date (b, "date", msg->date,
            msg->date_source == NULL
                || strcmp (msg->date_source, "none") != 0);
  mh_manifest_add_string (b, "date_source", msg->date_source);
  mh_manifest_add_string (b, "from", msg->from);
  mh_manifest_add_string (b, "to", msg->to);
  mh_manifest_add_string (b, "cc", msg->cc);
}

/* An embedded message: its headers, where its bodies went, its own
 * attachments and warnings. */
static void
add_embedded (JsonBuilder *b, const MhMessage *inner,
              const MhWrittenAttachment *w, GHashTable *written,
              guint depth)
{
  json_builder_set_member_name (b, "message");
  json_builder_begin_object (b);
  add_headers (b, inner);
  mh_manifest_add_string (b, "text", w != NULL ? w->text_path : NULL);
  mh_manifest_add_string (b, "html", w != NULL ? w->html_path : NULL);
  json_builder_set_member_name (b, "text_derived");
  json_builder_add_boolean_value (b, inner->text_derived);
  add_attachments (b, inner, written, depth + 1);
  add_ptr_array (b, "warnings", inner->warnings);
  json_builder_end_object (b);
}

static void
add_attachments (JsonBuilder *b, const MhMessage *msg, GHashTable *written,
                 guint depth)
{
  json_builder_set_member_name (b, "attachments");
  json_builder_begin_array (b);
  for (guint i = 0; msg->attachments != NULL && i < msg->attachments->len;
       i++)
    {
      const MhAttachment *att = msg->attachments->pdata[i];
      const MhWrittenAttachment *w =
          written != NULL ? g_hash_table_lookup (written, att) : NULL;

      json_builder_begin_object (b);
      mh_manifest_add_string (b, "filename", att->filename);
      mh_manifest_add_string (b, "path", w != NULL ? w->path : NULL);
      mh_manifest_add_string (b, "content_type", att->content_type);
      json_builder_set_member_name (b, "size");
      if (w != NULL)
        json_builder_add_int_value (b, (gint64) w->size);
      else
        json_builder_add_null_value (b);
      mh_manifest_add_string (b, "sha256", w != NULL ? w->sha256 : NULL);
      mh_manifest_add_string (b, "disposition", att->disposition);
      mh_manifest_add_string (b, "content_id", att->content_id);
      mh_manifest_add_string (b, "part", att->part);
      mh_manifest_add_string (b, "origin", origin_name (att->origin));
      json_builder_set_member_name (b, "referenced");
      json_builder_add_boolean_value (b, att->referenced);
      if (att->origin == MH_ORIGIN_MESSAGE && att->embedded != NULL
          && depth < 64)
        add_embedded (b, att->embedded, w, written, depth);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
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
add_uint64_string (JsonBuilder *b, const char *key, guint64 v)
{
  g_autofree char *s = NULL;

  if (v != 0)
    s = g_strdup_printf ("%" G_GUINT64_FORMAT, v);
  mh_manifest_add_string (b, key, s);
}

/* The members that describe where the message was found. */
static void
add_locations (JsonBuilder *b, const MhWriteMeta *meta)
{
  const MhLocation *first =
      meta != NULL && meta->n_locations > 0 ? &meta->locations[0] : NULL;

  mh_manifest_add_string (b, "account", meta != NULL ? meta->account : NULL);
  mh_manifest_add_string (b, "mailbox", first != NULL ? first->mailbox : NULL);
  json_builder_set_member_name (b, "uid");
  if (first != NULL)
    json_builder_add_int_value (b, first->uid);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "uidvalidity");
  if (first != NULL)
    json_builder_add_int_value (b, first->uidvalidity);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "mailboxes");
  json_builder_begin_array (b);
  for (guint i = 0; meta != NULL && i < meta->n_locations; i++)
    {
      json_builder_begin_object (b);
      mh_manifest_add_string (b, "mailbox", meta->locations[i].mailbox);
      json_builder_set_member_name (b, "uidvalidity");
      json_builder_add_int_value (b, meta->locations[i].uidvalidity);
      json_builder_set_member_name (b, "uid");
      json_builder_add_int_value (b, meta->locations[i].uid);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  add_string_array (b, "flags", meta != NULL ? meta->flags : NULL,
                    G_MAXSIZE);
  add_date (b, "internaldate", meta != NULL ? meta->internaldate : 0,
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
add_gmail (JsonBuilder *b, const MhMessage *msg, const MhWriteMeta *meta)
{
  g_auto(GStrv) header_labels = NULL;
  const char *const *labels = meta != NULL ? meta->gmail_labels : NULL;

  json_builder_set_member_name (b, "gmail");
  json_builder_begin_object (b);
  add_uint64_string (b, "msgid", meta != NULL ? meta->gmail_msgid : 0);
  if (meta != NULL && meta->gmail_thrid != 0)
    add_uint64_string (b, "thrid", meta->gmail_thrid);
  else
    mh_manifest_add_string (b, "thrid", msg != NULL ? msg->gm_thrid : NULL);
  if (labels == NULL && msg != NULL)
    {
      header_labels = split_labels (msg->gm_labels);
      labels = (const char *const *) header_labels;
    }
  add_string_array (b, "labels", labels, G_MAXSIZE);
  json_builder_end_object (b);
}

JsonNode *
mh_manifest_build (const MhMessage *msg, const MhWriteMeta *meta,
                   const char *sha256, guint64 size, const char *text_path,
                   const char *html_path, GHashTable *written)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  add_headers (b, msg);
  add_locations (b, meta);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, (gint64) size);
  mh_manifest_add_string (b, "sha256", sha256);
  /* "gmail" is there only when something Gmail-specific is known. */
  if (meta_has_gmail (meta) || msg->gm_thrid != NULL
      || msg->gm_labels != NULL)
    add_gmail (b, msg, meta);
  mh_manifest_add_string (b, "text", text_path);
  mh_manifest_add_string (b, "html", html_path);
  json_builder_set_member_name (b, "text_derived");
  json_builder_add_boolean_value (b, msg->text_derived);
  add_attachments (b, msg, written, 0);
  add_ptr_array (b, "warnings", msg->warnings);
  json_builder_end_object (b);
  return json_builder_get_root (b);
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
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) fresh_node = NULL;
  g_autoptr(GList) members = NULL;
  JsonObject *old, *fresh, *out;
  JsonNode *result;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  old = json_node_get_object (root);

  json_builder_begin_object (b);
  add_locations (b, meta);
  if (meta_has_gmail (meta))
    add_gmail (b, NULL, meta);
  json_builder_end_object (b);
  fresh_node = json_builder_get_root (b);
  fresh = json_node_get_object (fresh_node);

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
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *data = NULL;
  char *out;

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, root);
  data = json_generator_to_data (gen, NULL);
  out = g_strconcat (data, "\n", NULL);
  if (length_out != NULL)
    *length_out = strlen (out);
  return out;
}
