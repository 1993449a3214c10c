/* run-profiles.c - which mailboxes an account's profile reads: Gmail's
 * \All folder, Outlook's INBOX and \Sent, or the configured names. */
#include <string.h>

#include "mailharvest/error.h"
#include "run-private.h"

static MhImapMailbox *
mailbox_copy (const MhImapMailbox *mb)
{
  MhImapMailbox *c = g_new0 (MhImapMailbox, 1);

  c->name = g_strdup (mb->name);
  c->name_utf8 = g_strdup (mb->name_utf8);
  c->delimiter = mb->delimiter;
  c->flags = g_strdupv (mb->flags);
  c->role = g_strdup (mb->role);
  c->noselect = mb->noselect;
  return c;
}

static const MhImapMailbox *
find_role (GPtrArray *list, const char *role)
{
  for (guint i = 0; i < list->len; i++)
    {
      const MhImapMailbox *mb = list->pdata[i];

      if (!mb->noselect && mb->role != NULL
          && g_ascii_strcasecmp (mb->role, role) == 0)
        return mb;
    }
  return NULL;
}

static const MhImapMailbox *
find_name (GPtrArray *list, const char *name)
{
  for (guint i = 0; i < list->len; i++)
    {
      const MhImapMailbox *mb = list->pdata[i];

      if (mb->noselect)
        continue;
      /* INBOX is case-insensitive (RFC 3501 5.1), other names are not. */
      if (g_ascii_strcasecmp (name, "INBOX") == 0
          ? g_ascii_strcasecmp (mb->name, "INBOX") == 0
          : strcmp (mb->name_utf8, name) == 0)
        return mb;
    }
  return NULL;
}

static const MhImapMailbox *
find_role_or_names (GPtrArray *list, const char *role,
                    const char *const *names)
{
  const MhImapMailbox *mb = find_role (list, role);

  for (guint i = 0; mb == NULL && names[i] != NULL; i++)
    mb = find_name (list, names[i]);
  return mb;
}

char *
mh_run_missing_mailbox (RunAccount *ra, const char *name)
{
  return g_strdup_printf ("mailbox \"%s\" not found on %s (see "
                          "'mailharvest folders')", name, ra->acct->host);
}

GPtrArray *
mh_run_choose_mailboxes (RunAccount *ra, GPtrArray *missing, GError **error)
{
  static const char *const all_names[] = {
    "[Gmail]/All Mail", "[Google Mail]/All Mail", NULL
  };
  static const char *const sent_names[] = {
    "Sent Items", "Sent", "Sent Messages", NULL
  };
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (
      (GDestroyNotify) mh_imap_mailbox_free);
  const MhImapMailbox *mb;

  list = mh_imap_session_list (ra->session, error);
  if (list == NULL)
    return NULL;

  switch (ra->acct->profile)
    {
    case MH_PROFILE_GMAIL:
      mb = find_role_or_names (list, "\\All", all_names);
      if (mb == NULL)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_CONFIG,
                       "no folder flagged \\All (Gmail's All Mail) on %s; "
                       "check that All Mail is shown in IMAP in Gmail's "
                       "settings, or use profile = generic",
                       ra->acct->host);
          return NULL;
        }
      g_ptr_array_add (out, mailbox_copy (mb));
      break;
    case MH_PROFILE_OUTLOOK:
      mb = find_name (list, "INBOX");
      if (mb == NULL)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_PROTOCOL,
                       "the server lists no INBOX");
          return NULL;
        }
      g_ptr_array_add (out, mailbox_copy (mb));
      mb = find_role_or_names (list, "\\Sent", sent_names);
      if (mb != NULL)
        g_ptr_array_add (out, mailbox_copy (mb));
      else
        mh_run_log (ra, MH_RUN_LOG_WARNING,
                    "no Sent folder (\\Sent, \"Sent Items\" or \"Sent\"): "
                    "only INBOX is read, replies you sent are missing");
      break;
    case MH_PROFILE_GENERIC:
    default:
      for (guint i = 0; ra->acct->mailboxes != NULL
                        && ra->acct->mailboxes[i] != NULL; i++)
        {
          mb = find_name (list, ra->acct->mailboxes[i]);
          /* A folder renamed or removed on the server stops only
           * itself: the others are still archived every night. */
          if (mb == NULL)
            g_ptr_array_add (missing, g_strdup (ra->acct->mailboxes[i]));
          else
            g_ptr_array_add (out, mailbox_copy (mb));
        }
      if (out->len == 0 && missing->len > 0)
        {
          g_autofree char *msg = mh_run_missing_mailbox (ra,
                                                         missing->pdata[0]);

          g_set_error_literal (error, MH_ERROR, MH_ERROR_CONFIG, msg);
          return NULL;
        }
      break;
    }
  return g_steal_pointer (&out);
}
