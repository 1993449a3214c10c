/* imap-mailbox.c - LIST / XLIST, STATUS, EXAMINE and UID SEARCH. */
#include "mailharvest/imap-session.h"
#include "mailharvest/error.h"
#include "mailharvest/utf7.h"
#include "imap-session-private.h"

#include <stdlib.h>
#include <string.h>

/* A SEARCH or ESEARCH answer may not name more UIDs than this. */
#define MAX_SEARCH_RESULTS 10000000u

void
mh_imap_mailbox_free (MhImapMailbox *mb)
{
  if (mb == NULL)
    return;
  g_free (mb->name);
  g_free (mb->name_utf8);
  g_strfreev (mb->flags);
  g_free (mb->role);
  g_free (mb);
}

/* RFC 6154 roles, and what XLIST calls them. */
static const char *
role_of_flag (const char *flag, gboolean xlist)
{
  static const char *const roles[] = { "\\All", "\\Archive", "\\Drafts",
                                       "\\Flagged", "\\Junk", "\\Sent",
                                       "\\Trash", "\\Important" };
  static const char *const xmap[][2] = { { "\\AllMail", "\\All" },
                                         { "\\Spam", "\\Junk" },
                                         { "\\Starred", "\\Flagged" } };

  for (guint i = 0; i < G_N_ELEMENTS (roles); i++)
    if (g_ascii_strcasecmp (flag, roles[i]) == 0)
      return roles[i];
  for (guint i = 0; xlist && i < G_N_ELEMENTS (xmap); i++)
    if (g_ascii_strcasecmp (flag, xmap[i][0]) == 0)
      return xmap[i][1];
  return NULL;
}

typedef struct {
  GPtrArray *boxes;
  const char *name; /* "LIST" or "XLIST" */
} ListState;

static gboolean
list_handler (MhImapSession *s, const MhImapResponse *resp, gpointer data,
              GError **error)
{
  ListState *st = data;
  const MhImapArg *flags;
  const MhImapArg *delim;
  const char *name;
  g_autoptr(MhImapMailbox) mb = NULL;
  g_autoptr(GError) local = NULL;
  GPtrArray *fl;

  if (g_strcmp0 (resp->name, st->name) != 0 || resp->args->len < 3)
    return TRUE;
  flags = g_ptr_array_index (resp->args, 0);
  delim = g_ptr_array_index (resp->args, 1);
  name = mh_imap_arg_get_string (g_ptr_array_index (resp->args, 2));
  /* A mailbox name with a NUL cannot be used in a later command. */
  if (flags->type != MH_IMAP_ARG_LIST || name == NULL
      || strlen (name) != ((const MhImapArg *) g_ptr_array_index (
                              resp->args, 2))->len)
    return TRUE;
  mb = g_new0 (MhImapMailbox, 1);
  mb->name = g_strdup (name);
  mb->name_utf8 = mh_utf7_decode (name, &local);
  if (mb->name_utf8 == NULL)
    mb->name_utf8 = g_strdup (name);
  if (mh_imap_arg_get_string (delim) != NULL && delim->len > 0)
    mb->delimiter = delim->str[0];
  fl = g_ptr_array_new ();
  for (guint i = 0; i < flags->list->len; i++)
    {
      const MhImapArg *f = g_ptr_array_index (flags->list, i);
      const char *role;

      if (f->type != MH_IMAP_ARG_ATOM)
        continue;
      g_ptr_array_add (fl, g_strdup (f->str));
      if (g_ascii_strcasecmp (f->str, "\\Noselect") == 0
          || g_ascii_strcasecmp (f->str, "\\NonExistent") == 0)
        mb->noselect = TRUE;
      role = role_of_flag (f->str, g_strcmp0 (st->name, "XLIST") == 0);
      if (role != NULL && mb->role == NULL)
        mb->role = g_strdup (role);
    }
  g_ptr_array_add (fl, NULL);
  mb->flags = (char **) g_ptr_array_free (fl, FALSE);
  g_ptr_array_add (st->boxes, g_steal_pointer (&mb));
  return TRUE;
}

