/* test-archive.c - conversations on disk: threads that grow across
 * imports and mailboxes, merge, and keep their names. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mailharvest/archive.h"
#include "mailharvest/error.h"
#include "mailharvest/import.h"
#include "mailharvest/layout.h"
#include "mailharvest/message.h"
#include "mailharvest/writer.h"

#include "archive-testlib.h"

static void
import (Fixture *f, const char *const *names, MhImportStats *stats)
{
  mh_test_import (f->out, corpus, names, stats);
  g_assert_cmpuint (stats->failed, ==, 0);
}

/* Runs `mailharvest import -o OUT CORPUS/@name` and returns its stderr
 * (transfer full) after checking that it succeeded. */
static char *
import_cli (Fixture *f, const char *name)
{
  const char *binary = g_getenv ("MH_BINARY");
  g_autofree char *path = corpus (name);
  const char *argv[] = { binary != NULL ? binary : "build/mailharvest",
                         "import", "-o", f->out, path, NULL };
  g_autoptr(GError) error = NULL;
  char *err = NULL;
  int status = -1;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
                               G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                               &err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("%s", err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return err;
}

/* The names in @dir, sorted. */
static GPtrArray *
names_in (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (out, g_strdup (name));
  g_ptr_array_sort (out, mh_test_cmp_str);
  return out;
}

static char *
thread_name (const char *day, const char *subject, const char *root_id)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601 (day, NULL);

  g_assert_nonnull (dt);
  return mh_layout_thread_dir (g_date_time_to_unix (dt), subject, root_id);
}

static JsonNode *
load_thread (Fixture *f, const char *tdir)
{
  g_autofree char *path = g_build_filename (f->threads, tdir, "thread.json",
                                            NULL);

  return mh_test_load_json (path);
}

/* "id>parent" for every message of a thread.json object, in its order. */
static char *
parent_links (JsonObject *thread)
{
  JsonArray *msgs = json_object_get_array_member (thread, "messages");
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (msgs); i++)
    {
      JsonObject *m = json_array_get_object_element (msgs, i);
      const char *parent = json_object_get_string_member_with_default (
          m, "parent", "-");

      g_string_append_printf (s, "%s%s>%s", i > 0 ? " " : "",
                              json_object_get_string_member (m,
                                                             "message_id"),
                              parent != NULL ? parent : "-");
    }
  return g_strdup (s->str);
}

/* The message dirs of thread dir @tdir, with a check that each one's
 * thread.json entry names it. */
static GPtrArray *
message_dirs (Fixture *f, const char *tdir)
{
  g_autofree char *path = g_build_filename (f->threads, tdir, NULL);
  g_autoptr(GPtrArray) names = names_in (path);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < names->len; i++)
    if (strcmp (names->pdata[i], "thread.json") != 0)
      g_ptr_array_add (out, g_strdup (names->pdata[i]));
  return out;
}

static const char *const quarterly[] = {
  "a1@example.org>-", "a2@example.com>a1@example.org",
  "a3@example.org>a2@example.com", "a4@example.com>a3@example.org",
  "a5@example.net>a3@example.org",
};

/* A conversation split across Inbox and Sent and across two imports, the
 * older half second: one thread dir in the end, renamed to its real
 * first day, with all of it, and no stale dir. */
