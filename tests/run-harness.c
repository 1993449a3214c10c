/* run-harness.c - see run-harness.h. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "run-harness.h"

/* Files read back into memory for hashing at most. */
#define MAX_FILE (16 * 1024 * 1024)
/* Dir depth walked in an archive or a Maildir at most. */
#define MAX_DEPTH 16

static guint mail_seq;

/* ---- Maildirs ---------------------------------------------------------- */

/* MAILDIR/FOLDER with cur, new and tmp, owned by the mail user.  @folder
 * is the on-disk name ("Sent", "[Gmail]/All Mail"); NULL is INBOX. */
char *
mh_test_folder_dir (const char *root, const char *folder)
{
  static const char *const subs[] = { "cur", "new", "tmp" };
  char *dir = folder == NULL ? g_strdup (root)
                             : g_build_filename (root, folder, NULL);

  if (folder != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (folder, "/", -1);
      g_autofree char *p = g_strdup (root);

      for (guint i = 0; parts[i] != NULL; i++)
        {
          char *next = g_build_filename (p, parts[i], NULL);

          g_free (p);
          p = next;
          if (g_mkdir (p, 0700) == 0)
            mh_test_chown_mail (p);
        }
    }
  for (gsize i = 0; i < G_N_ELEMENTS (subs); i++)
    {
      g_autofree char *s = g_build_filename (dir, subs[i], NULL);

      if (g_mkdir (s, 0700) == 0)
        mh_test_chown_mail (s);
    }
  return dir;
}

/* Delivers @text into FOLDER: into new/ when @flags is NULL, else into
 * cur/ with ":2,FLAGS".  Names start with a growing time stamp, so that
 * Dovecot gives the messages UIDs in delivery order. */
void
mh_test_deliver (const char *root, const char *folder, const char *text,
                 const char *flags)
{
  g_autofree char *dir = mh_test_folder_dir (root, folder);
  guint seq = ++mail_seq;
  g_autofree char *base = g_strdup_printf ("%u.M%uP1.mh", 1600000000 + seq,
                                           seq);
  g_autofree char *tmp = g_build_filename (dir, "tmp", base, NULL);
  g_autofree char *name = flags == NULL ? g_strdup (base)
                                        : g_strdup_printf ("%s:2,%s", base,
                                                           flags);
  g_autofree char *final = g_build_filename (dir, flags == NULL ? "new"
                                                                : "cur",
                                             name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (tmp, text, -1, &error);
  g_assert_no_error (error);
  mh_test_chown_mail (tmp);
  g_assert_cmpint (g_rename (tmp, final), ==, 0);
}

const char *
mh_test_alice_dir (void)
{
  return mh_test_env ("MH_TEST_MAIL_DIR");
}

const char *
mh_test_bob_dir (void)
{
  return mh_test_env ("MH_TEST_MAIL_DIR2");
}

/* Calls @fn for every file in a cur/ or new/ dir below @dir. */
void
mh_test_walk_mail (const char *dir, guint depth,
                   void (*fn) (const char *dir, const char *name,
                               gpointer data),
                   gpointer data)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  gboolean mail = g_str_has_suffix (dir, "/cur")
                  || g_str_has_suffix (dir, "/new");

  g_assert_cmpuint (depth, <, MAX_DEPTH);
  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);

      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        mh_test_walk_mail (p, depth + 1, fn, data);
      else if (mail)
        fn (dir, name, data);
    }
}

static void
remove_one (const char *dir, const char *name, gpointer data)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);

  g_assert_cmpint (g_unlink (p), ==, 0);
}

/* Every case starts with empty mailboxes; Dovecot sees the files gone as
 * expunged, and the next messages get new UIDs. */
void
mh_test_mail_reset (void)
{
  mh_test_walk_mail (mh_test_alice_dir (), 0, remove_one, NULL);
  mh_test_walk_mail (mh_test_bob_dir (), 0, remove_one, NULL);
}

