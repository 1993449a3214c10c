/* cli-threads.c - `mailharvest threads`: conversations as indented trees. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "cli-private.h"

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static const char *
member_str (JsonObject *o, const char *name, const char *fallback)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n)
      || json_node_get_value_type (n) != G_TYPE_STRING)
    return fallback;
  return json_node_get_string (n);
}

/* "2026-01-05T10:00:00Z" as "2026-01-05 10:00". */
static char *
short_date (const char *iso)
{
  if (iso == NULL || strlen (iso) < 16)
    return g_strdup ("(no date)       ");
  return g_strdup_printf ("%.10s %.5s", iso, iso + 11);
}

/* One conversation of threads.json, as a tree. */
static void
print_thread (JsonObject *t)
{
  g_autofree char *subject = NULL;
  JsonArray *msgs;

  if (t == NULL || !json_object_has_member (t, "messages")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (t, "messages")))
    return;
  msgs = json_object_get_array_member (t, "messages");
  /* One line each: a line feed in a subject is shown as '?' too. */
  subject = mh_cli_printable (member_str (t, "subject", "(no subject)"));
  mh_cli_print (stdout, "\n%s (%u)\n", subject,
                json_array_get_length (msgs));
  for (guint j = 0; j < json_array_get_length (msgs); j++)
    {
      JsonNode *n = json_array_get_element (msgs, j);
      JsonObject *m = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n)
                                                 : NULL;
      g_autofree char *date = NULL;
      g_autofree char *from = NULL;
      g_autofree char *msg_subject = NULL;
      JsonNode *d;
      gint64 depth = 0;

      if (m == NULL)
        continue;
      date = short_date (member_str (m, "date", NULL));
      d = json_object_get_member (m, "depth");
      if (d != NULL && JSON_NODE_HOLDS_VALUE (d)
          && json_node_get_value_type (d) == G_TYPE_INT64)
        depth = json_node_get_int (d);
      depth = CLAMP (depth, 0, 20);
      from = mh_cli_printable (member_str (m, "from", "?"));
      msg_subject = mh_cli_printable (member_str (m, "subject",
                                                  "(no subject)"));
      mh_cli_print (stdout, "  %*s%s  %s  %s\n", (int) depth * 2, "", date,
                    from, msg_subject);
    }
}

/* A conversation's entry longer than this is refused: threads.json of a
 * large archive is read one entry at a time, never whole. */
#define MAX_ENTRY (64 * 1024 * 1024)
/* threads.json nests four deep; the parser of an entry recurses. */
#define MAX_DEPTH 64

/* Reads the JSON array in @path one element at a time: with @print, each
 * is parsed and printed; either way they are counted in *@n_out.  The
 * scan follows strings and nesting only, so memory holds one element. */
static gboolean
scan_threads (const char *path, gboolean print, guint *n_out,
              GError **error)
{
  g_autoptr(GString) el = g_string_new (NULL);
  FILE *fp = fopen (path, "rb");
  char buf[65536];
  gboolean started = FALSE, done = FALSE, in_str = FALSE, esc = FALSE;
  gboolean content = FALSE, ok = TRUE;
  guint depth = 0;
  size_t n;

  *n_out = 0;
  if (fp == NULL)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "%s: %s", path, g_strerror (saved));
      return FALSE;
    }
  while (ok && (n = fread (buf, 1, sizeof buf, fp)) > 0)
    for (size_t i = 0; ok && i < n; i++)
      {
        char c = buf[i];
        gboolean space = c == ' ' || c == '\n' || c == '\r' || c == '\t';

        if (!started || done)
          {
            if (!started && c == '[')
              started = TRUE, depth = 1;
            else if (!space)
              ok = FALSE;
            continue;
          }
        if (!in_str && depth == 1 && (c == ',' || c == ']'))
          {
            if (content)
              {
                (*n_out)++;
                if (print)
                  {
                    g_autoptr(JsonParser) parser = json_parser_new ();
                    JsonNode *root;

                    if (!json_parser_load_from_data (parser, el->str,
                                                     (gssize) el->len,
                                                     error))
                      {
                        fclose (fp);
                        g_prefix_error (error, "%s: ", path);
                        return FALSE;
                      }
                    root = json_parser_get_root (parser);
                    print_thread (JSON_NODE_HOLDS_OBJECT (root)
                                      ? json_node_get_object (root) : NULL);
                  }
              }
            else if (c == ',')
              ok = FALSE;
            g_string_truncate (el, 0);
            content = FALSE;
            done = c == ']';
            continue;
          }
        if (in_str)
          {
            if (esc)
              esc = FALSE;
            else if (c == '\\')
              esc = TRUE;
            else if (c == '"')
              in_str = FALSE;
          }
        else if (c == '"')
          in_str = TRUE;
        else if (c == '[' || c == '{')
          ok = ++depth <= MAX_DEPTH;
        else if (c == ']' || c == '}')
          ok = --depth >= 1;
        content = content || !space;
        if (print && content)
          g_string_append_c (el, c);
        ok = ok && el->len <= MAX_ENTRY;
      }
  if (ferror (fp))
    ok = FALSE;
  fclose (fp);
  if (!ok || !done)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: not a list of threads", path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