static void
test_split_runs (Fixture *f, gconstpointer data)
{
  g_autofree char *first = thread_name ("2024-03-05T00:00:00Z",
                                        "Re: Quarterly plan",
                                        "a1@example.org");
  g_autofree char *final = thread_name ("2024-03-04T00:00:00Z",
                                        "Quarterly plan", "a1@example.org");
  g_autoptr(GPtrArray) dirs = NULL;
  g_autoptr(GPtrArray) msgs = NULL;
  g_autoptr(JsonNode) thread = NULL;
  g_autoptr(JsonNode) all = NULL;
  g_autofree char *links = NULL;
  g_autofree char *all_path = g_build_filename (f->out, "local",
                                                "threads.json", NULL);
  g_autofree char *want_links = g_strjoinv (" ", (char **) quarterly);
  g_autofree char *err = NULL;
  JsonObject *o;
  JsonArray *arr;
  gboolean found = FALSE;

  /* The newer half: the thread is named after the missing a1 (its
   * References name it) and dated by its first message present. */
  err = import_cli (f, "newer");
  g_assert_nonnull (strstr (err, "imported 7 messages into "));
  g_assert_nonnull (strstr (err, "1 duplicate\n"));
  g_assert_nonnull (strstr (err, ": 3 conversations, 7 messages\n"));
  g_clear_pointer (&err, g_free);
  g_assert_true (g_str_has_prefix (first, "2024-03-05_quarterly-plan_"));
  dirs = names_in (f->threads);
  g_assert_true (g_ptr_array_find_with_equal_func (dirs, first, g_str_equal,
                                                   NULL));
  msgs = message_dirs (f, first);
  g_assert_cmpuint (msgs->len, ==, 3);
  g_clear_pointer (&msgs, g_ptr_array_unref);
  g_clear_pointer (&dirs, g_ptr_array_unref);

  err = import_cli (f, "older");
  g_assert_nonnull (strstr (err, "imported 2 messages into "));
  g_assert_nonnull (strstr (err, ": 3 conversations, 9 messages\n"));

  /* One dir, under the name the whole conversation has, and the first
   * dir is gone. */
  dirs = names_in (f->threads);
  g_assert_cmpuint (dirs->len, ==, 3);
  g_assert_true (g_ptr_array_find_with_equal_func (dirs, final, g_str_equal,
                                                   NULL));
  g_assert_false (g_ptr_array_find_with_equal_func (dirs, first, g_str_equal,
                                                    NULL));
  msgs = message_dirs (f, final);
  g_assert_cmpuint (msgs->len, ==, 5);
  g_assert_true (g_str_has_prefix (msgs->pdata[0], "20240304T090000Z_"));
  g_assert_true (g_str_has_prefix (msgs->pdata[4], "20240306T071500Z_"));

  thread = load_thread (f, final);
  o = json_node_get_object (thread);
  g_assert_cmpstr (json_object_get_string_member (o, "id"), ==,
                   "a1@example.org");
  g_assert_cmpstr (json_object_get_string_member (o, "subject"), ==,
                   "Quarterly plan");
  g_assert_cmpstr (json_object_get_string_member (o, "dir"), ==, final);
  g_assert_cmpint (json_object_get_int_member (o, "message_count"), ==, 5);
  g_assert_cmpstr (json_object_get_string_member (o, "first_date"), ==,
                   "2024-03-04T09:00:00Z");
  g_assert_cmpstr (json_object_get_string_member (o, "last_date"), ==,
                   "2024-03-06T07:15:00Z");
  links = parent_links (o);
  g_assert_cmpstr (links, ==, want_links);
  arr = json_object_get_array_member (o, "messages");
  for (guint i = 0; i < json_array_get_length (arr); i++)
    g_assert_cmpstr (json_object_get_string_member (
        json_array_get_object_element (arr, i), "dir"), ==, msgs->pdata[i]);
  /* Each message's parent by key too, its depth, and no duplicate: the
   * links the conversation step copies out of the forest for the
   * mover, which writes thread.json. */
  {
    static const gint64 depths[] = { 0, 1, 2, 3, 3 };
    g_autoptr(GHashTable) keys = g_hash_table_new (g_str_hash, g_str_equal);

    g_assert_cmpuint (json_array_get_length (arr), ==, G_N_ELEMENTS (depths));
    for (guint i = 0; i < json_array_get_length (arr); i++)
      {
        JsonObject *m = json_array_get_object_element (arr, i);

        g_hash_table_insert (keys,
                             (gpointer) json_object_get_string_member (
                                 m, "message_id"),
                             (gpointer) json_object_get_string_member (
                                 m, "key"));
      }
    for (guint i = 0; i < json_array_get_length (arr); i++)
      {
        JsonObject *m = json_array_get_object_element (arr, i);
        const char *parent = json_object_get_string_member (m, "parent");

        g_assert_cmpstr (json_object_get_string_member (m, "parent_key"), ==,
                         parent != NULL ? g_hash_table_lookup (keys, parent)
                                        : NULL);
        g_assert_cmpint (json_object_get_int_member (m, "depth"), ==,
                         depths[i]);
        g_assert_true (json_object_has_member (m, "duplicate_of"));
        g_assert_true (json_object_get_null_member (m, "duplicate_of"));
      }
  }

  /* threads.json holds the same object for it, newest activity first. */
  all = mh_test_load_json (all_path);
  arr = json_node_get_array (all);
  g_assert_cmpuint (json_array_get_length (arr), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (
      json_array_get_object_element (arr, 0), "dir"), ==, final);
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonObject *t = json_array_get_object_element (arr, i);

      if (g_strcmp0 (json_object_get_string_member (t, "dir"), final) == 0)
        {
          g_autoptr(JsonNode) a = json_node_alloc ();
          g_autoptr(JsonNode) b = json_node_alloc ();

          json_node_init_object (a, t);
          json_node_init_object (b, o);
          g_assert_true (json_node_equal (a, b));
          found = TRUE;
        }
    }
  g_assert_true (found);
}

