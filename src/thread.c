/* thread.c - JWZ threading by References and In-Reply-To, pruning,
 * ordering and the output forest.  doc/threading.txt has the rules. */
#include "mailharvest/thread.h"
#include "mailharvest/error.h"
#include "mailharvest/msgid.h"
#include "thread-private.h"

#include <string.h>

struct _MhThreadForest {
  GPtrArray *trees;          /* MhThreadTree*, owned */
  GPtrArray *nodes;          /* MhtNode*, owned */
  GHashTable *by_key;        /* key -> MhtNode* */
};

/* What one message's own headers say, kept between the phases: nodes,
 * not ids, so that a large archive holds 8 bytes per reference here. */
typedef struct {
  MhtNode **chain;           /* the referenced messages, oldest first */
  guint len;
  MhtNode *parent;           /* the one its headers name as parent */
} OwnLinks;

static void
node_free (gpointer data)
{
  MhtNode *n = data;

  g_free (n->pub.key);
  g_free (n->pub.id);
  g_clear_pointer (&n->pub.children, g_ptr_array_unref);
  g_free (n->base);
  g_clear_pointer (&n->tindex, g_bytes_unref);
  g_free (n->rid);
  g_free (n);
}

static void
tree_free (gpointer data)
{
  MhThreadTree *t = data;

  g_free (t->root_id);
  g_free (t->subject);
  g_free (t);
}

void
mh_thread_forest_free (MhThreadForest *forest)
{
  if (forest == NULL)
    return;
  g_clear_pointer (&forest->by_key, g_hash_table_unref);
  g_clear_pointer (&forest->trees, g_ptr_array_unref);
  g_clear_pointer (&forest->nodes, g_ptr_array_unref);
  g_free (forest);
}

void
mh_thread_options_init (MhThreadOptions *options)
{
  options->subject_mode = MH_THREAD_SUBJECT_GUARDED;
  options->window_days = MH_THREAD_DEFAULT_WINDOW;
}

guint *
mh_thread_priv_tops (GPtrArray *nodes)
{
  guint *top = g_new (guint, nodes->len);
  g_autoptr(GArray) path = g_array_new (FALSE, FALSE, sizeof (guint));
  guint i, k;

  for (i = 0; i < nodes->len; i++)
    top[i] = G_MAXUINT;
  /* Each node is walked over once: a walk stops at the first node whose
   * top is known and then fills in the whole path. */
  for (i = 0; i < nodes->len; i++)
    {
      MhtNode *n = g_ptr_array_index (nodes, i);
      guint t;

      g_array_set_size (path, 0);
      while (top[n->rank] == G_MAXUINT && n->pub.parent != NULL)
        {
          g_array_append_val (path, n->rank);
          n = (MhtNode *) n->pub.parent;
        }
      if (top[n->rank] == G_MAXUINT)
        top[n->rank] = n->rank;
      t = top[n->rank];
      for (k = 0; k < path->len; k++)
        top[g_array_index (path, guint, k)] = t;
    }
  return top;
}

gboolean
mh_thread_priv_refused (MhtNode *child, MhtNode *parent)
{
  MhThreadNode *p = &parent->pub;
  guint depth = 0;

  for (; p != NULL; p = p->parent)
    {
      if (p == &child->pub || ++depth >= MH_THREAD_MAX_DEPTH)
        return TRUE;
    }
  return FALSE;
}

MhtNode *
mh_thread_priv_placeholder (MhtCtx *ctx, const char *id)
{
  MhtNode *n = g_new0 (MhtNode, 1);

  n->pub.id = g_strdup (id);
  n->pub.input_index = G_MAXSIZE;
  n->rank = ctx->nodes->len;
  g_ptr_array_add (ctx->nodes, n);
  if (id != NULL)
    g_hash_table_insert (ctx->by_id, n->pub.id, n);
  return n;
}

/* Is @n the holder of its id (and not a second message with that id)? */
static gboolean
owns_id (MhtNode *n)
{
  return n->pub.id != NULL && n->in != NULL
         && n->pub.duplicate_of == NULL && !n->id_conflict;
}