/* A message: @id without brackets; @refs a space separated list of ids
 * (the last one is the parent) or NULL; @hour sets the Date; @pad bytes
 * of body text; @attach adds a base64 attachment. */
char *
mh_test_mail_text (const char *id, const char *refs, const char *subject,
                   guint hour, const char *from, gsize pad, gboolean attach)
{
  GString *s = g_string_new (NULL);
  g_autoptr(GDateTime) base = g_date_time_new_utc (2024, 2, 28, 8, 0, 0);
  g_autoptr(GDateTime) dt = g_date_time_add_hours (base, (gint) hour);
  g_autofree char *date = g_date_time_format (dt, "%a, %d %b %Y %H:%M:%S "
                                                  "+0000");

  g_string_append_printf (s, "From: %s\r\nTo: Alice <alice@example.com>\r\n"
                             "Subject: %s\r\nDate: %s\r\n"
                             "Message-ID: <%s@test.example>\r\n",
                          from, subject, date, id);
  if (refs != NULL)
    {
      g_auto(GStrv) r = g_strsplit (refs, " ", -1);
      guint n = g_strv_length (r);

      g_string_append_printf (s, "In-Reply-To: <%s@test.example>\r\n"
                                 "References:", r[n - 1]);
      for (guint i = 0; i < n; i++)
        g_string_append_printf (s, " <%s@test.example>", r[i]);
      g_string_append (s, "\r\n");
    }
  g_string_append (s, "MIME-Version: 1.0\r\n");
  if (attach)
    g_string_append (s, "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
                        "\r\n--b1\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n");
  else
    g_string_append (s, "Content-Type: text/plain; charset=utf-8\r\n");
  g_string_append_printf (s, "\r\nThis is %s, about %s.\r\n", id, subject);
  for (gsize i = 0; i < pad / 64; i++)
    g_string_append_printf (s, "%s line %06" G_GSIZE_FORMAT
                               " of padding text, nothing more.....\r\n",
                            id, i);
  if (attach)
    {
      g_autofree char *data = g_strdup_printf ("attachment of %s\n", id);
      g_autofree char *b64 = g_base64_encode ((const guchar *) data,
                                              strlen (data));

      g_string_append_printf (s, "--b1\r\nContent-Type: text/plain\r\n"
                                 "Content-Disposition: attachment; "
                                 "filename=\"notes-%s.txt\"\r\n"
                                 "Content-Transfer-Encoding: base64\r\n"
                                 "\r\n%s\r\n--b1--\r\n", id, b64);
    }
  return g_string_free (s, FALSE);
}

void
mh_test_put (const char *root, const char *folder, const char *id,
             const char *refs, const char *subject, guint hour,
             const char *flags)
{
  g_autofree char *t = mh_test_mail_text (id, refs, subject, hour,
                                          "Bob <bob@example.org>", 0,
                                          strlen (id) % 3 == 0);

  mh_test_deliver (root, folder, t, flags);
}

/* The thread dirs on disk, sorted and joined with ' '. */
char *
mh_test_thread_dirs_on_disk (const char *acct_dir)
{
  g_autofree char *dir = g_build_filename (acct_dir, "threads", NULL);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GString *s = g_string_new (NULL);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, mh_test_cmp_str);
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (s, "%s%s", i > 0 ? " " : "",
                            (char *) names->pdata[i]);
  return g_string_free (s, FALSE);
}

/* The thread dirs threads.json names, the same way. */
char *
mh_test_thread_dirs_listed (const char *acct_dir)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *threads = mh_test_load_threads (parser, acct_dir);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (threads); i++)
    g_ptr_array_add (names, g_strdup (json_object_get_string_member (
        json_array_get_object_element (threads, i), "dir")));
  g_ptr_array_sort (names, mh_test_cmp_str);
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (s, "%s%s", i > 0 ? " " : "",
                            (char *) names->pdata[i]);
  return g_string_free (s, FALSE);
}

