/* test-archive-layout.c - the conversation step (mh_archive_finish())
 * through the API: a failing move, a message dir gone, a new
 * conversation's staging dir moved whole, staging dirs flat or gone, and
 * the copy of what did not change from the last layout. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mailharvest/error.h"
#include "mailharvest/message.h"
#include "mailharvest/writer.h"

#include "archive-testlib.h"

/* The messages of async_files, laid out undisturbed (some are the same
 * message twice), and with @listing_out that archive's listing without
 * its store. */
static guint
corpus_messages (Fixture *f, char **listing_out)
{
  g_autofree char *out = g_build_filename (f->base, "ref", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MhArchive) a = NULL;
  MhArchiveOptions ao = { 0 };
  MhArchiveFinishStats fs;

  ao.account = "local";
  ao.output = out;
  a = mh_archive_open (&ao, &error);
  g_assert_no_error (error);
  add_corpus_one_by_one (a);
  g_assert_true (mh_archive_finish (a, &fs, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fs.messages, >, 3);
  if (listing_out != NULL)
    *listing_out = listing (out, FALSE);
  return fs.messages;
}

/* Opens a fresh archive "local" in @out with async_files added, and
 * returns one recorded message dir in .incoming, as STAGE/NAME: the last
 * in name order, so that other moves come first. */
static MhArchive *
open_with_corpus (const char *out, char **victim_out)
{
  g_autofree char *incoming = g_build_filename (out, "local", ".incoming",
                                                NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) staged = NULL;
  MhArchiveOptions ao = { 0 };
  MhArchive *a;

  ao.account = "local";
  ao.output = out;
  a = mh_archive_open (&ao, &error);
  g_assert_no_error (error);
  add_corpus_one_by_one (a);
  staged = mh_test_staged_dirs (incoming);
  g_assert_cmpuint (staged->len, >, 3);
  *victim_out = g_strdup (staged->pdata[staged->len - 1]);
  return a;
}

/* A move that fails fails the step, with an error naming the dir, also
 * when the mover thread met it (every thread dir is new here). */
static void
test_layout_failure (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->base, "fail", NULL);
  g_autofree char *victim = NULL;
  g_autoptr(GError) error = NULL;
  guint want = corpus_messages (f, NULL);
  g_autoptr(MhArchive) a = open_with_corpus (out, &victim);
  MhArchiveFinishStats fs;

  g_setenv ("MH_DEBUG_FAIL_AT", "move:3", TRUE);
  g_assert_false (mh_archive_finish (a, &fs, &error));
  g_unsetenv ("MH_DEBUG_FAIL_AT");
  g_assert_error (error, MH_ERROR, MH_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "cannot move"));
  g_clear_error (&error);
  /* Nothing was lost: the next finish places everything. */
  g_assert_true (mh_archive_finish (a, &fs, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fs.messages, ==, want);
  g_assert_cmpuint (fs.lost, ==, 0);
}

/* A message dir gone before the layout (removed by hand, say) does not
 * stop the step: the store forgets its message, so that the next sync
 * fetches it again, and the next finish lays out without it. */
