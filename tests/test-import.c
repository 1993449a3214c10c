/* test-import.c - mbox, Maildir and .eml folders through `import`:
 * exact bytes, mailbox names, duplicates, reruns, the hostile corpus. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mailharvest/import.h"
#include "mailharvest/message.h"
#include "mailharvest/writer.h"

#include "testlib.h"

#include "import-testlib.h"

static void
assert_expected (GHashTable *sums, const char *subject, const char *file)
{
  g_autofree char *path = corpus (file);
  g_autofree char *want = mh_test_sha256_file (path);

  g_test_message ("%s", subject);
  g_assert_cmpstr (g_hash_table_lookup (sums, subject), ==, want);
}

static void
test_mboxrd (Fixture *f, gconstpointer data)
{
  static const char *const paths[] = { "mboxrd.mbox", NULL };
  MhImportStats stats;
  g_autoptr(GHashTable) sums = NULL;
  g_autoptr(GPtrArray) jsons = NULL;

  mh_test_import (f->out, corpus, paths, &stats);
  g_assert_cmpuint (stats.imported, ==, 3);
  g_assert_cmpuint (stats.failed, ==, 0);
  sums = eml_sums_by_subject (f);
  g_assert_cmpuint (g_hash_table_size (sums), ==, 3);
  /* ">From " lost one '>', ">>From " too; the separator's empty line is
   * gone, the body's own empty lines are not. */
  assert_expected (sums, "mboxrd one", "expected/mboxrd-1.eml");
  assert_expected (sums, "mboxrd two", "expected/mboxrd-2.eml");
  assert_expected (sums, "mboxrd three", "expected/mboxrd-3.eml");

  jsons = manifests (f);
  for (guint i = 0; i < jsons->len; i++)
    {
      g_autoptr(JsonObject) o = load_object (jsons->pdata[i]);
      const char *subject = json_object_get_string_member (o, "subject");
      gint64 uid = json_object_get_int_member (o, "uid");

      g_assert_cmpstr (json_object_get_string_member (o, "mailbox"), ==,
                       "mboxrd");
      /* UIDs are positions in the file. */
      g_assert_cmpint (uid, ==, strcmp (subject, "mboxrd one") == 0 ? 1
                                : strcmp (subject, "mboxrd two") == 0 ? 2
                                                                     : 3);
    }
  g_assert_false (g_file_test (f->out, G_FILE_TEST_IS_SYMLINK));
  mh_import_stats_clear (&stats);
}

static void
test_mboxo (Fixture *f, gconstpointer data)
{
  static const char *const paths[] = { "mboxo.mbox", NULL };
  MhImportStats stats;
  g_autoptr(GHashTable) sums = NULL;

  mh_test_import (f->out, corpus, paths, &stats);
  g_assert_cmpuint (stats.imported, ==, 3);
  sums = eml_sums_by_subject (f);
  assert_expected (sums, "mboxo one", "expected/mboxo-1.eml");
  assert_expected (sums, "mboxo two", "expected/mboxo-2.eml");
  /* An unescaped "From " without an empty line before it is content. */
  assert_expected (sums, "mboxo three", "expected/mboxo-3.eml");
  mh_import_stats_clear (&stats);
}

