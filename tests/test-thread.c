/* test-thread.c - the threader's linking: every shape of a four-message
 * thread in every arrival order, missing parents, duplicates, loops, junk
 * ids, limits.  The joins beyond References are in test-thread-join.c. */
#include "mailharvest/error.h"
#include "mailharvest/msgid.h"
#include "mailharvest/thread.h"

#include <string.h>

#include "thread-testlib.h"

#include "testlib.h"

/* ---- every shape of a four-message thread ---------------------------- */

enum { V_FULL, V_REFS_ONLY, V_IRT_ONLY, V_TRUNC_MIDDLE, V_TRUNC_END,
       N_VARIANTS };

#define N4 4

/* The expected rendering, computed from the parent array alone: the
 * oracle the threader is checked against.  @missing (-1 for none) is a
 * placeholder, replaced by its only child or dropped when childless. */
static void
oracle_node (GString *s, const int *parent, int node, int missing)
{
  int kids[N4], nk = 0, i;

  for (i = 0; i < N4; i++)
    {
      int j, grandkids = 0;

      if (parent[i] != node)
        continue;
      for (j = 0; j < N4; j++)
        grandkids += parent[j] == i;
      /* nobody refers to a missing leaf, so no placeholder exists */
      if (i == missing && grandkids == 0)
        continue;
      kids[nk++] = i;
    }
  if (node == missing && nk == 1)
    {
      oracle_node (s, parent, kids[0], missing);
      return;
    }
  if (node == missing)
    g_string_append_printf (s, "<m%d@x>", node);
  else
    g_string_append_printf (s, "m%d", node);
  if (nk == 0)
    return;
  /* Dates grow with the label and a placeholder sorts by its earliest
   * descendant; in this family that keeps children in label order,
   * except that a promoted placeholder takes its child's date. */
  {
    int order[N4], keyv[N4], a, b;

    for (a = 0; a < nk; a++)
      {
        int k = kids[a], probe = k;

        /* the date of a promoted or kept placeholder is its earliest
         * descendant's, which is its first child's (labels grow) */
        while (probe == missing)
          {
            int c;

            for (c = 0; c < N4 && parent[c] != probe; c++)
              ;
            probe = c;
          }
        order[a] = k;
        keyv[a] = probe;
      }
    for (a = 0; a < nk; a++)
      for (b = a + 1; b < nk; b++)
        if (keyv[b] < keyv[a])
          {
            int t = keyv[a]; keyv[a] = keyv[b]; keyv[b] = t;
            t = order[a]; order[a] = order[b]; order[b] = t;
          }
    g_string_append_c (s, '(');
    for (a = 0; a < nk; a++)
      {
        if (a > 0)
          g_string_append_c (s, ' ');
        oracle_node (s, parent, order[a], missing);
      }
    g_string_append_c (s, ')');
  }
}

static char *
oracle (const int *parent, int missing)
{
  GString *s = g_string_new (NULL);
  int root = 0;

  while (parent[root] != -1)
    root++;
  g_string_append_printf (s, "m%d@x: ", root);
  oracle_node (s, parent, root, missing);
  g_string_append_c (s, '\n');
  return g_string_free (s, FALSE);
}

static gboolean
is_tree (const int *parent)
{
  int i, roots = 0;

  for (i = 0; i < N4; i++)
    {
      int steps = 0, p = i;

      if (parent[i] == -1)
        roots++;
      while (p != -1 && steps <= N4)
        p = parent[p], steps++;
      if (p != -1)
        return FALSE;
    }
  return roots == 1;
}

static char *
path_refs (const int *parent, int node, gboolean middle_cut,
           gboolean end_cut)
{
  int path[N4 + 1], n = 0, p, i;
  GString *s = g_string_new (NULL);

  for (p = parent[node]; p != -1; p = parent[p])
    path[n++] = p;
  /* path holds the ancestors nearest first */
  for (i = n - 1; i >= 0; i--)
    {
      if (middle_cut && i != n - 1 && i != 0)
        continue;
      if (end_cut && i == 0)
        continue;
      g_string_append_printf (s, "<m%d@x> ", path[i]);
    }
  return g_string_free (s, FALSE);
}

