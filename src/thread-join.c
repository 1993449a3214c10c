/* thread-join.c - joins beyond References: Outlook Thread-Index, Gmail
 * thread ids and subjects (guarded, or RFC 5256 for comparison).
 *
 * Only messages whose own headers give no usable link and that are still
 * the top of their tree are moved, and always as a whole tree under a node
 * of another tree, so no join can create a loop.  The passes run from the
 * strongest evidence to the weakest, each in canonical order, so the
 * result does not depend on input order.  doc/threading.txt has the
 * reasons. */
#include "mailharvest/msgid.h"
#include "thread-private.h"

#include <string.h>

#define MAX_PARTICIPANTS 1000  /* addresses of one message looked at */

#define MAX_SUBJECT_SCAN 256 /* same-subject messages looked at on each
                               * side of a message, nearest first */

typedef struct {
  MhtCtx *ctx;
  GHashTable *parts;   /* top MhtNode* -> set of addresses (borrowed) */
  guint64 window;      /* seconds */
  GArray *uf;          /* guint by rank: union-find towards the top */
} Join;

/* Tree membership as union-find with path halving: the representative of
 * a node is always the real top of its tree, because a join only ever
 * hangs one tree's top under a node of another tree.  This keeps every
 * lookup near O(1) however deep the trees are. */
static MhtNode *
top_of (Join *j, MhtNode *n)
{
  guint *uf = (guint *) (void *) j->uf->data;
  guint r = n->rank;

  while (uf[r] != r)
    {
      uf[r] = uf[uf[r]];
      r = uf[r];
    }
  return g_ptr_array_index (j->ctx->nodes, r);
}

static void
uf_init (Join *j)
{
  g_autofree guint *tops = mh_thread_priv_tops (j->ctx->nodes);

  j->uf = g_array_sized_new (FALSE, FALSE, sizeof (guint),
                             j->ctx->nodes->len);
  g_array_append_vals (j->uf, tops, j->ctx->nodes->len);
}

static MhtNode *
new_group (Join *j, const char *id)
{
  MhtNode *d = mh_thread_priv_placeholder (j->ctx, id);

  g_array_append_val (j->uf, d->rank);
  return d;
}

static gboolean
is_candidate (MhtNode *n)
{
  return n->in != NULL && n->pub.duplicate_of == NULL && !n->has_link
         && n->pub.parent == NULL;
}

static GHashTable *
parts_of (Join *j, MhtNode *top)
{
  GHashTable *set = g_hash_table_lookup (j->parts, top);

  if (set == NULL)
    {
      set = g_hash_table_new (g_str_hash, g_str_equal);
      g_hash_table_insert (j->parts, top, set);
    }
  return set;
}

static void
build_parts (Join *j)
{
  guint i, k;

  for (i = 0; i < j->ctx->n_real; i++)
    {
      MhtNode *n = g_ptr_array_index (j->ctx->nodes, i);
      const char *const *p = n->in->participants;
      GHashTable *set;

      if (n->pub.duplicate_of != NULL || p == NULL)
        continue;
      set = parts_of (j, top_of (j, n));
      /* An empty entry (from splitting "a\n") must not join anything. */
      for (k = 0; p[k] != NULL && k < MAX_PARTICIPANTS; k++)
        if (*p[k] != '\0')
          g_hash_table_add (set, (gpointer) p[k]);
    }
}

/* Moves the tree topped by @n under @parent and merges the participant
 * sets of the two trees. */
static void
attach (Join *j, MhtNode *n, MhtNode *parent, MhThreadLink link)
{
  MhtNode *top = top_of (j, parent);
  GHashTable *from = g_hash_table_lookup (j->parts, n);

  n->pub.parent = &parent->pub;
  n->pub.link = link;
  g_array_index (j->uf, guint, n->rank) = top->rank;
  if (from != NULL)
    {
      GHashTable *to = parts_of (j, top);
      GHashTableIter it;
      gpointer addr;

      g_hash_table_iter_init (&it, from);
      while (g_hash_table_iter_next (&it, &addr, NULL))
        g_hash_table_add (to, addr);
      g_hash_table_remove (j->parts, n);
    }
}

static int
cmp_orphan_groups (gconstpointer a, gconstpointer b, gpointer data)
{
  GPtrArray *x = g_hash_table_lookup (data, a);
  GPtrArray *y = g_hash_table_lookup (data, b);
  guint rx = ((MhtNode *) g_ptr_array_index (x, 0))->rank;
  guint ry = ((MhtNode *) g_ptr_array_index (y, 0))->rank;

  return rx < ry ? -1 : rx > ry;
}

