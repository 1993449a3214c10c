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

#include "archive-finish-private.h"
#include "mailharvest/error.h"
#include "mailharvest/layout.h"
#include "mailharvest/writeback.h"
#include "mailharvest/writer.h"

/* One message as the threader needs it: a single allocation holding the
 * input and every string it points at. */
typedef struct {
  MhThreadInput in;
  /* participants array, then the strings */
} Slim;


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

/* Moves @m's dir (from its staging dir @stage when it is new) into
 * thread dir @tdir and records it: at once, or (with @job) by the mover.
 * A crash between the rename and the store's update leaves the dir at
 * its target: that is fine too. */
static gboolean
place (Finish *f, MhStoreMessage *m, const char *stage, const char *tdir,
       int tfd, MhMoverJob *job, GError **error)
{
  MhArchive *a = f->a;

  if (g_strcmp0 (m->thread_dir, tdir) == 0)
    return TRUE;
  if (job != NULL)
    mh_mover_job_add (job, m->dir, m->thread_dir, stage);
  else if (!mh_archive_move_message_dir (a, m->thread_dir, stage, m->dir,
                                         tdir, tfd, &f->stats->moved, error))
    return FALSE;
  if (!mh_store_set_thread_dir (a->store, m, tdir, error))
    return FALSE;
  g_free (m->thread_dir);
  m->thread_dir = g_strdup (tdir);
  return TRUE;
}

/* Inside a thread dir only its messages and thread.json belong.  A
 * message of another conversation that has not moved out yet (it moves
 * when its own conversation is laid out) is not swept: the store says
 * it is still here. */
static gboolean
sweep_thread_dir (Finish *f, GPtrArray *members, const char *tdir, int tfd,
                  GError **error)
{
  g_autoptr(GHashTable) keep = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  g_hash_table_add (keep, (gpointer) "thread.json");
  for (guint j = 0; j < members->len; j++)
    g_hash_table_add (keep, ((MhStoreMessage *) members->pdata[j])->dir);
  if (!mh_archive_list_dir (tfd, names, error))
    return FALSE;
  for (guint j = 0; j < names->len; j++)
    {
      gboolean recorded = FALSE;

      if (g_hash_table_contains (keep, names->pdata[j]))
        continue;
      if (!mh_store_thread_has_dir (f->a->store, tdir, names->pdata[j],
                                    &recorded, error))
        return FALSE;
      if (!recorded && !mh_writer_remove_tree (tfd, names->pdata[j], error))
        return FALSE;
    }
  return TRUE;
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

static void
conv_clear (gpointer data)
{
  Conv *c = data;

  g_free (c->root_id);
  g_free (c->tdir);
  g_free (c->span);
}

static void
finish_clear (Finish *f)
{
  mh_archive_out_clear (&f->spool);
  mh_archive_out_clear (&f->json);
  mh_archive_out_clear (&f->html);
  g_clear_pointer (&f->rows, g_hash_table_unref);
  g_clear_pointer (&f->forest, mh_thread_forest_free);
  g_clear_pointer (&f->wanted, g_hash_table_unref);
  g_clear_pointer (&f->staged, g_hash_table_unref);
  g_clear_pointer (&f->convs, g_array_unref);
  g_clear_pointer (&f->version, g_free);
  if (f->old_json_fd >= 0)
    close (f->old_json_fd);
  if (f->old_html_fd >= 0)
    close (f->old_html_fd);
  f->old_json_fd = f->old_html_fd = -1;
}

/* The stored rows of one conversation, in the order thread.json lists
 * them: depth first, then duplicates. */
static GPtrArray *
tree_members (Finish *f, const MhThreadTree *t, GPtrArray *dups,
              GError **error)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();
  g_autoptr(GPtrArray) members = g_ptr_array_new_with_free_func (
      (GDestroyNotify) mh_store_message_free);

  collect (t->root, keys);
  for (guint j = 0; dups != NULL && j < dups->len; j++)
    g_ptr_array_add (keys, ((MhThreadNode *) dups->pdata[j])->key);
  for (guint j = 0; j < keys->len; j++)
    {
      MhStoreMessage *m = g_hash_table_lookup (f->rows, keys->pdata[j]);

      if (m == NULL)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_IO,
                       "message %s vanished from the store",
                       (const char *) keys->pdata[j]);
          return NULL;
        }
      /* The conversation takes its rows: no other one of the group
       * lists them, and its texts may be built after the group is gone. */
      g_hash_table_steal (f->rows, m->key);
      g_ptr_array_add (members, m);
    }
  return g_steal_pointer (&members);
}

