/* test-thread-join.c - joins beyond References: Outlook Thread-Index,
 * Gmail thread ids, guarded and RFC 5256 subject joining, and a fixture
 * conversation from a mix of mailers, each in many arrival orders. */
#include "mailharvest/thread.h"

#include "thread-testlib.h"

#include "testlib.h"

/* ---- Outlook Thread-Index -------------------------------------------- */

static char *
tindex (guint8 conv, guint blocks, guint8 branch)
{
  guint8 raw[22 + 5 * 4];
  guint i;

  raw[0] = 0x01;
  for (i = 1; i < 22; i++)
    raw[i] = conv * 31 + i;
  for (i = 0; i < 5 * blocks; i++)
    raw[22 + i] = (i / 5 == blocks - 1 ? branch : 0) + i;
  return g_base64_encode (raw, 22 + 5 * blocks);
}

static void
test_thread_index (void)
{
  g_autofree char *t0 = tindex (1, 0, 0);
  g_autofree char *t1 = tindex (1, 1, 0);
  g_autofree char *t2 = tindex (1, 2, 0);
  g_autofree char *t1b = tindex (1, 1, 100);
  g_autofree char *t3 = tindex (1, 3, 0);
  g_autofree char *other = tindex (2, 1, 0);
  const Spec chain[] = {
    { "m1", "<m1@x>", NULL, NULL, "Budget", 100, "p@x", t0 },
    { "m2", "<m2@x>", NULL, NULL, "RE: Budget", 200, "q@x", t1 },
    { "m3", "<m3@x>", NULL, NULL, "RE: Budget", 300, "p@x", t2 },
    { "m4", "<m4@x>", NULL, NULL, "RE: Budget", 400, "r@x", t1b },
    { "o", "<o@x>", NULL, NULL, "RE: Budget", 500, "s@x", other },
  };
  /* m2 absent: m3 goes to the longest prefix that is present. */
  const Spec gap[] = {
    { "m1", "<m1@x>", NULL, NULL, "Budget", 100, "p@x", t0 },
    { "m3", "<m3@x>", NULL, NULL, "RE: Budget", 300, "p@x", t2 },
    { "m4", "<m4@x>", NULL, NULL, "Budget", 400, "r@x", t3 },
  };
  /* References win over Thread-Index. */
  const Spec refs_win[] = {
    { "m1", "<m1@x>", NULL, NULL, "Budget", 100, "p@x", t0 },
    { "z", "<z@x>", NULL, NULL, "Other", 150, "p@x", NULL },
    { "m2", "<m2@x>", "<z@x>", NULL, "RE: Budget", 200, "q@x", t1 },
  };
  /* m1 absent: its replies gather under a placeholder for the
   * conversation header; the lone reply of another one stays alone. */
  const Spec orphans[] = {
    { "m2", "<m2@x>", NULL, NULL, "RE: Budget", 200, "q@x", t1 },
    { "m3", "<m3@x>", NULL, NULL, "RE: Budget", 300, "p@x", t2 },
    { "m4", "<m4@x>", NULL, NULL, "RE: Budget", 400, "r@x", t1b },
    { "o", "<o@x>", NULL, NULL, "RE: Budget", 500, "s@x", other },
  };
  g_autofree guchar *raw = NULL;
  g_autofree char *header = NULL;
  g_autofree char *expected = NULL;
  gsize raw_len = 0;
  MhThreadOptions off;

  raw = g_base64_decode (t0, &raw_len);
  g_assert_cmpuint (raw_len, ==, 22);
  header = g_base64_encode (raw, 22);
  expected = g_strdup_printf ("o@x: o\nthread-index:%s: "
                              "<thread-index:%s>(m2(m3) m4)\n",
                              header, header);
  mh_thread_options_init (&off);
  off.subject_mode = MH_THREAD_SUBJECT_OFF;
  assert_threads (chain, 5, &off, "o@x: o\nm1@x: m1(m2(m3) m4)\n");
  assert_threads (orphans, 4, &off, expected);
  assert_threads (gap, 3, &off, "m1@x: m1(m3(m4))\n");
  assert_threads (refs_win, 3, &off, "z@x: z(m2)\nm1@x: m1\n");
}

/* ---- Gmail thread id ------------------------------------------------- */

