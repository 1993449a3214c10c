/* archive-finish.c - thread the account and lay conversations out. */
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "archive-private.h"
#include "mailharvest/error.h"
#include "mailharvest/layout.h"
#include "mailharvest/writeback.h"
#include "mailharvest/writer.h"

/* Participants listed per conversation at most. */
#define MAX_PARTICIPANTS 64

/* One message as the threader needs it: a single allocation holding the
 * input and every string it points at. */
typedef struct {
  MhThreadInput in;
  /* participants array, then the strings */
} Slim;

typedef struct {
  MhArchive *a;
  MhThreadForest *forest;
  GPtrArray *trees;           /* borrowed from forest */
  GPtrArray *tree_dirs;       /* char*, parallel to trees */
  GPtrArray *dups;            /* per tree: GPtrArray of duplicate
                               * MhThreadNode*, or NULL */
  GPtrArray *slim;            /* Slim*, until the forest is built */
  guint n_messages;
  MhArchiveOut json;                   /* threads.json */
  MhArchiveOut html;                   /* index.html */
  MhArchiveFinishStats *stats;
} Finish;

static char *
iso_date (gint64 t)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (t);

  if (dt == NULL)
    return NULL;
  return g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
}

static void
add_str (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value == NULL)
    json_builder_add_null_value (b);
  else
    {
      g_autofree char *valid = g_utf8_make_valid (value, -1);

      json_builder_add_string_value (b, valid);
    }
}

static void
add_date (JsonBuilder *b, const char *name, gint64 t)
{
  g_autofree char *s = iso_date (t);

  add_str (b, name, s);
}

static void
collect (MhThreadNode *node, GPtrArray *out)
{
  g_autoptr(GPtrArray) stack = g_ptr_array_new ();

  g_ptr_array_add (stack, node);
  while (stack->len > 0)
    {
      MhThreadNode *n = g_ptr_array_steal_index (stack, stack->len - 1);

      if (n->key != NULL)
        g_ptr_array_add (out, n->key);
      for (guint i = n->children->len; i-- > 0;)
        g_ptr_array_add (stack, n->children->pdata[i]);
    }
}

static void
build_message (Finish *f, JsonBuilder *b, const MhStoreMessage *m)
{
  MhThreadNode *node = mh_thread_forest_lookup (f->forest, m->key);
  MhThreadNode *orig = node->duplicate_of != NULL ? node->duplicate_of
                                                  : node;
  MhThreadNode *parent = orig->parent;

  json_builder_begin_object (b);
  add_str (b, "message_id", m->message_id);
  add_str (b, "key", m->key);
  add_str (b, "parent", parent != NULL ? parent->id : NULL);
  add_str (b, "parent_key", parent != NULL ? parent->key : NULL);
  add_str (b, "duplicate_of", node->duplicate_of != NULL
                                  ? node->duplicate_of->key : NULL);
  json_builder_set_member_name (b, "depth");
  json_builder_add_int_value (b, orig->depth);
  add_date (b, "date", m->date);
  add_str (b, "from", m->from_addr);
  add_str (b, "subject", m->subject);
  add_str (b, "dir", m->dir);
  json_builder_end_object (b);
}

static void
build_thread (Finish *f, JsonBuilder *b, guint i, GPtrArray *members)
{
  MhThreadTree *t = f->trees->pdata[i];
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);

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

  json_builder_begin_object (b);
  add_str (b, "id", t->root_id);
  add_str (b, "subject", t->subject);
  add_date (b, "first_date", t->first_date);
  add_date (b, "last_date", t->last_date);
  json_builder_set_member_name (b, "message_count");
  json_builder_add_int_value (b, members->len);
  json_builder_set_member_name (b, "participants");
  json_builder_begin_array (b);
  for (guint j = 0; j < parts->len; j++)
    json_builder_add_string_value (b, parts->pdata[j]);
  json_builder_end_array (b);
  add_str (b, "dir", f->tree_dirs->pdata[i]);
  json_builder_set_member_name (b, "messages");
  json_builder_begin_array (b);
  for (guint j = 0; j < members->len; j++)
    build_message (f, b, members->pdata[j]);
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static char *
to_json (JsonBuilder *b, gsize *len_out)
{
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *data = NULL;
  char *out;

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, root);
  data = json_generator_to_data (gen, NULL);
  out = g_strconcat (data, "\n", NULL);
  *len_out = strlen (out);
  return out;
}