static void
test_maildir (Fixture *f, gconstpointer data)
{
  static const char *const paths[] = { "Maildir", NULL };
  MhImportStats stats;
  g_autoptr(GPtrArray) jsons = NULL;
  guint seen = 0;

  mh_test_import (f->out, corpus, paths, &stats);
  /* cur and new of the inbox, and .Sent; never tmp. */
  g_assert_cmpuint (stats.imported, ==, 4);
  jsons = manifests (f);
  g_assert_cmpuint (jsons->len, ==, 4);
  for (guint i = 0; i < jsons->len; i++)
    {
      g_autoptr(JsonObject) o = load_object (jsons->pdata[i]);
      const char *subject = json_object_get_string_member (o, "subject");
      const char *mailbox = json_object_get_string_member (o, "mailbox");
      gint64 uid = json_object_get_int_member (o, "uid");
      JsonArray *flags = json_object_get_array_member (o, "flags");

      g_assert_cmpstr (subject, !=, "maildir tmp");
      if (strcmp (subject, "maildir sent") == 0)
        {
          g_assert_cmpstr (mailbox, ==, "Sent");
          g_assert_cmpint (uid, ==, 1);
          g_assert_cmpstr (json_array_get_string_element (flags, 0), ==,
                           "\\Seen");
          seen |= 8;
          continue;
        }
      g_assert_cmpstr (mailbox, ==, "INBOX");
      /* UIDs by file name across cur/ and new/. */
      if (strcmp (subject, "maildir one") == 0)
        {
          g_assert_cmpint (uid, ==, 1);
          g_assert_cmpuint (json_array_get_length (flags), ==, 2);
          g_assert_cmpstr (json_array_get_string_element (flags, 0), ==,
                           "\\Answered");
          g_assert_cmpstr (json_array_get_string_element (flags, 1), ==,
                           "\\Seen");
          seen |= 1;
        }
      else if (strcmp (subject, "maildir two") == 0)
        {
          g_assert_cmpint (uid, ==, 2);
          g_assert_cmpuint (json_array_get_length (flags), ==, 0);
          seen |= 2;
        }
      else
        {
          g_assert_cmpstr (subject, ==, "maildir three");
          g_assert_cmpint (uid, ==, 3);
          seen |= 4;
        }
    }
  g_assert_cmpuint (seen, ==, 15);
  mh_import_stats_clear (&stats);
}

static char *
in_sibling (const char *name)
{
  return g_strdup (name);
}

/* An empty file given by name holds no message: it is read as an empty
 * mbox, and nothing is archived. */
static void
test_empty_file (Fixture *f, gconstpointer data)
{
  g_autofree char *empty = g_build_filename (f->sibling, "empty.mbox",
                                             NULL);
  const char *const paths[] = { empty, NULL };
  g_autoptr(GPtrArray) jsons = NULL;
  MhImportStats stats;

  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  mh_test_import (f->out, in_sibling, paths, &stats);
  g_assert_cmpuint (stats.imported, ==, 0);
  g_assert_cmpuint (stats.failed, ==, 0);
  jsons = manifests (f);
  g_assert_cmpuint (jsons->len, ==, 0);
  mh_import_stats_clear (&stats);
  g_clear_pointer (&jsons, g_ptr_array_unref);

  /* Found while walking a folder or a Maildir, an empty file is no
   * message either; the real ones next to it are imported. */
  {
    static const char msg[] = "From: a@example.org\r\nSubject: real\r\n"
                              "Message-ID: <real@example.org>\r\n\r\nbody\r\n";
    g_autofree char *tree = g_build_filename (f->sibling, "tree", NULL);
    g_autofree char *md = g_build_filename (f->sibling, "tree", "md", NULL);
    const char *const files[][2] = {
      { "a.eml", "" }, { "b.eml", msg },
      { "md/cur/1.host:2,S", "" }, { "md/new/2.host", msg },
    };
    const char *const tree_paths[] = { tree, NULL };

    for (guint i = 0; i < G_N_ELEMENTS (files); i++)
      {
        g_autofree char *path = g_build_filename (tree, files[i][0], NULL);
        g_autofree char *dir = g_path_get_dirname (path);

        g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
        g_assert_true (g_file_set_contents (path, files[i][1], -1, NULL));
      }
    {
      g_autofree char *tmp = g_build_filename (md, "tmp", NULL);

      g_assert_cmpint (g_mkdir_with_parents (tmp, 0755), ==, 0);
    }
    mh_test_import (f->out, in_sibling, tree_paths, &stats);
    /* b.eml, and 2.host: the same bytes, so one message seen twice */
    g_assert_cmpuint (stats.failed, ==, 0);
    g_assert_cmpuint (stats.imported + stats.duplicates, ==, 2);
    jsons = manifests (f);
    g_assert_cmpuint (jsons->len, ==, 1);
    mh_import_stats_clear (&stats);
  }
}