char *
mh_thread_priv_root_id (MhtNode *top)
{
  if (top->rid != NULL)
    return g_strdup (top->rid);
  if (top->in == NULL || owns_id (top))
    return g_strdup (top->pub.id != NULL ? top->pub.id : "");
  return g_strconcat ("key:", top->pub.key, NULL);
}

static int
cmp_canonical (gconstpointer a, gconstpointer b)
{
  const MhtNode *x = *(MhtNode *const *) a;
  const MhtNode *y = *(MhtNode *const *) b;

  if (x->in->date != y->in->date)
    return x->in->date < y->in->date ? -1 : 1;
  return strcmp (x->in->key, y->in->key);
}

static const char *
first_participant (const MhThreadInput *in)
{
  return in->participants != NULL ? in->participants[0] : NULL;
}

/* Gives each real message its id, or notes it as a duplicate copy or as a
 * second message with someone else's id.  In canonical order, so the
 * oldest (then smallest key) message keeps a contested id. */
static void
register_ids (MhtCtx *ctx)
{
  guint i;

  for (i = 0; i < ctx->n_real; i++)
    {
      MhtNode *n = g_ptr_array_index (ctx->nodes, i);
      g_autofree char *raw = mh_msgid_parse_message_id (n->in->message_id);
      MhtNode *old;

      n->pub.id = raw != NULL ? mh_msgid_normalize (raw) : NULL;
      if (n->pub.id == NULL)
        continue;
      old = g_hash_table_lookup (ctx->by_id, n->pub.id);
      if (old == NULL)
        {
          g_hash_table_insert (ctx->by_id, n->pub.id, n);
          continue;
        }
      if (old->in->date == n->in->date
          && g_strcmp0 (first_participant (old->in),
                        first_participant (n->in)) == 0)
        n->pub.duplicate_of = &old->pub;
      else
        n->id_conflict = TRUE;
    }
}

static MhtNode *
node_for_id (MhtCtx *ctx, const char *id)
{
  MhtNode *n = g_hash_table_lookup (ctx->by_id, id);

  return n != NULL ? n : mh_thread_priv_placeholder (ctx, id);
}

/* Reads a message's References and In-Reply-To.  RFC 5256 trusts
 * References alone; notmuch prefers a sane In-Reply-To.  We use
 * In-Reply-To as the parent whenever it holds an id, because it names the
 * message replied to directly, while References is often truncated or
 * reordered by mailers; when it is missing from References it is appended
 * to the chain, so a truncated References still reaches the thread. */
GPtrArray *
mh_thread_priv_own_links (const MhThreadInput *in, const char *own_id,
                          char **irt_out)
{
  g_autoptr(GPtrArray) refs = mh_msgid_parse_references (in->references);
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *irt_raw = NULL;
  char *irt = NULL;
  guint i;

  for (i = 0; i < refs->len; i++)
    {
      char *id = mh_msgid_normalize (g_ptr_array_index (refs, i));
      guint j;
      gboolean seen = FALSE;

      if (id == NULL || g_strcmp0 (id, own_id) == 0)
        {
          g_free (id);
          continue;
        }
      for (j = 0; j < ids->len && !seen; j++)
        seen = strcmp (g_ptr_array_index (ids, j), id) == 0;
      if (seen)
        g_free (id);
      else
        g_ptr_array_add (ids, id);
    }

  irt_raw = mh_msgid_parse_in_reply_to (in->in_reply_to, in->participants);
  irt = irt_raw != NULL ? mh_msgid_normalize (irt_raw) : NULL;
  if (irt != NULL && g_strcmp0 (irt, own_id) == 0)
    g_clear_pointer (&irt, g_free);

  if (irt != NULL)
    {
      gboolean in_chain = FALSE;

      for (i = 0; i < ids->len && !in_chain; i++)
        in_chain = strcmp (g_ptr_array_index (ids, i), irt) == 0;
      if (!in_chain)
        g_ptr_array_add (ids, g_strdup (irt));
    }
  *irt_out = irt;
  return ids;
}

/* Every id of a message's chain gets its node here, placeholders in chain
 * order. */
