/* archive-texts.c - what the conversation step writes for one
 * conversation: its thread.json, its rows of index.html and its entry of
 * threads.json. */
#include <string.h>

#include "archive-private.h"
#include "mailharvest/json-out.h"
#include "mailharvest/manifest.h"

/* Participants listed per conversation at most. */
#define MAX_PARTICIPANTS 64

static void
add_date (MhJsonOut *j, const char *name, gint64 t)
{
  g_autofree char *s = mh_manifest_format_date (t);

  mh_json_out_member (j, name, s);
}

static void
build_message (MhJsonOut *j, const MhStoreMessage *m, const MhConvLink *l)
{
  mh_json_out_begin_object (j);
  mh_json_out_member (j, "message_id", m->message_id);
  mh_json_out_member (j, "key", m->key);
  mh_json_out_member (j, "parent", l->parent_id);
  mh_json_out_member (j, "parent_key", l->parent_key);
  mh_json_out_member (j, "duplicate_of", l->duplicate_of);
  mh_json_out_member_int (j, "depth", l->depth);
  add_date (j, "date", m->date);
  mh_json_out_member (j, "from", m->from_addr);
  mh_json_out_member (j, "subject", m->subject);
  mh_json_out_member (j, "dir", m->dir);
  mh_json_out_end_object (j);
}

static void
build_thread (MhJsonOut *out, const MhConvTexts *ct)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *members = ct->members;

  for (guint j = 0; j < members->len; j++)
    {
      const MhStoreMessage *m = members->pdata[j];
      g_auto(GStrv) addrs = NULL;

      if (m->participants == NULL)
        continue;
      addrs = g_strsplit (m->participants, "\n", -1);
      for (guint k = 0; addrs[k] != NULL; k++)
        if (parts->len < MAX_PARTICIPANTS && addrs[k][0] != '\0'
            && !g_hash_table_contains (seen, addrs[k]))
          {
            char *dup = g_strdup (addrs[k]);

            g_ptr_array_add (parts, dup);
            g_hash_table_add (seen, dup);
          }
    }

  mh_json_out_begin_object (out);
  mh_json_out_member (out, "id", ct->root_id);
  mh_json_out_member (out, "subject", ct->subject);
  add_date (out, "first_date", ct->first_date);
  add_date (out, "last_date", ct->last_date);
  mh_json_out_member_int (out, "message_count", members->len);
  mh_json_out_key (out, "participants");
  mh_json_out_begin_array (out);
  for (guint j = 0; j < parts->len; j++)
    mh_json_out_string (out, parts->pdata[j]);
  mh_json_out_end_array (out);
  mh_json_out_member (out, "dir", ct->tdir);
  mh_json_out_key (out, "messages");
  mh_json_out_begin_array (out);
  for (guint j = 0; j < members->len; j++)
    build_message (out, members->pdata[j], &ct->links[j]);
  mh_json_out_end_array (out);
  mh_json_out_end_object (out);
}

MhConvTexts *
mh_conv_texts_new (MhThreadForest *forest, const MhThreadTree *t,
                   const char *tdir, GPtrArray *members)
{
  MhConvTexts *ct = g_new0 (MhConvTexts, 1);

  ct->root_id = g_strdup (t->root_id);
  ct->subject = g_strdup (t->subject);
  ct->first_date = t->first_date;
  ct->last_date = t->last_date;
  ct->tdir = g_strdup (tdir);
  ct->members = members;
  ct->links = g_new0 (MhConvLink, MAX (members->len, 1));
  for (guint j = 0; j < members->len; j++)
    {
      const MhStoreMessage *m = members->pdata[j];
      MhThreadNode *node = mh_thread_forest_lookup (forest, m->key);
      MhThreadNode *orig = node->duplicate_of != NULL ? node->duplicate_of
                                                      : node;
      MhThreadNode *parent = orig->parent;
      MhConvLink *l = &ct->links[j];

      l->parent_id = parent != NULL ? g_strdup (parent->id) : NULL;
      l->parent_key = parent != NULL ? g_strdup (parent->key) : NULL;
      l->duplicate_of = node->duplicate_of != NULL
                            ? g_strdup (node->duplicate_of->key)
                            : NULL;
      l->depth = orig->depth;
    }
  return ct;
}