static void
test_layout_lost (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->base, "lost", NULL);
  g_autofree char *victim = NULL;
  g_autofree char *path = NULL;
  g_autofree char *mark = g_build_filename (out, "local", ".layout-pending",
                                            NULL);
  g_autofree char *lists = g_build_filename (out, "local", "threads.json",
                                             NULL);
  g_autofree char *json = NULL;
  g_autoptr(GError) error = NULL;
  guint want = corpus_messages (f, NULL);
  g_autoptr(MhArchive) a = open_with_corpus (out, &victim);
  MhArchiveFinishStats fs;
  guint64 count = 0;

  const char *name = strchr (victim, '/') + 1;

  path = g_build_filename (out, "local", ".incoming", victim, NULL);
  g_assert_true (mh_writer_remove_tree (AT_FDCWD, path, NULL));

  g_assert_true (mh_archive_finish (a, &fs, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fs.lost, ==, 1);
  g_assert_true (g_str_has_suffix (fs.lost_dir, name));
  g_assert_cmpuint (fs.messages, ==, want - 1);
  g_assert_true (mh_store_count_messages (mh_archive_get_store (a), &count,
                                          &error));
  g_assert_cmpuint (count, ==, want - 1);
  g_assert_true (g_file_test (mark, G_FILE_TEST_EXISTS));

  /* The next finish lays out again, and the lists forget it too. */
  g_assert_true (mh_archive_finish (a, &fs, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fs.lost, ==, 0);
  g_assert_cmpuint (fs.messages, ==, want - 1);
  g_assert_false (g_file_test (mark, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_get_contents (lists, &json, NULL, &error));
  g_assert_null (strstr (json, name));
}

/* The inode of @dir/@name. */
static guint64
inode_of (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GStatBuf st;

  g_assert_cmpint (g_lstat (path, &st), ==, 0);
  return (guint64) st.st_ino;
}

/* A new conversation whose messages all wait in one staging dir moves
 * into place as that dir: its thread dir is the staging dir renamed (the
 * same inode).  One whose messages wait in several dirs, or share one
 * with another conversation, moves message by message.  What a killed
 * run left in a staging dir and no record names (a message dir, a
 * temporary file) is not carried into the archive, which is the one the
 * per-message moves give. */
static void
test_layout_whole (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->base, "whole", NULL);
  g_autofree char *incoming = g_build_filename (out, "local", ".incoming",
                                                NULL);
  g_autofree char *threads = g_build_filename (out, "local", "threads",
                                               NULL);
  g_autofree char *victim = NULL;
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  g_autoptr(GHashTable) stage_inodes = g_hash_table_new (g_int64_hash,
                                                         g_int64_equal);
  g_autoptr(GPtrArray) staged = NULL;
  g_autoptr(GPtrArray) stages = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GArray) inodes = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(MhArchive) a = open_with_corpus (out, &victim);
  MhArchiveFinishStats fs;
  const char *name;
  guint whole = 0, n_threads = 0, want_messages = corpus_messages (f, &want);

  staged = mh_test_staged_dirs (incoming);
  for (guint i = 0; i < staged->len; i++)
    {
      const char *entry = staged->pdata[i];
      char *stage = g_strndup (entry, (gsize) (strchr (entry, '/') - entry));

      if (stages->len > 0
          && strcmp (stages->pdata[stages->len - 1], stage) == 0)
        {
          g_free (stage);
          continue;
        }
      g_ptr_array_add (stages, stage);
    }
  g_assert_cmpuint (stages->len, >, 1);
  g_array_set_size (inodes, stages->len);
  for (guint i = 0; i < stages->len; i++)
    {
      g_autofree char *sdir = g_build_filename (incoming, stages->pdata[i],
                                                NULL);
      g_autofree char *junk = mh_test_new_dir (sdir,
                                               "20000101T000000Z_0000000000");

      g_free (mh_test_write_file (junk, "message.eml", "left over\n"));
      g_free (mh_test_write_file (sdir, ".tmp-message.json.1", "{"));
      g_array_index (inodes, guint64, i) = inode_of (incoming,
                                                     stages->pdata[i]);
      g_hash_table_add (stage_inodes, &g_array_index (inodes, guint64, i));
    }

  g_assert_true (mh_archive_finish (a, &fs, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fs.messages, ==, want_messages);
  g_assert_cmpuint (fs.moved, ==, want_messages);
  g_assert_cmpuint (fs.lost, ==, 0);

  dir = g_dir_open (threads, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      guint64 ino = inode_of (threads, name);

      n_threads++;
      if (g_hash_table_contains (stage_inodes, &ino))
        whole++;
    }
  /* This corpus has both kinds. */
  g_assert_cmpuint (whole, >, 0);
  g_assert_cmpuint (whole, <, n_threads);
  got = listing (out, FALSE);
  g_assert_cmpstr (got, ==, want);
}

/* A whole staging dir gone before the layout (removed by hand): its
 * messages are lost and forgotten, as a single message dir is (above),
 * and the step goes on. */
static void
test_layout_stage_gone (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->base, "gone", NULL);
  g_autofree char *incoming = g_build_filename (out, "local", ".incoming",
                                                NULL);
  g_autofree char *victim = NULL;
  g_autofree char *stage = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GPtrArray) staged = NULL;
  g_autoptr(GError) error = NULL;
  guint want = corpus_messages (f, NULL), in_stage = 0;
  g_autoptr(MhArchive) a = open_with_corpus (out, &victim);
  MhArchiveFinishStats fs;

  stage = g_strndup (victim, (gsize) (strchr (victim, '/') - victim));
  staged = mh_test_staged_dirs (incoming);
  for (guint i = 0; i < staged->len; i++)
    if (g_str_has_prefix (staged->pdata[i], stage)
        && ((const char *) staged->pdata[i])[strlen (stage)] == '/')
      in_stage++;
  g_assert_cmpuint (in_stage, >, 0);
  path = g_build_filename (incoming, stage, NULL);
  g_assert_true (mh_writer_remove_tree (AT_FDCWD, path, NULL));

  g_assert_true (mh_archive_finish (a, &fs, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fs.lost, ==, in_stage);
  g_assert_cmpuint (fs.messages, ==, want - in_stage);
  g_assert_true (mh_archive_finish (a, &fs, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fs.lost, ==, 0);
  g_assert_cmpuint (fs.messages, ==, want - in_stage);
}

/* A staging dir that went away after this process made it (the step
 * moved it, or a hand removed it) is made again for the next message of
 * its conversation, which the archive remembers as staged already. */
static void
test_layout_stage_again (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->base, "again", NULL);
  g_autofree char *incoming = g_build_filename (out, "local", ".incoming",
                                                NULL);
  g_autofree char *first = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GPtrArray) staged = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MhArchive) a = NULL;
  MhArchiveOptions ao = { 0 };
  MhArchiveFinishStats fs;
  /* Both replies name <a1@example.org> first: one conversation. */
  const char *files[] = { "newer/Inbox/01.eml", "newer/Inbox/02.eml" };

  ao.account = "local";
  ao.output = out;
  a = mh_archive_open (&ao, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *file = corpus (files[i]);
      MhArchiveSource src;
      MhArchiveAddResult r = { 0 };

      async_source (&src, i);
      g_assert_true (mh_archive_add (a, file, FALSE, &src, &r, &error));
      g_assert_no_error (error);
      g_assert_cmpint (r.status, ==, MH_ARCHIVE_ADDED);
      mh_archive_add_result_clear (&r);

      staged = mh_test_staged_dirs (incoming);
      g_assert_cmpuint (staged->len, ==, 1);
      if (i == 0)
        {
          const char *entry = staged->pdata[0];

          first = g_strndup (entry, (gsize) (strchr (entry, '/') - entry));
          path = g_build_filename (incoming, first, NULL);
          g_assert_true (mh_writer_remove_tree (AT_FDCWD, path, NULL));
        }
      else
        g_assert_true (g_str_has_prefix (staged->pdata[0], first));
      g_clear_pointer (&staged, g_ptr_array_unref);
    }

  g_assert_true (mh_archive_finish (a, &fs, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fs.lost, ==, 1);
  g_assert_cmpuint (fs.messages, ==, 1);
}

