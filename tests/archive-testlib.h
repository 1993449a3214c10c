/* archive-testlib.h - what test-archive.c and test-archive-async.c
 * share: a fixture with an output dir, the threads corpus, and a listing
 * of a whole archive. */
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