static void
read_own_links (MhtCtx *ctx, MhtNode *n, OwnLinks *o)
{
  g_autofree char *irt = NULL;
  g_autoptr(GPtrArray) ids = mh_thread_priv_own_links (n->in, n->pub.id,
                                                       &irt);
  guint i;

  o->len = ids->len;
  o->chain = ids->len > 0 ? g_new (MhtNode *, ids->len) : NULL;
  for (i = 0; i < ids->len; i++)
    o->chain[i] = node_for_id (ctx, g_ptr_array_index (ids, i));
  if (irt != NULL)
    o->parent = g_hash_table_lookup (ctx->by_id, irt);
  else if (o->len > 0)
    o->parent = o->chain[o->len - 1];
  n->has_link = o->parent != NULL;
}

/* JWZ's linking, in two passes so that order does not matter.  First
 * every message's own parent, newest message first: in a loop the oldest
 * message's link is the one refused, so it becomes the root.  Then the
 * References chains place the remaining parentless nodes, oldest message
 * first; a message's own headers always win over another's chain. */
static void
link_references (MhtCtx *ctx)
{
  guint n_real = ctx->n_real, i, j;
  OwnLinks *own = g_new0 (OwnLinks, n_real);

  for (i = 0; i < n_real; i++)
    {
      MhtNode *n = g_ptr_array_index (ctx->nodes, i);

      if (n->pub.duplicate_of == NULL)
        read_own_links (ctx, n, &own[i]);
    }

  for (i = n_real; i-- > 0;)
    {
      MhtNode *n = g_ptr_array_index (ctx->nodes, i);
      MhtNode *p = own[i].parent;

      if (p == NULL || p == n || mh_thread_priv_refused (n, p))
        continue;
      n->pub.parent = &p->pub;
      n->pub.link = MH_THREAD_LINK_REFERENCES;
    }

  for (i = 0; i < n_real; i++)
    {
      for (j = 1; j < own[i].len; j++)
        {
          MhtNode *a = own[i].chain[j - 1];
          MhtNode *b = own[i].chain[j];

          if (a == b || b->pub.parent != NULL || b->has_link
              || mh_thread_priv_refused (b, a))
            continue;
          b->pub.parent = &a->pub;
          b->pub.link = MH_THREAD_LINK_CHAIN;
        }
      g_free (own[i].chain);
    }
  g_free (own);
}

/* Returns every live node of the trees, each after all its ancestors
 * (pre-order), without recursion: trees may be thousands deep. */
static GPtrArray *
preorder (GPtrArray *nodes)
{
  GPtrArray *out = g_ptr_array_new ();
  g_autoptr(GPtrArray) stack = g_ptr_array_new ();
  guint i, j;

  for (i = 0; i < nodes->len; i++)
    {
      MhtNode *top = g_ptr_array_index (nodes, i);

      if (top->pruned || top->pub.parent != NULL
          || top->pub.duplicate_of != NULL)
        continue;
      g_ptr_array_add (stack, top);
      while (stack->len > 0)
        {
          MhtNode *n = g_ptr_array_steal_index (stack, stack->len - 1);

          g_ptr_array_add (out, n);
          for (j = n->pub.children->len; j-- > 0;)
            g_ptr_array_add (stack, g_ptr_array_index (n->pub.children, j));
        }
    }
  return out;
}

/* JWZ removes every empty placeholder except at the root, where one with
 * several children is kept.  We keep a placeholder with two or more
 * children at any level: it says "these replies answer the same missing
 * message", which is how the conversation looked to its readers.  One
 * with a single child is replaced by that child. */
static void
prune (GPtrArray *nodes)
{
  g_autoptr(GPtrArray) order = preorder (nodes);
  guint i, j;

  /* Children come before their parents in this walk, so each node's
   * children are final when it is looked at.  Rebuilding the child list
   * (rather than editing the parent's) keeps this linear even for a
   * placeholder with thousands of children. */
  for (i = order->len; i-- > 0;)
    {
      MhtNode *n = g_ptr_array_index (order, i);
      GPtrArray *kept = g_ptr_array_sized_new (n->pub.children->len);

      for (j = 0; j < n->pub.children->len; j++)
        {
          MhtNode *c = g_ptr_array_index (n->pub.children, j);

          if (c->pruned && c->pub.children->len == 0)
            continue;
          if (c->pruned)
            c = g_ptr_array_index (c->pub.children, 0);
          c->pub.parent = &n->pub;
          g_ptr_array_add (kept, c);
        }
      g_ptr_array_unref (n->pub.children);
      n->pub.children = kept;
      if (n->in == NULL && kept->len < 2)
        n->pruned = TRUE;
    }

  /* A pruned top hands the tree to its only child, if any. */
  for (i = 0; i < order->len; i++)
    {
      MhtNode *n = g_ptr_array_index (order, i);
      MhtNode *c;

      if (n->pub.parent != NULL || !n->pruned || n->pub.children->len == 0)
        continue;
      c = g_ptr_array_index (n->pub.children, 0);
      c->pub.parent = NULL;
      c->pub.link = MH_THREAD_LINK_ROOT;
    }
}

