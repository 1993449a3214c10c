/* run-gaps.c - the messages of a body fetch that did not come: refused
 * by the server (a NO to their command, such as Gmail's "Some messages
 * could not be FETCHed"), left out of its answer, or the one it ended the
 * session on (Dovecot's "BYE FETCH failed" for a message it cannot
 * read).  One bad message must not fail its mailbox on every run, nor be
 * skipped in silence. */
#include <string.h>

#include "mailharvest/error.h"
#include "run-private.h"

/* A UID set longer than this is asked for as one range instead. */
#define MAX_SET_LEN 2000

void
mh_run_gaps_init (MhRunGaps *g, const guint32 *uids, gsize n)
{
  g_clear_pointer (&g->asked, g_hash_table_unref);
  g_clear_pointer (&g->refused, g_array_unref);
  g_clear_pointer (&g->reason, g_free);
  g->last_try = FALSE;
  g->failed = 0;
  g->suspect = 0;
  g->last_answered = 0;
  g->fetching = TRUE;
  g->asked = g_hash_table_new (g_direct_hash, g_direct_equal);
  g->refused = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (gsize i = 0; i < n; i++)
    g_hash_table_add (g->asked, GUINT_TO_POINTER (uids[i]));
}

void
mh_run_gaps_clear (MhRunGaps *g)
{
  g_clear_pointer (&g->asked, g_hash_table_unref);
  g_clear_pointer (&g->refused, g_array_unref);
  g_clear_pointer (&g->reason, g_free);
  g_clear_pointer (&g->strikes, g_hash_table_unref);
  g_clear_pointer (&g->strike_reason, g_free);
}

void
mh_run_gaps_answered (MhRunGaps *g, guint32 uid)
{
  if (g->asked != NULL)
    g_hash_table_remove (g->asked, GUINT_TO_POINTER (uid));
  if (g->suspect == uid)
    g->suspect = 0;
  g->last_answered = MAX (g->last_answered, uid);
  g->strikes_in_row = 0;
}

void
mh_run_gaps_incomplete (MhRunGaps *g, guint32 uid)
{
  if (g->asked != NULL
      && g_hash_table_contains (g->asked, GUINT_TO_POINTER (uid)))
    g->suspect = uid;
}

/* The lowest UID asked for and not answered above @after, else the
 * lowest of all; 0 for none. */
static guint32
next_expected (GHashTable *asked, guint32 after)
{
  guint32 above = 0, lowest = 0;
  GHashTableIter it;
  gpointer key;

  g_hash_table_iter_init (&it, asked);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      guint32 uid = GPOINTER_TO_UINT (key);

      if (lowest == 0 || uid < lowest)
        lowest = uid;
      if (uid > after && (above == 0 || uid < above))
        above = uid;
    }
  return above != 0 ? above : lowest;
}

/* Whether the BYE text @text says the session ended for the session's
 * sake: Exchange Online's "Session invalidated - AccessTokenExpired"
 * when an OAuth2 token runs out, "Session expired" elsewhere.  Whatever
 * message was on its way is not to blame. */
static gboolean
bye_names_session (const char *text)
{
  static const char *const reasons[] = {
    "accesstokenexpired", "session invalidated", "session expired",
  };
  g_autofree char *folded = g_ascii_strdown (text, -1);

  for (guint i = 0; i < G_N_ELEMENTS (reasons); i++)
    if (strstr (folded, reasons[i]) != NULL)
      return TRUE;
  return FALSE;
}

guint32
mh_run_gaps_strike (MhRunGaps *g, const GError *failure)
{
  gpointer key;
  guint32 uid;
  guint n;

  /* Only a failure inside the body fetch can be a message's doing. */
  if (!g->fetching)
    return 0;
  g->fetching = FALSE;
  if (g_error_matches (failure, MH_ERROR, MH_ERROR_BYE)
      && bye_names_session (failure->message))
    {
      g->suspect = 0;
      return 0;
    }
  if (g->suspect == 0 && g_error_matches (failure, MH_ERROR, MH_ERROR_BYE))
    g->suspect = next_expected (g->asked, g->last_answered);
  if (g->suspect == 0 || g->strikes_in_row >= 2 * MH_RUN_GAPS_PROBE)
    return 0;
  g->strikes_in_row++;
  uid = g->suspect;
  key = GUINT_TO_POINTER (uid);
  if (g->strikes == NULL)
    g->strikes = g_hash_table_new (g_direct_hash, g_direct_equal);
  n = GPOINTER_TO_UINT (g_hash_table_lookup (g->strikes, key));
  g_hash_table_insert (g->strikes, key, GUINT_TO_POINTER (n + 1));
  if (g->strike_reason == NULL)
    g->strike_reason = g_strdup (failure->message);
  g->suspect = 0;
  return uid;
}