static void
add_orphan (GHashTable *orphans, MhtNode *n)
{
  g_autoptr(GBytes) header = g_bytes_new_from_bytes (
    n->tindex, 0, MH_MSGID_THREAD_INDEX_HEADER);
  GPtrArray *list = g_hash_table_lookup (orphans, header);

  if (list == NULL)
    {
      list = g_ptr_array_new ();
      g_hash_table_insert (orphans, g_bytes_ref (header), list);
    }
  g_ptr_array_add (list, n);
}

/* Replies of one Outlook conversation whose common ancestors are all
 * absent (older than what was fetched) still share the 22-byte header.
 * Two or more of them are gathered under a placeholder named after the
 * header, "thread-index:BASE64", which no Message-ID can equal (it has no
 * '@'), so the thread's name stays the same as more replies arrive. */
static void
gather_orphans (Join *j, GHashTable *orphans)
{
  g_autoptr(GList) headers = g_hash_table_get_keys (orphans);
  GList *l;

  /* Hash order is arbitrary; placeholders are created in the order of
   * their oldest reply so that ranks stay independent of input order. */
  headers = g_list_sort_with_data (headers, cmp_orphan_groups, orphans);
  for (l = headers; l != NULL; l = l->next)
    {
      GPtrArray *list = g_hash_table_lookup (orphans, l->data);
      g_autofree char *b64 = NULL;
      g_autofree char *id = NULL;
      MhtNode *p;
      guint i;

      if (list->len < 2)
        continue;
      b64 = g_base64_encode (g_bytes_get_data (l->data, NULL),
                             MH_MSGID_THREAD_INDEX_HEADER);
      id = g_strconcat ("thread-index:", b64, NULL);
      if (g_hash_table_contains (j->ctx->by_id, id))
        continue;
      p = new_group (j, id);
      for (i = 0; i < list->len; i++)
        attach (j, g_ptr_array_index (list, i), p,
                MH_THREAD_LINK_THREAD_INDEX);
    }
}

/* Outlook keeps the conversation in Thread-Index even when it drops
 * References: a reply's value is its parent's plus one 5-byte block.  The
 * parent is the message with the longest proper prefix. */
static void
join_thread_index (Join *j)
{
  g_autoptr(GHashTable) map = g_hash_table_new (g_bytes_hash, g_bytes_equal);
  g_autoptr(GHashTable) orphans = g_hash_table_new_full (
    g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref,
    (GDestroyNotify) g_ptr_array_unref);
  guint i, k;

  for (i = 0; i < j->ctx->n_real; i++)
    {
      MhtNode *n = g_ptr_array_index (j->ctx->nodes, i);

      if (n->tindex != NULL && n->pub.duplicate_of == NULL
          && !g_hash_table_contains (map, n->tindex))
        g_hash_table_insert (map, n->tindex, n);
    }
  for (i = 0; i < j->ctx->n_real; i++)
    {
      MhtNode *n = g_ptr_array_index (j->ctx->nodes, i);

      if (!is_candidate (n) || n->tindex == NULL)
        continue;
      for (k = mh_msgid_thread_index_depth (n->tindex); k-- > 0;)
        {
          g_autoptr(GBytes) prefix = g_bytes_new_from_bytes (
            n->tindex, 0,
            MH_MSGID_THREAD_INDEX_HEADER + k * MH_MSGID_THREAD_INDEX_BLOCK);
          MhtNode *p = g_hash_table_lookup (map, prefix);

          if (p != NULL && p != n && top_of (j, p) != n)
            {
              attach (j, n, p, MH_THREAD_LINK_THREAD_INDEX);
              break;
            }
        }
      if (n->pub.parent == NULL && mh_msgid_thread_index_depth (n->tindex) > 0)
        add_orphan (orphans, n);
    }
  gather_orphans (j, orphans);
}

/* Gmail's thread id is Gmail's own guess (it threads by subject too), so
 * it only gathers messages that have nothing better: they go under the
 * top of the tree that holds the oldest message of that Gmail thread. */