static int
cmp_nodes (gconstpointer a, gconstpointer b)
{
  const MhtNode *x = *(MhtNode *const *) a;
  const MhtNode *y = *(MhtNode *const *) b;
  const char *xs, *ys;
  int r;

  if (x->pub.date != y->pub.date)
    return x->pub.date < y->pub.date ? -1 : 1;
  if ((x->in == NULL) != (y->in == NULL))
    return x->in == NULL ? -1 : 1;
  xs = x->in != NULL ? x->pub.key : x->pub.id != NULL ? x->pub.id : x->rid;
  ys = y->in != NULL ? y->pub.key : y->pub.id != NULL ? y->pub.id : y->rid;
  r = g_strcmp0 (xs, ys);
  return r != 0 ? r : (x->rank < y->rank ? -1 : x->rank > y->rank);
}

static int
cmp_trees (gconstpointer a, gconstpointer b)
{
  const MhThreadTree *x = *(MhThreadTree *const *) a;
  const MhThreadTree *y = *(MhThreadTree *const *) b;

  if (x->last_date != y->last_date)
    return x->last_date > y->last_date ? -1 : 1;
  return strcmp (x->root_id, y->root_id);
}

static void
finish (MhThreadForest *f)
{
  GPtrArray *nodes = f->nodes;
  g_autoptr(GPtrArray) order = NULL;
  g_autofree guint *tops = mh_thread_priv_tops (nodes);
  guint i, j;

  for (i = 0; i < nodes->len; i++)
    {
      MhtNode *n = g_ptr_array_index (nodes, i);

      n->pub.children = g_ptr_array_new ();
      if (n->pub.duplicate_of == NULL)
        n->pretop = g_ptr_array_index (nodes, tops[i]);
    }
  for (i = 0; i < nodes->len; i++)
    {
      MhtNode *n = g_ptr_array_index (nodes, i);

      if (n->pub.parent != NULL && n->pub.duplicate_of == NULL)
        g_ptr_array_add (n->pub.parent->children, n);
    }
  prune (nodes);

  /* Placeholders sort by the earliest message below them. */
  order = preorder (nodes);
  for (i = order->len; i-- > 0;)
    {
      MhtNode *n = g_ptr_array_index (order, i);

      if (n->in != NULL)
        {
          n->pub.date = n->in->date;
          continue;
        }
      n->pub.date = G_MAXINT64;
      for (j = 0; j < n->pub.children->len; j++)
        n->pub.date = MIN (n->pub.date,
                           ((MhThreadNode *) g_ptr_array_index (
                              n->pub.children, j))->date);
    }
  for (i = 0; i < order->len; i++)
    g_ptr_array_sort (((MhtNode *) g_ptr_array_index (order, i))
                        ->pub.children, cmp_nodes);

  for (i = 0; i < order->len; i++)
    {
      MhtNode *n = g_ptr_array_index (order, i);
      MhThreadTree *t;

      if (n->pub.parent != NULL)
        continue;
      t = g_new0 (MhThreadTree, 1);
      t->root = &n->pub;
      t->root_id = mh_thread_priv_root_id (n->pretop);
      t->first_date = G_MAXINT64;
      t->last_date = G_MININT64;
      g_ptr_array_add (f->trees, t);
    }

  /* Pre-order again, now sorted: depth and the tree's summary. */
  for (i = 0; i < f->trees->len; i++)
    {
      MhThreadTree *t = g_ptr_array_index (f->trees, i);
      g_autoptr(GPtrArray) stack = g_ptr_array_new ();
      MhtNode *oldest = NULL;

      t->root->depth = 0;
      t->root->link = MH_THREAD_LINK_ROOT;
      g_ptr_array_add (stack, t->root);
      while (stack->len > 0)
        {
          MhtNode *n = g_ptr_array_steal_index (stack, stack->len - 1);

          if (n->pub.parent != NULL)
            n->pub.depth = n->pub.parent->depth + 1;
          if (n->in != NULL)
            {
              t->message_count++;
              t->first_date = MIN (t->first_date, n->in->date);
              t->last_date = MAX (t->last_date, n->in->date);
              if (oldest == NULL || n->rank < oldest->rank)
                oldest = n;
            }
          for (j = n->pub.children->len; j-- > 0;)
            g_ptr_array_add (stack, g_ptr_array_index (n->pub.children, j));
        }
      t->subject = oldest != NULL ? g_strdup (oldest->in->subject) : NULL;
    }
  g_ptr_array_sort (f->trees, cmp_trees);
  for (i = 0; i < f->trees->len; i++)
    {
      MhThreadTree *t = g_ptr_array_index (f->trees, i);
      g_autoptr(GPtrArray) stack = g_ptr_array_new ();

      g_ptr_array_add (stack, t->root);
      while (stack->len > 0)
        {
          MhThreadNode *n = g_ptr_array_steal_index (stack, stack->len - 1);

          n->tree = i;
          for (j = 0; j < n->children->len; j++)
            g_ptr_array_add (stack, g_ptr_array_index (n->children, j));
        }
    }
  for (i = 0; i < nodes->len; i++)
    {
      MhtNode *n = g_ptr_array_index (nodes, i);

      if (n->pub.duplicate_of != NULL)
        {
          n->pub.tree = n->pub.duplicate_of->tree;
          n->pub.depth = n->pub.duplicate_of->depth;
          n->pub.date = n->in->date;
          n->pub.link = MH_THREAD_LINK_ROOT;
        }
    }
}