/* Moves every staged message dir up into .incoming itself, where
 * versions before the staging dirs left them. */
static void
move_staged_flat (const char *incoming)
{
  g_autoptr(GPtrArray) staged = mh_test_staged_dirs (incoming);

  for (guint i = 0; i < staged->len; i++)
    {
      const char *entry = staged->pdata[i];
      g_autofree char *from = g_build_filename (incoming, entry, NULL);
      g_autofree char *to = g_build_filename (incoming,
                                              strchr (entry, '/') + 1, NULL);

      g_assert_cmpint (g_rename (from, to), ==, 0);
    }
}

/* Message dirs in .incoming itself, as versions before the staging dirs
 * left them when killed before their finish, are placed, not lost: in
 * conversations moved whole (their staging dir is there, empty) and in
 * those moved one by one. */
static void
test_layout_flat (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->base, "flat", NULL);
  g_autofree char *incoming = g_build_filename (out, "local", ".incoming",
                                                NULL);
  g_autofree char *victim = NULL;
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  g_autoptr(GError) error = NULL;
  guint n = corpus_messages (f, &want);
  g_autoptr(MhArchive) a = open_with_corpus (out, &victim);
  MhArchiveFinishStats fs;

  move_staged_flat (incoming);
  g_assert_true (mh_archive_finish (a, &fs, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fs.lost, ==, 0);
  g_assert_cmpuint (fs.messages, ==, n);
  got = listing (out, FALSE);
  g_assert_cmpstr (got, ==, want);
}

/* Such a message seen at one more location before the finish: its
 * message.json is rewritten where it is. */
static void
test_layout_flat_location (Fixture *f, gconstpointer data)
{
  g_autofree char *out = g_build_filename (f->base, "flat-loc", NULL);
  g_autofree char *incoming = g_build_filename (out, "local", ".incoming",
                                                NULL);
  g_autofree char *victim = NULL;
  g_autofree char *first = corpus (async_files[0]);
  g_autofree char *key = mh_test_sha256_file (first);
  g_autoptr(GError) error = NULL;
  g_autoptr(MhArchive) a = open_with_corpus (out, &victim);
  MhArchiveSource src;
  gboolean ok;

  move_staged_flat (incoming);
  async_source (&src, 99);
  src.mailbox = "Archive";
  ok = mh_archive_add_location (a, key, &src, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

MH_TEST_ASAN_OPTIONS ("fast_unwind_on_malloc=0");
MH_TEST_LSAN_GLIB_SUPPRESSION;

/* Opens the archive of @ao, adds async_files @from to @to and lays out
 * (mh_archive_finish() fills @fs); with @force, the layout is done even
 * when nothing was added. */
static void
add_and_finish (const MhArchiveOptions *ao, guint from, guint to,
                gboolean force, MhArchiveFinishStats *fs)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MhArchive) a = mh_archive_open (ao, &error);

  g_assert_no_error (error);
  if (force)
    {
      g_autofree char *mark = g_build_filename (mh_archive_get_dir (a),
                                                ".layout-pending", NULL);

      g_assert_true (g_file_set_contents (mark, "", 0, NULL));
    }
  add_corpus_part (a, from, to);
  g_assert_true (mh_archive_finish (a, fs, &error));
  g_assert_no_error (error);
}

