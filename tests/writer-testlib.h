/* writer-testlib.h - the fixture of the writer tests (test-writer.c,
 * test-writer-dirs.c): a fresh dir with out/, where things are written,
 * and sibling/, which nothing may reach through out/. */
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "mailharvest/writer.h"

typedef struct {
  char *base;      /* a fresh dir holding out/ and sibling/ */
  char *out;
  char *sibling;
  int out_fd;
} Fixture;

static inline void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->base = g_dir_make_tmp ("test-writer-XXXXXX", NULL);
  g_assert_nonnull (f->base);
  f->out = g_build_filename (f->base, "out", NULL);
  f->sibling = g_build_filename (f->base, "sibling", NULL);
  g_assert_cmpint (g_mkdir (f->out, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (f->sibling, 0755), ==, 0);
  f->out_fd = open (f->out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (f->out_fd, >=, 0);
}

static inline void
fixture_teardown (Fixture *f, gconstpointer data)
{
  close (f->out_fd);
  g_assert_true (mh_writer_remove_tree (AT_FDCWD, f->base, NULL));
  g_free (f->base);
  g_free (f->out);
  g_free (f->sibling);
}