/* Moves @m's dir into thread dir @tdir.  A crash between the rename and
 * the store's update leaves the dir at its target: that is fine too. */
static gboolean
place (Finish *f, MhStoreMessage *m, const char *tdir, int tfd,
       GError **error)
{
  MhArchive *a = f->a;
  int from;

  if (g_strcmp0 (m->thread_dir, tdir) == 0)
    return TRUE;
  from = mh_archive_message_parent (a, m, NULL);
  if (from >= 0 && mh_writer_dir_exists (from, m->dir))
    {
      if (mh_writer_dir_exists (tfd, m->dir)
          && !mh_writer_remove_tree (tfd, m->dir, error))
        {
          close (from);
          return FALSE;
        }
      if (renameat (from, m->dir, tfd, m->dir) != 0)
        {
          int saved = errno;

          close (from);
          g_set_error (error, MH_ERROR, MH_ERROR_IO,
                       "cannot move %s into %s: %s", m->dir, tdir,
                       g_strerror (saved));
          return FALSE;
        }
      f->stats->moved++;
    }
  else if (!mh_writer_dir_exists (tfd, m->dir))
    {
      if (from >= 0)
        close (from);
      g_set_error (error, MH_ERROR, MH_ERROR_IO,
                   "the message dir %s is missing from the archive", m->dir);
      return FALSE;
    }
  if (from >= 0)
    close (from);
  mh_debug_kill_point ("placed");
  if (!mh_store_set_message_dirs (a->store, m->key, tdir, NULL, error))
    return FALSE;
  g_free (m->thread_dir);
  m->thread_dir = g_strdup (tdir);
  return TRUE;
}

/* Inside a thread dir only its messages and thread.json belong. */
static gboolean
sweep_thread_dir (GPtrArray *members, int tfd, GError **error)
{
  g_autoptr(GHashTable) keep = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  g_hash_table_add (keep, (gpointer) "thread.json");
  for (guint j = 0; j < members->len; j++)
    g_hash_table_add (keep, ((MhStoreMessage *) members->pdata[j])->dir);
  if (!mh_archive_list_dir (tfd, names, error))
    return FALSE;
  for (guint j = 0; j < names->len; j++)
    if (!g_hash_table_contains (keep, names->pdata[j])
        && !mh_writer_remove_tree (tfd, names->pdata[j], error))
      return FALSE;
  return TRUE;
}

static void
index_begin (Finish *f)
{
  MhArchiveOut *o = &f->html;
  g_autofree char *count = g_strdup_printf ("</h1>\n<p>%u conversations</p>"
                                            "\n<table>\n", f->trees->len);

  mh_archive_out_puts (o, "<!DOCTYPE html>\n<html><head>"
                          "<meta charset=\"utf-8\"><title>");
  mh_archive_out_escaped (o, f->a->account);
  mh_archive_out_puts (o, "</title>\n<style>body{font-family:sans-serif}"
                          "td{padding:2px 8px;vertical-align:top}</style>"
                          "</head><body>\n<h1>");
  mh_archive_out_escaped (o, f->a->account);
  mh_archive_out_puts (o, count);
}