/* The staging dirs of @members (NULL for one placed already).  Returns
 * the one they share when it holds them all and no other recorded
 * message, so that it can become their thread dir as a whole. */
static const char *
stage_dirs (Finish *f, GPtrArray *members, GPtrArray *stages)
{
  const char *whole = NULL;
  gboolean shared = TRUE;

  for (guint j = 0; j < members->len; j++)
    {
      const MhStoreMessage *m = members->pdata[j];
      char *stage = m->thread_dir == NULL ? mh_archive_stage_dir (m) : NULL;

      g_ptr_array_add (stages, stage);
      if (stage == NULL || (whole != NULL && strcmp (whole, stage) != 0))
        shared = FALSE;
      if (whole == NULL)
        whole = stage;
    }
  if (!shared || whole == NULL
      || GPOINTER_TO_UINT (g_hash_table_lookup (f->staged, whole))
             != members->len)
    return NULL;
  return whole;
}

/* Moves one conversation's messages into its dir, writes its thread.json
 * and puts its entries of threads.json and index.html in the spool. */
static gboolean
lay_out_tree (Finish *f, const MhThreadTree *t, GPtrArray *dups,
              GError **error)
{
  MhArchive *a = f->a;
  g_autoptr(GPtrArray) members = tree_members (f, t, dups, error);
  g_autoptr(GPtrArray) stages = g_ptr_array_new_with_free_func (g_free);
  MhConvTexts *texts = NULL;
  Conv c = { 0 };
  MhMoverJob *job = NULL;
  struct stat st;
  const char *whole;
  gboolean ok = FALSE, created = FALSE;
  guint n_members;
  int tfd = -1;

  if (members == NULL)
    return FALSE;
  n_members = members->len;
  c.tdir = mh_layout_thread_dir (t->first_date, t->subject, t->root_id);
  /* A thread dir that is not there yet holds only what this step puts
   * in: the mover makes it, moves the messages in and writes
   * thread.json, and it needs no sweep.  One that is there (or that this
   * step made already) gets its moves and its sweep here, since the
   * sweep asks the store what belongs: once the mover's queued moves are
   * done (one may still take a message out of this dir), or its whole
   * queue for a dir this step laid out already (its thread.json may be
   * on the way).  Its texts then go to the mover. */
  if (!g_hash_table_contains (f->wanted, c.tdir)
      && fstatat (a->threads_fd, c.tdir, &st, AT_SYMLINK_NOFOLLOW) != 0
      && errno == ENOENT)
    job = mh_mover_job_new_dir (a->threads_fd, c.tdir);
  else if (!(g_hash_table_contains (f->wanted, c.tdir)
                 ? mh_mover_drain (f->mover, error)
                 : mh_mover_drain_moves (f->mover, error))
           || (tfd = mh_writer_make_dir (a->threads_fd, c.tdir, &created,
                                         error)) < 0)
    goto out;
  whole = stage_dirs (f, members, stages);
  if (job != NULL && whole != NULL)
    mh_mover_job_set_whole (job, whole);
  for (guint j = 0; j < members->len; j++)
    if (!place (f, members->pdata[j], stages->pdata[j], c.tdir, tfd, job,
                error))
      goto out;
  if (!mh_store_set_thread (a->store, t->root_id, c.tdir, error))
    goto out;
  texts = mh_conv_texts_new (f->forest, t, c.tdir,
                             g_steal_pointer (&members));
  c.span = g_new0 (MhConvSpan, 1);
  if (job == NULL)
    {
      if (!sweep_thread_dir (f, texts->members, c.tdir, tfd, error))
        goto out;
      /* Its thread.json, written by the mover: a job with no moves,
       * which takes the dir's fd. */
      job = mh_mover_job_new (tfd, c.tdir);
      tfd = -1;
    }
  mh_mover_push (f->mover, g_steal_pointer (&job), g_steal_pointer (&texts),
                 c.span);
  c.last_date = t->last_date;
  c.root_id = g_strdup (t->root_id);
  memcpy (c.sig, f->sig, SIG_LEN);
  c.seq = f->seq++;
  c.n_messages = n_members;
  f->n_messages += n_members;
  g_array_append_val (f->convs, c);
  g_hash_table_add (f->wanted, c.tdir);
  c.tdir = NULL;
  c.span = NULL;
  ok = TRUE;
out:
  mh_conv_texts_free (texts);
  g_free (c.span);
  if (job != NULL)
    mh_mover_job_free (job);
  if (tfd >= 0)
    close (tfd);
  g_free (c.tdir);
  return ok;
}