/* A message in both Inbox and Sent (other bytes, same Message-ID, date
 * and sender) is stored once, with both mailboxes in message.json. */
static void
test_both_mailboxes (Fixture *f, gconstpointer data)
{
  static const char *const newer[] = { "newer", NULL };
  g_autofree char *tdir = thread_name ("2024-03-05T00:00:00Z",
                                       "Re: Quarterly plan",
                                       "a1@example.org");
  g_autoptr(GPtrArray) msgs = NULL;
  MhImportStats stats;
  guint copies = 0;

  import (f, newer, &stats);
  mh_import_stats_clear (&stats);
  msgs = message_dirs (f, tdir);
  for (guint i = 0; i < msgs->len; i++)
    {
      g_autofree char *path = g_build_filename (f->threads, tdir,
                                                msgs->pdata[i],
                                                "message.json", NULL);
      g_autoptr(JsonNode) node = mh_test_load_json (path);
      JsonObject *o = json_node_get_object (node);
      JsonArray *boxes;
      g_autoptr(GPtrArray) names = g_ptr_array_new ();

      if (g_strcmp0 (json_object_get_string_member (o, "message_id"),
                     "a4@example.com") != 0)
        continue;
      copies++;
      boxes = json_object_get_array_member (o, "mailboxes");
      g_assert_cmpuint (json_array_get_length (boxes), ==, 2);
      for (guint j = 0; j < 2; j++)
        g_ptr_array_add (names, (gpointer) json_object_get_string_member (
            json_array_get_object_element (boxes, j), "mailbox"));
      g_ptr_array_sort (names, mh_test_cmp_str);
      g_assert_cmpstr (names->pdata[0], ==, "Inbox");
      g_assert_cmpstr (names->pdata[1], ==, "Sent");
    }
  g_assert_cmpuint (copies, ==, 1);
}

/* Two conversations that a later message joins (its References name both
 * roots) end in one dir; nothing is lost or stored twice. */