static void
index_thread (Finish *f, guint i, GPtrArray *members)
{
  MhThreadTree *t = f->trees->pdata[i];
  MhArchiveOut *o = &f->html;
  g_autofree char *last = iso_date (t->last_date);
  g_autofree char *count = g_strdup_printf ("</td><td>%u</td><td><details>"
                                            "<summary>", members->len);

  mh_archive_out_puts (o, "<tr><td>");
  mh_archive_out_escaped (o, last);
  mh_archive_out_puts (o, count);
  mh_archive_out_escaped (o, t->subject != NULL ? t->subject : "(no subject)");
  mh_archive_out_puts (o, "</summary><ul>\n");
  for (guint j = 0; j < members->len; j++)
    {
      const MhStoreMessage *m = members->pdata[j];
      g_autofree char *d = iso_date (m->date);

      mh_archive_out_puts (o, "<li><a href=\"threads/");
      mh_archive_out_escaped (o, f->tree_dirs->pdata[i]);
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
 * built from the same text, so that the two never disagree. */
static void
append_thread (Finish *f, guint i, const char *data)
{
  const char *p = data;

  mh_archive_out_puts (&f->json, i == 0 ? "[\n  " : ",\n  ");
  for (;;)
    {
      const char *nl = strchr (p, '\n');

      if (nl == NULL)
        {
          mh_archive_out_puts (&f->json, p);
          break;
        }
      mh_archive_out_append (&f->json, p, nl - p);
      if (nl[1] == '\0')
        break;
      mh_archive_out_puts (&f->json, "\n  ");
      p = nl + 1;
    }
}

static void
unref_or_null (gpointer array)
{
  if (array != NULL)
    g_ptr_array_unref (array);
}

static Slim *
slim_new (const MhStoreMessage *m)
{
  const char *strs[8] = { m->key, m->message_id, m->references_raw,
                          m->in_reply_to_raw, m->subject, m->thread_index,
                          m->gm_thrid, m->participants };
  gsize lens[8];
  gsize n_parts = 1, size;
  const char **parts;
  Slim *sl;
  char *p;

  size = sizeof (Slim);
  for (guint k = 0; k < G_N_ELEMENTS (strs); k++)
    {
      lens[k] = strs[k] != NULL ? strlen (strs[k]) + 1 : 0;
      size += lens[k];
    }
  for (const char *c = m->participants; c != NULL && *c != '\0'; c++)
    n_parts += *c == '\n';
  if (m->participants != NULL)
    n_parts++;
  size += n_parts * sizeof (char *);
  sl = g_malloc0 (size);
  parts = (const char **) (sl + 1);
  p = (char *) (parts + n_parts);
  {
    const char **dst[7] = { &sl->in.key, &sl->in.message_id,
                            &sl->in.references, &sl->in.in_reply_to,
                            &sl->in.subject, &sl->in.thread_index,
                            &sl->in.gm_thrid };

    for (guint k = 0; k < 7; k++)
      if (strs[k] != NULL)
        {
          memcpy (p, strs[k], lens[k]);
          *dst[k] = p;
          p += lens[k];
        }
  }
  /* Participants: the '\n'-joined list, split in place. */
  n_parts = 0;
  if (m->participants != NULL)
    {
      memcpy (p, m->participants, lens[7]);
      parts[n_parts++] = p;
      for (; *p != '\0'; p++)
        if (*p == '\n')
          {
            *p = '\0';
            parts[n_parts++] = p + 1;
          }
    }
  parts[n_parts] = NULL;
  sl->in.participants = parts;
  sl->in.date = m->date;
  return sl;
}

static gboolean
add_slim (const MhStoreMessage *m, gpointer data)
{
  Finish *f = data;

  g_ptr_array_add (f->slim, slim_new (m));
  return TRUE;
}

/* Threads every stored message.  The store is read one row at a time and
 * only the threader's inputs are kept, in one block per message, and only
 * until the forest is built: the forest copies what it keeps. */
static gboolean
build_forest (Finish *f, GError **error)
{
  MhArchive *a = f->a;
  g_autoptr(GArray) inputs = NULL;
  MhThreadOptions topts;

  mh_thread_options_init (&topts);
  topts.subject_mode = a->options.subject_mode;
  if (a->options.window_days != 0)
    topts.window_days = a->options.window_days;
  f->slim = g_ptr_array_new_with_free_func (g_free);
  if (!mh_store_foreach_message (a->store, add_slim, f, error))
    return FALSE;
  f->n_messages = f->slim->len;
  inputs = g_array_sized_new (FALSE, TRUE, sizeof (MhThreadInput),
                              f->slim->len);
  for (guint i = 0; i < f->slim->len; i++)
    g_array_append_val (inputs, ((Slim *) f->slim->pdata[i])->in);
  f->forest = mh_thread_build ((const MhThreadInput *) inputs->data,
                               inputs->len, &topts, error);
  if (f->forest == NULL)
    return FALSE;
  f->trees = mh_thread_forest_get_trees (f->forest);
  f->dups = g_ptr_array_new_with_free_func (unref_or_null);
  g_ptr_array_set_size (f->dups, f->trees->len);
  /* Duplicates hang off no parent: list them with their original's
   * conversation, after it, in key order. */
  for (guint i = 0; i < f->slim->len; i++)
    {
      MhThreadNode *node = mh_thread_forest_lookup (
          f->forest, ((Slim *) f->slim->pdata[i])->in.key);

      if (node != NULL && node->duplicate_of != NULL)
        {
          if (f->dups->pdata[node->tree] == NULL)
            f->dups->pdata[node->tree] = g_ptr_array_new ();
          g_ptr_array_add (f->dups->pdata[node->tree], node);
        }
    }
  g_clear_pointer (&f->slim, g_ptr_array_unref);
  return TRUE;
}

static void
finish_clear (Finish *f)
{
  mh_archive_out_clear (&f->json);
  mh_archive_out_clear (&f->html);
  g_clear_pointer (&f->slim, g_ptr_array_unref);
  g_clear_pointer (&f->dups, g_ptr_array_unref);
  g_clear_pointer (&f->tree_dirs, g_ptr_array_unref);
  g_clear_pointer (&f->forest, mh_thread_forest_free);
}

/* The stored rows of conversation @i, in the order thread.json lists
 * them: depth first, then duplicates.  Read from the store per
 * conversation, so that only one conversation's rows are in memory. */
static GPtrArray *
load_members (Finish *f, guint i, GError **error)
{
  MhThreadTree *t = f->trees->pdata[i];
  GPtrArray *dups = f->dups->pdata[i];
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();
  g_autoptr(GPtrArray) members = g_ptr_array_new_with_free_func (
      (GDestroyNotify) mh_store_message_free);

  collect (t->root, keys);
  for (guint j = 0; dups != NULL && j < dups->len; j++)
    g_ptr_array_add (keys, ((MhThreadNode *) dups->pdata[j])->key);
  for (guint j = 0; j < keys->len; j++)
    {
      MhStoreMessage *m = NULL;

      if (!mh_store_lookup_key (f->a->store, keys->pdata[j], &m, error))
        return NULL;
      if (m == NULL)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_IO,
                       "message %s vanished from the store",
                       (const char *) keys->pdata[j]);
          return NULL;
        }
      g_ptr_array_add (members, m);
    }
  return g_steal_pointer (&members);
}

