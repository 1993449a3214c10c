/* imap-thread.c - UID THREAD (RFC 5256) and its nested answer. */
#include "mailharvest/imap-session.h"
#include "mailharvest/error.h"
#include "imap-session-private.h"

#include <string.h>

void
mh_imap_thread_node_free (MhImapThreadNode *node)
{
  if (node == NULL)
    return;
  g_ptr_array_unref (node->children);
  g_free (node);
}

static MhImapThreadNode *
node_new (guint32 uid)
{
  MhImapThreadNode *n = g_new0 (MhImapThreadNode, 1);

  n->uid = uid;
  n->children = g_ptr_array_new_with_free_func (
      (GDestroyNotify) mh_imap_thread_node_free);
  return n;
}

typedef struct {
  GPtrArray *threads;  /* MhImapThreadNode* */
  guint nodes;
} ThreadState;

static gboolean
count_node (ThreadState *st, GError **error)
{
  if (++st->nodes > MH_IMAP_MAX_THREAD_NODES)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_LIMIT,
                   "the THREAD answer names more than %u messages",
                   MH_IMAP_MAX_THREAD_NODES);
      return FALSE;
    }
  return TRUE;
}

/* One thread-list: "(" numbers, each the child of the one before, then
 * lists, each a subtree under the last number ")".  A list that starts
 * with lists has no number of its own: the server's placeholder for a
 * parent it does not have.  Recursion is bounded by the parser's depth
 * limit.  Returns the subtree (transfer full) or NULL with @error. */
static MhImapThreadNode *
parse_list (ThreadState *st, const MhImapArg *list, GError **error)
{
  g_autoptr(MhImapThreadNode) top = NULL;
  MhImapThreadNode *last = NULL;

  for (guint i = 0; i < list->list->len; i++)
    {
      const MhImapArg *a = list->list->pdata[i];

      if (a->type == MH_IMAP_ARG_LIST)
        {
          MhImapThreadNode *sub;

          if (last == NULL)
            {
              if (!count_node (st, error))
                return NULL;
              top = last = node_new (0);
            }
          sub = parse_list (st, a, error);
          if (sub == NULL)
            return NULL;
          g_ptr_array_add (last->children, sub);
        }
      else
        {
          guint64 v;
          MhImapThreadNode *n;

          /* RFC 5256: numbers follow each other only before the nested
           * lists, and every number is a non-zero UID. */
          if (!mh_imap_arg_get_uint64 (a, &v) || v == 0 || v > G_MAXUINT32
              || (last != NULL && last->children->len > 0))
            {
              g_set_error_literal (error, MH_ERROR, MH_ERROR_PROTOCOL,
                                   "malformed THREAD answer");
              return NULL;
            }
          if (!count_node (st, error))
            return NULL;
          n = node_new ((guint32) v);
          if (last == NULL)
            top = n;
          else
            g_ptr_array_add (last->children, n);
          last = n;
        }
    }
  if (top == NULL)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_PROTOCOL,
                           "empty list in a THREAD answer");
      return NULL;
    }
  return g_steal_pointer (&top);
}

static gboolean
thread_handler (MhImapSession *s, const MhImapResponse *resp, gpointer data,
                GError **error)
{
  ThreadState *st = data;

  if (g_strcmp0 (resp->name, "THREAD") != 0)
    return TRUE;
  for (guint i = 0; i < resp->args->len; i++)
    {
      const MhImapArg *a = resp->args->pdata[i];
      MhImapThreadNode *t;

      if (a->type != MH_IMAP_ARG_LIST)
        {
          g_set_error_literal (error, MH_ERROR, MH_ERROR_PROTOCOL,
                               "malformed THREAD answer");
          return FALSE;
        }
      t = parse_list (st, a, error);
      if (t == NULL)
        return FALSE;
      g_ptr_array_add (st->threads, t);
    }
  return TRUE;
}

static gboolean
is_atom (const char *s)
{
  if (s == NULL || *s == '\0' || strlen (s) > 64)
    return FALSE;
  for (; *s != '\0'; s++)
    if (!g_ascii_isalnum (*s) && *s != '-' && *s != '_' && *s != '.')
      return FALSE;
  return TRUE;
}

gboolean
mh_imap_session_uid_thread (MhImapSession *s, const char *algorithm,
                            const char *charset, const char *criteria,
                            GPtrArray **threads_out, GError **error)
{
  g_autoptr(MhImapCmd) cmd = NULL;
  g_autoptr(GPtrArray) threads = g_ptr_array_new_with_free_func (
      (GDestroyNotify) mh_imap_thread_node_free);
  ThreadState st = { threads, 0 };

  *threads_out = NULL;
  if (!mh_imap_session_ready (s, error))
    return FALSE;
  if (!is_atom (algorithm) || !is_atom (charset) || criteria == NULL
      || *criteria == '\0' || strpbrk (criteria, "\r\n") != NULL)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_CONFIG,
                           "bad THREAD algorithm, charset or criteria");
      return FALSE;
    }
  cmd = mh_imap_cmd_new (s, MH_IMAP_CMD_THREAD, "UID THREAD");
  mh_imap_cmd_add_raw (cmd, " ");
  mh_imap_cmd_add_raw (cmd, algorithm);
  mh_imap_cmd_add_raw (cmd, " ");
  mh_imap_cmd_add_raw (cmd, charset);
  mh_imap_cmd_add_raw (cmd, " ");
  mh_imap_cmd_add_raw (cmd, criteria);
  if (!mh_imap_session_run (s, cmd, thread_handler, &st, NULL, error))
    return FALSE;
  *threads_out = g_steal_pointer (&threads);
  return TRUE;
}
