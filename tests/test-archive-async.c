/* test-archive-async.c - adding through the worker threads: the archive
 * is the one adding the files one by one gives, whatever thread finished
 * first, and the bounded queue neither hangs nor reorders. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mailharvest/error.h"
#include "mailharvest/message.h"
#include "mailharvest/writer.h"

#include "archive-testlib.h"

static const char *const async_files[] = {
  "newer/Sent/01.eml", "newer/Inbox/01.eml", "newer/Inbox/02.eml",
  "older/Inbox/01.eml", "newer/Inbox/01.eml", "newer/Inbox/03.eml",
  "older/Sent/01.eml", "newer/Sent/02.eml", "newer/Inbox/04.eml",
  "later/Inbox/01.eml", "newer/Sent/03.eml", "newer/Inbox/05.eml",
  "intl/Inbox/01.eml", "intl/Inbox/02.eml", "intl/Inbox/03.eml",
};

static void
async_source (MhArchiveSource *src, guint i)
{
  memset (src, 0, sizeof *src);
  src->mailbox = "INBOX";
  src->uidvalidity = 1;
  src->uid = i + 1;
}

/* Adds async_files @from to @to (not included) one by one, without the
 * workers. */
static void
add_corpus_part (MhArchive *a, guint from, guint to)
{
  for (guint i = from; i < to; i++)
    {
      g_autofree char *path = corpus (async_files[i]);
      g_autoptr(GError) error = NULL;
      MhArchiveSource src;
      MhArchiveAddResult r = { 0 };

      async_source (&src, i);
      g_assert_true (mh_archive_add (a, path, FALSE, &src, &r, &error));
      g_assert_no_error (error);
      mh_archive_add_result_clear (&r);
    }
}

static void
add_corpus_one_by_one (MhArchive *a)
{
  add_corpus_part (a, 0, G_N_ELEMENTS (async_files));
}

/* Adds async_files through the worker threads (several rounds, so that
 * the workers interleave differently) and checks the archive against the
 * one adding them one by one gives, byte for byte, and the statuses. */
