/* archive-finish.c - thread the account and lay conversations out. */
#include <errno.h>
#include <fcntl.h>
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
/* Bytes of an existing manifest read back at a time to compare. */
#define COMPARE_CHUNK 65536

typedef struct {
  MhArchive *a;
  GPtrArray *msgs;            /* MhStoreMessage*, by key */
  MhThreadForest *forest;
  GPtrArray *trees;           /* borrowed from forest */
  GPtrArray *tree_dirs;       /* char*, parallel to trees */
  GPtrArray *tree_members;    /* GPtrArray of MhStoreMessage*, DFS order */
  GHashTable *by_key;         /* key -> MhStoreMessage* */
  GString *all;               /* threads.json, built thread by thread */
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

/* Writes @data to @name below @dir_fd unless it holds those bytes
 * already, so that a run with nothing new changes nothing. */
static gboolean
write_if_changed (int dir_fd, const char *name, const char *data,
                  gsize len, GError **error)
{
  g_autofree char *tmp = NULL;
  struct stat st;
  int fd;

  fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0)
    {
      gboolean same = fstat (fd, &st) == 0 && S_ISREG (st.st_mode)
                      && (gsize) st.st_size == len;
      g_autofree char *old = same ? g_malloc (COMPARE_CHUNK) : NULL;
      gsize off = 0;

      /* Compare piece by piece: threads.json of a large archive is big. */
      while (same && off < len)
        {
          ssize_t n = read (fd, old, MIN (COMPARE_CHUNK, len - off));

          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0 || memcmp (old, data + off, (gsize) n) != 0)
            same = FALSE;
          else
            off += (gsize) n;
        }
      close (fd);
      if (same)
        return TRUE;
    }

  tmp = g_strdup_printf (".tmp-%s.%d", name, (int) getpid ());
  (void) unlinkat (dir_fd, tmp, 0);
  fd = openat (dir_fd, tmp,
               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot create %s: %s",
                   name, g_strerror (saved));
      return FALSE;
    }
  for (gsize off = 0; off < len;)
    {
      ssize_t n = write (fd, data + off, len - off);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          close (fd);
          (void) unlinkat (dir_fd, tmp, 0);
          g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot write %s: %s",
                       name, g_strerror (saved));
          return FALSE;
        }
      off += (gsize) n;
    }
  mh_debug_kill_point ("json-written");
  if (close (fd) != 0
      || renameat (dir_fd, tmp, dir_fd, name) != 0)
    {
      int saved = errno;

      (void) unlinkat (dir_fd, tmp, 0);
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "cannot write %s: %s",
                   name, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static void
collect (Finish *f, MhThreadNode *node, GPtrArray *out)
{
  if (node->key != NULL)
    g_ptr_array_add (out, g_hash_table_lookup (f->by_key, node->key));
  for (guint i = 0; i < node->children->len; i++)
    collect (f, node->children->pdata[i], out);
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
build_thread (Finish *f, JsonBuilder *b, guint i)
{
  MhThreadTree *t = f->trees->pdata[i];
  GPtrArray *members = f->tree_members->pdata[i];
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
sweep_thread_dir (Finish *f, guint i, int tfd, GError **error)
{
  GPtrArray *members = f->tree_members->pdata[i];
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
html_escape (GString *s, const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text != NULL ? text : "", -1);
  g_autofree char *esc = g_markup_escape_text (valid, -1);

  g_string_append (s, esc);
}

static char *
build_index (Finish *f)
{
  GString *s = g_string_new (NULL);

  g_string_append (s, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                      "<title>");
  html_escape (s, f->a->account);
  g_string_append (s, "</title>\n<style>body{font-family:sans-serif}"
                      "td{padding:2px 8px;vertical-align:top}</style>"
                      "</head><body>\n<h1>");
  html_escape (s, f->a->account);
  g_string_append_printf (s, "</h1>\n<p>%u conversations</p>\n<table>\n",
                          f->trees->len);
  for (guint i = 0; i < f->trees->len; i++)
    {
      MhThreadTree *t = f->trees->pdata[i];
      GPtrArray *members = f->tree_members->pdata[i];
      g_autofree char *last = iso_date (t->last_date);

      g_string_append (s, "<tr><td>");
      html_escape (s, last);
      g_string_append_printf (s, "</td><td>%u</td><td><details><summary>",
                              members->len);
      html_escape (s, t->subject != NULL ? t->subject : "(no subject)");
      g_string_append (s, "</summary><ul>\n");
      for (guint j = 0; j < members->len; j++)
        {
          const MhStoreMessage *m = members->pdata[j];
          g_autofree char *d = iso_date (m->date);

          g_string_append (s, "<li><a href=\"threads/");
          html_escape (s, f->tree_dirs->pdata[i]);
          g_string_append_c (s, '/');
          html_escape (s, m->dir);
          g_string_append (s, "/message.json\">");
          html_escape (s, d);
          g_string_append (s, "</a> ");
          html_escape (s, m->from_addr);
          g_string_append (s, ": ");
          html_escape (s, m->subject);
          g_string_append (s, "</li>\n");
        }
      g_string_append (s, "</ul></details></td></tr>\n");
    }
  g_string_append (s, "</table>\n</body></html>\n");
  return g_string_free (s, FALSE);
}

static gboolean
build_forest (Finish *f, GError **error)
{
  MhArchive *a = f->a;
  g_autoptr(GArray) inputs = g_array_new (FALSE, TRUE,
                                          sizeof (MhThreadInput));
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (
      (GDestroyNotify) g_strfreev);
  MhThreadOptions topts;

  mh_thread_options_init (&topts);
  topts.subject_mode = a->options.subject_mode;
  if (a->options.window_days != 0)
    topts.window_days = a->options.window_days;
  for (guint i = 0; i < f->msgs->len; i++)
    {
      MhStoreMessage *m = f->msgs->pdata[i];
      MhThreadInput in = { 0 };
      char **p = g_strsplit (m->participants != NULL ? m->participants : "",
                             "\n", -1);

      g_ptr_array_add (parts, p);
      in.key = m->key;
      in.message_id = m->message_id;
      in.references = m->references_raw;
      in.in_reply_to = m->in_reply_to_raw;
      in.subject = m->subject;
      in.date = m->date;
      in.thread_index = m->thread_index;
      in.gm_thrid = m->gm_thrid;
      in.participants = (const char *const *) p;
      g_array_append_val (inputs, in);
      g_hash_table_insert (f->by_key, m->key, m);
    }
  f->forest = mh_thread_build ((const MhThreadInput *) inputs->data,
                               inputs->len, &topts, error);
  return f->forest != NULL;
}

static void
finish_clear (Finish *f)
{
  g_clear_pointer (&f->tree_members, g_ptr_array_unref);
  g_clear_pointer (&f->tree_dirs, g_ptr_array_unref);
  g_clear_pointer (&f->forest, mh_thread_forest_free);
  g_clear_pointer (&f->by_key, g_hash_table_unref);
  if (f->all != NULL)
    g_string_free (f->all, TRUE);
  f->all = NULL;
  g_clear_pointer (&f->msgs, g_ptr_array_unref);
}

/* threads.json is the array of every thread.json, indented one level:
 * built from the same text, so that the two never disagree and no tree of
 * JSON nodes for the whole archive sits in memory. */
static void
append_thread (GString *all, const char *data)
{
  g_string_append (all, all->len == 0 ? "[\n  " : ",\n  ");
  for (const char *p = data; *p != '\0'; p++)
    {
      if (*p == '\n' && p[1] == '\0')
        break;
      g_string_append_c (all, *p);
      if (*p == '\n')
        g_string_append (all, "  ");
    }
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

  for (guint i = 0; i < f->trees->len; i++)
    {
      MhThreadTree *t = f->trees->pdata[i];
      GPtrArray *members = f->tree_members->pdata[i];
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autofree char *data = NULL;
      const char *tdir = f->tree_dirs->pdata[i];
      gsize len;
      int tfd;

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
      build_thread (f, b, i);
      data = to_json (b, &len);
      append_thread (f->all, data);
      if (!write_if_changed (tfd, "thread.json", data, len, error)
          || !sweep_thread_dir (f, i, tfd, error)
          || !mh_store_set_thread (a->store, t->root_id, tdir, error))
        {
          close (tfd);
          return FALSE;
        }
      close (tfd);
    }

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
  f.by_key = g_hash_table_new (g_str_hash, g_str_equal);
  f.all = g_string_new (NULL);
  f.tree_dirs = g_ptr_array_new_with_free_func (g_free);
  f.tree_members = g_ptr_array_new_with_free_func (
      (GDestroyNotify) g_ptr_array_unref);

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
  if (!mh_store_list_messages (a->store, &f.msgs, error))
    goto out;
  if (!build_forest (&f, error))
    goto out;
  f.trees = mh_thread_forest_get_trees (f.forest);

  for (guint i = 0; i < f.trees->len; i++)
    {
      MhThreadTree *t = f.trees->pdata[i];
      GPtrArray *members = g_ptr_array_new ();

      g_ptr_array_add (f.tree_dirs,
                       mh_layout_thread_dir (t->first_date, t->subject,
                                             t->root_id));
      collect (&f, t->root, members);
      g_ptr_array_add (f.tree_members, members);
    }
  /* Duplicates hang off no parent: list them with their original's
   * conversation, after it. */
  for (guint i = 0; i < f.msgs->len; i++)
    {
      MhStoreMessage *m = f.msgs->pdata[i];
      MhThreadNode *node = mh_thread_forest_lookup (f.forest, m->key);

      if (node != NULL && node->duplicate_of != NULL)
        g_ptr_array_add (f.tree_members->pdata[node->tree], m);
    }

  if (!mh_store_begin (a->store, error))
    goto out;
  if (!place_all (&f, error))
    {
      (void) mh_store_rollback (a->store, NULL);
      goto out;
    }
  if (!mh_archive_commit (a, error))
    goto out;

  {
    g_autofree char *html = NULL;

    g_string_append (f.all, f.all->len == 0 ? "[]\n" : "\n]\n");
    if (!write_if_changed (a->account_fd, "threads.json", f.all->str,
                           f.all->len, error))
      goto out;
    html = build_index (&f);
    if (!write_if_changed (a->account_fd, "index.html", html, strlen (html),
                           error))
      goto out;
  }
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
  f.stats->messages = f.msgs->len;
  ok = TRUE;
out:
  finish_clear (&f);
  return ok;
}
