/* cli.c - command dispatch, --help and --version.  Only the CLI talks to
 * the user: the library returns errors and the commands print them. */
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli-private.h"
#include "mailharvest/config.h"

typedef struct {
  const char *name;
  int (*func) (int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
  { "run", mh_cli_run, "fetch, extract and thread the configured accounts" },
  { "folders", mh_cli_folders, "list folders with their roles and counts" },
  { "import", mh_cli_import, "archive local mbox, Maildir and .eml files" },
  { "threads", mh_cli_threads, "print the conversations of an archive" },
};

static void
usage (FILE *out)
{
  fprintf (out,
           "Usage: mailharvest COMMAND [OPTIONS]\n"
           "\n"
           "Archive IMAP mail as conversations: bodies, attachments and "
           "JSON manifests.\n"
           "\n"
           "Commands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf (out,
           "\n"
           "Run 'mailharvest COMMAND --help' for the options of a command.\n"
           "Exit status: 0 all done, 1 something failed (the others were "
           "processed),\n"
           "2 usage or configuration error (nothing done).\n");
}

/* Whether @c may not reach a terminal: C0 and C1 controls but tab and
 * line feed, DEL, and the bidirectional overrides and isolates that
 * make text display in another order than it is. */
static gboolean
unprintable (gunichar c, gboolean one_line)
{
  if (c == '\t' || (c == '\n' && !one_line))
    return FALSE;
  return c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0x202a && c <= 0x202e)
         || (c >= 0x2066 && c <= 0x2069);
}

static char *
printable (const char *s, gboolean one_line)
{
  g_autofree char *valid = g_utf8_make_valid (s != NULL ? s : "", -1);
  GString *out = g_string_sized_new (strlen (valid));

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (unprintable (c, one_line))
        g_string_append_c (out, '?');
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
    }
  return g_string_free (out, FALSE);
}

char *
mh_cli_printable (const char *s)
{
  return printable (s, TRUE);
}

void
mh_cli_print (FILE *out, const char *format, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;
  g_autofree char *safe = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  safe = printable (msg, FALSE);
  fputs (safe, out);
}

void
mh_cli_error (const char *format, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  mh_cli_print (stderr, "mailharvest: %s\n", msg);
}

gboolean
mh_cli_progress_mode (const char *command, const char *value,
                      gboolean quiet_bar, gboolean *bar)
{
  if (value == NULL || strcmp (value, "auto") == 0)
    *bar = isatty (STDERR_FILENO) && !quiet_bar;
  else if (strcmp (value, "always") == 0)
    *bar = TRUE;
  else if (strcmp (value, "never") == 0)
    *bar = FALSE;
  else
    {
      mh_cli_error ("%s: --progress expects auto, always or never", command);
      return FALSE;
    }
  return TRUE;
}

gboolean
mh_cli_parse (GOptionContext *ctx, int *argc, char ***argv)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      mh_cli_error ("%s (see --help)", error->message);
      return FALSE;
    }
  return TRUE;
}

MhConfig *
mh_cli_load_config (const char *path, char **accounts)
{
  g_autofree char *default_path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MhConfig) config = NULL;

  if (path == NULL)
    path = default_path = g_build_filename (g_get_user_config_dir (),
                                            "mailharvest", "config.ini",
                                            NULL);
  config = mh_config_load (path, &error);
  if (config == NULL
      || !mh_config_select (config, (const char *const *) accounts, &error))
    {
      mh_cli_error ("%s", error->message);
      return NULL;
    }
  return g_steal_pointer (&config);
}

int
mh_cli_main (int argc, char **argv)
{
  setlocale (LC_ALL, "");

  if (argc < 2)
    {
      usage (stderr);
      return MH_EXIT_USAGE;
    }
  if (strcmp (argv[1], "--version") == 0 || strcmp (argv[1], "-V") == 0)
    {
      printf ("mailharvest %s\n", MH_VERSION);
      return MH_EXIT_OK;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0
      || strcmp (argv[1], "help") == 0)
    {
      usage (stdout);
      return MH_EXIT_OK;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].func (argc - 1, argv + 1);

  mh_cli_error ("unknown command '%s' (see --help)", argv[1]);
  return MH_EXIT_USAGE;
}