static void
add_flags (const char *dir, const char *name, gpointer data)
{
  GString *s = data;
  const char *colon = strstr (name, ":2,");

  /* new/NAME and cur/NAME:2, both mean "no flags": Dovecot may move a
   * file from new/ to cur/ without changing a flag. */
  g_string_append_printf (s, "%s%.*s %s\n",
                          g_str_has_prefix (dir, mh_test_alice_dir ())
                              ? "alice:" : "bob:",
                          (int) (colon != NULL ? colon - name
                                               : (gssize) strlen (name)),
                          name, colon != NULL ? colon + 3 : "");
}

/* Every message file of both users with its flags, sorted. */
char *
mh_test_server_flags (void)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;

  mh_test_walk_mail (mh_test_alice_dir (), 0, add_flags, s);
  mh_test_walk_mail (mh_test_bob_dir (), 0, add_flags, s);
  lines = g_strsplit (s->str, "\n", -1);
  qsort (lines, g_strv_length (lines), sizeof (char *), mh_test_cmp_str);
  return g_strjoinv ("\n", lines);
}

/* ---- running the binary ------------------------------------------------ */

void
mh_test_run_clear (MhTestRun *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

/* Runs mailharvest with @args (NULL-terminated).  @kill_at sets
 * MH_DEBUG_KILL_AT; the passwords are in MH_T_PW_ALICE and MH_T_PW_BOB,
 * MH_T_PW_WRONG is a wrong one. */
void
mh_test_run (MhTestRun *r, const char *kill_at, const char *const *args)
{
  g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) p = NULL;
  g_autoptr(GError) error = NULL;

  memset (r, 0, sizeof *r);
  g_ptr_array_add (argv, (gpointer) mh_test_env ("MH_BINARY"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_subprocess_launcher_setenv (l, "MH_T_PW_ALICE",
                                mh_test_env ("MH_TEST_PASSWORD"), TRUE);
  g_subprocess_launcher_setenv (l, "MH_T_PW_BOB",
                                mh_test_env ("MH_TEST_PASSWORD2"), TRUE);
  g_subprocess_launcher_setenv (l, "MH_T_PW_WRONG", MH_TEST_WRONG_PASSWORD,
                                TRUE);
  if (kill_at != NULL)
    g_subprocess_launcher_setenv (l, "MH_DEBUG_KILL_AT", kill_at, TRUE);
  else
    g_subprocess_launcher_unsetenv (l, "MH_DEBUG_KILL_AT");
  p = g_subprocess_launcher_spawnv (l, (const char *const *) argv->pdata,
                                    &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  if (g_subprocess_get_if_exited (p))
    r->status = g_subprocess_get_exit_status (p);
  else
    {
      r->status = -1;
      r->signal = g_subprocess_get_if_signaled (p)
                      ? g_subprocess_get_term_sig (p) : 0;
    }
}

/* Runs and asserts exit status @want, showing stderr if not. */
void
mh_test_run_expect (MhTestRun *r, int want, const char *kill_at,
                    const char *const *args)
{
  mh_test_run (r, kill_at, args);
  if (r->status != want)
    g_test_message ("stderr: %s", r->err);
  g_assert_cmpint (r->status, ==, want);
}

/* Asserts that two listings are equal, naming the lines that differ. */
void
mh_test_assert_same_listing (const char *got, const char *want)
{
  g_auto(GStrv) g = NULL;
  g_auto(GStrv) w = NULL;
  g_autoptr(GHashTable) gs = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) ws = g_hash_table_new (g_str_hash, g_str_equal);

  if (strcmp (got, want) == 0)
    return;
  g = g_strsplit (got, "\n", -1);
  w = g_strsplit (want, "\n", -1);
  for (guint i = 0; g[i] != NULL; i++)
    g_hash_table_add (gs, g[i]);
  for (guint i = 0; w[i] != NULL; i++)
    g_hash_table_add (ws, w[i]);
  for (guint i = 0; g[i] != NULL; i++)
    if (!g_hash_table_contains (ws, g[i]))
      g_test_message ("unexpected: %s", g[i]);
  for (guint i = 0; w[i] != NULL; i++)
    if (!g_hash_table_contains (gs, w[i]))
      g_test_message ("missing: %s", w[i]);
  g_assert_true (strcmp (got, want) == 0);
}

/* ---- reading results --------------------------------------------------- */

/* The --json summary's object for @account (owned by @parser). */
static JsonObject *
summary (JsonParser *parser, const char *json, const char *account)
{
  g_autoptr(GError) error = NULL;
  JsonArray *accounts;

  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  accounts = json_object_get_array_member (
      json_node_get_object (json_parser_get_root (parser)), "accounts");
  for (guint i = 0; i < json_array_get_length (accounts); i++)
    {
      JsonObject *o = json_array_get_object_element (accounts, i);

      if (g_strcmp0 (json_object_get_string_member (o, "account"), account)
          == 0)
        return o;
    }
  g_error ("no account %s in the summary: %s", account, json);
  return NULL;
}

gint64
mh_test_summary_int (const char *json, const char *account, const char *key)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  return json_object_get_int_member (summary (parser, json, account), key);
}

/* The mailboxes the run synced, joined with '|'. */
char *
mh_test_summary_mailboxes (const char *json, const char *account)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *a = json_object_get_array_member (
      summary (parser, json, account), "mailboxes");
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (a); i++)
    g_string_append_printf (s, "%s%s", i > 0 ? "|" : "",
                            json_array_get_string_element (a, i));
  return g_string_free (s, FALSE);
}

