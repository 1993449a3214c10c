/* archive-testlib.h - what test-archive.c, test-archive-async.c and
 * test-archive-layout.c share: a fixture with an output dir, the threads
 * corpus, the list of its files that the API tests add, and a listing of
 * a whole archive. */
#pragma once

#include <fcntl.h>

#include "mailharvest/archive.h"
#include "mailharvest/writer.h"

#include "testlib.h"

typedef struct {
  char *base;
  char *out;
  char *threads;   /* OUT/local/threads */
} Fixture;

static inline void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->base = g_dir_make_tmp ("test-archive-XXXXXX", NULL);
  g_assert_nonnull (f->base);
  f->out = g_build_filename (f->base, "out", NULL);
  f->threads = g_build_filename (f->out, "local", "threads", NULL);
}

static inline void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_assert_true (mh_writer_remove_tree (AT_FDCWD, f->base, NULL));
  g_free (f->base);
  g_free (f->out);
  g_free (f->threads);
}

static inline char *
corpus (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "data", "mime", "import",
                                "threads", name, NULL);
}

/* The recursive sha256 listing of @dir; without the store when
 * @with_store is FALSE (its bytes depend on the order of its writes). */
static inline char *
listing (const char *dir, gboolean with_store)
{
  return mh_test_tree_listing (dir, TRUE, NULL, with_store, "\n");
}

static const char *const async_files[] = {
  "newer/Sent/01.eml", "newer/Inbox/01.eml", "newer/Inbox/02.eml",
  "older/Inbox/01.eml", "newer/Inbox/01.eml", "newer/Inbox/03.eml",
  "older/Sent/01.eml", "newer/Sent/02.eml", "newer/Inbox/04.eml",
  "later/Inbox/01.eml", "newer/Sent/03.eml", "newer/Inbox/05.eml",
  "intl/Inbox/01.eml", "intl/Inbox/02.eml", "intl/Inbox/03.eml",
};

static inline void
async_source (MhArchiveSource *src, guint i)
{
  memset (src, 0, sizeof *src);
  src->mailbox = "INBOX";
  src->uidvalidity = 1;
  src->uid = i + 1;
}

/* Adds async_files @from to @to (not included) one by one, without the
 * workers. */
static inline void
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

static inline void
add_corpus_one_by_one (MhArchive *a)
{
  add_corpus_part (a, 0, G_N_ELEMENTS (async_files));
}