static gboolean
place_all (Finish *f, GError **error)
{
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) old = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  MhArchive *a = f->a;
  GHashTableIter it;
  gpointer k, v;

  index_begin (f);
  for (guint i = 0; i < f->trees->len; i++)
    {
      MhThreadTree *t = f->trees->pdata[i];
      g_autoptr(GPtrArray) members = load_members (f, i, error);
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autofree char *data = NULL;
      const char *tdir = f->tree_dirs->pdata[i];
      gsize len;
      int tfd;

      if (members == NULL)
        return FALSE;
      g_hash_table_add (wanted, (gpointer) tdir);
      tfd = mh_writer_open_dir (a->threads_fd, tdir, TRUE, error);
      if (tfd < 0)
        return FALSE;
      for (guint j = 0; j < members->len; j++)
        if (!place (f, members->pdata[j], tdir, tfd, error))
          {
            close (tfd);
            return FALSE;
          }
      build_thread (f, b, i, members);
      data = to_json (b, &len);
      append_thread (f, i, data);
      index_thread (f, i, members);
      if (!mh_archive_write_if_changed (tfd, "thread.json", data, len, error)
          || !sweep_thread_dir (members, tfd, error)
          || !mh_store_set_thread (a->store, t->root_id, tdir, error))
        {
          close (tfd);
          return FALSE;
        }
      close (tfd);
    }
  mh_archive_out_puts (&f->json, f->trees->len == 0 ? "[]\n" : "\n]\n");
  mh_archive_out_puts (&f->html, "</table>\n</body></html>\n");

  /* Thread dirs no conversation uses any more: merged or renamed ones,
   * and leftovers of killed runs.  Their messages have moved out. */
  if (!mh_store_list_threads (a->store, &old, error))
    return FALSE;
  g_hash_table_iter_init (&it, old);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (!g_hash_table_contains (wanted, v)
        && !mh_store_remove_thread (a->store, k, error))
      return FALSE;
  if (!mh_archive_list_dir (a->threads_fd, names, error))
    return FALSE;
  for (guint i = 0; i < names->len; i++)
    if (!g_hash_table_contains (wanted, names->pdata[i]))
      {
        if (!mh_writer_remove_tree (a->threads_fd, names->pdata[i], error))
          return FALSE;
        f->stats->removed_dirs++;
      }
  /* Every recorded message is placed now; the rest were never recorded. */
  g_ptr_array_set_size (names, 0);
  if (!mh_archive_list_dir (a->incoming_fd, names, error))
    return FALSE;
  for (guint i = 0; i < names->len; i++)
    if (!mh_writer_remove_tree (a->incoming_fd, names->pdata[i], error))
      return FALSE;
  return TRUE;
}

