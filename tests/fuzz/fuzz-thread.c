/* fuzz-thread.c - libFuzzer target for the threader and the splitter.
 *
 * The input is read as a small account: up to MAX_MSGS messages whose
 * Message-IDs, References, In-Reply-To, subjects, participants, Outlook
 * Thread-Index and Gmail thread ids come from small pools (so that ids
 * collide, chains loop and duplicates meet) or, now and then, straight
 * from the input bytes; dates from near each other to the ends of the
 * range.  For every subject mode the forest must keep the contract of
 * thread.h:
 *   - every message is exactly one real node, in exactly one tree;
 *   - parents and children agree, depths count parent links, and every
 *     node reaches its tree's root;
 *   - a tree's message count is its real nodes that are not duplicates;
 *   - the rendering does not depend on the arrival order (given, reversed
 *     and a rotation taken from the input);
 *   - threading the splitter's groups one by one gives the same trees as
 *     threading all the messages at once.
 * A violation aborts, which libFuzzer reports as a crash. */
#include <stdlib.h>
#include <string.h>

#include "mailharvest/thread.h"

#include "../thread-testlib.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

#define MAX_MSGS 24
#define MAX_RAW 24

#define CHECK(cond) \
  do { if (!(cond)) { g_printerr ("check failed: %s\n", #cond); abort (); } } \
  while (0)

typedef struct {
  const guint8 *p;
  gsize left;
} Reader;

static guint
next (Reader *r)
{
  if (r->left == 0)
    return 0;
  r->left--;
  return *r->p++;
}

/* A string made of the next few input bytes (up to a NUL). */
static const char *
raw_string (Reader *r, GPtrArray *keep)
{
  guint len = next (r) % MAX_RAW;
  char *s = g_malloc0 (len + 1);

  for (guint i = 0; i < len; i++)
    s[i] = (char) next (r);
  g_ptr_array_add (keep, s);
  return s;
}

static const char *const ids[] = {
  "<a@x>", "<b@x>", "<c@x>", "<d@x>", "<e@x>", "<A@X>", "a@x", "<f@y>",
  "<>", "<g@x> (comment) <h@x>", "<h@x>", "  <i@x>  ",
};

static const char *
pick_id (Reader *r, GPtrArray *keep)
{
  guint b = next (r);

  if (b < 16)
    return NULL;
  if (b >= 240)
    return raw_string (r, keep);
  return ids[b % G_N_ELEMENTS (ids)];
}

/* A References value: up to five ids, space-separated. */
static const char *
pick_refs (Reader *r, GPtrArray *keep)
{
  guint b = next (r);
  GString *s;

  if (b < 64)
    return NULL;
  if (b >= 248)
    return raw_string (r, keep);
  s = g_string_new (NULL);
  for (guint k = b % 6; k-- > 0;)
    {
      const char *id = ids[next (r) % G_N_ELEMENTS (ids)];

      if (s->len > 0)
        g_string_append_c (s, (next (r) & 1) ? ' ' : '\n');
      g_string_append (s, id);
    }
  g_ptr_array_add (keep, s->str);
  return g_string_free (s, FALSE);
}

static const char *const subjects[] = {
  "Budget", "Re: Budget", "RE: budget", "Fwd: Budget", "AW: Re: Budget",
  "[team] Re: Budget", "Hello", "Re: Hello", "", "Re:", "Re: Re: Re: Plan",
  "Plan",
};

static const char *const parts[] = { "p@x", "q@x", "p@x,q@x", "r@x", "" };

static const char *const thrids[] = {
  "1", "2", "", "18446744073709551615", "18446744073709551616", "abc",
};

/* An Outlook Thread-Index: a 22-byte header and 0-3 five-byte child
 * blocks, two headers and a few child blocks to choose from, base64. */
static const char *
pick_tindex (Reader *r, GPtrArray *keep)
{
  guint b = next (r);
  guint8 raw[22 + 3 * 5];
  gsize len;
  char *s;

  if (b < 128)
    return NULL;
  if (b >= 248)
    return raw_string (r, keep);
  for (guint i = 0; i < sizeof raw; i++)
    raw[i] = (guint8) (i * 7 + 1);
  raw[5] = (guint8) (b & 1);
  len = 22 + 5 * ((b >> 1) % 4);
  for (gsize i = 22; i < len; i += 5)
    raw[i + 4] = (guint8) (next (r) % 3);
  s = g_base64_encode (raw, len);
  g_ptr_array_add (keep, s);
  return s;
}

static gint64
pick_date (Reader *r)
{
  guint b = next (r);

  switch (b >> 5)
    {
    case 0:
      return (b & 1) ? G_MININT64 : G_MAXINT64;
    case 1:
      return (gint64) (b & 31) - 16;
    default:
      return T0 + (gint64) (b & 63) * (DAY / 2) + (gint64) next (r) * 60;
    }
}

/* Walks the forest: every check of the contract above except the order
 * and the split, which compare renderings. */
static void
check_forest (MhThreadForest *f, const Spec *specs, gsize n)
{
  GPtrArray *trees = mh_thread_forest_get_trees (f);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_direct_hash,
                                                 g_direct_equal);
  guint counted = 0;
  guint originals = 0;

  for (guint t = 0; t < trees->len; t++)
    {
      MhThreadTree *tree = trees->pdata[t];
      g_autoptr(GPtrArray) stack = g_ptr_array_new ();
      guint real = 0;

      CHECK (tree->root != NULL);
      CHECK (tree->root->parent == NULL);
      CHECK (tree->root->depth == 0);
      CHECK (tree->root_id != NULL);
      g_ptr_array_add (stack, tree->root);
      while (stack->len > 0)
        {
          MhThreadNode *node = g_ptr_array_steal_index (stack,
                                                        stack->len - 1);

          /* a node met twice is a cycle or a shared child */
          CHECK (!g_hash_table_contains (seen, node));
          g_hash_table_add (seen, node);
          CHECK (node->tree == t);
          CHECK (node->duplicate_of == NULL);
          if (node->key != NULL)
            {
              real++;
              CHECK (node->input_index < n);
              CHECK (strcmp (specs[node->input_index].key, node->key) == 0);
            }
          for (guint c = 0; c < node->children->len; c++)
            {
              MhThreadNode *child = node->children->pdata[c];

              CHECK (child->parent == node);
              CHECK (child->depth == node->depth + 1);
              CHECK (child->link != MH_THREAD_LINK_ROOT);
              g_ptr_array_add (stack, child);
            }
        }
      CHECK (real == tree->message_count);
      counted += real;
    }

  /* Every input: its node, found by key; an original is in the walk, a
   * duplicate is not, but its original is. */
  for (gsize i = 0; i < n; i++)
    {
      MhThreadNode *node = mh_thread_forest_lookup (f, specs[i].key);

      CHECK (node != NULL);
      CHECK (node->key != NULL && strcmp (node->key, specs[i].key) == 0);
      CHECK (node->input_index == i);
      if (node->duplicate_of == NULL)
        {
          CHECK (g_hash_table_contains (seen, node));
          originals++;
        }
      else
        {
          CHECK (!g_hash_table_contains (seen, node));
          CHECK (g_hash_table_contains (seen, node->duplicate_of));
          CHECK (node->duplicate_of->duplicate_of == NULL);
          CHECK (node->tree == node->duplicate_of->tree);
        }
    }
  CHECK (originals == counted);
}

static void
check_mode (const Spec *specs, gsize n, MhThreadSubjectMode m, guint window,
            guint rotate)
{
  MhThreadOptions opt = mode (m, window);
  g_autofree guint *perm = g_new (guint, MAX (n, 1));
  g_autofree char *expected = NULL;
  Inputs in;
  g_autoptr(GError) error = NULL;
  g_autoptr(MhThreadForest) f = NULL;

  inputs_init (&in, specs, n, NULL);
  f = mh_thread_build (in.inputs, n, &opt, &error);
  CHECK (error == NULL && f != NULL);
  check_forest (f, specs, n);
  expected = mh_thread_forest_render (f);
  inputs_clear (&in);

  for (gsize i = 0; i < n; i++)
    perm[i] = (guint) (n - 1 - i);
  {
    g_autofree char *got = render (specs, n, perm, &opt);

    CHECK (strcmp (got, expected) == 0);
  }
  for (gsize i = 0; i < n; i++)
    perm[i] = (guint) ((i + rotate) % n);
  {
    g_autofree char *got = render (specs, n, perm, &opt);

    CHECK (strcmp (got, expected) == 0);
  }
  (void) assert_split_same (specs, n, perm, &opt, expected);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  Reader r = { data, size };
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  Spec specs[MAX_MSGS];
  gsize n;
  guint window, rotate;

  if (size < 3)
    return 0;
  n = 1 + next (&r) % MAX_MSGS;
  window = next (&r) % 40;
  rotate = next (&r);
  for (gsize i = 0; i < n; i++)
    {
      Spec *s = &specs[i];
      guint b;

      {
        char *key = g_strdup_printf ("k%02u", (guint) i);

        g_ptr_array_add (keep, key);
        s->key = key;
      }
      s->id = pick_id (&r, keep);
      s->refs = pick_refs (&r, keep);
      s->irt = pick_id (&r, keep);
      b = next (&r);
      s->subject = b < 16 ? NULL
                 : b >= 248 ? raw_string (&r, keep)
                 : subjects[b % G_N_ELEMENTS (subjects)];
      s->date = pick_date (&r);
      b = next (&r);
      s->parts = b < 32 ? NULL : parts[b % G_N_ELEMENTS (parts)];
      s->tindex = pick_tindex (&r, keep);
      b = next (&r);
      s->thrid = b < 160 ? NULL : thrids[b % G_N_ELEMENTS (thrids)];
    }

  check_mode (specs, n, MH_THREAD_SUBJECT_GUARDED, window, rotate);
  check_mode (specs, n, MH_THREAD_SUBJECT_OFF, window, rotate);
  check_mode (specs, n, MH_THREAD_SUBJECT_RFC5256, window, rotate);
  return 0;
}
