/* cli-run.c - `mailharvest run`: the batch, its progress and summary. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "cli-private.h"
#include "mailharvest/config.h"
#include "mailharvest/run.h"

typedef struct {
  gboolean bar;          /* draw a progress bar on stderr */
  gboolean bar_drawn;    /* the bar's line is on screen */
  gboolean verbose;
  gint64 started;        /* monotonic µs at the mailbox's start */
  char *mailbox;
  gint64 last_draw;
} Ui;

static void
clear_bar (Ui *ui)
{
  if (ui->bar_drawn)
    {
      fputs ("\r\033[K", stderr);
      ui->bar_drawn = FALSE;
    }
}

static void
on_log (MhRunLogLevel level, const char *account, const char *text,
        gpointer user_data)
{
  Ui *ui = user_data;
  const char *kind = level == MH_RUN_LOG_ERROR     ? "error: "
                     : level == MH_RUN_LOG_WARNING ? "warning: "
                                                   : "";

  clear_bar (ui);
  mh_cli_print (stderr, "mailharvest: %s: %s%s\n", account, kind, text);
}

static void
on_trace (const char *account, gboolean sent, const char *line,
          gpointer user_data)
{
  Ui *ui = user_data;

  clear_bar (ui);
  mh_cli_print (stderr, "%s %s %s\n", account, sent ? "C:" : "S:", line);
}

static void
on_progress (const MhRunProgress *p, gpointer user_data)
{
  Ui *ui = user_data;
  gint64 now = g_get_monotonic_time ();
  g_autofree char *account = NULL;
  g_autofree char *mailbox = NULL;
  double secs, rate, mb;

  if (p->mailbox == NULL)
    return;
  if (g_strcmp0 (ui->mailbox, p->mailbox) != 0)
    {
      g_free (ui->mailbox);
      ui->mailbox = g_strdup (p->mailbox);
      ui->started = now;
      if (!ui->bar)
        mh_cli_print (stderr,
                      "mailharvest: %s: %s: %u messages, %u to fetch\n",
                      p->account, p->mailbox, p->total, p->total - p->done);
    }
  if (!ui->bar)
    return;
  /* Redraw at most ten times a second, and always at the end. */
  if (p->done != p->total && now - ui->last_draw < 100000)
    return;
  ui->last_draw = now;
  secs = (double) (now - ui->started) / G_USEC_PER_SEC;
  rate = secs > 0.5 ? (double) p->done / secs : 0;
  mb = (double) p->bytes / (1024.0 * 1024.0);
  account = mh_cli_printable (p->account);
  mailbox = mh_cli_printable (p->mailbox);
  fprintf (stderr, "\r\033[K%s %s %u/%u %.1f MB", account, mailbox, p->done,
           p->total, mb);
  if (rate > 0)
    {
      double eta = (double) (p->total - p->done) / rate;

      fprintf (stderr, " %.0f msg/s ETA %d:%02d", rate, (int) eta / 60,
               (int) eta % 60);
    }
  fflush (stderr);
  ui->bar_drawn = TRUE;
}