static void
test_async_like_sync (Fixture *f, gconstpointer data)
{
  g_autofree char *sync_out = g_build_filename (f->base, "sync", NULL);
  g_autofree char *reference = NULL;
  g_autoptr(GError) error = NULL;
  MhArchiveOptions ao = { 0 };
  MhArchiveFinishStats fs;

  ao.account = "local";
  {
    g_autoptr(MhArchive) a = NULL;

    ao.output = sync_out;
    a = mh_archive_open (&ao, &error);
    g_assert_no_error (error);
    add_corpus_one_by_one (a);
    g_assert_true (mh_archive_finish (a, &fs, &error));
  }
  reference = listing (sync_out, TRUE);

  for (guint round = 0; round < 6; round++)
    {
      g_autofree char *name = g_strdup_printf ("async-%u", round);
      g_autofree char *out = g_build_filename (f->base, name, NULL);
      g_autofree char *got = NULL;
      g_autoptr(MhArchive) a = NULL;
      MhArchiveCompletion *c;
      guint n = 0, added = 0, dups = 0;

      ao.output = out;
      a = mh_archive_open (&ao, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < G_N_ELEMENTS (async_files); i++)
        {
          g_autofree char *path = corpus (async_files[i]);
          g_autofree char *bytes = NULL;
          g_autofree char *copy = NULL;
          g_autofree char *sum = mh_test_sha256_file (path);
          gsize len;
          MhArchiveSource src;
          int fd = -1;

          g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
          if (round >= 4)
            {
              /* Rounds 4 and 5 hand the bytes alone over, as the fetch
               * does for small messages: message.eml is written from
               * them.  Round 5 without their hash: each is then done
               * whole in its turn to record. */
            }
          else if (round & 2)
            {
              /* Rounds 2 and 3 hand an unnamed file over, as the fetch
               * does: it is linked into the message dir. */
              fd = open (mh_archive_get_tmp_dir (a),
                         O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
              g_assert_cmpint (fd, >=, 0);
              g_assert_cmpint (write (fd, bytes, len), ==, (gssize) len);
            }
          else
            {
              /* The queue takes the file (it is moved into the archive). */
              copy = g_strdup_printf ("%s/%s-%u.eml", f->base, name, i);
              g_assert_true (g_file_set_contents (copy, bytes, (gssize) len,
                                                  NULL));
            }
          async_source (&src, i);
          src.sha256 = sum;
          /* Odd rounds hand the bytes over too, as the fetch does for
           * small messages: parsed from memory, the archive must be the
           * same. */
          if (round % 2 == 1 || round >= 4)
            src.raw = g_bytes_new (bytes, len);
          if (round == 5)
            src.sha256 = NULL;
          if (round >= 4)
            mh_archive_add_async_bytes (a, &src);
          else if (fd >= 0)
            mh_archive_add_async_fd (a, fd, &src);
          else
            mh_archive_add_async (a, copy, &src);
          g_clear_pointer (&src.raw, g_bytes_unref);
        }
      while ((c = mh_archive_next_completion (a, TRUE)) != NULL)
        {
          g_assert_no_error (c->error);
          /* Completions come in queue order. */
          g_assert_cmpuint (c->uid, ==, ++n);
          if (c->result.status == MH_ARCHIVE_ADDED)
            added++;
          else if (c->result.status == MH_ARCHIVE_DUPLICATE)
            dups++;
          mh_archive_completion_free (c);
        }
      g_assert_cmpuint (n, ==, G_N_ELEMENTS (async_files));
      g_assert_cmpuint (dups, ==, 2);
      g_assert_cmpuint (added, ==, G_N_ELEMENTS (async_files) - 2);
      g_assert_true (mh_archive_finish (a, &fs, &error));
      g_assert_no_error (error);
      g_clear_pointer (&a, mh_archive_free);
      got = listing (out, TRUE);
      g_assert_cmpstr (got, ==, reference);
    }
}

/* The entries of @dir. */

/* One location fetched twice in a run (a retry after a lost connection),
 * with other bytes the second time: the workers prepare both at once and
 * do not look at the location; the record step does, so the first is
 * recorded and the second is known, its dir gone, as when added one by
 * one. */
static void
test_async_same_location (Fixture *f, gconstpointer data)
{
  static const char *const files[] = { "newer/Inbox/02.eml",
                                       "newer/Inbox/03.eml" };
  g_autofree char *out = g_build_filename (f->base, "out", NULL);
  g_autofree char *incoming = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MhArchive) a = NULL;
  MhArchiveOptions ao = { 0 };
  MhArchiveFinishStats fs;
  MhArchiveCompletion *c;
  guint n = 0;

  ao.account = "local";
  ao.output = out;
  a = mh_archive_open (&ao, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = corpus (files[i]);
      g_autofree char *sum = mh_test_sha256_file (path);
      g_autofree char *copy = g_strdup_printf ("%s/same-%u.eml", f->base, i);
      g_autofree char *bytes = NULL;
      gsize len;
      MhArchiveSource src;

      g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
      g_assert_true (g_file_set_contents (copy, bytes, (gssize) len, NULL));
      async_source (&src, 0);
      src.sha256 = sum;
      mh_archive_add_async (a, copy, &src);
    }
  while ((c = mh_archive_next_completion (a, TRUE)) != NULL)
    {
      guint want = n++ == 0 ? MH_ARCHIVE_ADDED : MH_ARCHIVE_KNOWN;

      g_assert_no_error (c->error);
      g_assert_cmpuint (c->result.status, ==, want);
      mh_archive_completion_free (c);
    }
  g_assert_cmpuint (n, ==, 2);
  /* The second one's dir is gone before the finish sweeps .incoming. */
  incoming = g_build_filename (out, "local", ".incoming", NULL);
  {
    g_autoptr(GPtrArray) staged = mh_test_staged_dirs (incoming);

    g_assert_cmpuint (staged->len, ==, 1);
  }
  g_assert_true (mh_archive_finish (a, &fs, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fs.messages, ==, 1);
}

/* More adds than MH_ARCHIVE_QUEUE, with a batch sealed every second
 * record: the network thread's wait for room (files not yet parsed, and
 * prepared ones waiting for the committer) neither hangs nor loses or
 * reorders a completion, and the archive is the one adding the files one
 * by one gives. */
static void
test_async_queue_full (Fixture *f, gconstpointer data)
{
  const guint n_files = MH_ARCHIVE_QUEUE * 3 + 5;
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *sync_out = g_build_filename (f->base, "sync", NULL);
  g_autofree char *async_out = g_build_filename (f->base, "async", NULL);
  g_autofree char *reference = NULL;
  g_autofree char *got = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MhArchive) a = NULL;
  MhArchiveOptions ao = { 0 };
  MhArchiveFinishStats fs;
  MhArchiveCompletion *c;
  guint n = 0;

  for (guint i = 0; i < n_files; i++)
    {
      /* Pairs: every odd message answers the one before. */
      g_autofree char *irt = i % 2 ? g_strdup_printf (
                                 "In-Reply-To: <q%u@example.org>\n", i - 1)
                                   : g_strdup ("");
      g_autofree char *text = g_strdup_printf (
          "From: a@example.org\nTo: b@example.org\nSubject: queue %u\n"
          "Message-ID: <q%u@example.org>\n%s"
          "Date: Mon, 2 Jan 2023 10:%02u:%02u +0000\n\nbody %u\n",
          i / 2, i, irt, i / 60, i % 60, i);
      char *path = g_strdup_printf ("%s/q-%03u.eml", f->base, i);

      g_assert_true (g_file_set_contents (path, text, -1, NULL));
      g_ptr_array_add (paths, path);
    }
  ao.account = "local";
  ao.commit_every = 2;
  ao.output = sync_out;
  a = mh_archive_open (&ao, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n_files; i++)
    {
      MhArchiveSource src;
      MhArchiveAddResult r = { 0 };

      async_source (&src, i);
      g_assert_true (mh_archive_add (a, paths->pdata[i], FALSE, &src, &r,
                                     &error));
      g_assert_no_error (error);
      g_assert_cmpint (r.status, ==, MH_ARCHIVE_ADDED);
      mh_archive_add_result_clear (&r);
    }
  g_assert_true (mh_archive_finish (a, &fs, &error));
  g_assert_no_error (error);
  g_clear_pointer (&a, mh_archive_free);
  reference = listing (sync_out, TRUE);

  ao.output = async_out;
  a = mh_archive_open (&ao, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n_files; i++)
    {
      g_autofree char *sum = mh_test_sha256_file (paths->pdata[i]);
      MhArchiveSource src;

      async_source (&src, i);
      src.sha256 = sum;
      /* The queue takes the file: it is moved into the archive. */
      mh_archive_add_async (a, paths->pdata[i], &src);
    }
  while ((c = mh_archive_next_completion (a, TRUE)) != NULL)
    {
      g_assert_no_error (c->error);
      g_assert_cmpuint (c->uid, ==, ++n);
      g_assert_cmpint (c->result.status, ==, MH_ARCHIVE_ADDED);
      mh_archive_completion_free (c);
    }
  g_assert_cmpuint (n, ==, n_files);
  g_assert_true (mh_archive_finish (a, &fs, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fs.messages, ==, n_files);
  g_clear_pointer (&a, mh_archive_free);
  got = listing (async_out, TRUE);
  g_assert_cmpstr (got, ==, reference);
}

/* Adds copies of @paths (a copy each, the queue takes it) through the
 * workers with uids from 1, and returns their completions' statuses. */
static GArray *
add_all_async (Fixture *f, MhArchive *a, const char *const *paths, guint n,
               const char *tag)
{
  GArray *statuses = g_array_new (FALSE, FALSE, sizeof (int));
  MhArchiveCompletion *c;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *bytes = NULL;
      g_autofree char *copy = g_strdup_printf ("%s/%s-%u.eml", f->base, tag,
                                               i);
      g_autofree char *sum = mh_test_sha256_file (paths[i]);
      gsize len;
      MhArchiveSource src;

      g_assert_true (g_file_get_contents (paths[i], &bytes, &len, NULL));
      g_assert_true (g_file_set_contents (copy, bytes, (gssize) len, NULL));
      async_source (&src, i);
      src.sha256 = sum;
      mh_archive_add_async (a, copy, &src);
      /* One at a time: the first file written is the first message. */
      c = mh_archive_next_completion (a, TRUE);
      g_assert_nonnull (c);
      g_array_append_val (statuses, c->result.status);
      if (c->error != NULL)
        {
          int failed = -1;

          g_assert_error (c->error, MH_ERROR, MH_ERROR_NO_SPACE);
          g_array_index (statuses, int, statuses->len - 1) = failed;
        }
      mh_archive_completion_free (c);
    }
  g_assert_null (mh_archive_next_completion (a, TRUE));
  return statuses;
}