static void
test_gmail (void)
{
  const Spec specs[] = {
    { "g1", "<g1@x>", NULL, NULL, "Trip", 100, "p@x", NULL, "T1" },
    { "g2", "<g2@x>", "<g1@x>", NULL, "Re: Trip", 200, "q@x", NULL, "T1" },
    { "g3", "<g3@x>", NULL, NULL, "photos", 300, "r@x", NULL, "T1" },
    { "h1", "<h1@x>", NULL, NULL, "Other", 150, "p@x", NULL, "T2" },
    { "h2", "<h2@x>", "<zz@x>", NULL, "Other", 250, "p@x", NULL, "T1" },
  };
  MhThreadOptions off;

  mh_thread_options_init (&off);
  off.subject_mode = MH_THREAD_SUBJECT_OFF;
  /* g3 has no link and joins T1's tree under its top; h2 has a link of
   * its own, so Gmail's opinion does not move it. */
  assert_threads (specs, 5, &off,
                  "g1@x: g1(g2 g3)\nzz@x: h2\nh1@x: h1\n");
}

/* ---- subjects -------------------------------------------------------- */

static void
test_subject_guarded (void)
{
  const Spec yes[] = {
    { "a", "<a@x>", NULL, NULL, "Budget plan Q3", T0, "alice@x,bob@x" },
    { "b", "<b@x>", NULL, NULL, "Re: Budget plan Q3", T0 + DAY,
      "bob@x,alice@x" },
    { "c", "<c@x>", NULL, NULL, "AW: [fin] budget  PLAN q3", T0 + 20 * DAY,
      "carol@x,bob@x" },
  };
  const Spec strangers[] = {
    { "a", "<a@x>", NULL, NULL, "Budget plan Q3", T0, "alice@x,bob@x" },
    { "b", "<b@x>", NULL, NULL, "Re: Budget plan Q3", T0 + DAY,
      "carol@x,dave@x" },
  };
  /* Empty participant entries are not a shared participant. */
  const Spec empty_parts[] = {
    { "a", "<a@x>", NULL, NULL, "Budget plan Q3", T0, "alice@x," },
    { "b", "<b@x>", NULL, NULL, "Re: Budget plan Q3", T0 + DAY, ",carol@x" },
  };
  const Spec late[] = {
    { "a", "<a@x>", NULL, NULL, "Budget plan Q3", T0, "alice@x,bob@x" },
    { "b", "<b@x>", NULL, NULL, "Re: Budget plan Q3", T0 + 40 * DAY,
      "bob@x,alice@x" },
  };
  const Spec generic[] = {
    { "a", "<a@x>", NULL, NULL, "Invoice", T0, "shop@x,bob@x" },
    { "b", "<b@x>", NULL, NULL, "Re: Invoice", T0 + DAY, "bob@x,shop@x" },
  };
  const Spec no_prefix[] = {
    { "a", "<a@x>", NULL, NULL, "Budget plan Q3", T0, "alice@x,bob@x" },
    { "b", "<b@x>", NULL, NULL, "Budget plan Q3", T0 + DAY,
      "alice@x,bob@x" },
  };
  /* Two earlier threads with the subject: the nearer one in time wins. */
  const Spec nearest[] = {
    { "a", "<a@x>", NULL, NULL, "Budget plan Q3", T0, "alice@x,bob@x" },
    { "b", "<b@x>", NULL, NULL, "Budget plan Q3", T0 + 10 * DAY,
      "alice@x,bob@x" },
    { "r", "<r@x>", NULL, NULL, "Re: Budget plan Q3", T0 + 11 * DAY,
      "bob@x,alice@x" },
  };
  MhThreadOptions guarded = mode (MH_THREAD_SUBJECT_GUARDED, 0);
  MhThreadOptions wide = mode (MH_THREAD_SUBJECT_GUARDED, 60);
  MhThreadOptions off = mode (MH_THREAD_SUBJECT_OFF, 0);

  assert_threads (yes, 3, NULL, "a@x: a(b c)\n");
  assert_threads (yes, 3, &off, "c@x: c\nb@x: b\na@x: a\n");
  assert_threads (strangers, 2, &guarded, "b@x: b\na@x: a\n");
  assert_threads (empty_parts, 2, &guarded, "b@x: b\na@x: a\n");
  assert_threads (late, 2, &guarded, "b@x: b\na@x: a\n");
  assert_threads (late, 2, &wide, "a@x: a(b)\n");
  assert_threads (generic, 2, &guarded, "b@x: b\na@x: a\n");
  assert_threads (no_prefix, 2, &guarded, "b@x: b\na@x: a\n");
  assert_threads (nearest, 3, &guarded, "b@x: b(r)\na@x: a\n");
}