void
mh_conv_texts_free (MhConvTexts *ct)
{
  if (ct == NULL)
    return;
  for (guint j = 0; j < ct->members->len; j++)
    {
      g_free (ct->links[j].parent_id);
      g_free (ct->links[j].parent_key);
      g_free (ct->links[j].duplicate_of);
    }
  g_free (ct->links);
  g_ptr_array_unref (ct->members);
  g_free (ct->root_id);
  g_free (ct->subject);
  g_free (ct->tdir);
  g_free (ct);
}

void
mh_archive_index_head (MhArchiveOut *o, const char *account, guint n_convs)
{
  g_autofree char *count = g_strdup_printf ("</h1>\n<p>%u conversations</p>"
                                            "\n<table>\n", n_convs);

  mh_archive_out_puts (o, "<!DOCTYPE html>\n<html><head>"
                          "<meta charset=\"utf-8\"><title>");
  mh_archive_out_escaped (o, account);
  mh_archive_out_puts (o, "</title>\n<style>body{font-family:sans-serif}"
                          "td{padding:2px 8px;vertical-align:top}</style>"
                          "</head><body>\n<h1>");
  mh_archive_out_escaped (o, account);
  mh_archive_out_puts (o, count);
}

/* The rows of index.html for one conversation. */
static void
index_rows (MhArchiveOut *o, const MhConvTexts *ct)
{
  GPtrArray *members = ct->members;
  const char *tdir = ct->tdir;
  g_autofree char *last = mh_manifest_format_date (ct->last_date);
  g_autofree char *count = g_strdup_printf ("</td><td>%u</td><td><details>"
                                            "<summary>", members->len);

  mh_archive_out_puts (o, "<tr><td>");
  mh_archive_out_escaped (o, last);
  mh_archive_out_puts (o, count);
  mh_archive_out_escaped (o, ct->subject != NULL ? ct->subject
                                               : "(no subject)");
  mh_archive_out_puts (o, "</summary><ul>\n");
  for (guint j = 0; j < members->len; j++)
    {
      const MhStoreMessage *m = members->pdata[j];
      g_autofree char *d = mh_manifest_format_date (m->date);

      mh_archive_out_puts (o, "<li><a href=\"threads/");
      mh_archive_out_escaped (o, tdir);
      mh_archive_out_puts (o, "/");
      mh_archive_out_escaped (o, m->dir);
      mh_archive_out_puts (o, "/message.json\">");
      mh_archive_out_escaped (o, d);
      mh_archive_out_puts (o, "</a> ");
      mh_archive_out_escaped (o, m->from_addr);
      mh_archive_out_puts (o, ": ");
      mh_archive_out_escaped (o, m->subject);
      mh_archive_out_puts (o, "</li>\n");
    }
  mh_archive_out_puts (o, "</ul></details></td></tr>\n");
}

/* threads.json is the array of every thread.json, indented one level:
 * built from the same text, so that the two never disagree.  This is
 * one entry, without the separator before it and the newline after. */
static void
json_entry (MhArchiveOut *o, const char *data)
{
  const char *p = data;

  for (;;)
    {
      const char *nl = strchr (p, '\n');

      if (nl == NULL)
        {
          mh_archive_out_puts (o, p);
          break;
        }
      mh_archive_out_append (o, p, nl - p);
      if (nl[1] == '\0')
        break;
      mh_archive_out_puts (o, "\n  ");
      p = nl + 1;
    }
}

char *
mh_conv_texts_build (const MhConvTexts *ct, MhArchiveOut *spool,
                     MhConvSpan *span, gsize *len_out)
{
  MhJsonOut j;
  char *data;

  mh_json_out_init (&j);
  build_thread (&j, ct);
  /* The same layout as message.json. */
  data = mh_json_out_finish (&j, len_out);
  span->json_off = mh_archive_out_size (spool);
  json_entry (spool, data);
  span->json_len = mh_archive_out_size (spool) - span->json_off;
  span->html_off = mh_archive_out_size (spool);
  index_rows (spool, ct);
  span->html_len = mh_archive_out_size (spool) - span->html_off;
  return data;
}