static void
test_merge (Fixture *f, gconstpointer data)
{
  static const char *const newer[] = { "newer", NULL };
  static const char *const later[] = { "later", NULL };
  g_autofree char *venue = thread_name ("2024-02-10T00:00:00Z",
                                        "Venue options", "b1@example.net");
  g_autofree char *catering = thread_name ("2024-02-12T00:00:00Z",
                                           "Catering", "c1@example.com");
  g_autoptr(GPtrArray) dirs = NULL;
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(GHashTable) sums = g_hash_table_new_full (g_str_hash,
                                                      g_str_equal, g_free,
                                                      NULL);
  g_autoptr(JsonNode) thread = NULL;
  g_autofree char *links = NULL;
  MhImportStats stats;
  guint total = 0;

  import (f, newer, &stats);
  mh_import_stats_clear (&stats);
  dirs = names_in (f->threads);
  g_assert_true (g_ptr_array_find_with_equal_func (dirs, venue, g_str_equal,
                                                   NULL));
  g_assert_true (g_ptr_array_find_with_equal_func (dirs, catering,
                                                   g_str_equal, NULL));
  before = message_dirs (f, catering);
  g_assert_cmpuint (before->len, ==, 2);
  g_clear_pointer (&dirs, g_ptr_array_unref);

  import (f, later, &stats);
  g_assert_cmpuint (stats.imported, ==, 1);
  g_assert_cmpuint (stats.threads, ==, 2);
  mh_import_stats_clear (&stats);
  dirs = names_in (f->threads);
  g_assert_cmpuint (dirs->len, ==, 2);
  g_assert_false (g_ptr_array_find_with_equal_func (dirs, catering,
                                                    g_str_equal, NULL));
  after = message_dirs (f, venue);
  g_assert_cmpuint (after->len, ==, 5);
  /* Catering's message dirs moved as they were. */
  for (guint i = 0; i < before->len; i++)
    g_assert_true (g_ptr_array_find_with_equal_func (after, before->pdata[i],
                                                     g_str_equal, NULL));
  thread = load_thread (f, venue);
  links = parent_links (json_node_get_object (thread));
  g_assert_cmpstr (links, ==,
                   "b1@example.net>- b2@example.com>b1@example.net "
                   "c1@example.com>b1@example.net "
                   "c2@example.net>c1@example.com "
                   "m1@example.net>c2@example.net");
  g_assert_cmpint (json_object_get_int_member (
      json_node_get_object (thread), "message_count"), ==, 5);

  /* Every message of the archive once: 8 files in newer (one a copy)
   * and 1 in later. */
  for (guint i = 0; i < dirs->len; i++)
    {
      g_autoptr(GPtrArray) msgs = message_dirs (f, dirs->pdata[i]);

      for (guint j = 0; j < msgs->len; j++)
        {
          g_autofree char *eml = g_build_filename (f->threads,
                                                   dirs->pdata[i],
                                                   msgs->pdata[j],
                                                   "message.eml", NULL);

          g_assert_true (g_hash_table_add (sums, mh_test_sha256_file (eml)));
          total++;
        }
    }
  g_assert_cmpuint (total, ==, 8);
}

/* A message can leave a conversation that goes on: a reply without
 * links joins the nearest thread with its subject, and a later import
 * brings a nearer one.  The old conversation is newer, so it is laid out
 * first, while the reply still sits in its dir: the reply must move to
 * the new conversation, not be swept away with the old one's leftovers. */
static void
test_moved_reply (Fixture *f, gconstpointer data)
{
  static const char *const first[] = { "moved-1", NULL };
  static const char *const second[] = { "moved-2", NULL };
  g_autofree char *old_dir = thread_name ("2024-03-01T00:00:00Z",
                                          "Project Zeta budget",
                                          "z1@example.com");
  g_autofree char *new_dir = thread_name ("2024-03-05T00:00:00Z",
                                          "Project Zeta budget",
                                          "z2@example.com");
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) old_msgs = NULL;
  g_autoptr(GPtrArray) new_msgs = NULL;
  g_autoptr(JsonNode) thread = NULL;
  g_autofree char *links = NULL;
  g_autofree char *reply_dir = NULL;
  MhImportStats stats;

  import (f, first, &stats);
  g_assert_cmpuint (stats.threads, ==, 1);
  mh_import_stats_clear (&stats);
  before = message_dirs (f, old_dir);
  g_assert_cmpuint (before->len, ==, 3);
  thread = load_thread (f, old_dir);
  links = parent_links (json_node_get_object (thread));
  g_assert_cmpstr (links, ==, "z1@example.com>- "
                              "zr@example.net>z1@example.com "
                              "z3@example.org>z1@example.com");
  g_clear_pointer (&links, g_free);
  g_clear_pointer (&thread, json_node_unref);

  import (f, second, &stats);
  g_assert_cmpuint (stats.imported, ==, 1);
  g_assert_cmpuint (stats.failed, ==, 0);
  g_assert_cmpuint (stats.threads, ==, 2);
  mh_import_stats_clear (&stats);

  old_msgs = message_dirs (f, old_dir);
  new_msgs = message_dirs (f, new_dir);
  g_assert_cmpuint (old_msgs->len, ==, 2);
  g_assert_cmpuint (new_msgs->len, ==, 2);
  /* The reply's dir is the one that left, whole. */
  for (guint i = 0; i < before->len; i++)
    if (!g_ptr_array_find_with_equal_func (old_msgs, before->pdata[i],
                                           g_str_equal, NULL))
      reply_dir = g_strdup (before->pdata[i]);
  g_assert_nonnull (reply_dir);
  g_assert_true (g_ptr_array_find_with_equal_func (new_msgs, reply_dir,
                                                   g_str_equal, NULL));
  {
    g_autofree char *eml = g_build_filename (f->threads, new_dir, reply_dir,
                                             "message.eml", NULL);
    g_autofree char *text = NULL;

    g_assert_true (g_file_get_contents (eml, &text, NULL, NULL));
    g_assert_nonnull (strstr (text, "Message-ID: <zr@example.net>"));
  }
  thread = load_thread (f, new_dir);
  links = parent_links (json_node_get_object (thread));
  g_assert_cmpstr (links, ==, "z2@example.com>- "
                              "zr@example.net>z2@example.com");
}