static void
unref_or_null (gpointer array)
{
  if (array != NULL)
    g_ptr_array_unref (array);
}

/* Threads one group of messages and lays out its conversations. */
static gboolean
lay_out_group (Finish *f, const gint64 *rowids, guint n, GError **error)
{
  g_autoptr(GPtrArray) slim = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) inputs = g_array_sized_new (FALSE, TRUE,
                                                sizeof (MhThreadInput), n);
  g_autoptr(GPtrArray) dups = g_ptr_array_new_with_free_func (unref_or_null);
  GPtrArray *trees;
  gboolean ok = FALSE;

  f->rows = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                   (GDestroyNotify) mh_store_message_free);
  for (guint i = 0; i < n; i++)
    {
      MhStoreMessage *m = NULL;

      if (!mh_store_lookup_rowid (f->a->store, rowids[i], &m, error))
        goto out;
      if (m == NULL)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_IO,
                       "a message vanished from the store while it was "
                       "threaded");
          goto out;
        }
      g_hash_table_insert (f->rows, m->key, m);
      g_ptr_array_add (slim, slim_new (m));
      g_array_append_val (inputs, ((Slim *) slim->pdata[i])->in);
    }
  f->forest = mh_thread_build ((const MhThreadInput *) inputs->data,
                               inputs->len, &f->topts, error);
  if (f->forest == NULL)
    goto out;
  trees = mh_thread_forest_get_trees (f->forest);
  /* Duplicates hang off no parent: list them with their original's
   * conversation, after it, in key order (the store's order). */
  g_ptr_array_set_size (dups, trees->len);
  for (guint i = 0; i < slim->len; i++)
    {
      MhThreadNode *node = mh_thread_forest_lookup (
          f->forest, ((Slim *) slim->pdata[i])->in.key);

      if (node != NULL && node->duplicate_of != NULL)
        {
          if (dups->pdata[node->tree] == NULL)
            dups->pdata[node->tree] = g_ptr_array_new ();
          g_ptr_array_add (dups->pdata[node->tree], node);
        }
    }
  for (guint i = 0; i < trees->len; i++)
    if (!lay_out_tree (f, trees->pdata[i], dups->pdata[i], error))
      goto out;
  ok = TRUE;
out:
  g_clear_pointer (&f->forest, mh_thread_forest_free);
  g_clear_pointer (&f->rows, g_hash_table_unref);
  return ok;
}

