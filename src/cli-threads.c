/* cli-threads.c - `mailharvest threads`: conversations as indented trees. */
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

static gboolean
print_account (const char *dir, const char *account, GError **error)
{
  g_autofree char *path = g_build_filename (dir, account, "threads.json",
                                            NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *threads;

  if (!json_parser_load_from_file (parser, path, error))
    return FALSE;
  if (!JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: not a list of threads", path);
      return FALSE;
    }
  threads = json_node_get_array (json_parser_get_root (parser));
  printf ("%s: %u conversations\n", account,
          json_array_get_length (threads));
  for (guint i = 0; i < json_array_get_length (threads); i++)
    {
      JsonObject *t = json_array_get_object_element (threads, i);
      JsonArray *msgs;

      if (t == NULL || !json_object_has_member (t, "messages"))
        continue;
      msgs = json_object_get_array_member (t, "messages");
      printf ("\n%s (%u)\n", member_str (t, "subject", "(no subject)"),
              json_array_get_length (msgs));
      for (guint j = 0; j < json_array_get_length (msgs); j++)
        {
          JsonObject *m = json_array_get_object_element (msgs, j);
          g_autofree char *date = NULL;
          gint64 depth;

          if (m == NULL)
            continue;
          date = short_date (member_str (m, "date", NULL));
          depth = json_object_has_member (m, "depth")
                      ? json_object_get_int_member (m, "depth") : 0;
          depth = CLAMP (depth, 0, 20);
          printf ("  %*s%s  %s  %s\n", (int) depth * 2, "", date,
                  member_str (m, "from", "?"),
                  member_str (m, "subject", "(no subject)"));
        }
    }
  return TRUE;
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

          if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add (names, g_strdup (name));
        }
      g_ptr_array_sort (names, compare_names);
    }
  if (names->len == 0)
    {
      mh_cli_error ("threads: no archive in %s", output);
      return MH_EXIT_USAGE;
    }
  for (guint i = 0; i < names->len; i++)
    {
      g_autoptr(GError) error = NULL;

      if (i > 0)
        printf ("\n");
      if (!print_account (output, names->pdata[i], &error))
        {
          mh_cli_error ("threads: %s", error->message);
          status = MH_EXIT_PARTIAL;
        }
    }
  return status;
}