MhThreadForest *
mh_thread_build (const MhThreadInput *inputs, gsize n_inputs,
                 const MhThreadOptions *options, GError **error)
{
  g_autoptr(MhThreadForest) f = g_new0 (MhThreadForest, 1);
  g_autoptr(GHashTable) by_id = g_hash_table_new (g_str_hash, g_str_equal);
  MhtCtx ctx = { 0 };
  gsize i;

  f->nodes = g_ptr_array_new_with_free_func (node_free);
  f->trees = g_ptr_array_new_with_free_func (tree_free);
  f->by_key = g_hash_table_new (g_str_hash, g_str_equal);
  if (inputs == NULL && n_inputs > 0)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_PARSE,
                           "no messages given to thread");
      return NULL;
    }
  if (n_inputs > MH_THREAD_MAX_MESSAGES)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_LIMIT,
                   "too many messages to thread (%" G_GSIZE_FORMAT
                   ", limit %d)", n_inputs, MH_THREAD_MAX_MESSAGES);
      return NULL;
    }

  mh_thread_options_init (&ctx.opt);
  if (options != NULL)
    ctx.opt = *options;
  if (ctx.opt.window_days == 0)
    ctx.opt.window_days = MH_THREAD_DEFAULT_WINDOW;
  ctx.opt.window_days = MIN (ctx.opt.window_days, MH_THREAD_MAX_WINDOW);
  ctx.nodes = f->nodes;
  ctx.by_id = by_id;

  for (i = 0; i < n_inputs; i++)
    {
      MhtNode *n;

      if (inputs[i].key == NULL)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_PARSE,
                       "message %" G_GSIZE_FORMAT " has no key", i);
          return NULL;
        }
      if (g_hash_table_contains (f->by_key, inputs[i].key))
        {
          g_set_error (error, MH_ERROR, MH_ERROR_PARSE,
                       "message key '%s' appears twice", inputs[i].key);
          return NULL;
        }
      n = g_new0 (MhtNode, 1);
      n->in = &inputs[i];
      n->pub.key = g_strdup (inputs[i].key);
      n->pub.date = inputs[i].date;
      n->pub.input_index = i;
      n->base = mh_msgid_subject_base (inputs[i].subject, &n->is_reply);
      n->tindex = mh_msgid_thread_index_decode (inputs[i].thread_index);
      g_ptr_array_add (f->nodes, n);
      g_hash_table_insert (f->by_key, n->pub.key, n);
    }
  g_ptr_array_sort (f->nodes, cmp_canonical);
  ctx.n_real = f->nodes->len;
  for (i = 0; i < f->nodes->len; i++)
    ((MhtNode *) g_ptr_array_index (f->nodes, i))->rank = i;

  register_ids (&ctx);
  link_references (&ctx);
  mh_thread_priv_join (&ctx);
  finish (f);

  /* The input strings are the caller's; nothing may point at them now. */
  for (i = 0; i < f->nodes->len; i++)
    ((MhtNode *) g_ptr_array_index (f->nodes, i))->in = NULL;
  return g_steal_pointer (&f);
}

