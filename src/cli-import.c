/* cli-import.c - mailharvest import [-o DIR] [--account NAME] PATH... */
#include "cli-private.h"
#include "mailharvest/import.h"
#include "mailharvest/message.h"

static const char *
plural (guint n, const char *one, const char *many)
{
  return n == 1 ? one : many;
}

int
mh_cli_import (int argc, char **argv)
{
  g_autofree char *output = NULL;
  g_autofree char *account = NULL;
  g_auto(GStrv) paths = NULL;
  g_autoptr(GOptionContext) ctx = NULL;
  g_autoptr(GError) error = NULL;
  MhImportOptions options = { 0 };
  MhImportStats stats = { 0 };
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      "Archive directory (default: archive)", "DIR" },
    { "account", 0, 0, G_OPTION_ARG_STRING, &account,
      "Account name inside the archive (default: local)", "NAME" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &paths, NULL,
      "PATH..." },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  int status;

  ctx = g_option_context_new ("PATH... - archive mbox files, Maildir "
                              "folders and .eml files");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!mh_cli_parse (ctx, &argc, &argv))
    return MH_EXIT_USAGE;
  if (paths == NULL || paths[0] == NULL)
    {
      mh_cli_error ("import: no PATH given (see --help)");
      return MH_EXIT_USAGE;
    }
  if (account != NULL && account[0] == '\0')
    {
      mh_cli_error ("import: --account must not be empty");
      return MH_EXIT_USAGE;
    }

  mh_message_init ();
  options.output = output != NULL ? output : "archive";
  options.account = account != NULL ? account : "local";
  options.paths = (const char *const *) paths;
  if (!mh_import (&options, &stats, &error))
    {
      mh_cli_error ("import: %s", error->message);
      mh_import_stats_clear (&stats);
      return MH_EXIT_USAGE;
    }

  for (guint i = 0; i < stats.failures->len; i++)
    mh_cli_error ("import: %s", (const char *) stats.failures->pdata[i]);
  g_printerr ("imported %u %s into %s (%u %s, %u %s)", stats.imported,
              plural (stats.imported, "message", "messages"),
              stats.account_dir, stats.attachments,
              plural (stats.attachments, "attachment", "attachments"),
              stats.warnings, plural (stats.warnings, "warning", "warnings"));
  if (stats.already + stats.duplicates > 0)
    g_printerr ("; skipped %u already archived, %u %s", stats.already,
                stats.duplicates,
                plural (stats.duplicates, "duplicate", "duplicates"));
  if (stats.failed > 0)
    g_printerr ("; %u failed", stats.failed);
  g_printerr ("\n");
  if (stats.messages > 0)
    g_printerr ("%s: %u %s, %u %s\n", stats.account_dir, stats.threads,
                plural (stats.threads, "conversation", "conversations"),
                stats.messages,
                plural (stats.messages, "message", "messages"));
  status = stats.failed > 0 ? MH_EXIT_PARTIAL : MH_EXIT_OK;
  mh_import_stats_clear (&stats);
  return status;
}