static void
test_eml_folders (Fixture *f, gconstpointer data)
{
  static const char *const paths[] = { "mail", NULL };
  MhImportStats stats;
  g_autoptr(GPtrArray) jsons = NULL;
  guint inbox = 0, sent = 0;

  mh_test_import (f->out, corpus, paths, &stats);
  g_assert_cmpuint (stats.imported, ==, 3);
  jsons = manifests (f);
  for (guint i = 0; i < jsons->len; i++)
    {
      g_autoptr(JsonObject) o = load_object (jsons->pdata[i]);
      const char *mailbox = json_object_get_string_member (o, "mailbox");

      if (strcmp (mailbox, "Inbox") == 0)
        inbox++;
      else
        {
          g_assert_cmpstr (mailbox, ==, "Sent");
          g_assert_cmpstr (json_object_get_string_member (o, "subject"), ==,
                           "Re: inbox one");
          sent++;
        }
    }
  g_assert_cmpuint (inbox, ==, 2);
  g_assert_cmpuint (sent, ==, 1);
  mh_import_stats_clear (&stats);
}

static void
test_duplicates (Fixture *f, gconstpointer data)
{
  static const char *const paths[] = { "dup", NULL };
  MhImportStats stats;
  g_autoptr(GPtrArray) jsons = NULL;
  g_autoptr(JsonObject) o = NULL;
  JsonArray *boxes;

  mh_test_import (f->out, corpus, paths, &stats);
  g_assert_cmpuint (stats.imported, ==, 1);
  g_assert_cmpuint (stats.duplicates, ==, 1);
  jsons = manifests (f);
  g_assert_cmpuint (jsons->len, ==, 1);
  o = load_object (jsons->pdata[0]);
  /* The second copy is recorded as a second location. */
  boxes = json_object_get_array_member (o, "mailboxes");
  g_assert_cmpuint (json_array_get_length (boxes), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (
      json_array_get_object_element (boxes, 0), "mailbox"), ==, "A");
  g_assert_cmpstr (json_object_get_string_member (
      json_array_get_object_element (boxes, 1), "mailbox"), ==, "B");
  mh_import_stats_clear (&stats);
}

/* A Takeout export: CRLF lines, Gmail's thread id and labels in headers
 * end up in the manifest's "gmail" object. */
static void
test_takeout (Fixture *f, gconstpointer data)
{
  static const char *const paths[] = { "takeout.mbox", NULL };
  MhImportStats stats;
  g_autoptr(GHashTable) sums = NULL;
  g_autoptr(GPtrArray) jsons = NULL;
  g_autoptr(JsonObject) o = NULL;
  JsonObject *gmail;
  JsonArray *labels;

  mh_test_import (f->out, corpus, paths, &stats);
  g_assert_cmpuint (stats.imported, ==, 1);
  sums = eml_sums_by_subject (f);
  assert_expected (sums, "takeout", "expected/takeout-1.eml");
  jsons = manifests (f);
  o = load_object (jsons->pdata[0]);
  gmail = json_object_get_object_member (o, "gmail");
  g_assert_nonnull (gmail);
  g_assert_true (json_object_get_null_member (gmail, "msgid"));
  g_assert_cmpstr (json_object_get_string_member (gmail, "thrid"), ==,
                   "1781234567890123000");
  labels = json_object_get_array_member (gmail, "labels");
  g_assert_cmpuint (json_array_get_length (labels), ==, 4);
  g_assert_cmpstr (json_array_get_string_element (labels, 3), ==,
                   "Category Personal");
  mh_import_stats_clear (&stats);
}

/* A run killed at each step of adding and placing a message, then run
 * again, ends with the same files as one uninterrupted run, and nothing
 * is left in the work dirs. */
