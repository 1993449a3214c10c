/* test-thread-split.c - the splitter: which messages it keeps apart and
 * which it puts together, and that threading group by group gives the
 * trees of threading everything at once, on hand-made cases and on a
 * large random mix of every kind of link. */
#include "mailharvest/thread.h"

#include "thread-testlib.h"

#include "testlib.h"

static guint
groups_of (const Spec *specs, gsize n, const MhThreadOptions *opt)
{
  g_autofree char *expected = render (specs, n, NULL, opt);

  return assert_split_same (specs, n, NULL, opt, expected);
}

/* Unrelated conversations land in separate groups; a message joins the
 * group of every id it has or names, even an absent one. */
static void
test_ids (void)
{
  static const Spec specs[] = {
    { "a1", "<a1@x>", NULL, NULL, "Budget", T0, "p@x", NULL, NULL },
    { "a2", "<a2@x>", "<a1@x>", NULL, "Re: Budget", T0 + 60, "q@x",
      NULL, NULL },
    { "b1", "<b1@x>", NULL, NULL, "Offsite", T0, "p@x", NULL, NULL },
    { "b2", "<b2@x>", "<gone@x>", NULL, "Re: Offsite", T0 + 9, "p@x",
      NULL, NULL },
    { "b3", "<b3@x>", NULL, "<gone@x>", "Re: Offsite", T0 + 99, "q@x",
      NULL, NULL },
    { "c1", NULL, NULL, NULL, NULL, T0, NULL, NULL, NULL },
  };

  /* a1-a2, b1, b2-b3 (through the absent <gone@x>), c1 */
  g_assert_cmpuint (groups_of (specs, G_N_ELEMENTS (specs), NULL), ==, 4);
}

/* A subject puts messages together only when the subject join can use
 * it: in the guarded mode, when a message with it is a linkless reply and
 * the subject is specific; always in RFC 5256 mode; never when off. */
static void
test_subjects (void)
{
  static const Spec plain[] = {
    { "m1", "<m1@x>", NULL, NULL, "Apollo launch review", T0, "p@x",
      NULL, NULL },
    { "m2", "<m2@x>", NULL, NULL, "Apollo launch review", T0 + 60, "q@x",
      NULL, NULL },
    { "m3", "<m3@x>", "<m1@x>", NULL, "Re: Apollo launch review",
      T0 + 90, "q@x", NULL, NULL },
  };
  static const Spec reply[] = {
    { "m1", "<m1@x>", NULL, NULL, "Apollo launch review", T0, "p@x",
      NULL, NULL },
    { "m2", "<m2@x>", NULL, NULL, "Apollo launch review", T0 + 60, "q@x",
      NULL, NULL },
    { "m4", "<m4@x>", NULL, NULL, "Re: Apollo launch review", T0 + 120,
      "p@x", NULL, NULL },
  };
  static const Spec generic[] = {
    { "h1", "<h1@x>", NULL, NULL, "Hello", T0, "p@x", NULL, NULL },
    { "h2", "<h2@x>", NULL, NULL, "Re: Hello", T0 + 60, "p@x", NULL, NULL },
  };
  MhThreadOptions off = mode (MH_THREAD_SUBJECT_OFF, 0);
  MhThreadOptions rfc = mode (MH_THREAD_SUBJECT_RFC5256, 0);

  /* m3 is a reply but has a link: the subject joins nothing. */
  g_assert_cmpuint (groups_of (plain, 3, NULL), ==, 2);
  g_assert_cmpuint (groups_of (plain, 3, &rfc), ==, 1);
  /* m4 is a linkless reply: the subject may join, so all three meet
   * (the guarded join itself then decides). */
  g_assert_cmpuint (groups_of (reply, 3, NULL), ==, 1);
  g_assert_cmpuint (groups_of (reply, 3, &off), ==, 3);
  /* A stock subject never joins in the guarded mode. */
  g_assert_cmpuint (groups_of (generic, 2, NULL), ==, 2);
  g_assert_cmpuint (groups_of (generic, 2, &rfc), ==, 1);
}

static void
test_thread_index_gmail (void)
{
  guint8 raw[22 + 5];
  g_autofree char *t0 = NULL;
  g_autofree char *t1 = NULL;
  g_autofree char *t2 = NULL;

  for (guint i = 0; i < sizeof raw; i++)
    raw[i] = (guint8) (i * 7 + 1);
  t0 = g_base64_encode (raw, 22);
  t1 = g_base64_encode (raw, 27);
  raw[3] ^= 0xff;
  t2 = g_base64_encode (raw, 27);
  {
    const Spec specs[] = {
      { "o1", "<o1@x>", NULL, NULL, "Plan", T0, "p@x", t0, NULL },
      { "o2", "<o2@x>", NULL, NULL, "RE: Plan", T0 + 5, "q@x", t1, NULL },
      { "o3", "<o3@x>", NULL, NULL, "Other", T0 + 9, "q@x", t2, NULL },
      { "g1", "<g1@x>", NULL, NULL, "Lunch", T0, "p@x", NULL, "77" },
      { "g2", "<g2@x>", NULL, NULL, "Lunch", T0 + 1, "q@x", NULL, "77" },
      { "g3", "<g3@x>", NULL, NULL, "Lunch", T0 + 2, "q@x", NULL, "" },
    };

    /* o1-o2 (same header), o3 (another header), g1-g2, g3 (an empty
     * thread id is none) */
    g_assert_cmpuint (groups_of (specs, G_N_ELEMENTS (specs), NULL), ==, 4);
  }
}

