/* run-search.c - which UIDs of a mailbox a sync asks for: every one,
 * those since a date, or the newest N ("latest"), asked for so that the
 * answer stays small on a mailbox of any size. */
#include <stdio.h>
#include <string.h>

#include "run-private.h"

static char *
search_criteria (RunAccount *ra)
{
  static const char *const months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
  };
  int y, m, d;

  if (ra->acct->since == NULL
      || sscanf (ra->acct->since, "%d-%d-%d", &y, &m, &d) != 3
      || m < 1 || m > 12)
    return g_strdup ("ALL");
  return g_strdup_printf ("SINCE %d-%s-%04d", d, months[m - 1], y);
}

/* With "latest = N" the newest N messages are those with the N highest
 * UIDs.  Once the archive holds N UIDs of the mailbox, the N-th highest
 * of them, U, bounds those from below unless messages were expunged
 * since: "UID U:*" then names at least N messages, the newest N among
 * them.  So the search's answer stays near N UIDs on a mailbox of any
 * size; "ALL" lists every UID (without ESEARCH, as on Exchange, some
 * 1.4 MB for 200,000 messages, on every run).  "UID U:*" names every
 * UID from U up (and the highest one when U is above it), so whatever U
 * is, even after a UIDVALIDITY change, an answer of N or more holds the
 * newest N.  Sets *@tail_out to that search, or to NULL where it does
 * not apply; when the answer holds fewer than N, the caller asks for
 * the newest N by sequence number (newest_criteria()). */
static gboolean
tail_criteria (RunAccount *ra, const MhImapMailbox *mb,
               const MhStoreMailbox *before, char **tail_out, GError **error)
{
  guint32 u = 0;

  *tail_out = NULL;
  if (ra->latest <= 0 || ra->latest > G_MAXUINT || ra->acct->since != NULL
      || before == NULL || before->uidvalidity == 0)
    return TRUE;
  if (!mh_store_nth_newest_uid (mh_archive_get_store (ra->archive),
                                mb->name_utf8, before->uidvalidity,
                                (guint) ra->latest, &u, error))
    return FALSE;
  if (u != 0)
    *tail_out = g_strdup_printf ("UID %u:*", u);
  return TRUE;
}

/* The search for the newest @n of @exists messages by sequence number:
 * "S:*" names the last @n, and sequence numbers grow with UIDs.  Used
 * where the archive gives no tail (the first run, or expunges from the
 * tail): its answer holds @n UIDs where ALL would list every UID of the
 * mailbox, which a server without ESEARCH sends one by one. */
static char *
newest_criteria (guint64 n, guint32 exists)
{
  if ((guint64) exists <= n)
    return g_strdup ("ALL");
  return g_strdup_printf ("%" G_GUINT64_FORMAT ":*",
                          (guint64) exists - n + 1);
}

GArray *
mh_run_search (RunAccount *ra, const MhImapMailbox *mb,
               const MhStoreMailbox *before, MhImapExamine *ex,
               GError **error)
{
  g_autofree char *criteria = NULL;
  g_autofree char *tail = NULL;
  enum { BY_CRITERIA, BY_TAIL, BY_NUMBER } how = BY_CRITERIA;
  gboolean examined = FALSE;
  GArray *uids;

  criteria = search_criteria (ra);
  if (!tail_criteria (ra, mb, before, &tail, error))
    return NULL;
  if (tail != NULL)
    how = BY_TAIL;
  else if (ra->latest > 0 && ra->acct->since == NULL)
    {
      /* No tail to go by: the newest N by sequence number, once the
       * EXAMINE has told how many there are (one round trip more, on a
       * first run). */
      if (!mh_imap_session_examine (ra->session, mb->name, ex, error))
        return NULL;
      tail = newest_criteria ((guint64) ra->latest, ex->exists);
      how = strcmp (tail, "ALL") != 0 ? BY_NUMBER : BY_CRITERIA;
      examined = TRUE;
    }
  if (examined)
    uids = mh_imap_session_uid_search (ra->session, tail, error);
  else
    /* EXAMINE and the search go out together: one round trip less per
     * mailbox, which counts on a distant server. */
    uids = mh_imap_session_examine_search (ra->session, mb->name,
                                           tail != NULL ? tail : criteria,
                                           ex, error);
  if (uids == NULL)
    return NULL;
  if (how == BY_TAIL && uids->len < MIN ((guint64) ra->latest, ex->exists))
    {
      /* Messages were expunged from the tail: the newest N by sequence
       * number. */
      g_clear_pointer (&tail, g_free);
      tail = newest_criteria ((guint64) ra->latest, ex->exists);
      how = strcmp (tail, "ALL") != 0 ? BY_NUMBER : BY_CRITERIA;
      g_array_unref (uids);
      uids = mh_imap_session_uid_search (ra->session, tail, error);
      if (uids == NULL)
        return NULL;
    }
  if (how == BY_NUMBER && uids->len < MIN ((guint64) ra->latest, ex->exists))
    {
      /* Fewer than asked for by sequence number: an expunge during the
       * search shifted the numbers.  Every UID, then. */
      g_array_unref (uids);
      uids = mh_imap_session_uid_search (ra->session, criteria, error);
      if (uids == NULL)
        return NULL;
    }
  return uids;
}
