/* thread-split.c - splits a large set of messages into groups that can be
 * threaded one at a time (mailharvest/thread.h has the contract).
 *
 * Each key a message carries (an id it has or names, its Thread-Index
 * header, its Gmail thread id, its base subject) is a node of a
 * union-find, and a message unites the nodes of its keys.  Keys are kept
 * as 32-bit hashes in an open-addressing table, so memory is a few bytes
 * per message and per key, never the strings.  Two keys that collide
 * only put two groups together: the threader still sees the real
 * strings, so a collision costs memory, never correctness.
 *
 * The subject join is the one rule that is not local to a message: in the
 * guarded mode a base subject joins messages only when some message with
 * it is a linkless reply (thread-join.c's candidates).  Messages are
 * united with their subject at once when that subject is already known to
 * be used that way; otherwise the pair waits until the end. */
#include "mailharvest/thread.h"
#include "mailharvest/error.h"
#include "mailharvest/msgid.h"
#include "thread-private.h"

#include <string.h>

#define MIN_CAPACITY 1024u

typedef struct {
  guint32 msg;
  guint32 subject;
} Pending;

struct _MhThreadSplit {
  MhThreadSubjectMode mode;
  guint32 *slot_hash;        /* 32 bits of the key's hash; 0: empty */
  guint32 *slot_node;
  guint32 capacity;          /* a power of two */
  guint32 used;
  GArray *parent;            /* guint32 by node */
  GArray *active;            /* guint8, a bit per node: a subject that
                              * joins */
  GArray *msg_node;          /* guint32 by message */
  GArray *pending;           /* Pending */
};

/* 32 bits are enough: two keys that share them only put two groups
 * together (about 7 pairs among 250,000 keys). */
static guint32
key_hash (char kind, const void *data, gsize len)
{
  const guchar *p = data;
  guint64 h = 0xcbf29ce484222325ull;   /* FNV-1a, then a final mix */

  h = (h ^ (guchar) kind) * 0x100000001b3ull;
  for (gsize i = 0; i < len; i++)
    h = (h ^ p[i]) * 0x100000001b3ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return (guint32) h != 0 ? (guint32) h : 1;
}

static guint32
new_node (MhThreadSplit *s)
{
  guint32 n = s->parent->len;

  g_array_append_val (s->parent, n);
  if (n / 8 >= s->active->len)
    {
      guint8 zero = 0;

      g_array_append_val (s->active, zero);
    }
  return n;
}

static gboolean
is_active (MhThreadSplit *s, guint32 n)
{
  return (g_array_index (s->active, guint8, n / 8) >> (n % 8)) & 1;
}

static void
set_active (MhThreadSplit *s, guint32 n)
{
  g_array_index (s->active, guint8, n / 8) |= (guint8) (1u << (n % 8));
}

static void
grow (MhThreadSplit *s)
{
  guint32 *old_hash = s->slot_hash;
  guint32 *old_node = s->slot_node;
  guint32 old_cap = s->capacity;

  s->capacity = old_cap != 0 ? old_cap * 2 : MIN_CAPACITY;
  s->slot_hash = g_new0 (guint32, s->capacity);
  s->slot_node = g_new (guint32, s->capacity);
  for (guint32 i = 0; i < old_cap; i++)
    if (old_hash[i] != 0)
      {
        guint32 j = old_hash[i] & (s->capacity - 1);

        while (s->slot_hash[j] != 0)
          j = (j + 1) & (s->capacity - 1);
        s->slot_hash[j] = old_hash[i];
        s->slot_node[j] = old_node[i];
      }
  g_free (old_hash);
  g_free (old_node);
}

/* The node of a key, created on first sight. */
static guint32
key_node (MhThreadSplit *s, char kind, const void *data, gsize len)
{
  guint32 h = key_hash (kind, data, len);
  guint32 j;

  /* At most three quarters full: probes stay short, and the table
   * takes 8 to 16 bytes per key. */
  if ((guint64) (s->used + 1) * 4 > (guint64) s->capacity * 3)
    grow (s);
  for (j = h & (s->capacity - 1); s->slot_hash[j] != 0;
       j = (j + 1) & (s->capacity - 1))
    if (s->slot_hash[j] == h)
      return s->slot_node[j];
  s->slot_hash[j] = h;
  s->slot_node[j] = new_node (s);
  s->used++;
  return s->slot_node[j];
}

static guint32
find (MhThreadSplit *s, guint32 n)
{
  guint32 *parent = (guint32 *) (void *) s->parent->data;

  while (parent[n] != n)
    {
      parent[n] = parent[parent[n]];
      n = parent[n];
    }
  return n;
}

/* Path halving alone keeps finds short enough here; the older node
 * stays the root, which needs no size per node. */
static void
unite (MhThreadSplit *s, guint32 a, guint32 b)
{
  guint32 *parent = (guint32 *) (void *) s->parent->data;

  a = find (s, a);
  b = find (s, b);
  if (a < b)
    parent[b] = a;
  else if (b < a)
    parent[a] = b;
}

/* Puts @node into the set of the message being added, whose node *@msg
 * is the first of its keys (G_MAXUINT32 until it has one). */