static void
check_shape (const int *parent, int variant, int missing, guint *count)
{
  g_auto(GStrv) keys = g_new0 (char *, N4 + 1);
  g_auto(GStrv) ids = g_new0 (char *, N4 + 1);
  g_auto(GStrv) refs = g_new0 (char *, N4 + 1);
  g_auto(GStrv) irts = g_new0 (char *, N4 + 1);
  g_autofree char *expected = oracle (parent, missing);
  Spec specs[N4];
  gsize n = 0;
  int i;

  for (i = 0; i < N4; i++)
    {
      gboolean has_parent = parent[i] != -1;

      keys[i] = g_strdup_printf ("m%d", i);
      ids[i] = g_strdup_printf ("<m%d@x>", i);
      refs[i] = path_refs (parent, i, variant == V_TRUNC_MIDDLE,
                           variant == V_TRUNC_END);
      irts[i] = has_parent ? g_strdup_printf ("<m%d@x>", parent[i])
                           : g_strdup ("");
      if (i == missing)
        continue;
      specs[n] = (Spec) {
        keys[i], ids[i],
        variant == V_IRT_ONLY ? NULL : refs[i],
        variant == V_FULL || variant == V_IRT_ONLY || variant == V_TRUNC_END
          ? irts[i] : NULL,
        "Shape test", 1000 + 100 * i, "a@x", NULL, NULL,
      };
      n++;
    }
  assert_threads (specs, n, NULL, expected);
  (*count)++;
}

static void
test_shapes (void)
{
  int parent[N4];
  guint shapes = 0, checks = 0;
  int code, v, i;

  /* parent[i] in -1..3, enumerated as a base-5 number. */
  for (code = 0; code < 5 * 5 * 5 * 5; code++)
    {
      int c = code;
      gboolean self = FALSE;

      for (i = 0; i < N4; i++)
        {
          parent[i] = c % 5 - 1;
          c /= 5;
          self |= parent[i] == i;
        }
      if (self || !is_tree (parent))
        continue;
      shapes++;
      for (v = 0; v < N_VARIANTS; v++)
        check_shape (parent, v, -1, &checks);
      for (i = 0; i < N4; i++)
        check_shape (parent, V_FULL, i, &checks);
    }
  /* Cayley: n^(n-1) rooted labelled trees on n nodes. */
  g_assert_cmpuint (shapes, ==, 64);
  g_assert_cmpuint (checks, ==, 64 * (N_VARIANTS + N4));
}

/* ---- missing parents and root ids ------------------------------------ */

static void
test_missing_parent (void)
{
  const Spec one[] = {
    { "b", "<b@x>", "<a@x>", "<a@x>", "Re: plan", 200, "p@x" },
  };
  const Spec two[] = {
    { "b", "<b@x>", "<a@x>", "<a@x>", "Re: plan", 200, "p@x" },
    { "c", "<c@x>", "<a@x>", "<a@x>", "Re: plan", 300, "q@x" },
  };
  const Spec three[] = {
    { "a", "<a@x>", NULL, NULL, "plan", 100, "p@x" },
    { "b", "<b@x>", "<a@x>", "<a@x>", "Re: plan", 200, "p@x" },
    { "c", "<c@x>", "<a@x>", "<a@x>", "Re: plan", 300, "q@x" },
  };
  Inputs in;
  g_autoptr(MhThreadForest) f = NULL;
  g_autofree char *pb = NULL;
  MhThreadTree *t;

  /* The root id is the absent message's id in every case, so the
   * thread's directory keeps its name as the conversation fills in. */
  assert_threads (one, 1, NULL, "a@x: b\n");
  assert_threads (two, 2, NULL, "a@x: <a@x>(b c)\n");
  assert_threads (three, 3, NULL, "a@x: a(b c)\n");

  inputs_init (&in, two, 2, NULL);
  f = mh_thread_build (in.inputs, 2, NULL, NULL);
  pb = mh_thread_forest_parent_of (f, "b");
  g_assert_cmpstr (pb, ==, "<a@x>");
  t = g_ptr_array_index (mh_thread_forest_get_trees (f), 0);
  g_assert_cmpuint (t->message_count, ==, 2);
  g_assert_cmpint (t->first_date, ==, 200);
  g_assert_cmpint (t->last_date, ==, 300);
  g_assert_cmpstr (t->subject, ==, "Re: plan");
  g_assert_null (t->root->key);
  g_assert_cmpint (t->root->date, ==, 200);
  g_assert_cmpuint (mh_thread_forest_lookup (f, "c")->depth, ==, 1);
  g_assert_null (mh_thread_forest_lookup (f, "nope"));
  inputs_clear (&in);
}