static void
join_gmail (Join *j)
{
  g_autoptr(GHashTable) anchor = g_hash_table_new (g_str_hash, g_str_equal);
  guint i;

  for (i = 0; i < j->ctx->n_real; i++)
    {
      MhtNode *n = g_ptr_array_index (j->ctx->nodes, i);
      const char *thrid = n->in->gm_thrid;

      if (thrid != NULL && *thrid != '\0' && n->pub.duplicate_of == NULL
          && !g_hash_table_contains (anchor, thrid))
        g_hash_table_insert (anchor, (gpointer) thrid, n);
    }
  for (i = 0; i < j->ctx->n_real; i++)
    {
      MhtNode *n = g_ptr_array_index (j->ctx->nodes, i);
      MhtNode *a, *top;

      if (!is_candidate (n) || n->in->gm_thrid == NULL)
        continue;
      a = g_hash_table_lookup (anchor, n->in->gm_thrid);
      if (a == NULL || a == n)
        continue;
      top = top_of (j, a);
      if (top != n)
        attach (j, n, top, MH_THREAD_LINK_GMAIL);
    }
}

static gboolean
shares_participant (Join *j, MhtNode *n, MhtNode *top)
{
  const char *const *p = n->in->participants;
  GHashTable *set = g_hash_table_lookup (j->parts, top);
  guint k;

  if (p == NULL || set == NULL)
    return FALSE;
  for (k = 0; p[k] != NULL && k < MAX_PARTICIPANTS; k++)
    if (g_hash_table_contains (set, p[k]))
      return TRUE;
  return FALSE;
}

static GHashTable *
subject_index (MhtCtx *ctx)
{
  GHashTable *idx = g_hash_table_new_full (
    g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_ptr_array_unref);
  guint i;

  for (i = 0; i < ctx->n_real; i++)
    {
      MhtNode *n = g_ptr_array_index (ctx->nodes, i);
      GPtrArray *list;

      if (n->pub.duplicate_of != NULL || n->base == NULL
          || *n->base == '\0')
        continue;
      list = g_hash_table_lookup (idx, n->base);
      if (list == NULL)
        {
          list = g_ptr_array_new ();
          g_hash_table_insert (idx, n->base, list);
        }
      g_ptr_array_add (list, n);
    }
  return idx;
}

/* A linkless message joins by subject only when everything points the
 * same way: it says it is a reply, the subject is specific, someone of
 * the thread is on it, and it is close in time to a message of that
 * thread with the same subject.  It goes under the top of the thread
 * holding the nearest such message: which message it answers is
 * unknown. */
/* Index of @n in @list (ordered by rank), or -1. */
static gssize
find_in_list (GPtrArray *list, MhtNode *n)
{
  gsize lo = 0, hi = list->len;

  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;
      MhtNode *m = g_ptr_array_index (list, mid);

      if (m->rank == n->rank)
        return mid;
      if (m->rank < n->rank)
        lo = mid + 1;
      else
        hi = mid;
    }
  return -1;
}

static guint64
distance (MhtNode *a, MhtNode *b)
{
  /* Unsigned, so that extreme dates cannot overflow. */
  return a->in->date > b->in->date
         ? (guint64) a->in->date - (guint64) b->in->date
         : (guint64) b->in->date - (guint64) a->in->date;
}

/* A linkless message joins by subject only when everything points the
 * same way: it says it is a reply, the subject is specific, someone of
 * the thread is on it, and it is close in time to a message of that
 * thread with the same subject.  It goes under the top of the thread
 * holding the nearest such message: which message it answers is
 * unknown.  The same-subject list is in date order, so the scan goes
 * outwards from the message and stops at the window or after
 * MAX_SUBJECT_SCAN messages on each side. */
static void
join_subject_guarded (Join *j)
{
  g_autoptr(GHashTable) idx = subject_index (j->ctx);
  guint i;

  for (i = 0; i < j->ctx->n_real; i++)
    {
      MhtNode *n = g_ptr_array_index (j->ctx->nodes, i);
      GPtrArray *list;
      MhtNode *best = NULL;
      guint64 best_dt = G_MAXUINT64;
      gssize at;
      int side;

      if (!is_candidate (n) || !n->is_reply
          || mh_msgid_subject_is_generic (n->base))
        continue;
      list = g_hash_table_lookup (idx, n->base);
      at = list != NULL ? find_in_list (list, n) : -1;
      if (at < 0)
        continue;
      /* Earlier messages first, so that a tie goes to the older one. */
      for (side = -1; side <= 1; side += 2)
        {
          gssize k = at + side;
          guint scanned = 0;

          for (; k >= 0 && k < (gssize) list->len
                 && scanned < MAX_SUBJECT_SCAN; k += side, scanned++)
            {
              MhtNode *x = g_ptr_array_index (list, k);
              guint64 dt = distance (x, n);
              MhtNode *top;

              if (dt > j->window || dt > best_dt)
                break;
              top = top_of (j, x);
              if (dt == best_dt || top == n || !shares_participant (j, n, top))
                continue;
              best = x;
              best_dt = dt;
            }
        }
      if (best != NULL)
        attach (j, n, top_of (j, best), MH_THREAD_LINK_SUBJECT);
    }
}