/* A message that meets a full disk stops the recording: a later copy of
 * the same message (other bytes, same Message-ID, date and sender) is
 * not recorded in its place, or the next run, fetching the first again,
 * would keep the second, and the archive would depend on where the disk
 * filled up. */
static void
test_disk_full_order (Fixture *f, gconstpointer data)
{
  g_autofree char *first = g_build_filename (f->base, "copy-1.eml", NULL);
  g_autofree char *second = g_build_filename (f->base, "copy-2.eml", NULL);
  g_autofree char *sync_out = g_build_filename (f->base, "sync", NULL);
  g_autofree char *out = g_build_filename (f->base, "full", NULL);
  g_autofree char *reference = NULL;
  g_autofree char *got = NULL;
  const char *const paths[] = { first, second };
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) st = NULL;
  MhArchiveOptions ao = { 0 };
  MhArchiveFinishStats fs;
  MhArchive *a;

  g_assert_true (g_file_set_contents (first,
      "From: a@example.org\nTo: b@example.org\nSubject: copies\n"
      "Message-ID: <copy@example.org>\n"
      "Date: Mon, 2 Jan 2023 10:00:00 +0000\n\nthe body\n", -1, NULL));
  g_assert_true (g_file_set_contents (second,
      "Received: by mx.example.org; Mon, 2 Jan 2023 10:00:05 +0000\n"
      "From: a@example.org\nTo: b@example.org\nSubject: copies\n"
      "Message-ID: <copy@example.org>\n"
      "Date: Mon, 2 Jan 2023 10:00:00 +0000\n\nthe body\n", -1, NULL));
  ao.account = "local";

  ao.output = sync_out;
  a = mh_archive_open (&ao, &error);
  g_assert_no_error (error);
  st = add_all_async (f, a, paths, 2, "sync");
  g_assert_cmpint (g_array_index (st, int, 0), ==, MH_ARCHIVE_ADDED);
  g_assert_cmpint (g_array_index (st, int, 1), ==, MH_ARCHIVE_DUPLICATE);
  g_clear_pointer (&st, g_array_unref);
  g_assert_true (mh_archive_finish (a, &fs, &error));
  mh_archive_free (a);
  reference = listing (sync_out, TRUE);

  /* The first message's dir meets the full disk; the second is deferred,
   * not recorded and not failed. */
  ao.output = out;
  g_setenv ("MH_DEBUG_FAIL_AT", "disk-full:1", TRUE);
  a = mh_archive_open (&ao, &error);
  g_assert_no_error (error);
  st = add_all_async (f, a, paths, 2, "full");
  g_assert_cmpint (g_array_index (st, int, 0), ==, -1);
  g_assert_cmpint (g_array_index (st, int, 1), ==, MH_ARCHIVE_DEFERRED);
  g_clear_pointer (&st, g_array_unref);
  mh_archive_free (a);
  g_unsetenv ("MH_DEBUG_FAIL_AT");

  /* The next run adds both again and ends with the same archive. */
  a = mh_archive_open (&ao, &error);
  g_assert_no_error (error);
  st = add_all_async (f, a, paths, 2, "again");
  g_assert_cmpint (g_array_index (st, int, 0), ==, MH_ARCHIVE_ADDED);
  g_assert_cmpint (g_array_index (st, int, 1), ==, MH_ARCHIVE_DUPLICATE);
  g_clear_pointer (&st, g_array_unref);
  g_assert_true (mh_archive_finish (a, &fs, &error));
  mh_archive_free (a);
  got = listing (out, TRUE);
  g_assert_cmpstr (got, ==, reference);
}

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
 * record that points past the end of the files. */
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

  /* A record that points past the end of its files is not used. */
  g_assert_cmpint (sqlite3_open (store, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "UPDATE layout_conv SET json_off ="
                                     " json_off + 1000000",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
  add_and_finish (&ao, n, n, TRUE, &fs);
  g_assert_cmpuint (fs.reused, ==, 0);
  got = listing (out, FALSE);
  g_assert_cmpstr (got, ==, want);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  mh_message_init ();
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/archive/async-like-sync", test_async_like_sync);
  ADD ("/archive/async-queue-full", test_async_queue_full);
  ADD ("/archive/async-same-location", test_async_same_location);
  ADD ("/archive/layout-failure", test_layout_failure);
  ADD ("/archive/layout-lost", test_layout_lost);
  ADD ("/archive/layout-whole", test_layout_whole);
  ADD ("/archive/layout-stage-gone", test_layout_stage_gone);
  ADD ("/archive/layout-flat", test_layout_flat);
  ADD ("/archive/layout-flat-location", test_layout_flat_location);
  ADD ("/archive/layout-reuse", test_layout_reuse);
  ADD ("/archive/disk-full-order", test_disk_full_order);
#undef ADD
  return g_test_run ();
}