static void
test_tree_order (void)
{
  const Spec specs[] = {
    { "old", "<o@x>", NULL, NULL, "old", 100, "p@x" },
    { "new", "<n@x>", NULL, NULL, "new", 500, "p@x" },
    { "mid", "<m@x>", NULL, NULL, "mid", 300, "p@x" },
    { "late-reply", "<r@x>", "<o@x>", NULL, "Re: old", 900, "p@x" },
    { "tie-b", "<tb@x>", NULL, NULL, "tb", 300, "p@x" },
  };

  /* Newest activity first; equal activity by root id. */
  assert_threads (specs, G_N_ELEMENTS (specs), NULL,
                  "o@x: old(late-reply)\n"
                  "n@x: new\n"
                  "m@x: mid\n"
                  "tb@x: tie-b\n");
}

/* ---- duplicates ------------------------------------------------------ */

static void
test_duplicate_copy (void)
{
  const Spec specs[] = {
    { "inbox/1", "<a@x>", NULL, NULL, "plan", 100, "p@x,q@x" },
    { "all/7", "<a@x>", NULL, NULL, "plan", 100, "p@x,q@x" },
    { "r", "<r@x>", "<a@x>", NULL, "Re: plan", 200, "q@x,p@x" },
  };
  Inputs in;
  g_autoptr(MhThreadForest) f = NULL;
  MhThreadNode *copy;
  MhThreadTree *t;

  assert_threads (specs, 3, NULL, "a@x: all/7 =inbox/1(r)\n");
  inputs_init (&in, specs, 3, NULL);
  f = mh_thread_build (in.inputs, 3, NULL, NULL);
  copy = mh_thread_forest_lookup (f, "inbox/1");
  g_assert_nonnull (copy->duplicate_of);
  g_assert_cmpstr (copy->duplicate_of->key, ==, "all/7");
  g_assert_null (copy->parent);
  t = g_ptr_array_index (mh_thread_forest_get_trees (f), copy->tree);
  g_assert_cmpuint (t->message_count, ==, 2);
  inputs_clear (&in);
}

static void
test_duplicate_id (void)
{
  /* Two different messages share an id: the older keeps it and the
   * replies; the other is placed by its own headers. */
  const Spec alone[] = {
    { "a1", "<x@x>", NULL, NULL, "first", 100, "p@x" },
    { "a2", "<x@x>", NULL, NULL, "second", 200, "q@x" },
    { "r", "<r@x>", "<x@x>", "<x@x>", "Re: first", 300, "q@x" },
  };
  const Spec siblings[] = {
    { "p", "<p@x>", NULL, NULL, "topic", 50, "p@x" },
    { "a1", "<x@x>", "<p@x>", NULL, "Re: topic", 100, "p@x" },
    { "a2", "<x@x>", "<p@x> <x@x>", NULL, "Re: topic", 200, "q@x" },
    { "r", "<r@x>", "<p@x> <x@x>", NULL, "Re: topic", 300, "q@x" },
  };

  /* The second holder of x@x answers a reply to the first: no loop. */
  const Spec answers[] = {
    { "a1", "<x@x>", NULL, NULL, "first", 100, "p@x" },
    { "r", "<r@x>", "<x@x>", NULL, "Re: first", 200, "q@x" },
    { "a2", "<x@x>", "<x@x> <r@x>", "<r@x>", "Re: first", 300, "s@x" },
  };

  assert_threads (alone, 3, NULL, "x@x: a1(r)\nkey:a2: a2\n");
  assert_threads (answers, 3, NULL, "x@x: a1(r(a2))\n");
  assert_threads (siblings, 4, NULL, "p@x: p(a1(r) a2)\n");
}

/* ---- loops and junk -------------------------------------------------- */