guint
mh_run_gaps_filter (RunAccount *ra, const char *mailbox, MhRunGaps *g,
                    guint32 uidvalidity, GArray *pending)
{
  guint out = 0;
  guint failed = 0;

  if (g->strikes != NULL && g->uidvalidity != uidvalidity)
    g_hash_table_remove_all (g->strikes);
  g->uidvalidity = uidvalidity;
  if (g->strikes == NULL || g_hash_table_size (g->strikes) == 0)
    return 0;
  for (guint i = 0; i < pending->len; i++)
    {
      guint32 uid = g_array_index (pending, guint32, i);
      gpointer key = GUINT_TO_POINTER (uid);
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (g->strikes, key));

      if (n == 0)
        {
          g_array_index (pending, guint32, out++) = uid;
          continue;
        }
      g_hash_table_remove (g->asked, key);
      if (n == 1)
        {
          /* Last, on its own: the others come first whatever it does. */
          g_array_append_val (g->refused, uid);
          if (g->reason == NULL)
            g->reason = g_strdup (g->strike_reason);
        }
      else if (n != MH_RUN_GAPS_FAILED)
        {
          g_autofree char *why = g_strdup_printf (
              "the server ended the session twice while sending it (%s)",
              g->strike_reason);

          mh_run_message_failed (ra, mailbox, uid, why);
          g_hash_table_insert (g->strikes, key,
                               GUINT_TO_POINTER (MH_RUN_GAPS_FAILED));
          failed++;
        }
      else
        failed++;
    }
  g_array_set_size (pending, out);
  return failed;
}

gboolean
mh_run_gaps_refused (RunAccount *ra, const char *mailbox, MhRunGaps *g,
                     guint32 uid, const char *reason)
{
  g_autofree char *why = NULL;

  if (g->asked == NULL
      || !g_hash_table_remove (g->asked, GUINT_TO_POINTER (uid)))
    return FALSE;
  g->last_answered = MAX (g->last_answered, uid);
  if (g->reason == NULL)
    g->reason = g_strdup (reason);
  if (!g->last_try)
    {
      g_array_append_val (g->refused, uid);
      return FALSE;
    }
  g->failed++;
  why = g_strdup_printf ("the server refused to send it (%s)", reason);
  mh_run_message_failed (ra, mailbox, uid, why);
  return TRUE;
}

/* The last try for @n refused UIDs: one command each, pipelined. */
static gboolean
fetch_singly (RunAccount *ra, MhRunGaps *g, const guint32 *uids, gsize n,
              const MhImapFetchSink *sink, gpointer user_data,
              GError **error)
{
  MhImapFetchOptions fo = { 0 };

  for (gsize i = 0; i < n; i++)
    g_hash_table_add (g->asked, GUINT_TO_POINTER (uids[i]));
  fo.body = TRUE;
  fo.batch_size = 1;
  fo.max_body = ra->acct->max_message_size;
  return mh_imap_session_uid_fetch (ra->session, uids, n, &fo, sink,
                                    user_data, NULL, error);
}

/* "UID 3:5,9" for sorted @uids, or "UID 3:9" when that would be long. */
static char *
uid_criteria (const guint32 *uids, guint n)
{
  GString *c = g_string_new (NULL);

  if (mh_imap_uid_set_append (c, uids, n, n, MAX_SET_LEN) < n)
    g_string_printf (c, "%u:%u", uids[0], uids[n - 1]);
  g_string_prepend (c, "UID ");
  return g_string_free (c, FALSE);
}

/* UIDs that neither came nor were refused: gone, or left out.  A server
 * that leaves out a message it has would otherwise have it skipped in
 * silence on every run. */
static gboolean
check_left_out (RunAccount *ra, const char *mailbox, MhRunGaps *g,
                GError **error)
{
  g_autoptr(GArray) missing = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) found = NULL;
  g_autofree char *criteria = NULL;
  GHashTableIter it;
  gpointer key;

  g_hash_table_iter_init (&it, g->asked);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      guint32 uid = GPOINTER_TO_UINT (key);

      g_array_append_val (missing, uid);
    }
  if (missing->len == 0)
    return TRUE;
  g_array_sort (missing, mh_imap_uid_cmp);
  criteria = uid_criteria ((const guint32 *) (void *) missing->data,
                           missing->len);
  found = mh_imap_session_uid_search (ra->session, criteria, error);
  if (found == NULL)
    return FALSE;
  for (guint i = 0; i < found->len; i++)
    {
      guint32 uid = g_array_index (found, guint32, i);

      if (g_hash_table_remove (g->asked, GUINT_TO_POINTER (uid)))
        mh_run_message_failed (ra, mailbox, uid,
                               "the server left it out of its answer");
    }
  /* The rest were expunged meanwhile: nothing to fetch. */
  g_hash_table_remove_all (g->asked);
  return TRUE;
}

gboolean
mh_run_gaps_finish (RunAccount *ra, const char *mailbox, MhRunGaps *g,
                    const MhImapFetchSink *sink, gpointer user_data,
                    GError **error)
{
  g_autoptr(GArray) refused = g_steal_pointer (&g->refused);
  const guint32 *uids = (const guint32 *) (void *) refused->data;
  gsize probe = MIN (refused->len, (gsize) MH_RUN_GAPS_PROBE);

  g->refused = g_array_new (FALSE, FALSE, sizeof (guint32));
  if (refused->len > 0)
    {
      mh_run_log (ra, MH_RUN_LOG_WARNING,
                  "%s: asking for %u %s again, each on its own (%s)",
                  mailbox, refused->len,
                  refused->len == 1 ? "message" : "messages", g->reason);
      g->last_try = TRUE;
      if (!fetch_singly (ra, g, uids, probe, sink, user_data, error))
        return FALSE;
      if (probe == MH_RUN_GAPS_PROBE && g->failed == probe)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_SERVER_NO,
                       "the server refuses to send the messages of %s "
                       "(%s)", mailbox, g->reason);
          return FALSE;
        }
      if (!fetch_singly (ra, g, uids + probe, refused->len - probe, sink,
                         user_data, error))
        return FALSE;
    }
  g->fetching = FALSE;
  return check_left_out (ra, mailbox, g, error);
}