static void
test_subject_rfc5256 (void)
{
  const Spec strangers[] = {
    { "a", "<a@x>", NULL, NULL, "Budget plan Q3", T0, "alice@x,bob@x" },
    { "b", "<b@x>", NULL, NULL, "Re: Budget plan Q3", T0 + 90 * DAY,
      "carol@x,dave@x" },
  };
  const Spec invoices[] = {
    { "i1", "<i1@x>", NULL, NULL, "Invoice", T0, "shop1@x,me@x" },
    { "i2", "<i2@x>", NULL, NULL, "Invoice", T0 + DAY, "shop2@x,me@x" },
    { "i3", "<i3@x>", "<i2@x>", NULL, "Re: Invoice", T0 + 2 * DAY,
      "me@x,shop2@x" },
  };
  MhThreadOptions rfc = mode (MH_THREAD_SUBJECT_RFC5256, 0);

  /* Dovecot's behaviour: merged by base subject alone.  The guarded
   * mode keeps all of these apart (see test_subject_guarded). */
  assert_threads (strangers, 2, &rfc, "a@x: a(b)\n");
  assert_threads (invoices, 3, &rfc, "i1@x: <>(i1 i2(i3))\n");
  assert_threads (invoices, 3, NULL, "i2@x: i2(i3)\ni1@x: i1\n");
}

/* ---- a realistic conversation from a fixture ------------------------- */

/* Returns @key of @group (NULL when absent), kept alive by @owned. */
static const char *
kf_string (GKeyFile *kf, const char *group, const char *key,
           GPtrArray *owned)
{
  char *v = g_key_file_get_string (kf, group, key, NULL);

  if (v != NULL)
    g_ptr_array_add (owned, v);
  return v;
}

static void
test_fixture_mixed (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data",
                                                 "threads", "mixed.ini",
                                                 NULL);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) groups = NULL;
  g_autofree Spec *specs = NULL;
  const char *modes[] = { "guarded", "off", "rfc5256" };
  const MhThreadSubjectMode mode_values[] = {
    MH_THREAD_SUBJECT_GUARDED, MH_THREAD_SUBJECT_OFF,
    MH_THREAD_SUBJECT_RFC5256,
  };
  gsize n_groups = 0, n = 0, i;

  g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  groups = g_key_file_get_groups (kf, &n_groups);
  specs = g_new0 (Spec, n_groups);
  for (i = 0; i < n_groups; i++)
    {
      const char *g = groups[i];
      g_autoptr(GDateTime) dt = NULL;
      g_auto(GStrv) parts = NULL;
      char *date;

      if (!g_str_has_prefix (g, "msg "))
        continue;
      specs[n].key = g + 4;
      specs[n].id = kf_string (kf, g, "id", owned);
      specs[n].refs = kf_string (kf, g, "references", owned);
      specs[n].irt = kf_string (kf, g, "in-reply-to", owned);
      specs[n].subject = kf_string (kf, g, "subject", owned);
      date = g_key_file_get_string (kf, g, "date", NULL);
      g_assert_nonnull (date);
      dt = g_date_time_new_from_iso8601 (date, NULL);
      g_free (date);
      g_assert_nonnull (dt);
      specs[n].date = g_date_time_to_unix (dt);
      parts = g_key_file_get_string_list (kf, g, "participants", NULL, NULL);
      if (parts != NULL)
        {
          char *joined = g_strjoinv (",", parts);

          g_ptr_array_add (owned, joined);
          specs[n].parts = joined;
        }
      n++;
    }
  g_assert_cmpuint (n, ==, 8);

  for (i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autofree char *expected = g_key_file_get_string (kf, "expect",
                                                         modes[i], NULL);
      MhThreadOptions opt = mode (mode_values[i], 0);

      g_assert_nonnull (expected);
      g_test_message ("mode %s", modes[i]);
      assert_threads (specs, n, &opt, expected);
    }
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0:malloc_context_size=8");
MH_TEST_LSAN_GLIB_SUPPRESSION;

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/thread-join/thread-index", test_thread_index);
  g_test_add_func ("/thread-join/gmail", test_gmail);
  g_test_add_func ("/thread-join/subject/guarded", test_subject_guarded);
  g_test_add_func ("/thread-join/subject/rfc5256", test_subject_rfc5256);
  g_test_add_func ("/thread-join/fixture/mixed", test_fixture_mixed);
  return g_test_run ();
}