static void
test_loops (void)
{
  const Spec pair[] = {
    { "a", "<a@x>", "<b@x>", NULL, "s", 100, "p@x" },
    { "b", "<b@x>", "<a@x>", NULL, "s", 200, "p@x" },
  };
  const Spec self[] = {
    { "a", "<a@x>", "<a@x>", "<a@x>", "s", 100, "p@x" },
    { "b", "<b@x>", "<a@x> <b@x>", "<b@x>", "s", 200, "p@x" },
  };
  const Spec triangle[] = {
    { "a", "<a@x>", "<c@x>", NULL, "s", 100, "p@x" },
    { "b", "<b@x>", "<a@x>", NULL, "s", 200, "p@x" },
    { "c", "<c@x>", "<b@x>", NULL, "s", 300, "p@x" },
  };
  const Spec chain_loop[] = {
    { "a", "<a@x>", NULL, NULL, "s", 100, "p@x" },
    { "b", "<b@x>", "<a@x> <c@x> <a@x>", NULL, "s", 200, "p@x" },
    { "d", "<d@x>", "<c@x> <b@x>", NULL, "s", 300, "p@x" },
  };

  /* The oldest message's link is the one refused. */
  assert_threads (pair, 2, NULL, "a@x: a(b)\n");
  assert_threads (self, 2, NULL, "a@x: a(b)\n");
  assert_threads (triangle, 3, NULL, "a@x: a(b(c))\n");
  assert_threads (chain_loop, 3, NULL, "a@x: a(b(d))\n");
}

static void
test_junk_ids (void)
{
  /* git send-email's prompt answered with "yes": no link. */
  const Spec yes[] = {
    { "p1", "<p1@x>", "<yes>", "<yes>", "[PATCH] fix a", 100, "p@x" },
    { "p2", "<p2@x>", "<yes>", "<yes>", "[PATCH] fix b", 200, "p@x" },
    { "p3", "<yes>", NULL, NULL, "[PATCH] fix c", 300, "p@x" },
  };
  const Spec prose[] = {
    { "a", "<a@x>", NULL, NULL, "plan", 100, "alice@example.com" },
    { "b", "<b@x>", NULL,
      "<a@x> (Alice's message of Mon, 1 Jan 2024 10:00:00 +0000)",
      "Re: plan", 200, "bob@example.com" },
    { "c", "<c@x>", NULL, "Your message of Mon, 1 Jan 2024 <b@x>",
      "Re: plan", 300, "carol@example.com" },
    { "d", "<d@x>", NULL, "Alice <alice@example.com>", "other", 400,
      "dave@example.com" },
    { "e", "<e@x>", NULL, "<alice@example.com>", "other 2", 500,
      "alice@example.com,dave@example.com" },
  };

  assert_threads (yes, 3, NULL,
                  "key:p3: p3\np2@x: p2\np1@x: p1\n");
  assert_threads (prose, 5, NULL,
                  "e@x: e\nd@x: d\na@x: a(b(c))\n");
}

/* ---- errors, limits and accessors ------------------------------------ */

static void
test_errors (void)
{
  MhThreadInput in[2] = { { 0 } };
  g_autoptr(GError) error = NULL;
  g_autoptr(MhThreadForest) empty = NULL;
  MhThreadForest *f;

  in[0].key = "k";
  in[1].key = NULL;
  f = mh_thread_build (in, 2, NULL, &error);
  g_assert_null (f);
  g_assert_error (error, MH_ERROR, MH_ERROR_PARSE);
  g_clear_error (&error);

  in[1].key = "k";
  f = mh_thread_build (in, 2, NULL, &error);
  g_assert_null (f);
  g_assert_error (error, MH_ERROR, MH_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "'k'"));
  g_clear_error (&error);

  f = mh_thread_build (in, MH_THREAD_MAX_MESSAGES + (gsize) 1, NULL, &error);
  g_assert_null (f);
  g_assert_error (error, MH_ERROR, MH_ERROR_LIMIT);

  g_clear_error (&error);
  f = mh_thread_build (NULL, 3, NULL, &error);
  g_assert_null (f);
  g_assert_error (error, MH_ERROR, MH_ERROR_PARSE);

  empty = mh_thread_build (NULL, 0, NULL, NULL);
  g_assert_nonnull (empty);
  g_assert_cmpuint (mh_thread_forest_get_trees (empty)->len, ==, 0);
}

static void
test_bare_input (void)
{
  /* Only keys: every message is its own thread, named by its key. */
  MhThreadInput in[3] = { { 0 } };
  g_autoptr(MhThreadForest) f = NULL;
  g_autofree char *s = NULL;
  g_autofree char *p = NULL;

  in[0].key = "x";
  in[1].key = "y";
  in[2].key = "z";
  in[2].date = G_MININT64;
  in[1].date = G_MAXINT64;
  in[0].subject = "Re: same subject here";
  in[1].subject = "Re: same subject here";
  f = mh_thread_build (in, 3, NULL, NULL);
  s = mh_thread_forest_render (f);
  g_assert_cmpstr (s, ==, "key:y: y\nkey:x: x\nkey:z: z\n");
  p = mh_thread_forest_parent_of (f, "x");
  g_assert_null (p);
}