static void
list_tree (const char *root, const char *rel, guint depth, gboolean mtimes,
           GPtrArray *out)
{
  g_autofree char *dir = g_build_filename (root, rel, NULL);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_nonnull (d);
  g_assert_cmpuint (depth, <, MAX_DEPTH);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *r = rel[0] != '\0'
                               ? g_build_filename (rel, name, NULL)
                               : g_strdup (name);
      g_autofree char *p = g_build_filename (root, r, NULL);
      struct stat st;

      g_assert_cmpint (lstat (p, &st), ==, 0);
      if (S_ISDIR (st.st_mode))
        {
          g_ptr_array_add (out, g_strdup_printf ("%s/", r));
          list_tree (root, r, depth + 1, mtimes, out);
        }
      else if (S_ISREG (st.st_mode))
        {
          g_autofree char *data = NULL;
          g_autofree char *sum = NULL;
          gsize len = 0;

          /* The store's bytes are compared on their own where it
           * matters: SQLite may lay out the same rows differently. */
          if (depth == 1 && strcmp (name, "state.sqlite") == 0)
            continue;
          g_assert_cmpint (st.st_size, <=, MAX_FILE);
          g_assert_true (g_file_get_contents (p, &data, &len, NULL));
          sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                             (const guchar *) data, len);
          if (mtimes)
            g_ptr_array_add (out, g_strdup_printf (
                "%s %" G_GSIZE_FORMAT " %s %lld.%09ld", r, len, sum,
                (long long) st.st_mtim.tv_sec, (long) st.st_mtim.tv_nsec));
          else
            g_ptr_array_add (out, g_strdup_printf ("%s %" G_GSIZE_FORMAT
                                                   " %s", r, len, sum));
        }
      else
        g_ptr_array_add (out, g_strdup_printf ("%s (not a file)", r));
    }
}

/* Every path below @dir, with size and SHA-256 for files (and with
 * @mtimes their modification times), sorted, one a line; state.sqlite
 * of each account is left out. */
char *
mh_test_listing_full (const char *dir, gboolean mtimes)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  GString *s = g_string_new (NULL);

  list_tree (dir, "", 0, mtimes, lines);
  g_ptr_array_sort (lines, mh_test_cmp_str);
  for (guint i = 0; i < lines->len; i++)
    g_string_append_printf (s, "%s\n", (char *) lines->pdata[i]);
  return g_string_free (s, FALSE);
}