print_account (const char *dir, const char *account, GError **error)
{
  g_autofree char *path = g_build_filename (dir, account, "threads.json",
                                            NULL);
  guint n = 0;

  /* Counted first, for the heading. */
  if (!scan_threads (path, FALSE, &n, error))
    return FALSE;
  mh_cli_print (stdout, "%s: %u conversations\n", account, n);
  return scan_threads (path, TRUE, &n, error);
}

int
mh_cli_threads (int argc, char **argv)
{
  g_autofree char *output = NULL;
  g_auto(GStrv) accounts = NULL;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      "Archive directory (default: archive)", "DIR" },
    { "account", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &accounts,
      "Only this account (repeatable)", "NAME" },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new (
      "- print the conversations of an archive as trees");
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) unfinished = g_ptr_array_new_with_free_func (g_free);
  int status = MH_EXIT_OK;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!mh_cli_parse (ctx, &argc, &argv))
    return MH_EXIT_USAGE;
  if (output == NULL)
    output = g_strdup ("archive");
  if (accounts != NULL)
    for (guint i = 0; accounts[i] != NULL; i++)
      g_ptr_array_add (names, g_strdup (accounts[i]));
  else
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GDir) d = g_dir_open (output, 0, &error);
      const char *name;

      if (d == NULL)
        {
          mh_cli_error ("threads: %s", error->message);
          return MH_EXIT_USAGE;
        }
      while ((name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *p = g_build_filename (output, name, "threads.json",
                                                 NULL);
          g_autofree char *store = g_build_filename (output, name,
                                                     "state.sqlite", NULL);

          if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add (names, g_strdup (name));
          else if (g_file_test (store, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add (unfinished, g_strdup (name));
        }
      g_ptr_array_sort (names, compare_names);
      g_ptr_array_sort (unfinished, compare_names);
    }
  /* An account whose first run was cut short before its conversation
   * step wrote threads.json: say so, rather than that there is none. */
  for (guint i = 0; i < unfinished->len; i++)
    {
      const char *name = unfinished->pdata[i];

      mh_cli_error ("threads: %s has no conversations yet: its first run "
                    "did not finish; run it again", name);
      status = MH_EXIT_PARTIAL;
    }
  if (names->len == 0)
    {
      if (unfinished->len > 0)
        return status;
      mh_cli_error ("threads: no archive in %s", output);
      return MH_EXIT_USAGE;
    }
  for (guint i = 0; i < names->len; i++)
    {
      g_autoptr(GError) error = NULL;

      if (i > 0)
        mh_cli_print (stdout, "\n");
      if (!print_account (output, names->pdata[i], &error))
        {
          mh_cli_error ("threads: %s", error->message);
          status = MH_EXIT_PARTIAL;
        }
    }
  return status;
}