/* One process per account: a second open of the same account fails with
 * a clear error and touches nothing, while another account of the same
 * output opens; once the first is closed, the account opens again. */
static void
test_locked (Fixture *f, gconstpointer data)
{
  g_autofree char *tmp_file = NULL;
  g_autoptr(MhArchive) first = NULL;
  g_autoptr(MhArchive) other = NULL;
  g_autoptr(MhArchive) again = NULL;
  g_autoptr(GError) error = NULL;
  MhArchiveOptions ao = { 0 };
  MhArchive *second;

  ao.output = f->out;
  ao.account = "local";
  first = mh_archive_open (&ao, &error);
  g_assert_no_error (error);
  /* Stands for a file the first process is writing. */
  tmp_file = g_build_filename (f->out, "local", ".tmp", "fetch-busy", NULL);
  g_assert_true (g_file_set_contents (tmp_file, "busy", -1, NULL));

  second = mh_archive_open (&ao, &error);
  g_assert_null (second);
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "another mailharvest process"));
  g_assert_nonnull (strstr (error->message, "local"));
  g_assert_true (g_file_test (tmp_file, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  ao.account = "other";
  other = mh_archive_open (&ao, &error);
  g_assert_no_error (error);

  g_clear_pointer (&first, mh_archive_free);
  ao.account = "local";
  again = mh_archive_open (&ao, &error);
  g_assert_no_error (error);
  /* A run that opens the account cleans what killed runs left. */
  g_assert_false (g_file_test (tmp_file, G_FILE_TEST_EXISTS));
}

/* The output dir the user names may be a symbolic link (~/mail-archive
 * pointing at a bigger disk): it is followed, and the archive lands in
 * its target.  Below it nothing is: an account dir that is a link is
 * refused and its target left alone. */
static void
test_output_symlink (Fixture *f, gconstpointer data)
{
  g_autofree char *real = g_build_filename (f->base, "real", NULL);
  g_autofree char *link = g_build_filename (f->base, "link", NULL);
  g_autofree char *store = g_build_filename (real, "local", "state.sqlite",
                                             NULL);
  g_autofree char *elsewhere = g_build_filename (f->base, "elsewhere",
                                                 NULL);
  g_autofree char *acct_link = g_build_filename (real, "other", NULL);
  g_autoptr(MhArchive) a = NULL;
  g_autoptr(GError) error = NULL;
  MhArchiveOptions ao = { 0 };
  MhArchive *refused;

  g_assert_cmpint (g_mkdir_with_parents (real, 0755), ==, 0);
  g_assert_cmpint (symlink (real, link), ==, 0);
  ao.output = link;
  ao.account = "local";
  a = mh_archive_open (&ao, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (store, G_FILE_TEST_IS_REGULAR));

  g_assert_cmpint (g_mkdir_with_parents (elsewhere, 0755), ==, 0);
  g_assert_cmpint (symlink (elsewhere, acct_link), ==, 0);
  ao.account = "other";
  refused = mh_archive_open (&ao, &error);
  g_assert_null (refused);
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "symbolic links are not "
                                            "followed"));
  g_assert_true (g_file_test (elsewhere, G_FILE_TEST_IS_DIR));
  g_clear_error (&error);
  {
    g_autofree char *inside = g_build_filename (elsewhere, "threads", NULL);

    g_assert_false (g_file_test (inside, G_FILE_TEST_EXISTS));
  }
}