char *
mh_test_listing (const char *dir)
{
  return mh_test_listing_full (dir, FALSE);
}

JsonArray *
mh_test_load_threads (JsonParser *parser, const char *acct_dir)
{
  g_autofree char *path = g_build_filename (acct_dir, "threads.json", NULL);
  g_autoptr(GError) error = NULL;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  return json_node_get_array (json_parser_get_root (parser));
}

static const char *
short_id (const char *id)
{
  static char buf[256];
  const char *at = strchr (id, '@');

  g_snprintf (buf, sizeof buf, "%.*s",
              (int) (at != NULL ? at - id : (gssize) strlen (id)), id);
  return buf;
}

/* The Message-IDs in @acct_dir's threads.json without "@test.example",
 * sorted and joined with ' '.  Asserts that no id is there twice and
 * that each has its message dir with message.json. */
char *
mh_test_archive_ids (const char *acct_dir)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *threads = mh_test_load_threads (parser, acct_dir);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (threads); i++)
    {
      JsonObject *t = json_array_get_object_element (threads, i);
      JsonArray *msgs = json_object_get_array_member (t, "messages");

      for (guint j = 0; j < json_array_get_length (msgs); j++)
        {
          JsonObject *m = json_array_get_object_element (msgs, j);
          g_autofree char *mj = g_build_filename (
              acct_dir, "threads", json_object_get_string_member (t, "dir"),
              json_object_get_string_member (m, "dir"), "message.json",
              NULL);

          g_assert_true (g_file_test (mj, G_FILE_TEST_IS_REGULAR));
          g_ptr_array_add (ids, g_strdup (short_id (
              json_object_get_string_member (m, "message_id"))));
        }
    }
  g_ptr_array_sort (ids, mh_test_cmp_str);
  for (guint i = 0; i < ids->len; i++)
    {
      if (i > 0)
        g_assert_cmpstr (ids->pdata[i - 1], !=, ids->pdata[i]);
      g_string_append_printf (s, "%s%s", i > 0 ? " " : "",
                              (char *) ids->pdata[i]);
    }
  return g_string_free (s, FALSE);
}

/* The thread dir that holds message @id, or NULL. */
char *
mh_test_thread_dir_of (const char *acct_dir, const char *id)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *threads = mh_test_load_threads (parser, acct_dir);

  for (guint i = 0; i < json_array_get_length (threads); i++)
    {
      JsonObject *t = json_array_get_object_element (threads, i);
      JsonArray *msgs = json_object_get_array_member (t, "messages");

      for (guint j = 0; j < json_array_get_length (msgs); j++)
        {
          JsonObject *m = json_array_get_object_element (msgs, j);

          if (strcmp (short_id (json_object_get_string_member (
                          m, "message_id")), id) == 0)
            return g_strdup (json_object_get_string_member (t, "dir"));
        }
    }
  return NULL;
}

/* No work files are left: .tmp and .incoming are empty, no ".tmp-" name
 * anywhere, no SQLite journal. */
void
mh_test_assert_clean (const char *dir)
{
  g_autofree char *list = mh_test_listing (dir);
  g_auto(GStrv) lines = g_strsplit (list, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *l = lines[i];

      if (l[0] == '\0')
        continue;
      if (g_str_has_suffix (l, "/.tmp/")
          || g_str_has_suffix (l, "/.incoming/"))
        continue;
      if (strstr (l, "/.tmp") != NULL || strstr (l, "/.incoming/") != NULL
          || strstr (l, "state.sqlite-") != NULL)
        {
          g_test_message ("left over: %s", l);
          g_assert_not_reached ();
        }
    }
}

void
mh_test_rm_rf (const char *path, guint depth)
{
  struct stat st;

  g_assert_cmpuint (depth, <, MAX_DEPTH);
  if (lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GDir) d = g_dir_open (path, 0, NULL);
      const char *name;

      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *p = g_build_filename (path, name, NULL);

          mh_test_rm_rf (p, depth + 1);
        }
      (void) g_rmdir (path);
    }
  else
    (void) g_unlink (path);
}