GPtrArray *
mh_imap_session_list (MhImapSession *s, GError **error)
{
  g_autoptr(GPtrArray) boxes = NULL;
  g_autoptr(MhImapCmd) cmd = NULL;
  ListState st;

  if (!mh_imap_session_ready (s, error))
    return NULL;
  boxes = g_ptr_array_new_with_free_func (
    (GDestroyNotify) (void (*) (void)) mh_imap_mailbox_free);
  st.boxes = boxes;
  if (mh_imap_session_has_capability (s, "SPECIAL-USE"))
    {
      st.name = "LIST";
      cmd = mh_imap_cmd_new (s, MH_IMAP_CMD_LIST, "LIST");
      mh_imap_cmd_add_raw (cmd, " \"\" \"*\" RETURN (SPECIAL-USE)");
    }
  else if (mh_imap_session_has_capability (s, "XLIST"))
    {
      st.name = "XLIST";
      cmd = mh_imap_cmd_new (s, MH_IMAP_CMD_LIST, "XLIST");
      mh_imap_cmd_add_raw (cmd, " \"\" \"*\"");
    }
  else
    {
      st.name = "LIST";
      cmd = mh_imap_cmd_new (s, MH_IMAP_CMD_LIST, "LIST");
      mh_imap_cmd_add_raw (cmd, " \"\" \"*\"");
    }
  if (!mh_imap_session_run (s, cmd, list_handler, &st, NULL, error))
    return NULL;
  return g_steal_pointer (&boxes);
}

static gboolean
arg_u32 (const MhImapArg *arg, guint32 *out)
{
  guint64 v;

  if (arg == NULL || !mh_imap_arg_get_uint64 (arg, &v) || v > G_MAXUINT32)
    return FALSE;
  *out = (guint32) v;
  return TRUE;
}

static gboolean
status_handler (MhImapSession *s, const MhImapResponse *resp, gpointer data,
                GError **error)
{
  MhImapStatus *st = data;
  const MhImapArg *items;

  if (g_strcmp0 (resp->name, "STATUS") != 0 || resp->args->len < 2)
    return TRUE;
  items = g_ptr_array_index (resp->args, 1);
  if (items->type != MH_IMAP_ARG_LIST)
    return TRUE;
  for (guint i = 0; i + 1 < items->list->len; i += 2)
    {
      const char *key = mh_imap_arg_get_string (
        g_ptr_array_index (items->list, i));
      const MhImapArg *val = g_ptr_array_index (items->list, i + 1);

      if (key == NULL)
        continue;
      if (g_ascii_strcasecmp (key, "MESSAGES") == 0)
        arg_u32 (val, &st->messages);
      else if (g_ascii_strcasecmp (key, "UIDNEXT") == 0)
        arg_u32 (val, &st->uidnext);
      else if (g_ascii_strcasecmp (key, "UIDVALIDITY") == 0)
        arg_u32 (val, &st->uidvalidity);
    }
  return TRUE;
}

gboolean
mh_imap_session_status (MhImapSession *s, const char *mailbox,
                        MhImapStatus *status_out, GError **error)
{
  g_autoptr(MhImapCmd) cmd = NULL;

  memset (status_out, 0, sizeof *status_out);
  if (!mh_imap_session_ready (s, error))
    return FALSE;
  cmd = mh_imap_cmd_new (s, MH_IMAP_CMD_STATUS, "STATUS");
  mh_imap_cmd_add_string (s, cmd, mailbox, FALSE);
  mh_imap_cmd_add_raw (cmd, " (MESSAGES UIDNEXT UIDVALIDITY)");
  return mh_imap_session_run (s, cmd, status_handler, status_out, NULL,
                              error);
}

static gboolean
examine_handler (MhImapSession *s, const MhImapResponse *resp, gpointer data,
                 GError **error)
{
  MhImapExamine *ex = data;
  const MhImapArg *arg;

  if (resp->code == NULL || g_strcmp0 (resp->status, "OK") != 0)
    return TRUE;
  arg = resp->code_args->len > 0 ? g_ptr_array_index (resp->code_args, 0)
                                 : NULL;
  if (g_strcmp0 (resp->code, "UIDVALIDITY") == 0)
    arg_u32 (arg, &ex->uidvalidity);
  else if (g_strcmp0 (resp->code, "UIDNEXT") == 0)
    arg_u32 (arg, &ex->uidnext);
  else if (g_strcmp0 (resp->code, "HIGHESTMODSEQ") == 0 && arg != NULL)
    mh_imap_arg_get_uint64 (arg, &ex->highestmodseq);
  return TRUE;
}

