/* cli-import.c - mailharvest import [-o DIR] [--account NAME]
 *                [--progress=WHEN] PATH... */
#include <stdio.h>

#include "cli-private.h"
#include "mailharvest/import.h"
#include "mailharvest/message.h"

static const char *
plural (guint n, const char *one, const char *many)
{
  return n == 1 ? one : many;
}

typedef struct {
  gint64 started;     /* monotonic µs at the import's start */
  gint64 last_draw;
  gboolean drawn;     /* the bar's line is on screen */
} Bar;

/* One line on stderr, redrawn at most ten times a second and at the end
 * of each mailbox: which mailbox, how far through it, and how many
 * messages so far. */
static void
on_progress (const MhImportProgress *p, gpointer user_data)
{
  Bar *bar = user_data;
  gint64 now = g_get_monotonic_time ();
  g_autofree char *name = NULL;
  double secs;

  if (p->done != p->total && now - bar->last_draw < 100000)
    return;
  {
    /* A file name is not to drive the terminal. */
    g_autofree char *base = g_path_get_basename (p->mailbox);

    name = mh_cli_printable (base);
  }
  bar->last_draw = now;
  fprintf (stderr, "\r\033[K[%u/%u] %s", p->index, p->mailboxes, name);
  if (p->total > 0)
    fprintf (stderr, " %u%%",
             (guint) MIN (100, p->done * 100 / p->total));
  fprintf (stderr, ", %u %s", p->messages,
           plural (p->messages, "message", "messages"));
  secs = (double) (now - bar->started) / G_USEC_PER_SEC;
  if (secs > 0.5)
    fprintf (stderr, ", %.0f msg/s", (double) p->messages / secs);
  fflush (stderr);
  bar->drawn = TRUE;
}

int
mh_cli_import (int argc, char **argv)
{
  g_autofree char *output = NULL;
  g_autofree char *account = NULL;
  g_autofree char *progress = NULL;
  g_auto(GStrv) paths = NULL;
  g_autoptr(GOptionContext) ctx = NULL;
  g_autoptr(GError) error = NULL;
  MhImportOptions options = { 0 };
  MhImportStats stats = { 0 };
  Bar bar = { 0 };
  gboolean show_bar = FALSE;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      "Archive directory (default: archive)", "DIR" },
    { "account", 0, 0, G_OPTION_ARG_STRING, &account,
      "Account name inside the archive (default: local)", "NAME" },
    { "progress", 0, 0, G_OPTION_ARG_STRING, &progress,
      "Progress bar: auto, always or never", "WHEN" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &paths, NULL,
      "PATH..." },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  int status;
  gboolean ok;

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

  if (!mh_cli_progress_mode ("import", progress, FALSE, &show_bar))
    return MH_EXIT_USAGE;

  mh_message_init ();
  options.output = output != NULL ? output : "archive";
  options.account = account != NULL ? account : "local";
  options.paths = (const char *const *) paths;
  if (show_bar)
    {
      bar.started = g_get_monotonic_time ();
      options.progress = on_progress;
      options.user_data = &bar;
    }
  ok = mh_import (&options, &stats, &error);
  if (bar.drawn)
    fputs ("\r\033[K", stderr);
  if (!ok)
    {
      mh_cli_error ("import: %s", error->message);
      mh_import_stats_clear (&stats);
      return MH_EXIT_USAGE;
    }

  for (guint i = 0; i < stats.failures->len; i++)
    mh_cli_error ("import: %s", (const char *) stats.failures->pdata[i]);
  mh_cli_print (stderr, "imported %u %s into %s (%u %s, %u %s)",
                stats.imported, plural (stats.imported, "message", "messages"),
                stats.account_dir, stats.attachments,
                plural (stats.attachments, "attachment", "attachments"),
                stats.warnings,
                plural (stats.warnings, "warning", "warnings"));
  if (stats.already + stats.duplicates > 0)
    mh_cli_print (stderr, "; skipped %u already archived, %u %s",
                  stats.already, stats.duplicates,
                  plural (stats.duplicates, "duplicate", "duplicates"));
  if (stats.failed > 0)
    mh_cli_print (stderr, "; %u failed", stats.failed);
  mh_cli_print (stderr, "\n");
  if (stats.messages > 0)
    mh_cli_print (
        stderr, "%s: %u %s, %u %s\n", stats.account_dir, stats.threads,
        plural (stats.threads, "conversation", "conversations"),
        stats.messages, plural (stats.messages, "message", "messages"));
  status = stats.failed > 0 ? MH_EXIT_PARTIAL : MH_EXIT_OK;
  mh_import_stats_clear (&stats);
  return status;
}