/* RFC 5256 REFERENCES step (5): trees whose first messages share a base
 * subject are merged, whatever their participants or dates.  This is what
 * Dovecot does; it is here to compare against, not as a default.  The
 * subject of a tree is that of its oldest message (RFC 5256 takes the
 * first child of a dummy root, which is the same message after sorting). */
static void
join_subject_rfc5256 (Join *j)
{
  MhtCtx *ctx = j->ctx;
  g_autoptr(GHashTable) first = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) table = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) roots = g_ptr_array_new ();
  guint i;

  for (i = 0; i < ctx->n_real; i++)
    {
      MhtNode *n = g_ptr_array_index (ctx->nodes, i);
      MhtNode *top;

      if (n->pub.duplicate_of != NULL)
        continue;
      top = top_of (j, n);
      if (!g_hash_table_contains (first, top))
        {
          g_hash_table_insert (first, top, n);
          g_ptr_array_add (roots, top);
        }
    }

  /* The table keeps a dummy root over a message, and a message that is
   * not a reply over one that is (RFC 5256 5.B-C). */
  for (i = 0; i < roots->len; i++)
    {
      MhtNode *r = g_ptr_array_index (roots, i);
      MhtNode *f = g_hash_table_lookup (first, r);
      MhtNode *e;

      if (*f->base == '\0')
        continue;
      e = g_hash_table_lookup (table, f->base);
      if (e == NULL
          || (r->in == NULL && e->in != NULL)
          || ((r->in == NULL) == (e->in == NULL)
              && ((MhtNode *) g_hash_table_lookup (first, e))->is_reply
              && !f->is_reply))
        g_hash_table_insert (table, f->base, r);
    }

  for (i = 0; i < roots->len; i++)
    {
      MhtNode *r = g_ptr_array_index (roots, i);
      MhtNode *f = g_hash_table_lookup (first, r);
      MhtNode *e, *d;

      if (*f->base == '\0' || r->pub.parent != NULL)
        continue;
      e = g_hash_table_lookup (table, f->base);
      if (e == NULL || e == r)
        continue;
      if (e->in == NULL || f->is_reply)
        {
          attach (j, r, e, MH_THREAD_LINK_SUBJECT);
          continue;
        }
      d = new_group (j, NULL);
      {
        MhtNode *fe = g_hash_table_lookup (first, e);
        MhtNode *older = fe->rank < f->rank ? e : r;

        d->rid = mh_thread_priv_root_id (older);
      }
      attach (j, e, d, MH_THREAD_LINK_SUBJECT);
      attach (j, r, d, MH_THREAD_LINK_SUBJECT);
      g_hash_table_insert (first, d, g_hash_table_lookup (first, e));
      g_hash_table_insert (table, f->base, d);
    }
}

void
mh_thread_priv_join (MhtCtx *ctx)
{
  Join j = { ctx, NULL, (guint64) ctx->opt.window_days * 86400, NULL };
  gboolean any_ti = FALSE, any_gm = FALSE, any_reply = FALSE;
  gboolean rfc = ctx->opt.subject_mode == MH_THREAD_SUBJECT_RFC5256;
  gboolean guarded = ctx->opt.subject_mode == MH_THREAD_SUBJECT_GUARDED;
  guint i;

  /* Most messages have links; skip the passes that have nothing to do. */
  for (i = 0; i < ctx->n_real; i++)
    {
      MhtNode *n = g_ptr_array_index (ctx->nodes, i);

      if (!is_candidate (n))
        continue;
      any_ti |= n->tindex != NULL;
      any_gm |= n->in->gm_thrid != NULL;
      any_reply |= n->is_reply;
    }
  if (!any_ti && !any_gm && !rfc && !(guarded && any_reply))
    return;

  j.parts = g_hash_table_new_full (NULL, NULL, NULL,
                                   (GDestroyNotify) g_hash_table_unref);
  uf_init (&j);
  if (any_ti)
    join_thread_index (&j);
  if (any_gm)
    join_gmail (&j);
  if (guarded && any_reply)
    {
      build_parts (&j);
      join_subject_guarded (&j);
    }
  else if (rfc)
    join_subject_rfc5256 (&j);
  g_hash_table_unref (j.parts);
  g_array_unref (j.uf);
}