static void
test_killed_run (Fixture *f, gconstpointer data)
{
  static const char *const points[] = {
    "written:2", "recorded:2", "recorded:5", "placed:1", "placed:4",
  };
  g_autofree char *mail = corpus ("mail");
  g_autofree char *mbox = corpus ("mboxrd.mbox");
  g_autofree char *clean_out = g_build_filename (f->base, "clean", NULL);
  g_autofree char *clean = NULL;
  const char *clean_args[] = { "import", "-o", clean_out, mail, mbox, NULL };

  g_assert_cmpint (run_cli (clean_args, NULL), ==, 0);
  clean = listing_files (clean_out);
  g_assert_nonnull (strstr (clean, "/thread.json "));

  for (gsize i = 0; i < G_N_ELEMENTS (points); i++)
    {
      g_autofree char *name = g_strdup_printf ("killed-%zu", i);
      g_autofree char *out = g_build_filename (f->base, name, NULL);
      g_autofree char *incoming = g_build_filename (out, "local",
                                                    ".incoming", NULL);
      g_autofree char *tmp = g_build_filename (out, "local", ".tmp", NULL);
      g_autofree char *after = NULL;
      g_autoptr(GDir) d = NULL;
      const char *args[] = { "import", "-o", out, mail, mbox, NULL };
      int status;

      g_test_message ("kill at %s", points[i]);
      status = spawn_cli (args, points[i], NULL);
      g_assert_true (WIFSIGNALED (status));
      g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
      g_assert_cmpint (run_cli (args, NULL), ==, 0);
      after = listing_files (out);
      g_assert_cmpstr (after, ==, clean);
      d = g_dir_open (incoming, 0, NULL);
      g_assert_null (g_dir_read_name (d));
      g_clear_pointer (&d, g_dir_close);
      d = g_dir_open (tmp, 0, NULL);
      g_assert_null (g_dir_read_name (d));
    }
}

static void
test_rerun (Fixture *f, gconstpointer data)
{
  static const char *const paths[] = { "mboxrd.mbox", "mboxo.mbox", "Maildir",
                                       "mail", "dup", "basic", NULL };
  MhImportStats stats;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;

  mh_test_import (f->out, corpus, paths, &stats);
  g_assert_cmpuint (stats.imported, ==, 15);
  g_assert_cmpuint (stats.duplicates, ==, 1);
  g_assert_cmpuint (stats.failed, ==, 0);
  g_assert_cmpuint (stats.attachments, ==, 2);
  g_assert_cmpuint (stats.messages, ==, 15);
  mh_import_stats_clear (&stats);
  first = listing (f->out);

  /* Every location, the duplicate's too, is known now.  Not one byte
   * changes, the store's included. */
  mh_test_import (f->out, corpus, paths, &stats);
  g_assert_cmpuint (stats.imported, ==, 0);
  g_assert_cmpuint (stats.duplicates, ==, 0);
  g_assert_cmpuint (stats.already, ==, 16);
  g_assert_cmpuint (stats.failed, ==, 0);
  mh_import_stats_clear (&stats);
  second = listing (f->out);
  g_assert_cmpstr (second, ==, first);
  /* No temporary dir is left behind. */
  g_assert_null (strstr (second, ".tmp-"));
}

static char *
as_is (const char *name)
{
  return g_strdup (name);
}

/* "DATE INTERNALDATE DIR-DATE" of the message with @subject, "null" for a
 * date the manifest does not give; DIR-DATE is the time its dir's name
 * begins with. */
static char *
dates_of (GPtrArray *jsons, const char *subject)
{
  for (guint i = 0; i < jsons->len; i++)
    {
      g_autoptr(JsonObject) o = load_object (jsons->pdata[i]);
      g_autofree char *dir = g_path_get_dirname (jsons->pdata[i]);
      g_autofree char *base = g_path_get_basename (dir);
      const char *date, *internal;

      if (g_strcmp0 (json_object_get_string_member (o, "subject"), subject)
          != 0)
        continue;
      date = json_object_get_string_member_with_default (o, "date", NULL);
      internal = json_object_get_string_member_with_default (
          o, "internaldate", NULL);
      return g_strdup_printf ("%s %s %.16s", date != NULL ? date : "null",
                              internal != NULL ? internal : "null", base);
    }
  g_assert_not_reached ();
}

/* A message with neither Date nor Received takes its date from where the
 * mailbox file says it was delivered: an mbox's "From " line (asctime,
 * with or without a zone) or a Maildir unique name.  A Date header still
 * wins, and a separator or name without a time gives none. */