static MhImapCmd *
examine_cmd (MhImapSession *s, const char *mailbox)
{
  MhImapCmd *cmd = mh_imap_cmd_new (s, MH_IMAP_CMD_EXAMINE, "EXAMINE");

  mh_imap_cmd_add_string (s, cmd, mailbox, FALSE);
  return cmd;
}

static void
examine_finish (MhImapSession *s, const MhImapResponse *tagged,
                MhImapExamine *result)
{
  result->exists = s->exists;
  result->read_only = g_strcmp0 (tagged->code, "READ-ONLY") == 0;
}

gboolean
mh_imap_session_examine (MhImapSession *s, const char *mailbox,
                         MhImapExamine *result_out, GError **error)
{
  g_autoptr(MhImapCmd) cmd = NULL;
  g_autoptr(MhImapResponse) tagged = NULL;

  memset (result_out, 0, sizeof *result_out);
  if (!mh_imap_session_ready (s, error))
    return FALSE;
  s->exists = 0;
  cmd = examine_cmd (s, mailbox);
  if (!mh_imap_session_run (s, cmd, examine_handler, result_out, &tagged,
                            error))
    return FALSE;
  examine_finish (s, tagged, result_out);
  return TRUE;
}

typedef struct {
  GArray *uids;
  gboolean too_many;
} SearchState;

static void
search_add (SearchState *st, guint32 uid)
{
  if (st->uids->len >= MAX_SEARCH_RESULTS)
    st->too_many = TRUE;
  else
    g_array_append_val (st->uids, uid);
}

/* Adds the UIDs of an ESEARCH "ALL" sequence set such as "1:3,7". */
static void
search_add_set (SearchState *st, const char *set)
{
  g_auto(GStrv) parts = g_strsplit (set, ",", -1);

  for (guint i = 0; parts[i] != NULL && !st->too_many; i++)
    {
      char *end = NULL;
      guint64 a = g_ascii_strtoull (parts[i], &end, 10);
      guint64 b = a;

      if (end == parts[i] || a == 0 || a > G_MAXUINT32)
        continue;
      if (*end == ':')
        {
          const char *p = end + 1;

          b = g_ascii_strtoull (p, &end, 10);
          if (end == p || b == 0 || b > G_MAXUINT32)
            continue;
        }
      if (a > b)
        {
          guint64 t = a;

          a = b;
          b = t;
        }
      for (guint64 u = a; u <= b && !st->too_many; u++)
        search_add (st, (guint32) u);
    }
}

static gboolean
search_handler (MhImapSession *s, const MhImapResponse *resp, gpointer data,
                GError **error)
{
  SearchState *st = data;

  if (g_strcmp0 (resp->name, "SEARCH") == 0)
    {
      for (guint i = 0; i < resp->args->len; i++)
        {
          guint32 uid;

          if (arg_u32 (g_ptr_array_index (resp->args, i), &uid) && uid > 0)
            search_add (st, uid);
        }
    }
  else if (g_strcmp0 (resp->name, "ESEARCH") == 0)
    {
      for (guint i = 0; i + 1 < resp->args->len; i++)
        {
          const char *key = mh_imap_arg_get_string (
            g_ptr_array_index (resp->args, i));
          const char *val = mh_imap_arg_get_string (
            g_ptr_array_index (resp->args, i + 1));

          if (key != NULL && val != NULL
              && g_ascii_strcasecmp (key, "ALL") == 0)
            search_add_set (st, val);
        }
    }
  return TRUE;
}

int
mh_imap_uid_cmp (gconstpointer a, gconstpointer b)
{
  guint32 x = *(const guint32 *) a;
  guint32 y = *(const guint32 *) b;

  return x < y ? -1 : x > y;
}