/* The conversation step copies the entries of threads.json and
 * index.html of the conversations no new message touched from the last
 * layout's files.  Added in three parts, each step after the first
 * copies the conversations of the parts before and lays out the new
 * ones, and the archive ends byte for byte as adding everything at once
 * makes it.  A step with nothing new
 * copies every conversation; after threads.json was changed by hand,
 * nothing is copied from it, and it is made right again; nor from a
 * record that points past the end of the files or whose conversations
 * do not add up to their group. */
static void
test_layout_reuse (Fixture *f, gconstpointer data)
{
  const guint n = G_N_ELEMENTS (async_files);
  /* Quarterly plan; then Venue options (with Catering); then three
   * conversations of one message each. */
  const guint parts[] = { 0, 7, 12, n };
  const guint reused[] = { 0, 1, 2 };
  g_autofree char *ref = g_build_filename (f->base, "ref", NULL);
  g_autofree char *out = g_build_filename (f->base, "parts", NULL);
  g_autofree char *json = g_build_filename (out, "local", "threads.json",
                                            NULL);
  g_autofree char *store = g_build_filename (out, "local", "state.sqlite",
                                             NULL);
  sqlite3 *db = NULL;
  static const char *const damage[] = {
    "UPDATE layout_conv SET json_off = json_off + 1000000",
    "UPDATE layout_conv SET messages = messages + 1",
  };
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  MhArchiveOptions ao = { 0 };
  MhArchiveFinishStats fs;

  ao.account = "local";
  ao.output = ref;
  add_and_finish (&ao, 0, n, FALSE, &fs);
  g_assert_cmpuint (fs.reused, ==, 0);
  want = listing (ref, FALSE);

  ao.output = out;
  for (guint p = 0; p + 1 < G_N_ELEMENTS (parts); p++)
    {
      add_and_finish (&ao, parts[p], parts[p + 1], FALSE, &fs);
      g_assert_cmpuint (fs.reused, ==, reused[p]);
    }
  g_assert_cmpuint (fs.threads, ==, 5);
  got = listing (out, FALSE);
  g_assert_cmpstr (got, ==, want);
  g_clear_pointer (&got, g_free);

  add_and_finish (&ao, n, n, TRUE, &fs);
  g_assert_cmpuint (fs.reused, ==, fs.threads);
  got = listing (out, FALSE);
  g_assert_cmpstr (got, ==, want);
  g_clear_pointer (&got, g_free);

  g_assert_true (g_file_set_contents (json, "[]\n", -1, NULL));
  add_and_finish (&ao, n, n, TRUE, &fs);
  g_assert_cmpuint (fs.reused, ==, 0);
  got = listing (out, FALSE);
  g_assert_cmpstr (got, ==, want);
  g_clear_pointer (&got, g_free);

  /* A record that points past the end of its files is not used, nor one
   * whose conversations do not hold their group's messages. */
  for (guint i = 0; i < G_N_ELEMENTS (damage); i++)
    {
      g_assert_cmpint (sqlite3_open (store, &db), ==, SQLITE_OK);
      g_assert_cmpint (sqlite3_exec (db, damage[i], NULL, NULL, NULL), ==,
                       SQLITE_OK);
      g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
      add_and_finish (&ao, n, n, TRUE, &fs);
      g_assert_cmpuint (fs.reused, ==, 0);
      got = listing (out, FALSE);
      g_assert_cmpstr (got, ==, want);
      g_clear_pointer (&got, g_free);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  mh_message_init ();
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/archive/layout-failure", test_layout_failure);
  ADD ("/archive/layout-lost", test_layout_lost);
  ADD ("/archive/layout-whole", test_layout_whole);
  ADD ("/archive/layout-stage-gone", test_layout_stage_gone);
  ADD ("/archive/layout-stage-again", test_layout_stage_again);
  ADD ("/archive/layout-flat", test_layout_flat);
  ADD ("/archive/layout-flat-location", test_layout_flat_location);
  ADD ("/archive/layout-reuse", test_layout_reuse);
#undef ADD
  return g_test_run ();
}