/* Hands @s to @strings to free, and returns it. */
static const char *
keep (GPtrArray *strings, char *s)
{
  g_ptr_array_add (strings, s);
  return s;
}

/* A large random mix: ids that are present, absent, duplicated and
 * contested; References in any order; In-Reply-To alone; subjects from a
 * small pool with and without reply markers; Thread-Index values of a few
 * conversations; Gmail thread ids.  In each subject mode the groups,
 * threaded one by one, give exactly the trees of one build. */
static void
random_mix (MhThreadSubjectMode m, guint seed)
{
  static const char *const subjects[] = {
    "Apollo launch review", "Quarterly numbers", "Hello", "Offsite plans",
    "Server migration", "Invoice", "Team dinner", "",
  };
  const gsize n = 3000;
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autofree Spec *specs = g_new0 (Spec, n);
  g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
  MhThreadOptions opt = mode (m, 0);
  g_autofree char *expected = NULL;
  guint n_groups;

#define KEEP(s) keep (strings, (s))
  for (gsize i = 0; i < n; i++)
    {
      Spec *s = &specs[i];
      guint32 r = g_rand_int (rand);
      /* Mostly recent ids, some anywhere, some never present. */
      guint id = r % 10 == 0
                 ? (guint) g_rand_int_range (rand, 0, (gint32) (n + n / 4))
                 : (guint) MAX ((gint) i - g_rand_int_range (rand, 1, 40), 0);

      s->key = KEEP (g_strdup_printf ("k%05" G_GSIZE_FORMAT, i));
      if (r % 17 != 0)
        s->id = KEEP (g_strdup_printf ("<m%u@example.org>",
                                       r % 29 == 0 ? id / 2 : (guint) i));
      if (r % 3 == 0)
        s->refs = KEEP (g_strdup_printf ("<m%u@example.org> <m%u@example.org>",
                                         id / 3, id));
      else if (r % 5 == 0)
        s->irt = KEEP (g_strdup_printf ("<m%u@example.org>", id));
      s->subject = KEEP (g_strdup_printf (
          "%s%s", g_rand_boolean (rand) ? "Re: " : "",
          subjects[g_rand_int_range (rand, 0, G_N_ELEMENTS (subjects))]));
      s->date = T0 + (gint64) g_rand_int_range (rand, 0, 200) * DAY
                + g_rand_int_range (rand, 0, 3) * 3600;
      s->parts = g_rand_boolean (rand) ? "p@x,q@x" : "r@x";
      if (r % 11 == 0)
        {
          guint8 raw[22 + 10];

          memset (raw, 0, sizeof raw);
          raw[5] = (guint8) g_rand_int_range (rand, 0, 8);
          raw[22] = (guint8) g_rand_int_range (rand, 0, 3);
          raw[27] = (guint8) g_rand_int_range (rand, 0, 3);
          s->tindex = KEEP (g_base64_encode (
              raw, 22 + 5 * (gsize) g_rand_int_range (rand, 0, 3)));
        }
      if (r % 13 == 0)
        s->thrid = KEEP (g_strdup_printf ("%u", g_rand_int_range (rand, 0,
                                                                  40)));
    }
#undef KEEP
  expected = render (specs, n, NULL, &opt);
  n_groups = assert_split_same (specs, n, NULL, &opt, expected);
  /* Not one big group, or the split would save nothing. */
  g_assert_cmpuint (n_groups, >, 1);
  g_test_message ("mode %d: %u groups", m, n_groups);
}

static void
test_random (void)
{
  for (guint seed = 1; seed <= 3; seed++)
    {
      random_mix (MH_THREAD_SUBJECT_GUARDED, seed);
      random_mix (MH_THREAD_SUBJECT_OFF, seed);
      random_mix (MH_THREAD_SUBJECT_RFC5256, seed);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/thread-split/ids", test_ids);
  g_test_add_func ("/thread-split/subjects", test_subjects);
  g_test_add_func ("/thread-split/thread-index-gmail",
                   test_thread_index_gmail);
  g_test_add_func ("/thread-split/random", test_random);
  return g_test_run ();
}