/* Copies the tree @from to @to (both absent or fresh). */
void
mh_test_copy_tree (const char *from, const char *to)
{
  const char *argv[] = { "cp", "-a", from, to, NULL };
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

char *
mh_test_work_dir_new (const char *tmpl)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp (tmpl, &error);

  g_assert_no_error (error);
  return dir;
}

void
mh_test_work_dir_clear (char **dir)
{
  mh_test_rm_rf (*dir, 0);
  g_clear_pointer (dir, g_free);
}

/* message.json of an archive */

/* The parsed message.json of message @id (without "@domain") in
 * ACCOUNT_DIR, found through threads.json. */
JsonNode *
mh_test_message_json (const char *acct_dir, const char *id)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonParser) mp = json_parser_new ();
  g_autofree char *want = g_strdup_printf ("<%s@test.example>", id);
  JsonArray *threads = mh_test_load_threads (parser, acct_dir);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < json_array_get_length (threads); i++)
    {
      JsonObject *t = json_array_get_object_element (threads, i);
      JsonArray *msgs = json_object_get_array_member (t, "messages");

      for (guint j = 0; j < json_array_get_length (msgs); j++)
        {
          JsonObject *m = json_array_get_object_element (msgs, j);
          const char *mid = json_object_get_string_member (m, "message_id");
          g_autofree char *path = NULL;

          if (g_strcmp0 (mid, want) != 0
              && !(g_str_has_prefix (mid, id)
                   && strcmp (mid + strlen (id), "@test.example") == 0))
            continue;
          path = g_build_filename (acct_dir, "threads",
                                   json_object_get_string_member (t, "dir"),
                                   json_object_get_string_member (m, "dir"),
                                   "message.json", NULL);
          json_parser_load_from_file (mp, path, &error);
          g_assert_no_error (error);
          return json_node_copy (json_parser_get_root (mp));
        }
    }
  g_error ("no message %s in %s/threads.json", id, acct_dir);
  return NULL;
}

gint64
mh_test_member_int (JsonNode *node, const char *name)
{
  return json_object_get_int_member (json_node_get_object (node), name);
}

/* The locations of a message.json as "MAILBOX UIDVALIDITY UID" lines
 * joined with '|'. */
char *
mh_test_locations_of (JsonNode *node)
{
  JsonArray *a = json_object_get_array_member (json_node_get_object (node),
                                               "mailboxes");
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);

      g_string_append_printf (s, "%s%s %" G_GINT64_FORMAT " %"
                              G_GINT64_FORMAT, i > 0 ? "|" : "",
                              json_object_get_string_member (o, "mailbox"),
                              json_object_get_int_member (o, "uidvalidity"),
                              json_object_get_int_member (o, "uid"));
    }
  return g_string_free (s, FALSE);
}

/* A listing in which message.json lines keep only their path: what must
 * not change when only the locations of messages change. */
char *
mh_test_listing_without_manifests (const char *dir)
{
  g_autofree char *full = mh_test_listing (dir);
  g_auto(GStrv) lines = g_strsplit (full, "\n", -1);
  GString *s = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *sp = strchr (lines[i], ' ');

      if (sp != NULL && sp - lines[i] > 13
          && strncmp (sp - 13, "/message.json", 13) == 0)
        *sp = '\0';
      if (lines[i][0] != '\0')
        g_string_append_printf (s, "%s\n", lines[i]);
    }
  return g_string_free (s, FALSE);
}

void
mh_test_assert_err_line (const MhTestRun *r, const char *pattern)
{
  g_autofree char *anchored = g_strdup_printf ("^%s$", pattern);
  g_autoptr(GRegex) re = g_regex_new (anchored, G_REGEX_MULTILINE, 0, NULL);

  g_assert_nonnull (re);
  if (!g_regex_match (re, r->err, 0, NULL))
    g_error ("no line of stderr matches %s; stderr:\n%s", anchored, r->err);
}
