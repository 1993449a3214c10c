/* import-testlib.h - what the import tests share: a
 * fixture with an output dir and a sibling dir, the import corpus, a
 * listing that checks every name, and running the CLI. */
#pragma once

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mailharvest/writer.h"

#include "testlib.h"

typedef struct {
  char *base;
  char *out;
  char *sibling;
} Fixture;

static inline void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->base = g_dir_make_tmp ("test-import-XXXXXX", NULL);
  g_assert_nonnull (f->base);
  f->out = g_build_filename (f->base, "out", NULL);
  f->sibling = g_build_filename (f->base, "sibling", NULL);
  g_assert_cmpint (g_mkdir (f->sibling, 0755), ==, 0);
}

static inline void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_assert_true (mh_writer_remove_tree (AT_FDCWD, f->base, NULL));
  g_free (f->base);
  g_free (f->out);
  g_free (f->sibling);
}

static inline char *
corpus (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "data", "mime", "import", name,
                                NULL);
}

/* Each name of an imported tree is one harmless component: valid UTF-8,
 * no control or bidi override characters, no backslash, at most 255
 * bytes, and no symbolic link. */
static inline void
check_name (const char *name, const GStatBuf *st)
{
  g_assert_null (strchr (name, '\\'));
  g_assert_true (g_utf8_validate (name, -1, NULL));
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      g_assert_false (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f));
      g_assert_false (c >= 0x202a && c <= 0x202e);
    }
  g_assert_cmpuint (strlen (name), <=, 255);
  g_assert_false (S_ISLNK (st->st_mode));
}

/* Every entry below @dir as "relpath sha256" (files) or "relpath/" (dirs),
 * sorted, checking on the way that each name is one harmless component. */
static inline char *
listing (const char *dir)
{
  return mh_test_tree_listing (dir, TRUE, check_name, TRUE, "\n");
}

static inline const char *
binary (void)
{
  const char *b = g_getenv ("MH_BINARY");

  return b != NULL ? b : "build/mailharvest";
}

/* Runs the command with @kill_at as MH_DEBUG_KILL_AT (NULL: unset) and
 * returns its wait status. */
static inline int
spawn_cli (const char *const *args, const char *kill_at, char **err_out)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) env = g_get_environ ();
  int status = -1;

  if (kill_at != NULL)
    env = g_environ_setenv (env, "MH_DEBUG_KILL_AT", kill_at, TRUE);
  else
    env = g_environ_unsetenv (env, "MH_DEBUG_KILL_AT");
  g_ptr_array_add (argv, (gpointer) binary ());
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, env,
                               G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                               err_out, &status, &error));
  g_assert_no_error (error);
  return status;
}

static inline int
run_cli (const char *const *args, char **err_out)
{
  int status = spawn_cli (args, NULL, err_out);

  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

/* The message dirs below OUT/local/threads: paths of their message.json. */
static inline GPtrArray *
manifests (Fixture *f)
{
  g_autofree char *threads = g_build_filename (f->out, "local", "threads",
                                               NULL);
  g_autoptr(GDir) d = g_dir_open (threads, 0, NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  const char *t;

  g_assert_nonnull (d);
  while ((t = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *tdir = g_build_filename (threads, t, NULL);
      g_autoptr(GDir) td = g_dir_open (tdir, 0, NULL);
      const char *m;

      g_assert_nonnull (td);
      while ((m = g_dir_read_name (td)) != NULL)
        if (strcmp (m, "thread.json") != 0)
          g_ptr_array_add (out, g_build_filename (tdir, m, "message.json",
                                                  NULL));
    }
  g_ptr_array_sort (out, mh_test_cmp_str);
  return out;
}

static inline JsonObject *
load_object (const char *path)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_true (json_parser_load_from_file (parser, path, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (
      parser)));
}

/* The listing without the store, whose bytes depend on the order of
 * its writes, not only on its contents. */
static inline char *
listing_files (const char *dir)
{
  return mh_test_tree_listing (dir, TRUE, check_name, FALSE, "\n");
}

/* The sha256 of each written message.eml, by subject. */
static inline GHashTable *
eml_sums_by_subject (Fixture *f)
{
  g_autoptr(GPtrArray) jsons = manifests (f);
  GHashTable *out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           g_free);

  for (guint i = 0; i < jsons->len; i++)
    {
      g_autoptr(JsonObject) o = load_object (jsons->pdata[i]);
      g_autofree char *dir = g_path_get_dirname (jsons->pdata[i]);
      g_autofree char *eml = g_build_filename (dir, "message.eml", NULL);
      const char *subject = json_object_get_string_member (o, "subject");
      char *sum = mh_test_sha256_file (eml);

      /* The manifest's own sum is of the same bytes. */
      g_assert_cmpstr (json_object_get_string_member (o, "sha256"), ==, sum);
      g_hash_table_insert (out, g_strdup (subject), sum);
    }
  return out;
}