gboolean
mh_archive_finish (MhArchive *a, MhArchiveFinishStats *stats_out,
                   GError **error)
{
  MhArchiveFinishStats dummy;
  Finish f = { 0 };
  gboolean ok = FALSE;

  g_return_val_if_fail (a->outstanding == 0, FALSE);
  f.a = a;
  f.stats = stats_out != NULL ? stats_out : &dummy;
  memset (f.stats, 0, sizeof *f.stats);
  f.json.fd = f.html.fd = -1;
  f.tree_dirs = g_ptr_array_new_with_free_func (g_free);

  if (!mh_archive_commit (a, error))
    goto out;
  if (!a->layout_pending
      && faccessat (a->account_fd, MH_ARCHIVE_PENDING_MARK, F_OK,
                    AT_SYMLINK_NOFOLLOW) != 0
      && errno == ENOENT)
    {
      /* Nothing was added since the last complete finish. */
      g_autoptr(GHashTable) threads = NULL;
      guint64 count = 0;

      if (!mh_store_count_messages (a->store, &count, error)
          || !mh_store_list_threads (a->store, &threads, error))
        goto out;
      f.stats->messages = (guint) count;
      f.stats->threads = g_hash_table_size (threads);
      ok = TRUE;
      goto out;
    }
  /* The parse workers are done (a later add starts them again), but
   * their heaps still hold the buffers they freed: main() raised the trim
   * threshold for them.  Hand those pages back before the conversation
   * step allocates its own, so that the peak is the larger of the two
   * steps, not their sum. */
  mh_archive_stop_worker (a);
#ifdef __GLIBC__
  malloc_trim (0);
#endif
  if (!build_forest (&f, error))
    goto out;
  for (guint i = 0; i < f.trees->len; i++)
    {
      MhThreadTree *t = f.trees->pdata[i];

      g_ptr_array_add (f.tree_dirs,
                       mh_layout_thread_dir (t->first_date, t->subject,
                                             t->root_id));
    }

  if (!mh_archive_out_open (&f.json, a->account_fd, "threads.json", error)
      || !mh_archive_out_open (&f.html, a->account_fd, "index.html", error))
    goto out;
  if (!mh_store_begin (a->store, error))
    goto out;
  if (!place_all (&f, error))
    {
      (void) mh_store_rollback (a->store, NULL);
      goto out;
    }
  if (!mh_archive_commit (a, error))
    goto out;
  if (!mh_archive_out_commit (&f.json, error)
      || !mh_archive_out_commit (&f.html, error))
    goto out;
  /* The manifests are derived data: rebuilt by the next finish if a power
   * failure loses them, so one sync at the end is enough. */
  if (syncfs (a->account_fd) != 0)
    {
      int saved = errno;

      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot sync %s: %s",
                   a->dir, g_strerror (saved));
      goto out;
    }
  mh_writeback_drop_all ();
  if (unlinkat (a->account_fd, MH_ARCHIVE_PENDING_MARK, 0) != 0
      && errno != ENOENT)
    {
      int saved = errno;

      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot remove %s/%s: %s",
                   a->dir, MH_ARCHIVE_PENDING_MARK, g_strerror (saved));
      goto out;
    }
  a->layout_pending = FALSE;
  f.stats->threads = f.trees->len;
  f.stats->messages = f.n_messages;
  ok = TRUE;
out:
  finish_clear (&f);
  return ok;
}
