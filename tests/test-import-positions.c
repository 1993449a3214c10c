/* test-import-positions.c - importing a local mailbox again after it
 * changed: a local UID is a position, which names another message once
 * one before it is deleted or the file is written again. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mailharvest/import.h"
#include "mailharvest/message.h"
#include "mailharvest/writer.h"

#include "testlib.h"

#include "import-testlib.h"

/* Each message's locations, one line a message sorted by subject:
 * "SUBJECT: MAILBOX/UID ...", from the message.json files. */
static char *
locations_by_subject (Fixture *f)
{
  g_autoptr(GPtrArray) jsons = manifests (f);
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < jsons->len; i++)
    {
      g_autoptr(JsonObject) o = load_object (jsons->pdata[i]);
      JsonArray *boxes = json_object_get_array_member (o, "mailboxes");
      GString *line = g_string_new (json_object_get_string_member (o,
                                                                   "subject"));

      g_string_append_c (line, ':');
      for (guint j = 0; j < json_array_get_length (boxes); j++)
        {
          JsonObject *b = json_array_get_object_element (boxes, j);

          g_string_append_printf (
              line, " %s/%" G_GINT64_FORMAT,
              json_object_get_string_member (b, "mailbox"),
              json_object_get_int_member (b, "uid"));
        }
      g_ptr_array_add (lines, g_string_free (line, FALSE));
    }
  g_ptr_array_sort (lines, mh_test_cmp_str);
  g_ptr_array_add (lines, NULL);
  return g_strjoinv ("\n", (char **) lines->pdata);
}

static char *
small_message (guint k)
{
  return g_strdup_printf ("From: a@example.com\nSubject: m%u\n"
                          "Message-ID: <m%u@x>\n"
                          "Date: Tue, 03 Mar 2026 1%u:00:00 +0000\n\n"
                          "body %u\n", k, k, k % 10, k);
}

/* Imports @paths (NULL-terminated) and checks the counts. */
static void
import_paths (Fixture *f, const char *const *paths, guint imported,
              guint duplicates, guint already)
{
  g_autoptr(GError) error = NULL;
  MhImportOptions options = { 0 };
  MhImportStats stats;

  options.output = f->out;
  options.account = "local";
  options.paths = paths;
  g_assert_true (mh_import (&options, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.failed, ==, 0);
  g_assert_cmpuint (stats.imported, ==, imported);
  g_assert_cmpuint (stats.duplicates, ==, duplicates);
  g_assert_cmpuint (stats.already, ==, already);
  mh_import_stats_clear (&stats);
}

static void
import_once (Fixture *f, const char *path, guint imported, guint duplicates,
             guint already)
{
  const char *paths[] = { path, NULL };

  import_paths (f, paths, imported, duplicates, already);
}

/* A Maildir at @dir holding small_message(k) for each k of @ks (ended by
 * 0), each in a file named after k, so that it sorts by k. */
static void
make_maildir (const char *dir, const guint *ks)
{
  static const char *const sub[] = { "cur", "new", "tmp" };

  for (guint d = 0; d < G_N_ELEMENTS (sub); d++)
    {
      g_autofree char *path = g_build_filename (dir, sub[d], NULL);

      g_assert_cmpint (g_mkdir_with_parents (path, 0755), ==, 0);
    }
  for (guint i = 0; ks[i] != 0; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s/cur/17000000%02u.M1P1.h:2,S",
                                               dir, ks[i]);
      g_autofree char *text = small_message (ks[i]);

      g_assert_true (g_file_set_contents (name, text, -1, NULL));
    }
}

/* A local UID is a position: when a message before others is deleted
 * from a Maildir (or an mbox is written again without it), the positions
 * name other messages.  A new message at a known position is imported
 * (it was skipped as "already archived" before), every location moves
 * to the message now there, positions past the end are forgotten, and a
 * deleted message stays archived without a location. */