GPtrArray *
mh_thread_forest_get_trees (MhThreadForest *forest)
{
  return forest->trees;
}

MhThreadNode *
mh_thread_forest_lookup (MhThreadForest *forest, const char *key)
{
  return key != NULL ? g_hash_table_lookup (forest->by_key, key) : NULL;
}

static void
append_label (GString *s, const MhThreadNode *n)
{
  if (n->key != NULL)
    g_string_append (s, n->key);
  else
    g_string_append_printf (s, "<%s>", n->id != NULL ? n->id : "");
}

char *
mh_thread_forest_parent_of (MhThreadForest *forest, const char *key)
{
  MhThreadNode *n = mh_thread_forest_lookup (forest, key);
  GString *s;

  if (n == NULL)
    return NULL;
  if (n->duplicate_of != NULL)
    n = n->duplicate_of;
  if (n->parent == NULL)
    return NULL;
  s = g_string_new (NULL);
  append_label (s, n->parent);
  return g_string_free (s, FALSE);
}

static int
cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

char *
mh_thread_forest_render (MhThreadForest *forest)
{
  g_autoptr(GHashTable) dups = g_hash_table_new_full (
    g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) g_ptr_array_unref);
  GString *s = g_string_new (NULL);
  guint i, j;

  /* Copies are listed by key so the rendering does not depend on input
   * order. */
  for (i = 0; i < forest->nodes->len; i++)
    {
      MhThreadNode *n = g_ptr_array_index (forest->nodes, i);
      GPtrArray *list;

      if (n->duplicate_of == NULL)
        continue;
      list = g_hash_table_lookup (dups, n->duplicate_of);
      if (list == NULL)
        {
          list = g_ptr_array_new ();
          g_hash_table_insert (dups, n->duplicate_of, list);
        }
      g_ptr_array_add (list, n->key);
    }

  for (i = 0; i < forest->trees->len; i++)
    {
      MhThreadTree *t = g_ptr_array_index (forest->trees, i);
      g_autoptr(GPtrArray) stack = g_ptr_array_new ();

      g_string_append_printf (s, "%s: ", t->root_id);
      /* A NULL entry on the stack closes a parenthesis. */
      g_ptr_array_add (stack, t->root);
      while (stack->len > 0)
        {
          MhThreadNode *n = g_ptr_array_steal_index (stack, stack->len - 1);
          GPtrArray *copies;

          if (n == NULL)
            {
              g_string_append_c (s, ')');
              continue;
            }
          if (n->parent != NULL
              && n != g_ptr_array_index (n->parent->children, 0))
            g_string_append_c (s, ' ');
          append_label (s, n);
          copies = g_hash_table_lookup (dups, n);
          if (copies != NULL)
            {
              g_ptr_array_sort (copies, cmp_str);
              for (j = 0; j < copies->len; j++)
                g_string_append_printf (s, " =%s",
                                        (char *) g_ptr_array_index (copies,
                                                                    j));
            }
          if (n->children->len == 0)
            continue;
          g_string_append_c (s, '(');
          g_ptr_array_add (stack, NULL);
          for (j = n->children->len; j-- > 0;)
            g_ptr_array_add (stack, g_ptr_array_index (n->children, j));
        }
      g_string_append_c (s, '\n');
    }
  return g_string_free (s, FALSE);
}