/* Names and bytes do not depend on how the mail arrived: all at once, or
 * in three imports in any order, gives the same files; a re-import
 * changes no byte, the store's included. */
static void
test_stable (Fixture *f, gconstpointer data)
{
  static const char *const orders[][4] = {
    { "newer", "older", "later", NULL },
    { "later", "newer", "older", NULL },
    { "older", "later", "newer", NULL },
  };
  static const char *const together[] = { "later", "older", "newer", NULL };
  g_autofree char *reference = NULL;
  g_autofree char *out = g_strdup (f->out);
  g_autofree char *threads = g_strdup (f->threads);
  MhImportStats stats;

  import (f, together, &stats);
  g_assert_cmpuint (stats.imported, ==, 10);
  g_assert_cmpuint (stats.threads, ==, 2);
  mh_import_stats_clear (&stats);
  reference = listing (f->out, FALSE);

  for (gsize i = 0; i < G_N_ELEMENTS (orders); i++)
    {
      g_autofree char *name = g_strdup_printf ("order-%zu", i);
      g_autofree char *got = NULL;
      g_autofree char *full = NULL;
      g_autofree char *again = NULL;

      g_free (f->out);
      g_free (f->threads);
      f->out = g_build_filename (f->base, name, NULL);
      f->threads = g_build_filename (f->out, "local", "threads", NULL);
      for (gsize j = 0; orders[i][j] != NULL; j++)
        {
          const char *one[] = { orders[i][j], NULL };

          import (f, one, &stats);
          mh_import_stats_clear (&stats);
        }
      got = listing (f->out, FALSE);
      g_assert_cmpstr (got, ==, reference);

      full = listing (f->out, TRUE);
      import (f, together, &stats);
      g_assert_cmpuint (stats.imported, ==, 0);
      g_assert_cmpuint (stats.already, ==, 11);
      mh_import_stats_clear (&stats);
      again = listing (f->out, TRUE);
      g_assert_cmpstr (again, ==, full);
    }
  g_free (f->out);
  g_free (f->threads);
  f->out = g_steal_pointer (&out);
  f->threads = g_steal_pointer (&threads);
}

/* Subjects in other scripts name their thread dirs with their own
 * letters (RFC 2047 decoded, lower-cased); Latin ones are
 * transliterated.  Dates are UTC days. */
static void
test_intl_slugs (Fixture *f, gconstpointer data)
{
  static const char *const intl[] = { "intl", NULL };
  static const char *const want[] = {
    "2026-01-19_\xe8\xa6\x8b\xe7\xa9\x8d\xe6\x9b\xb8\xe3\x81\xae"
    "\xe9\x80\x81\xe4\xbb\x98_",
    "2026-01-23_\xd0\xbe\xd1\x82\xd1\x87\xd1\x91\xd1\x82-\xd0\xb7"
    "\xd0\xb0-\xd0\xba\xd0\xb2\xd0\xb0\xd1\x80\xd1\x82\xd0\xb0"
    "\xd0\xbb_",
    "2026-02-10_grusse-aus-koln_",
  };
  g_autoptr(GPtrArray) dirs = NULL;
  MhImportStats stats;

  import (f, intl, &stats);
  g_assert_cmpuint (stats.imported, ==, 3);
  mh_import_stats_clear (&stats);
  dirs = names_in (f->threads);
  g_assert_cmpuint (dirs->len, ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < dirs->len; i++)
    {
      g_test_message ("%s", (char *) dirs->pdata[i]);
      g_assert_true (g_str_has_prefix (dirs->pdata[i], want[i]));
    }
}

/* The archive's own statuses: a location seen before, the same message
 * at a new location, and a finish with nothing to do. */
