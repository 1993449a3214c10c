/* thread-testlib.h - helpers shared by test-thread.c and
 * test-thread-join.c: messages written as Spec tables, and a check that
 * every arrival order threads the same way. */
#pragma once

#include "mailharvest/thread.h"

#include <string.h>

#define DAY (24 * 3600)

/* One message as a test writes it; parts is a comma-separated list. */
typedef struct {
  const char *key;
  const char *id;
  const char *refs;
  const char *irt;
  const char *subject;
  gint64 date;
  const char *parts;
  const char *tindex;
  const char *thrid;
} Spec;

typedef struct {
  MhThreadInput *inputs;
  char ***parts;
  gsize n;
} Inputs;

static inline void
inputs_clear (Inputs *in)
{
  gsize i;

  for (i = 0; i < in->n; i++)
    g_strfreev (in->parts[i]);
  g_free (in->parts);
  g_free (in->inputs);
}

/* Builds the input array from @specs taken in the order @perm (NULL for
 * the given order). */
static inline void
inputs_init (Inputs *in, const Spec *specs, gsize n, const guint *perm)
{
  gsize i;

  in->n = n;
  in->inputs = g_new0 (MhThreadInput, n);
  in->parts = g_new0 (char **, n);
  for (i = 0; i < n; i++)
    {
      const Spec *s = &specs[perm != NULL ? perm[i] : i];
      MhThreadInput *m = &in->inputs[i];

      in->parts[i] = s->parts != NULL ? g_strsplit (s->parts, ",", -1)
                                      : NULL;
      m->key = s->key;
      m->message_id = s->id;
      m->references = s->refs;
      m->in_reply_to = s->irt;
      m->subject = s->subject;
      m->date = s->date;
      m->participants = (const char *const *) in->parts[i];
      m->thread_index = s->tindex;
      m->gm_thrid = s->thrid;
      m->mailbox = "INBOX";
    }
}

static inline char *
render (const Spec *specs, gsize n, const guint *perm,
        const MhThreadOptions *opt)
{
  Inputs in;
  g_autoptr(GError) error = NULL;
  g_autoptr(MhThreadForest) f = NULL;
  char *s;

  inputs_init (&in, specs, n, perm);
  f = mh_thread_build (in.inputs, n, opt, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f);
  s = mh_thread_forest_render (f);
  inputs_clear (&in);
  return s;
}

static inline int
cmp_line (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The lines of @text, sorted (transfer full). */
static inline GPtrArray *
sorted_lines (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0')
      g_ptr_array_add (out, g_strdup (lines[i]));
  g_ptr_array_sort (out, cmp_line);
  return out;
}

/* Threads @specs in the order @perm group by group, as a splitter groups
 * them, and returns the trees of all groups, one line each, sorted; sets
 * *@n_groups_out.  (transfer full) */
static inline GPtrArray *
render_split (const Spec *specs, gsize n, const guint *perm,
              const MhThreadOptions *opt, guint *n_groups_out)
{
  Inputs in;
  g_autoptr(MhThreadSplit) split = mh_thread_split_new (opt);
  g_autoptr(GError) error = NULL;
  g_autofree guint *groups = NULL;
  g_autoptr(GString) all = g_string_new (NULL);
  guint n_groups = 0;

  inputs_init (&in, specs, n, perm);
  for (gsize i = 0; i < n; i++)
    {
      g_assert_true (mh_thread_split_add (split, &in.inputs[i], &error));
      g_assert_no_error (error);
    }
  groups = mh_thread_split_groups (split, &n_groups);
  for (guint g = 0; g < n_groups; g++)
    {
      g_autofree MhThreadInput *sub = g_new0 (MhThreadInput, MAX (n, 1));
      g_autoptr(MhThreadForest) f = NULL;
      g_autofree char *text = NULL;
      gsize k = 0;

      for (gsize i = 0; i < n; i++)
        if (groups[i] == g)
          sub[k++] = in.inputs[i];
      g_assert_cmpuint (k, >, 0);
      f = mh_thread_build (sub, k, opt, &error);
      g_assert_no_error (error);
      text = mh_thread_forest_render (f);
      g_string_append (all, text);
      g_string_append_c (all, '\n');
    }
  inputs_clear (&in);
  *n_groups_out = n_groups;
  return sorted_lines (all->str);
}

/* Asserts that threading @specs group by group gives the trees that
 * threading them all at once gives (@expected), and returns the number of
 * groups. */
static inline guint
assert_split_same (const Spec *specs, gsize n, const guint *perm,
                   const MhThreadOptions *opt, const char *expected)
{
  g_autoptr(GPtrArray) want = sorted_lines (expected);
  guint n_groups = 0;
  g_autoptr(GPtrArray) got = render_split (specs, n, perm, opt, &n_groups);

  g_assert_cmpuint (got->len, ==, want->len);
  for (guint i = 0; i < got->len; i++)
    g_assert_cmpstr (got->pdata[i], ==, want->pdata[i]);
  g_assert_cmpuint (n_groups, <=, want->len);
  return n_groups;
}

/* Advances @perm to the next permutation in lexicographic order. */
static inline gboolean
next_perm (guint *perm, gsize n)
{
  gsize i, j;

  if (n < 2)
    return FALSE;
  i = n - 1;
  while (i > 0 && perm[i - 1] >= perm[i])
    i--;
  if (i == 0)
    return FALSE;
  j = n - 1;
  while (perm[j] <= perm[i - 1])
    j--;
  { guint t = perm[i - 1]; perm[i - 1] = perm[j]; perm[j] = t; }
  for (j = n - 1; i < j; i++, j--)
    { guint t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
  return TRUE;
}

/* Asserts that every arrival order of @specs (every permutation up to six
 * messages, otherwise rotations and their reversals) renders as
 * @expected. */
static inline void
assert_threads (const Spec *specs, gsize n, const MhThreadOptions *opt,
                const char *expected)
{
  g_autofree guint *perm = g_new (guint, n);
  gsize i, r;

  for (i = 0; i < n; i++)
    perm[i] = i;
  if (n <= 6)
    {
      do
        {
          g_autofree char *got = render (specs, n, perm, opt);

          g_assert_cmpstr (got, ==, expected);
          (void) assert_split_same (specs, n, perm, opt, expected);
        }
      while (next_perm (perm, n));
      return;
    }
  for (r = 0; r < 2 * n; r++)
    {
      g_autofree char *got = NULL;

      for (i = 0; i < n; i++)
        perm[i] = r < n ? (i + r) % n : (2 * n - 1 - i + r) % n;
      got = render (specs, n, perm, opt);
      g_assert_cmpstr (got, ==, expected);
      (void) assert_split_same (specs, n, perm, opt, expected);
    }
}


#define T0 1700000000

static inline MhThreadOptions
mode (MhThreadSubjectMode m, guint window)
{
  MhThreadOptions o;

  mh_thread_options_init (&o);
  o.subject_mode = m;
  o.window_days = window;
  return o;
}