static gboolean
split_add (const MhStoreMessage *m, gpointer data)
{
  gpointer *ctx = data;
  g_autofree Slim *sl = slim_new (m);
  GError **error = ctx[2];
  guint64 key = 0;
  MsgSig ms;

  for (guint k = 0; k < 16 && m->key[k] != '\0'; k++)
    key = key << 4 | ((guint64) g_ascii_xdigit_value (m->key[k]) & 15);
  ms = (key ^ (guint64) m->date * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15))
       & ~MSG_SIG_PLACED;
  if (m->thread_dir != NULL)
    ms |= MSG_SIG_PLACED;
  g_array_append_val ((GArray *) ctx[4], ms);
  g_array_append_val ((GArray *) ctx[1], m->rowid);
  if (m->thread_dir == NULL)
    {
      GHashTable *staged = ctx[3];
      char *stage = mh_archive_stage_dir (m);
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (staged, stage));

      g_hash_table_replace (staged, stage, GUINT_TO_POINTER (n + 1));
    }
  return mh_thread_split_add (ctx[0], &sl->in, error);
}

/* Groups every stored message (mh_thread_split_new()) and lays out the
 * groups one at a time, in the order of their first message; a group
 * the last layout recorded as it is now is copied from its files. */
static gboolean
lay_out_all (Finish *f, GError **error)
{
  g_autoptr(MhThreadSplit) split = mh_thread_split_new (&f->topts);
  g_autoptr(GArray) rowids = NULL;
  g_autoptr(GArray) sigs = NULL;
  g_autofree guint *groups = NULL;
  g_autofree guint *start = NULL;
  g_autofree guint *sorted = NULL;
  g_autofree gint64 *group_rowids = NULL;
  GError *split_error = NULL;
  gpointer ctx[5] = { split, NULL, &split_error, f->staged, NULL };
  guint64 count_hint = 0;
  guint n_groups = 0, n, largest = 1;

  /* Sized once: a run's peak memory is the step's on a large archive. */
  if (!mh_store_count_messages (f->a->store, &count_hint, error))
    return FALSE;
  count_hint = MIN (count_hint, G_MAXUINT32);
  rowids = g_array_sized_new (FALSE, FALSE, sizeof (gint64),
                              (guint) count_hint);
  sigs = g_array_sized_new (FALSE, FALSE, sizeof (MsgSig),
                            (guint) count_hint);
  ctx[1] = rowids;
  ctx[4] = sigs;
  if (!mh_store_foreach_message (f->a->store, split_add, ctx, error))
    return FALSE;
  if (split_error != NULL)
    {
      g_propagate_error (error, split_error);
      return FALSE;
    }
  n = rowids->len;
  groups = mh_thread_split_groups (split, &n_groups);
  g_clear_pointer (&split, mh_thread_split_free);

  /* Messages by group: a counting sort, stable, so each group keeps the
   * store's order. */
  start = g_new0 (guint, n_groups + 1);
  for (guint i = 0; i < n; i++)
    start[groups[i] + 1]++;
  for (guint g = 0; g < n_groups; g++)
    {
      largest = MAX (largest, start[g + 1]);
      start[g + 1] += start[g];
    }
  sorted = g_new (guint, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    sorted[start[groups[i]]++] = i;
  g_clear_pointer (&groups, g_free);
  group_rowids = g_new (gint64, largest);
  for (guint g = 0, from = 0; g < n_groups; g++)
    {
      const guint *idx = sorted + from;
      guint count = start[g] - from;
      gboolean done;

      mh_finish_group_sig (f, (const MsgSig *) (void *) sigs->data, idx,
                           count, f->sig);
      f->seq = 0;
      if (!mh_finish_reuse_group (f, (const MsgSig *) (void *) sigs->data,
                                  idx, count, &done, error))
        return FALSE;
      for (guint i = 0; !done && i < count; i++)
        group_rowids[i] = g_array_index (rowids, gint64, idx[i]);
      if (!done && !lay_out_group (f, group_rowids, count, error))
        return FALSE;
      from = start[g];
    }
  return TRUE;
}

/* Newest activity first, then by root id: the forest's order. */
static int
cmp_convs (gconstpointer pa, gconstpointer pb)
{
  const Conv *a = pa;
  const Conv *b = pb;

  if (a->last_date != b->last_date)
    return a->last_date > b->last_date ? -1 : 1;
  return strcmp (a->root_id, b->root_id);
}

/* threads.json and index.html, in conversation order, from the spool. */
static void
write_lists (Finish *f)
{
  g_array_sort (f->convs, cmp_convs);
  mh_archive_index_head (&f->html, f->a->account, f->convs->len);
  for (guint i = 0; i < f->convs->len; i++)
    {
      Conv *c = &g_array_index (f->convs, Conv, i);

      mh_archive_out_puts (&f->json, i == 0 ? "[\n  " : ",\n  ");
      c->json_at = mh_archive_out_size (&f->json);
      c->html_at = mh_archive_out_size (&f->html);
      if (c->reused)
        {
          mh_archive_out_copy_fd (&f->json, f->old_json_fd,
                                  c->span->json_off, c->span->json_len);
          mh_archive_out_copy_fd (&f->html, f->old_html_fd,
                                  c->span->html_off, c->span->html_len);
        }
      else
        {
          mh_archive_out_copy (&f->json, &f->spool, c->span->json_off,
                               c->span->json_len);
          mh_archive_out_copy (&f->html, &f->spool, c->span->html_off,
                               c->span->html_len);
        }
    }
  mh_archive_out_puts (&f->json, f->convs->len == 0 ? "[]\n" : "\n]\n");
  mh_archive_out_puts (&f->html, "</table>\n</body></html>\n");
}

static gboolean
note_unused_thread (const char *root_id, const char *dir, gpointer data)
{
  gpointer *ctx = data;

  if (!g_hash_table_contains (ctx[0], dir))
    g_ptr_array_add (ctx[1], g_strdup (root_id));
  return TRUE;
}

/* Message dirs the moves found at neither place (archive-mover.c): the
 * store forgets their messages, so that the next sync fetches them
 * again.  This step's lists still name them; the pending mark stays, and
 * the next finish lays out without them. */
static gboolean
forget_lost (Finish *f, GError **error)
{
  g_autoptr(GPtrArray) lost = g_steal_pointer (&f->a->lost);

  for (guint i = 0; lost != NULL && i < lost->len; i++)
    {
      char **pair = lost->pdata[i];
      gboolean found = FALSE;

      if (!mh_store_forget_message (f->a->store, pair[0], pair[1], &found,
                                    error))
        return FALSE;
      if (!found)
        continue;
      if (f->stats->lost++ == 0)
        g_snprintf (f->stats->lost_dir, sizeof f->stats->lost_dir, "%s/%s",
                    pair[0], pair[1]);
    }
  return TRUE;
}

static gboolean
place_all (Finish *f, GError **error)
{
  g_autoptr(GPtrArray) unused = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  MhArchive *a = f->a;
  gpointer ctx[2] = { f->wanted, unused };
  gboolean ok;

  f->mover = mh_mover_new (a, &f->spool);
  ok = lay_out_all (f, error);
  /* Every move is done before anything below, and before the commit. */
  ok = mh_mover_free (g_steal_pointer (&f->mover), &f->stats->moved,
                      ok ? error : NULL) && ok;
  if (!ok || !forget_lost (f, error))
    return FALSE;
  write_lists (f);

  /* Thread dirs no conversation uses any more: merged or renamed ones,
   * and leftovers of killed runs.  Their messages have moved out.  The
   * thread table is read a row at a time; only the few to forget are
   * kept. */
  if (!mh_store_foreach_thread (a->store, note_unused_thread, &ctx, error))
    return FALSE;
  for (guint i = 0; i < unused->len; i++)
    if (!mh_store_remove_thread (a->store, unused->pdata[i], error))
      return FALSE;
  if (!mh_archive_list_dir (a->threads_fd, names, error))
    return FALSE;
  for (guint i = 0; i < names->len; i++)
    if (!g_hash_table_contains (f->wanted, names->pdata[i]))
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
  f.spool.fd = f.json.fd = f.html.fd = -1;
  f.old_json_fd = f.old_html_fd = -1;
  mh_thread_options_init (&f.topts);
  f.topts.subject_mode = a->options.subject_mode;
  if (a->options.window_days != 0)
    f.topts.window_days = a->options.window_days;
  f.version = g_strdup_printf ("%s subject=%d window=%u", MH_LAYOUT_VERSION,
                               (int) f.topts.subject_mode,
                               (guint) f.topts.window_days);
  f.convs = g_array_new (FALSE, FALSE, sizeof (Conv));
  g_array_set_clear_func (f.convs, conv_clear);
  f.wanted = g_hash_table_new (g_str_hash, g_str_equal);
  f.staged = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_clear_pointer (&a->lost, g_ptr_array_unref);
  if (!mh_archive_commit (a, error))
    goto out;
  if (!a->layout_pending
      && faccessat (a->account_fd, MH_ARCHIVE_PENDING_MARK, F_OK,
                    AT_SYMLINK_NOFOLLOW) != 0
      && errno == ENOENT)
    {
      /* Nothing was added since the last complete finish. */
      guint64 count = 0, threads = 0;

      if (!mh_store_count_messages (a->store, &count, error)
          || !mh_store_count_threads (a->store, &threads, error))
        goto out;
      f.stats->messages = (guint) count;
      f.stats->threads = (guint) threads;
      ok = TRUE;
      goto out;
    }
  /* The parse workers are done (a later add starts them again), but
   * their heaps still hold the buffers they freed: main() raised glibc's
   * trim threshold for them (a no-op where the program links mimalloc,
   * which purges freed pages itself).  Hand those pages back before the conversation
   * step allocates its own, so that the peak is the larger of the two
   * steps, not their sum. */
  mh_archive_stop_worker (a);
#ifdef __GLIBC__
  malloc_trim (0);
#endif
  if (!mh_archive_out_open (&f.spool, a->account_fd, "conversations", error)
      || !mh_archive_out_open (&f.json, a->account_fd, "threads.json", error)
      || !mh_archive_out_open (&f.html, a->account_fd, "index.html", error))
    goto out;
  f.json.sum = mh_sha256_new ();
  f.html.sum = mh_sha256_new ();
  if (!mh_store_begin (a->store, error))
    goto out;
  if (!mh_archive_make_mark (a, MH_ARCHIVE_STARTED_MARK, error)
      || !mh_finish_open_last_layout (&f, error) || !place_all (&f, error))
    {
      (void) mh_store_rollback (a->store, NULL);
      goto out;
    }
  /* threads.json and index.html go in before the commit, so that its one
   * syncfs covers them with the moves and thread.json files (a second
   * sync for them alone was a wait of its own at the end of every run).
   * A run killed after they are in, but before the commit, lays out
   * again and writes them anew. */
  if (!mh_archive_out_commit (&f.json, error)
      || !mh_archive_out_commit (&f.html, error))
    {
      (void) mh_store_rollback (a->store, NULL);
      goto out;
    }
  mh_debug_kill_point ("lists-written");
  if (!mh_finish_record_layout (&f, error))
    {
      (void) mh_store_rollback (a->store, NULL);
      goto out;
    }
  if (!mh_archive_commit (a, error)
      || !mh_archive_remove_mark (a, MH_ARCHIVE_STARTED_MARK, error))
    goto out;
  f.stats->threads = f.convs->len;
  f.stats->messages = f.n_messages - f.stats->lost;
  if (f.stats->lost > 0)
    {
      /* The lists name messages the store forgot: lay out again. */
      ok = TRUE;
      goto out;
    }
  if (!mh_archive_remove_mark (a, MH_ARCHIVE_PENDING_MARK, error))
    goto out;
  a->layout_pending = FALSE;
  ok = TRUE;
out:
  finish_clear (&f);
  return ok;
}