static void
test_positions_shift (Fixture *f, gconstpointer data)
{
  g_autofree char *maildir = g_build_filename (f->base, "M", NULL);
  g_autofree char *mbox = g_build_filename (f->base, "box", NULL);
  g_autofree char *locs = NULL;
  g_autoptr(GString) file = g_string_new (NULL);

  static const guint first[] = { 1, 2, 3, 0 };
  static const guint second[] = { 2, 3, 4, 0 };

  make_maildir (maildir, first);
  import_once (f, maildir, 3, 0, 0);
  locs = locations_by_subject (f);
  g_assert_cmpstr (locs, ==, "m1: M/1\nm2: M/2\nm3: M/3");
  g_clear_pointer (&locs, g_free);

  /* m1 deleted, m4 delivered: m4 takes the third position. */
  g_assert_true (mh_writer_remove_tree (AT_FDCWD, maildir, NULL));
  make_maildir (maildir, second);
  import_once (f, maildir, 1, 2, 0);
  locs = locations_by_subject (f);
  g_assert_cmpstr (locs, ==, "m1:\nm2: M/1\nm3: M/2\nm4: M/3");
  g_clear_pointer (&locs, g_free);
  import_once (f, maildir, 0, 0, 3);

  /* An mbox of m5, m6, m7, then written again without m5: m7's old
   * position is past the end. */
  for (guint k = 5; k <= 7; k++)
    {
      g_autofree char *text = small_message (k);

      g_string_append_printf (file, "From a@example.com Sat Jan  1 00:00:00 "
                              "2000\n%s\n", text);
    }
  g_assert_true (g_file_set_contents (mbox, file->str, -1, NULL));
  import_once (f, mbox, 3, 0, 0);
  g_string_erase (file, 0, (gssize) (strchr (strstr (file->str, "body 5"),
                                              '\n') + 2 - file->str));
  g_assert_true (g_str_has_prefix (file->str, "From a@example.com"));
  g_assert_true (g_file_set_contents (mbox, file->str, -1, NULL));
  import_once (f, mbox, 0, 2, 0);
  locs = locations_by_subject (f);
  g_assert_cmpstr (locs, ==, "m1:\nm2: M/1\nm3: M/2\nm4: M/3\nm5:\n"
                             "m6: box/1\nm7: box/2");
  import_once (f, mbox, 0, 0, 2);
}


/* Files named on the command line, one import at a time (as a ticket
 * system hands over each new .eml): each keeps a location of its own,
 * and importing them again, alone or together, finds them done. */
static void
test_positions_named_files (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (f->base, "drop", NULL);
  g_autofree char *one = g_build_filename (dir, "one.eml", NULL);
  g_autofree char *two = g_build_filename (dir, "two.eml", NULL);
  g_autofree char *text1 = small_message (1);
  g_autofree char *text2 = small_message (2);
  g_autofree char *locs = NULL;
  g_auto(GStrv) lines = NULL;
  const char *both[] = { one, two, NULL };

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (one, text1, -1, NULL));
  g_assert_true (g_file_set_contents (two, text2, -1, NULL));
  import_once (f, one, 1, 0, 0);
  import_once (f, two, 1, 0, 0);
  import_once (f, one, 0, 0, 1);
  locs = locations_by_subject (f);
  lines = g_strsplit (locs, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  g_assert_true (g_str_has_prefix (lines[0], "m1: drop/1"));
  g_assert_true (g_str_has_prefix (lines[1], "m2: drop/1"));
  /* One location each: each file is a position space of its own. */
  g_assert_null (strchr (lines[0] + strlen ("m1: drop/1"), '/'));
  g_assert_null (strchr (lines[1] + strlen ("m2: drop/1"), '/'));
  import_paths (f, both, 0, 0, 2);
}

/* The second import of the Maildir above killed at each step of moving
 * the positions, then run again: the same files as without the kill. */
static char *
second_import (Fixture *f, const char *maildir, const char *name,
               const char *kill_at)
{
  static const guint first[] = { 1, 2, 3, 0 };
  static const guint second[] = { 2, 3, 4, 0 };
  g_autofree char *out = g_build_filename (f->base, name, NULL);
  const char *args[] = { "import", "-o", out, maildir, NULL };

  g_assert_true (mh_writer_remove_tree (AT_FDCWD, maildir, NULL));
  make_maildir (maildir, first);
  g_assert_cmpint (run_cli (args, NULL), ==, 0);
  g_assert_true (mh_writer_remove_tree (AT_FDCWD, maildir, NULL));
  make_maildir (maildir, second);
  if (kill_at != NULL)
    {
      int status;

      g_test_message ("kill at %s", kill_at);
      status = spawn_cli (args, kill_at, NULL);
      g_assert_true (WIFSIGNALED (status));
      g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
    }
  g_assert_cmpint (run_cli (args, NULL), ==, 0);
  return listing_files (out);
}

static void
test_positions_killed (Fixture *f, gconstpointer data)
{
  static const char *const points[] = {
    "location-written:1", "location-written:2", "location-written:4",
    "recorded:1", "placed:1",
  };
  g_autofree char *maildir = g_build_filename (f->base, "M", NULL);
  g_autofree char *clean = second_import (f, maildir, "clean", NULL);

  /* m1's message.json with no location, m4's dir: the move happened. */
  g_assert_nonnull (strstr (clean, "m4"));
  for (gsize i = 0; i < G_N_ELEMENTS (points); i++)
    {
      g_autofree char *name = g_strdup_printf ("killed-%zu", i);
      g_autofree char *after = second_import (f, maildir, name, points[i]);

      g_assert_cmpstr (after, ==, clean);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  mh_message_init ();
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/import/positions-shift", test_positions_shift);
  ADD ("/import/positions-named-files", test_positions_named_files);
  ADD ("/import/positions-killed", test_positions_killed);
#undef ADD
  return g_test_run ();
}
