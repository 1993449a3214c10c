/* test-archive-async.c - adding through the worker threads: the archive
 * is the one adding the files one by one gives, whatever thread finished
 * first, and the bounded queue neither hangs nor reorders. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailharvest/error.h"
#include "mailharvest/message.h"
#include "mailharvest/writer.h"

#include "archive-testlib.h"

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
  ADD ("/archive/disk-full-order", test_disk_full_order);
#undef ADD
  return g_test_run ();
}