static void
test_deep_chain (void)
{
  const guint n = 5000;
  g_autofree MhThreadInput *in = g_new0 (MhThreadInput, n);
  g_autofree MhThreadInput *rev = g_new0 (MhThreadInput, n);
  g_autoptr(GPtrArray) strs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(MhThreadForest) f = NULL;
  g_autoptr(MhThreadForest) r = NULL;
  g_autofree char *fs = NULL;
  g_autofree char *rs = NULL;
  g_autofree char *parent = NULL;
  guint i;

  for (i = 0; i < n; i++)
    {
      char *key = g_strdup_printf ("m%05u", i);
      char *id = g_strdup_printf ("<m%u@x>", i);
      char *irt = g_strdup_printf ("<m%u@x>", i == 0 ? 0 : i - 1);

      g_ptr_array_add (strs, key);
      g_ptr_array_add (strs, id);
      g_ptr_array_add (strs, irt);
      in[i].key = key;
      in[i].message_id = id;
      in[i].in_reply_to = i == 0 ? NULL : irt;
      in[i].date = i;
      rev[n - 1 - i] = in[i];
    }
  f = mh_thread_build (in, n, NULL, NULL);
  r = mh_thread_build (rev, n, NULL, NULL);
  fs = mh_thread_forest_render (f);
  rs = mh_thread_forest_render (r);
  g_assert_cmpstr (fs, ==, rs);
  g_assert_cmpuint (mh_thread_forest_get_trees (f)->len, ==, 1);
  g_assert_cmpuint (mh_thread_forest_lookup (f, "m04999")->depth, ==,
                    n - 1);
  parent = mh_thread_forest_parent_of (f, "m04999");
  g_assert_cmpstr (parent, ==, "m04998");
  g_assert_cmpint (mh_thread_forest_lookup (f, "m04999")->link, ==,
                   MH_THREAD_LINK_REFERENCES);
}

static void
test_wide_placeholders (void)
{
  /* Every reply names the root and a different absent message: each
   * absent one holds a single reply and is replaced by it, the root
   * placeholder keeps them all together. */
  const guint n = 3000;
  g_autofree MhThreadInput *in = g_new0 (MhThreadInput, n);
  g_autoptr(GPtrArray) strs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(MhThreadForest) f = NULL;
  MhThreadTree *t;
  MhThreadNode *first;
  guint i;

  for (i = 0; i < n; i++)
    {
      char *key = g_strdup_printf ("r%05u", i);
      char *id = g_strdup_printf ("<r%u@x>", i);
      char *refs = g_strdup_printf ("<root@x> <gap%u@x>", i);

      g_ptr_array_add (strs, key);
      g_ptr_array_add (strs, id);
      g_ptr_array_add (strs, refs);
      in[i].key = key;
      in[i].message_id = id;
      in[i].references = refs;
      in[i].date = (gint64) 1000 - i;
    }
  f = mh_thread_build (in, n, NULL, NULL);
  g_assert_cmpuint (mh_thread_forest_get_trees (f)->len, ==, 1);
  t = g_ptr_array_index (mh_thread_forest_get_trees (f), 0);
  g_assert_cmpstr (t->root_id, ==, "root@x");
  g_assert_null (t->root->key);
  g_assert_cmpuint (t->root->children->len, ==, n);
  g_assert_cmpuint (t->message_count, ==, n);
  first = g_ptr_array_index (t->root->children, 0);
  g_assert_cmpstr (first->key, ==, "r02999");
  g_assert_true (first->parent == t->root);
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0:malloc_context_size=8");
MH_TEST_LSAN_GLIB_SUPPRESSION;

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/thread/shapes", test_shapes);
  g_test_add_func ("/thread/missing-parent", test_missing_parent);
  g_test_add_func ("/thread/tree-order", test_tree_order);
  g_test_add_func ("/thread/duplicate/copy", test_duplicate_copy);
  g_test_add_func ("/thread/duplicate/id", test_duplicate_id);
  g_test_add_func ("/thread/loops", test_loops);
  g_test_add_func ("/thread/junk-ids", test_junk_ids);
  g_test_add_func ("/thread/errors", test_errors);
  g_test_add_func ("/thread/bare-input", test_bare_input);
  g_test_add_func ("/thread/deep-chain", test_deep_chain);
  g_test_add_func ("/thread/wide-placeholders", test_wide_placeholders);
  return g_test_run ();
}