static void
test_add_statuses (Fixture *f, gconstpointer data)
{
  g_autofree char *sent = corpus ("newer/Sent/01.eml");
  g_autofree char *inbox = corpus ("newer/Inbox/02.eml");
  g_autofree char *listed = NULL;
  g_autoptr(MhArchive) a = NULL;
  g_autoptr(GError) error = NULL;
  MhArchiveOptions ao = { 0 };
  MhArchiveSource s1 = { 0 }, s2 = { 0 };
  MhArchiveAddResult r = { 0 };
  MhArchiveFinishStats fs;
  g_autofree char *key = NULL;
  g_autofree char *eml_sum = mh_test_sha256_file (sent);

  ao.output = f->out;
  ao.account = "local";
  a = mh_archive_open (&ao, &error);
  g_assert_no_error (error);
  s1.mailbox = "Sent";
  s1.uidvalidity = 7;
  s1.uid = 1;
  s2.mailbox = "INBOX";
  s2.uidvalidity = 9;
  s2.uid = 4;

  g_assert_true (mh_archive_add (a, sent, FALSE, &s1, &r, &error));
  g_assert_cmpint (r.status, ==, MH_ARCHIVE_ADDED);
  /* The key is the sha256 of the raw bytes. */
  g_assert_cmpstr (r.key, ==, eml_sum);
  key = g_strdup (r.key);
  mh_archive_add_result_clear (&r);
  /* A copy was made: the source is untouched. */
  g_assert_true (g_file_test (sent, G_FILE_TEST_IS_REGULAR));

  g_assert_true (mh_archive_add (a, sent, FALSE, &s1, &r, &error));
  g_assert_cmpint (r.status, ==, MH_ARCHIVE_KNOWN);
  mh_archive_add_result_clear (&r);

  g_assert_true (mh_archive_add (a, inbox, FALSE, &s2, &r, &error));
  g_assert_cmpint (r.status, ==, MH_ARCHIVE_DUPLICATE);
  g_assert_cmpstr (r.key, ==, key);
  mh_archive_add_result_clear (&r);

  /* What a killed run left of threads.json and index.html under its own
   * process id goes with the next finish. */
  {
    static const char *const stale[] = { ".tmp-threads.json.1",
                                         ".tmp-index.html.77777" };

    for (guint i = 0; i < G_N_ELEMENTS (stale); i++)
      {
        g_autofree char *path = g_build_filename (f->out, "local",
                                                  stale[i], NULL);

        g_assert_true (g_file_set_contents (path, "[\n", -1, NULL));
      }
    g_assert_true (mh_archive_finish (a, &fs, &error));
    g_assert_no_error (error);
    for (guint i = 0; i < G_N_ELEMENTS (stale); i++)
      {
        g_autofree char *path = g_build_filename (f->out, "local",
                                                  stale[i], NULL);

        g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
      }
  }
  g_assert_cmpuint (fs.threads, ==, 1);
  g_assert_cmpuint (fs.messages, ==, 1);
  g_assert_cmpuint (fs.moved, ==, 1);
  /* The store is open (its WAL beside it): compare the other files. */
  listed = listing (f->out, FALSE);

  g_assert_true (mh_archive_finish (a, &fs, &error));
  g_assert_cmpuint (fs.moved, ==, 0);
  g_assert_cmpuint (fs.removed_dirs, ==, 0);
  g_clear_pointer (&a, mh_archive_free);
  {
    g_autofree char *again = listing (f->out, FALSE);

    g_assert_cmpstr (again, ==, listed);
  }
}

/* The files of the async test, in queue order: Sent/01 and Inbox/02 are
 * one message with other bytes (found by Message-ID), and newer/Inbox/01
 * comes twice with the same bytes (at two locations). */
MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0");
MH_TEST_LSAN_GLIB_SUPPRESSION;

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  mh_message_init ();
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/archive/split-runs", test_split_runs);
  ADD ("/archive/both-mailboxes", test_both_mailboxes);
  ADD ("/archive/merge", test_merge);
  ADD ("/archive/moved-reply", test_moved_reply);
  ADD ("/archive/stable", test_stable);
  ADD ("/archive/intl-slugs", test_intl_slugs);
  ADD ("/archive/add-statuses", test_add_statuses);
  ADD ("/archive/locked", test_locked);
  ADD ("/archive/output-symlink", test_output_symlink);
#undef ADD
  return g_test_run ();
}
