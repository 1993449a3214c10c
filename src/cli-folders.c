/* cli-folders.c - `mailharvest folders`: what the server has, with roles. */
#include <stdio.h>
#include <string.h>

#include "cli-private.h"
#include "mailharvest/config.h"
#include "mailharvest/imap-session.h"
#include "mailharvest/run.h"

static int
list_account (const MhAccount *acct)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MhImapSession) s = NULL;
  g_autoptr(GPtrArray) list = NULL;

  s = mh_run_open_session (acct, NULL, &error);
  if (s == NULL)
    {
      mh_cli_error ("%s: %s", acct->name, error->message);
      return MH_EXIT_PARTIAL;
    }
  list = mh_imap_session_list (s, &error);
  if (list == NULL)
    {
      mh_cli_error ("%s: %s", acct->name, error->message);
      return MH_EXIT_PARTIAL;
    }
  mh_cli_print (stdout, "%s (%s)\n", acct->name, acct->host);
  for (guint i = 0; i < list->len; i++)
    {
      const MhImapMailbox *mb = list->pdata[i];
      g_autofree char *count = NULL;
      g_autofree char *name = NULL;

      if (mb->noselect)
        count = g_strdup ("-");
      else
        {
          MhImapStatus st;
          g_autoptr(GError) local = NULL;

          if (mh_imap_session_status (s, mb->name, &st, &local))
            count = g_strdup_printf ("%u", st.messages);
          else
            count = g_strdup ("?");
        }
      name = mh_cli_printable (mb->name_utf8);
      mh_cli_print (stdout, "  %-40s %-8s %8s\n", name,
                    mb->role != NULL ? mb->role : "", count);
    }
  (void) mh_imap_session_logout (s, NULL);
  return MH_EXIT_OK;
}

int
mh_cli_folders (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_auto(GStrv) accounts = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      "Configuration file (default: ~/.config/mailharvest/config.ini)",
      "FILE" },
    { "account", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &accounts,
      "Only this account (repeatable)", "NAME" },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new (
      "- list folders with their special-use roles and message counts");
  g_autoptr(MhConfig) config = NULL;
  int status = MH_EXIT_OK;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!mh_cli_parse (ctx, &argc, &argv))
    return MH_EXIT_USAGE;
  config = mh_cli_load_config (config_path, accounts);
  if (config == NULL)
    return MH_EXIT_USAGE;
  for (guint i = 0; i < config->accounts->len; i++)
    if (list_account (config->accounts->pdata[i]) != MH_EXIT_OK)
      status = MH_EXIT_PARTIAL;
  return status;
}
