/* test-writer-dirs.c - the writer's dir primitives: stale temporaries
 * swept, renames that never replace, and the no-flags replace that
 * publishing falls back to. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mailharvest/writer.h"

#include "testlib.h"
#include "writer-testlib.h"

/* Relative paths of everything below @dir, sorted, dirs ending in '/'. */
static char *
list_tree (const char *dir)
{
  return mh_test_tree_listing (dir, FALSE, NULL, TRUE, "|");
}

/* Stale temporaries (".tmp-" names, a crashed write's) are removed, deep
 * trees and links too, without following a link; other names stay. */
static void
test_clean_stale (Fixture *f, gconstpointer data)
{
  g_autofree char *deep = g_build_filename (f->out, ".tmp-m.123456", "a",
                                            "b", NULL);
  g_autofree char *file = g_build_filename (deep, "f", NULL);
  g_autofree char *loose = g_build_filename (f->out, ".tmp-loose", NULL);
  g_autofree char *keep = g_build_filename (f->out, "keep", NULL);
  g_autofree char *link = g_build_filename (f->out, ".tmp-link", NULL);
  g_autofree char *victim = g_build_filename (f->sibling, "victim", NULL);
  g_autofree char *tree = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (deep, 0755), ==, 0);
  g_assert_true (g_file_set_contents (file, "x", -1, NULL));
  g_assert_true (g_file_set_contents (loose, "x", -1, NULL));
  g_assert_true (g_file_set_contents (victim, "keep me", -1, NULL));
  g_assert_cmpint (symlink (f->sibling, link), ==, 0);
  g_assert_cmpint (g_mkdir (keep, 0755), ==, 0);
  g_assert_cmpint (mh_writer_clean_stale (f->out_fd, &error), ==, 3);
  g_assert_no_error (error);
  tree = list_tree (f->out);
  g_assert_cmpstr (tree, ==, "keep/");
  /* The link was removed, not what it pointed to. */
  g_assert_true (g_file_test (victim, G_FILE_TEST_EXISTS));
}

/* A rename that never replaces: into a free name it moves the dir; onto
 * a dir (an empty one too, which renameat() alone would replace), a file
 * or a symbolic link it fails with EEXIST and leaves both as they were.
 * The call with the flag and the look-first fallback alike. */
static void
test_rename_noreplace (Fixture *f, gconstpointer data)
{
  gboolean look_first = data != NULL;
  const char *targets[] = { "empty", "full", "file", "link" };
  g_autofree char *src = mh_test_new_dir (f->out, "src");
  g_autofree char *empty = mh_test_new_dir (f->out, "empty");
  g_autofree char *full = mh_test_new_dir (f->out, "full");
  g_autofree char *link = g_build_filename (f->out, "link", NULL);
  g_autofree char *moved = g_build_filename (f->out, "moved", "m.txt", NULL);
  g_autofree char *left = g_build_filename (f->out, "src", "m.txt", NULL);
  g_autofree char *text = NULL;
  int rc;

  g_free (mh_test_write_file (src, "m.txt", "mine"));
  g_free (mh_test_write_file (full, "f.txt", "theirs"));
  g_free (mh_test_write_file (f->out, "file", "theirs"));
  g_assert_cmpint (symlink ("nowhere", link), ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      errno = 0;
      rc = look_first
           ? mh_writer_rename_look_first (f->out_fd, "src", f->out_fd,
                                          targets[i])
           : mh_writer_rename_noreplace (f->out_fd, "src", f->out_fd,
                                         targets[i]);
      g_assert_cmpint (rc, ==, -1);
      g_assert_cmpint (errno, ==, EEXIST);
      g_assert_true (g_file_test (left, G_FILE_TEST_IS_REGULAR));
    }
  g_assert_true (g_file_test (empty, G_FILE_TEST_IS_DIR));
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));

  rc = look_first
       ? mh_writer_rename_look_first (f->out_fd, "src", f->out_fd, "moved")
       : mh_writer_rename_noreplace (f->out_fd, "src", f->out_fd, "moved");
  g_assert_cmpint (rc, ==, 0);
  g_assert_false (g_file_test (src, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_get_contents (moved, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "mine");

  errno = 0;
  rc = look_first
       ? mh_writer_rename_look_first (f->out_fd, "src", f->out_fd, "again")
       : mh_writer_rename_noreplace (f->out_fd, "src", f->out_fd, "again");
  g_assert_cmpint (rc, ==, -1);
  g_assert_cmpint (errno, ==, ENOENT);
}

/* The fallback of publishing a dir without renameat2() flags: a new dir
 * moves in; over an old one (not empty, so that renameat() alone would
 * fail) it replaces it, and neither the temporary nor the aside name is
 * left behind. */
static void
test_replace_aside (Fixture *f, gconstpointer data)
{
  const char *tmp = ".tmp-m.000001";
  g_autofree char *dir = g_build_filename (f->out, tmp, NULL);
  g_autofree char *m = g_build_filename (f->out, "m", NULL);
  g_autofree char *text = NULL;
  g_autofree char *got = NULL;
  g_autoptr(GError) error = NULL;

  for (guint round = 0; round < 2; round++)
    {
      g_autofree char *new_text = g_strdup_printf ("round %u", round);
      g_autofree char *file = g_build_filename (m, "f.txt", NULL);

      g_free (mh_test_new_dir (f->out, tmp));
      g_free (mh_test_write_file (dir, "f.txt", new_text));
      if (round == 1)
        g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));
      else
        g_assert_false (g_file_test (m, G_FILE_TEST_EXISTS));
      g_assert_true (mh_writer_replace_aside (f->out_fd, tmp, "m", &error));
      g_assert_no_error (error);
      g_clear_pointer (&text, g_free);
      g_assert_true (g_file_get_contents (file, &text, NULL, NULL));
      g_assert_cmpstr (text, ==, new_text);
    }
  got = list_tree (f->out);
  g_assert_cmpstr (got, ==, "m/|m/f.txt");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, func, data) \
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)
  ADD ("/writer-dirs/clean-stale", test_clean_stale, NULL);
  ADD ("/writer-dirs/rename-noreplace", test_rename_noreplace, NULL);
  ADD ("/writer-dirs/rename-look-first", test_rename_noreplace, "look-first");
  ADD ("/writer-dirs/replace-aside", test_replace_aside, NULL);
#undef ADD
  return g_test_run ();
}