gsize
mh_imap_uid_set_append (GString *set, const guint32 *uids, gsize n_uids,
                        gsize max_uids, gsize max_len)
{
  gsize i = 0;

  while (i < n_uids && i < max_uids && (i == 0 || set->len < max_len))
    {
      gsize j = i;

      /* A run of consecutive UIDs, cut where @max_uids would be passed. */
      while (j + 1 < n_uids && j + 1 < max_uids && uids[j + 1] == uids[j] + 1)
        j++;
      if (set->len > 0)
        g_string_append_c (set, ',');
      if (j == i)
        g_string_append_printf (set, "%u", uids[i]);
      else
        g_string_append_printf (set, "%u:%u", uids[i], uids[j]);
      i = j + 1;
    }
  return i;
}

static MhImapCmd *
search_cmd (MhImapSession *s, const char *criteria, GError **error)
{
  MhImapCmd *cmd;

  if (criteria == NULL || *criteria == '\0' || strpbrk (criteria, "\r\n"))
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_CONFIG,
                           "empty or multi-line search criteria");
      return NULL;
    }
  cmd = mh_imap_cmd_new (s, MH_IMAP_CMD_SEARCH, "UID SEARCH");
  /* RFC 4731: ESEARCH answers with ranges ("1:90000") instead of one
   * number per message, which keeps the answer for a big mailbox small. */
  if (mh_imap_session_has_capability (s, "ESEARCH"))
    mh_imap_cmd_add_raw (cmd, " RETURN (ALL)");
  mh_imap_cmd_add_raw (cmd, " ");
  mh_imap_cmd_add_raw (cmd, criteria);
  return cmd;
}

/* The UIDs sorted ascending without duplicates, or NULL with @error. */
static GArray *
search_finish (SearchState *st, GError **error)
{
  GArray *uids = st->uids;
  guint out = 0;

  if (st->too_many)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_LIMIT,
                   "the search answer names more than %u messages",
                   MAX_SEARCH_RESULTS);
      return NULL;
    }
  g_array_sort (uids, mh_imap_uid_cmp);
  for (guint i = 0; i < uids->len; i++)
    if (out == 0 || g_array_index (uids, guint32, i)
                      != g_array_index (uids, guint32, out - 1))
      g_array_index (uids, guint32, out++) = g_array_index (uids, guint32, i);
  g_array_set_size (uids, out);
  return g_array_ref (uids);
}

GArray *
mh_imap_session_uid_search (MhImapSession *s, const char *criteria,
                            GError **error)
{
  g_autoptr(MhImapCmd) cmd = NULL;
  g_autoptr(GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  SearchState st = { uids, FALSE };

  if (!mh_imap_session_ready (s, error))
    return NULL;
  cmd = search_cmd (s, criteria, error);
  if (cmd == NULL
      || !mh_imap_session_run (s, cmd, search_handler, &st, NULL, error))
    return NULL;
  return search_finish (&st, error);
}

GArray *
mh_imap_session_examine_search (MhImapSession *s, const char *mailbox,
                                const char *criteria,
                                MhImapExamine *result_out, GError **error)
{
  g_autoptr(GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  SearchState st = { uids, FALSE };
  MhImapCmd *cmds[2] = { NULL, NULL };
  MhImapResponse *tagged[2] = { NULL, NULL };
  const MhImapHandler handlers[2] = { examine_handler, search_handler };
  gpointer data[2] = { result_out, &st };
  GArray *result = NULL;

  memset (result_out, 0, sizeof *result_out);
  if (!mh_imap_session_ready (s, error))
    return NULL;
  s->exists = 0;
  cmds[0] = examine_cmd (s, mailbox);
  cmds[1] = search_cmd (s, criteria, error);
  if (cmds[1] != NULL
      && mh_imap_session_run_pipelined (s, cmds, 2, handlers, data,
                                        tagged, error))
    {
      examine_finish (s, tagged[0], result_out);
      result = search_finish (&st, error);
    }
  for (guint i = 0; i < 2; i++)
    {
      mh_imap_cmd_free (cmds[i]);
      if (tagged[i] != NULL)
        mh_imap_response_free (tagged[i]);
    }
  return result;
}
