/* testlib.c - helpers shared by the test programs; see testlib.h. */
#include "testlib.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Deeper trees than this are a bug in the code under test (or a loop),
 * not something a test archive holds. */
#define MAX_TREE_DEPTH 64

const char *
mh_test_env (const char *name)
{
  const char *v = g_getenv (name);

  if (v == NULL)
    g_error ("%s is not set: run this test under tests/dovecot/with-dovecot",
             name);
  return v;
}

int
mh_test_cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

char *
mh_test_sha256_file (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) data,
                                      len);
}

static void
tree_entries (const char *dir, const char *rel, gboolean sums,
              MhTestEntryCheck check, GPtrArray *out, guint depth)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_cmpuint (depth, <, MAX_TREE_DEPTH);
  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *r = rel[0] != '\0' ? g_strconcat (rel, "/", name, NULL)
                                          : g_strdup (name);
      GStatBuf st;

      g_assert_cmpint (g_lstat (path, &st), ==, 0);
      if (check != NULL)
        check (name, &st);
      if (S_ISDIR (st.st_mode))
        {
          g_ptr_array_add (out, g_strconcat (r, "/", NULL));
          tree_entries (path, r, sums, check, out, depth + 1);
        }
      else if (sums)
        {
          g_autofree char *sum = mh_test_sha256_file (path);

          g_assert_true (S_ISREG (st.st_mode));
          g_ptr_array_add (out, g_strconcat (r, " ", sum, NULL));
        }
      else
        g_ptr_array_add (out, g_steal_pointer (&r));
    }
}

void
mh_test_tree_entries (const char *dir, const char *rel, gboolean sums,
                      MhTestEntryCheck check, GPtrArray *out)
{
  tree_entries (dir, rel, sums, check, out, 0);
}

char *
mh_test_tree_listing (const char *dir, gboolean sums, MhTestEntryCheck check,
                      gboolean with_store, const char *sep)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) keep = g_ptr_array_new ();

  mh_test_tree_entries (dir, "", sums, check, lines);
  g_ptr_array_sort (lines, mh_test_cmp_str);
  for (guint i = 0; i < lines->len; i++)
    if (with_store || strstr (lines->pdata[i], "state.sqlite") == NULL)
      g_ptr_array_add (keep, lines->pdata[i]);
  g_ptr_array_add (keep, NULL);
  return g_strjoinv (sep, (char **) keep->pdata);
}

JsonNode *
mh_test_load_json (const char *path)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

char *
mh_test_write_file (const char *dir, const char *name, const char *text)
{
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  return path;
}

char *
mh_test_new_dir (const char *dir, const char *name)
{
  char *d = g_build_filename (dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (d, 0755), ==, 0);
  return d;
}

GPtrArray *
mh_test_staged_dirs (const char *incoming)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) top = g_dir_open (incoming, 0, &error);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  const char *stage;

  g_assert_no_error (error);
  while ((stage = g_dir_read_name (top)) != NULL)
    {
      g_autofree char *path = g_build_filename (incoming, stage, NULL);
      g_autoptr(GDir) d = g_dir_open (path, 0, &error);
      const char *name;

      g_assert_no_error (error);
      while ((name = g_dir_read_name (d)) != NULL)
        g_ptr_array_add (out, g_build_filename (stage, name, NULL));
    }
  g_ptr_array_sort (out, mh_test_cmp_str);
  return out;
}

GBytes *
mh_test_data_bytes (const char *first, ...)
{
  va_list ap;
  g_autofree char *rel = NULL;
  g_autofree char *path = NULL;
  char *data = NULL;
  gsize len = 0;

  va_start (ap, first);
  rel = g_build_filename_valist (first, &ap);
  va_end (ap);
  path = g_build_filename (g_test_get_dir (G_TEST_DIST), "data", rel, NULL);
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_bytes_new_take (data, len);
}

void
mh_test_import (const char *out, char *(*corpus) (const char *name),
                const char *const *names, MhImportStats *stats)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  MhImportOptions options = { 0 };

  for (gsize i = 0; names[i] != NULL; i++)
    g_ptr_array_add (paths, corpus (names[i]));
  g_ptr_array_add (paths, NULL);
  options.output = out;
  options.account = "local";
  options.paths = (const char *const *) paths->pdata;
  g_assert_true (mh_import (&options, stats, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < stats->failures->len; i++)
    g_test_message ("failure: %s", (char *) stats->failures->pdata[i]);
}

const MhImapMailbox *
mh_test_find_box (GPtrArray *boxes, const char *name)
{
  for (guint i = 0; i < boxes->len; i++)
    {
      const MhImapMailbox *mb = g_ptr_array_index (boxes, i);

      if (g_strcmp0 (mb->name, name) == 0)
        return mb;
    }
  g_error ("mailbox %s not listed", name);
  return NULL;
}

void
mh_test_collect_trace (gboolean sent, const char *line, gpointer user_data)
{
  g_ptr_array_add (user_data, g_strdup_printf ("%s %s", sent ? "C:" : "S:",
                                               line));
}

gboolean
mh_test_trace_contains (GPtrArray *trace, const char *needle)
{
  for (guint i = 0; i < trace->len; i++)
    if (strstr (g_ptr_array_index (trace, i), needle) != NULL)
      return TRUE;
  return FALSE;
}

void
mh_test_chown_mail (const char *path)
{
  guint64 uid = g_ascii_strtoull (mh_test_env ("MH_TEST_MAIL_UID"), NULL, 10);
  guint64 gid = g_ascii_strtoull (mh_test_env ("MH_TEST_MAIL_GID"), NULL, 10);

  if (chown (path, (uid_t) uid, (gid_t) gid) != 0 && errno != EPERM)
    g_error ("chown %s: %s", path, g_strerror (errno));
}

MhImapSession *
mh_test_login (void)
{
  MhConnectOptions o;
  g_autoptr(GError) error = NULL;
  g_autoptr(MhImapSession) s = NULL;

  mh_connect_options_init (&o);
  o.host = mh_test_env ("MH_TEST_HOST");
  o.port = (guint16) g_ascii_strtoull (mh_test_env ("MH_TEST_IMAPS_PORT"),
                                       NULL, 10);
  o.ca_file = mh_test_env ("MH_TEST_CA_FILE");
  o.timeout_ms = 20000;
  s = mh_imap_session_connect (&o, &error);
  g_assert_no_error (error);
  g_assert_true (mh_imap_session_authenticate (
      s, mh_test_env ("MH_TEST_USER"), mh_test_env ("MH_TEST_PASSWORD"),
      MH_IMAP_AUTH_AUTO, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&s);
}