static JsonNode *
results_json (GPtrArray *results, gboolean all_ok)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "ok");
  json_builder_add_boolean_value (b, all_ok);
  json_builder_set_member_name (b, "accounts");
  json_builder_begin_array (b);
  for (guint i = 0; i < results->len; i++)
    {
      MhRunResult *r = results->pdata[i];

      json_builder_begin_object (b);
#define STR(k, v)                                                            \
  do                                                                         \
    {                                                                        \
      json_builder_set_member_name (b, k);                                   \
      if ((v) != NULL)                                                       \
        json_builder_add_string_value (b, v);                                \
      else                                                                   \
        json_builder_add_null_value (b);                                     \
    }                                                                        \
  while (0)
#define INT(k, v)                                                            \
  do                                                                         \
    {                                                                        \
      json_builder_set_member_name (b, k);                                   \
      json_builder_add_int_value (b, (gint64) (v));                          \
    }                                                                        \
  while (0)
      STR ("account", r->account);
      json_builder_set_member_name (b, "ok");
      json_builder_add_boolean_value (b, r->ok);
      STR ("error", r->error);
      STR ("dir", r->dir);
      json_builder_set_member_name (b, "mailboxes");
      json_builder_begin_array (b);
      for (guint j = 0; j < r->mailboxes->len; j++)
        json_builder_add_string_value (b, r->mailboxes->pdata[j]);
      json_builder_end_array (b);
      INT ("selected", r->selected);
      INT ("fetched", r->fetched);
      INT ("added", r->added);
      INT ("duplicates", r->duplicates);
      INT ("relinked", r->relinked);
      INT ("failed", r->failed);
      json_builder_set_member_name (b, "failures");
      json_builder_begin_array (b);
      for (guint j = 0; j < r->failures->len; j++)
        json_builder_add_string_value (b, r->failures->pdata[j]);
      json_builder_end_array (b);
      INT ("attachments", r->attachments);
      INT ("warnings", r->warnings);
      INT ("threads", r->threads);
      INT ("messages", r->messages);
      INT ("reconnects", r->reconnects);
      INT ("body_fetch_commands", r->body_fetches);
      INT ("bytes_received", r->bytes);
      json_builder_set_member_name (b, "compressed");
      json_builder_add_boolean_value (b, r->compressed);
      STR ("tls", r->tls);
#undef STR
#undef INT
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
print_summary (GPtrArray *results)
{
  guint failed = 0;

  for (guint i = 0; i < results->len; i++)
    {
      MhRunResult *r = results->pdata[i];

      if (r->ok)
        mh_cli_print (stderr,
                      "mailharvest: %s: %u new, %u already there, %u "
                      "duplicates; %u conversations, %u messages in %s\n",
                      r->account, r->added,
                      r->selected
                          - MIN (r->selected, r->fetched + r->duplicates),
                      r->duplicates, r->threads, r->messages, r->dir);
      else
        {
          failed++;
          mh_cli_print (
              stderr, "mailharvest: %s: FAILED: %s (%u new, %u failed)\n",
              r->account, r->error != NULL ? r->error : "some messages failed",
              r->added, r->failed);
          for (guint j = 0; j < r->failures->len && j < 20; j++)
            mh_cli_print (stderr, "mailharvest: %s:   %s\n", r->account,
                          (char *) r->failures->pdata[j]);
        }
    }
  if (failed == 0)
    mh_cli_print (stderr, "mailharvest: all done\n");
  else
    mh_cli_print (stderr,
                  "mailharvest: %u of %u accounts incomplete; the others are "
                  "done\n",
                  failed, results->len);
}

int
mh_cli_run (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_auto(GStrv) accounts = NULL;
  g_autofree char *output = NULL;
  g_autofree char *progress = NULL;
  g_autofree char *latest = NULL;
  gboolean json = FALSE, verbose = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      "Configuration file (default: ~/.config/mailharvest/config.ini)",
      "FILE" },
    { "account", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &accounts,
      "Only this account (repeatable)", "NAME" },
    { "latest", 'n', 0, G_OPTION_ARG_STRING, &latest,
      "The N newest messages of each mailbox, or \"all\"", "N" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      "Archive directory (default: the config's output)", "DIR" },
    { "progress", 0, 0, G_OPTION_ARG_STRING, &progress,
      "Progress bar: auto, always or never", "WHEN" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      "Print a JSON summary on stdout", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
      "Trace the IMAP dialogue on stderr (credentials redacted)", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new (
      "- fetch, extract and thread the configured accounts");
  g_autoptr(GError) error = NULL;
  g_autoptr(MhConfig) config = NULL;
  g_autoptr(GPtrArray) results = NULL;
  MhRunOptions opts = { 0 };
  Ui ui = { 0 };
  gboolean all_ok = TRUE;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!mh_cli_parse (ctx, &argc, &argv))
    return MH_EXIT_USAGE;
  if (argc > 1)
    {
      mh_cli_error ("run: unexpected argument '%s' (see --help)", argv[1]);
      return MH_EXIT_USAGE;
    }
  opts.latest = -1;
  if (latest != NULL)
    {
      guint64 n;

      if (g_ascii_strcasecmp (latest, "all") == 0)
        opts.latest = 0;
      else if (g_ascii_string_to_unsigned (latest, 10, 1, G_MAXINT32, &n,
                                           NULL))
        opts.latest = (gint64) n;
      else
        {
          mh_cli_error ("run: -n expects a number or \"all\", got '%s'",
                        latest);
          return MH_EXIT_USAGE;
        }
    }
  if (!mh_cli_progress_mode ("run", progress, verbose, &ui.bar))
    return MH_EXIT_USAGE;

  config = mh_cli_load_config (config_path, accounts);
  if (config == NULL)
    return MH_EXIT_USAGE;

  ui.verbose = verbose;
  opts.output = output;
  opts.events.log = on_log;
  opts.events.progress = on_progress;
  opts.events.trace = verbose ? on_trace : NULL;
  opts.events.user_data = &ui;
  results = mh_run (config, &opts, &error);
  clear_bar (&ui);
  g_free (ui.mailbox);
  if (results == NULL)
    {
      mh_cli_error ("%s", error->message);
      return MH_EXIT_PARTIAL;
    }
  for (guint i = 0; i < results->len; i++)
    if (!((MhRunResult *) results->pdata[i])->ok)
      all_ok = FALSE;
  print_summary (results);
  if (json)
    {
      g_autoptr(JsonNode) root = results_json (results, all_ok);
      g_autofree char *data = json_to_string (root, TRUE);

      printf ("%s\n", data);
    }
  return all_ok ? MH_EXIT_OK : MH_EXIT_PARTIAL;
}