static void
join (MhThreadSplit *s, guint32 *msg, guint32 node)
{
  if (*msg == G_MAXUINT32)
    *msg = node;
  else
    unite (s, *msg, node);
}

static void
join_str (MhThreadSplit *s, guint32 *msg, char kind, const char *str)
{
  join (s, msg, key_node (s, kind, str, strlen (str)));
}

MhThreadSplit *
mh_thread_split_new (const MhThreadOptions *options)
{
  MhThreadSplit *s = g_new0 (MhThreadSplit, 1);
  MhThreadOptions defaults;

  mh_thread_options_init (&defaults);
  s->mode = (options != NULL ? options : &defaults)->subject_mode;
  s->parent = g_array_new (FALSE, FALSE, sizeof (guint32));
  s->active = g_array_new (FALSE, FALSE, sizeof (guint8));
  s->msg_node = g_array_new (FALSE, FALSE, sizeof (guint32));
  s->pending = g_array_new (FALSE, FALSE, sizeof (Pending));
  grow (s);
  return s;
}

void
mh_thread_split_free (MhThreadSplit *split)
{
  if (split == NULL)
    return;
  g_free (split->slot_hash);
  g_free (split->slot_node);
  g_array_unref (split->parent);
  g_array_unref (split->active);
  g_array_unref (split->msg_node);
  g_array_unref (split->pending);
  g_free (split);
}

/* Keys the subject join may use; see the file comment. */
static void
add_subject (MhThreadSplit *s, guint32 *msg, const MhThreadInput *in,
             gboolean has_link)
{
  gboolean is_reply = FALSE;
  g_autofree char *base = mh_msgid_subject_base (in->subject, &is_reply);
  guint32 node;

  if (s->mode == MH_THREAD_SUBJECT_OFF || *base == '\0')
    return;
  node = key_node (s, 's', base, strlen (base));
  if (s->mode == MH_THREAD_SUBJECT_RFC5256
      || (is_reply && !has_link && !mh_msgid_subject_is_generic (base)))
    set_active (s, node);
  if (*msg == G_MAXUINT32)
    *msg = new_node (s);
  if (is_active (s, node))
    unite (s, *msg, node);
  else
    {
      Pending p = { *msg, node };

      g_array_append_val (s->pending, p);
    }
}

gboolean
mh_thread_split_add (MhThreadSplit *split, const MhThreadInput *in,
                     GError **error)
{
  g_autofree char *raw = NULL;
  g_autofree char *own = NULL;
  g_autofree char *irt = NULL;
  g_autoptr(GPtrArray) ids = NULL;
  g_autoptr(GBytes) tindex = NULL;
  guint32 msg = G_MAXUINT32;

  if (split->msg_node->len >= MH_THREAD_MAX_MESSAGES)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_LIMIT,
                   "too many messages to thread (limit %d)",
                   MH_THREAD_MAX_MESSAGES);
      return FALSE;
    }
  raw = mh_msgid_parse_message_id (in->message_id);
  own = raw != NULL ? mh_msgid_normalize (raw) : NULL;
  if (own != NULL)
    join_str (split, &msg, 'i', own);
  ids = mh_thread_priv_own_links (in, own, &irt);
  for (guint i = 0; i < ids->len; i++)
    join_str (split, &msg, 'i', g_ptr_array_index (ids, i));

  tindex = mh_msgid_thread_index_decode (in->thread_index);
  if (tindex != NULL)
    join (split, &msg, key_node (split, 't', g_bytes_get_data (tindex, NULL),
                                 MH_MSGID_THREAD_INDEX_HEADER));
  if (in->gm_thrid != NULL && *in->gm_thrid != '\0')
    join_str (split, &msg, 'g', in->gm_thrid);
  add_subject (split, &msg, in, ids->len > 0);
  /* A message without any key is a group of its own. */
  if (msg == G_MAXUINT32)
    msg = new_node (split);
  g_array_append_val (split->msg_node, msg);
  return TRUE;
}

guint *
mh_thread_split_groups (MhThreadSplit *split, guint *n_groups_out)
{
  guint32 n_nodes = split->parent->len;
  guint32 *group_of_root;
  guint *groups;
  guint n_groups = 0;

  for (guint i = 0; i < split->pending->len; i++)
    {
      Pending *p = &g_array_index (split->pending, Pending, i);

      if (is_active (split, p->subject))
        unite (split, p->msg, p->subject);
    }
  g_array_set_size (split->pending, 0);

  group_of_root = g_new (guint32, MAX (n_nodes, 1));
  memset (group_of_root, 0xff, sizeof (guint32) * MAX (n_nodes, 1));
  groups = g_new (guint, MAX (split->msg_node->len, 1));
  for (guint i = 0; i < split->msg_node->len; i++)
    {
      guint32 root = find (split, g_array_index (split->msg_node, guint32, i));

      if (group_of_root[root] == G_MAXUINT32)
        group_of_root[root] = n_groups++;
      groups[i] = group_of_root[root];
    }
  g_free (group_of_root);
  *n_groups_out = n_groups;
  return groups;
}