static void
test_envelope_date (Fixture *f, gconstpointer data)
{
  static const char mbox_text[] =
      "From alice@example.com Wed Nov 22 10:00:00 +0000 2023\n"
      "Subject: envelope one\nMessage-ID: <env1@example.com>\n"
      "From: a@example.com\n\nno date here\n\n"
      "From bob@example.com  Mon Jan  1 00:00:00 2001\n"
      "Subject: envelope two\nMessage-ID: <env2@example.com>\n"
      "Date: Tue, 05 Mar 2019 08:00:00 +0000\n\ndated\n\n"
      "From carol@example.com Fri Jul  8 12:08:34 EDT 2011\r\n"
      "Subject: envelope three\r\nMessage-ID: <env3@example.com>\r\n"
      "\r\nzone after the time, CRLF lines\r\n\r\n"
      "From dave@example.com not a date at all\n"
      "Subject: envelope four\nMessage-ID: <env4@example.com>\n\n"
      "no date anywhere\n";
  g_autofree char *mbox = g_build_filename (f->sibling, "env.mbox", NULL);
  g_autofree char *md = g_build_filename (f->sibling, "md", NULL);
  const char *paths[] = { mbox, md, NULL };
  static const char *const subdirs[] = { "cur", "new", "tmp" };
  MhImportStats stats;
  g_autoptr(GPtrArray) jsons = NULL;
  g_autofree char *one = NULL, *two = NULL, *three = NULL, *four = NULL;
  g_autofree char *five = NULL, *six = NULL;

  g_assert_true (g_file_set_contents (mbox, mbox_text, -1, NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *d = g_build_filename (md, subdirs[i], NULL);

      g_assert_cmpint (g_mkdir_with_parents (d, 0755), ==, 0);
    }
  {
    g_autofree char *a = g_build_filename (md, "cur",
                                           "1700000000.M1P2.host:2,S", NULL);
    g_autofree char *b = g_build_filename (md, "new", "notatime.host",
                                           NULL);

    g_assert_true (g_file_set_contents (
        a, "Subject: envelope five\nMessage-ID: <env5@example.com>\n\n"
           "named at delivery\n", -1, NULL));
    g_assert_true (g_file_set_contents (
        b, "Subject: envelope six\nMessage-ID: <env6@example.com>\n\n"
           "no time in the name\n", -1, NULL));
  }

  mh_test_import (f->out, as_is, paths, &stats);
  g_assert_cmpuint (stats.imported, ==, 6);
  g_assert_cmpuint (stats.failed, ==, 0);
  mh_import_stats_clear (&stats);
  jsons = manifests (f);
  one = dates_of (jsons, "envelope one");
  two = dates_of (jsons, "envelope two");
  three = dates_of (jsons, "envelope three");
  four = dates_of (jsons, "envelope four");
  five = dates_of (jsons, "envelope five");
  six = dates_of (jsons, "envelope six");
  g_assert_cmpstr (one, ==,
                   "2023-11-22T10:00:00Z 2023-11-22T10:00:00Z "
                   "20231122T100000Z");
  g_assert_cmpstr (two, ==,
                   "2019-03-05T08:00:00Z 2001-01-01T00:00:00Z "
                   "20190305T080000Z");
  g_assert_cmpstr (three, ==,
                   "2011-07-08T16:08:34Z 2011-07-08T16:08:34Z "
                   "20110708T160834Z");
  g_assert_cmpstr (five, ==,
                   "2023-11-14T22:13:20Z 2023-11-14T22:13:20Z "
                   "20231114T221320Z");
  /* No time anywhere: as before, no date and no internaldate. */
  g_assert_cmpstr (four, ==, "null null 19700101T000000Z");
  g_assert_cmpstr (six, ==, "null null 19700101T000000Z");
}

static char *
big_message (const char *subject, gsize size)
{
  GString *m = g_string_new (NULL);

  g_string_append_printf (m, "From: a@example.com\nSubject: %s\n"
                             "Message-ID: <%s@example.com>\n\n",
                          subject, subject);
  while (m->len < size)
    g_string_append_printf (m, "%s line %" G_GSIZE_FORMAT "\n", subject,
                            m->len);
  return g_string_free (m, FALSE);
}

/* Messages too big to be handed to the workers in memory go as their
 * files: a Maildir's are only read, even a duplicate's, and an mbox
 * member's comes out as the bytes it was, with nothing left in .tmp. */
static void
test_big_files (Fixture *f, gconstpointer data)
{
  g_autofree char *md = g_build_filename (f->sibling, "md", NULL);
  g_autofree char *mbox = g_build_filename (f->sibling, "big.mbox", NULL);
  g_autofree char *tmp = g_build_filename (f->out, "local", ".tmp", NULL);
  const char *paths[] = { md, mbox, NULL };
  static const char *const subdirs[] = { "cur", "new", "tmp" };
  static const char *const names[] = {
    "cur/1700000001.M1P1.host:2,S", "cur/1700000002.M2P1.host:2,S",
    "new/1700000003.M3P1.host", "new/1700000004.M4P1.host",
  };
  static const char *const subjects[] = { "big-a", "big-a", "big-b",
                                          "small-c" };
  g_autofree char *d_text = big_message ("big-d", 400 * 1024);
  g_autofree char *e_text = big_message ("big-e", 300 * 1024);
  g_autofree char *mbox_text = g_strdup_printf (
      "From a@example.com Sat Jan  1 00:00:00 2000\n%s\n"
      "From a@example.com Sat Jan  1 00:00:00 2000\n%s\n", d_text, e_text);
  char *sums[G_N_ELEMENTS (names)];
  g_autoptr(GHashTable) emls = NULL;
  g_autoptr(GDir) d = NULL;
  MhImportStats stats;

  for (gsize i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *dir = g_build_filename (md, subdirs[i], NULL);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (md, names[i], NULL);
      g_autofree char *text = big_message (subjects[i],
                                           i < 3 ? 512 * 1024 : 1024);

      g_assert_true (g_file_set_contents (path, text, -1, NULL));
      sums[i] = mh_test_sha256_file (path);
    }
  g_assert_true (g_file_set_contents (mbox, mbox_text, -1, NULL));

  mh_test_import (f->out, as_is, paths, &stats);
  g_assert_cmpuint (stats.imported, ==, 5);
  g_assert_cmpuint (stats.duplicates, ==, 1);
  g_assert_cmpuint (stats.failed, ==, 0);
  mh_import_stats_clear (&stats);

  /* The user's files are where they were, as they were. */
  emls = eml_sums_by_subject (f);
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (md, names[i], NULL);
      g_autofree char *now = mh_test_sha256_file (path);

      g_test_message ("%s", names[i]);
      g_assert_cmpstr (now, ==, sums[i]);
      g_assert_cmpstr (g_hash_table_lookup (emls, subjects[i]), ==, sums[i]);
      g_free (sums[i]);
    }
  {
    g_autofree char *want_d = g_compute_checksum_for_string (
        G_CHECKSUM_SHA256, d_text, -1);
    g_autofree char *want_e = g_compute_checksum_for_string (
        G_CHECKSUM_SHA256, e_text, -1);

    g_assert_cmpstr (g_hash_table_lookup (emls, "big-d"), ==, want_d);
    g_assert_cmpstr (g_hash_table_lookup (emls, "big-e"), ==, want_e);
  }
  d = g_dir_open (tmp, 0, NULL);
  g_assert_nonnull (d);
  g_assert_null (g_dir_read_name (d));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  mh_message_init ();
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/import/mboxrd", test_mboxrd);
  ADD ("/import/mboxo", test_mboxo);
  ADD ("/import/maildir", test_maildir);
  ADD ("/import/eml-folders", test_eml_folders);
  ADD ("/import/empty-file", test_empty_file);
  ADD ("/import/duplicates", test_duplicates);
  ADD ("/import/takeout", test_takeout);
  ADD ("/import/killed-run", test_killed_run);
  ADD ("/import/rerun", test_rerun);
  ADD ("/import/envelope-date", test_envelope_date);
  ADD ("/import/big-files", test_big_files);
#undef ADD
  return g_test_run ();
}
