/* run-relink.c - after a mailbox's UIDVALIDITY changed, find the
 * messages it holds that are archived already, so that they are not
 * downloaded again. */
#include <string.h>

#include "mailharvest/msgid.h"
#include "run-private.h"

/* A message that may be found again: its key (borrowed from the keys)
 * and a hash of its Message-ID, 0 for none. */
typedef struct {
  const char *key;
  guint id_hash;
} Candidate;

/* Archived files compared per message found again, at most: a mailbox
 * of many messages of one size costs no more than fetching them. */
#define RELINK_MAX_SAME_ID 64
#define RELINK_MAX_OTHERS 16

void
mh_run_forgotten_clear (MhRunForgotten *f)
{
  g_clear_pointer (&f->by_size, g_hash_table_unref);
  g_clear_pointer (&f->keys, g_ptr_array_unref);
}

static guint
id_hash (const char *id)
{
  return id != NULL ? g_str_hash (id) | 1u : 0;
}

static gboolean
forgotten_add (const char *key, guint64 size, const char *message_id,
               gpointer data)
{
  MhRunForgotten *f = data;
  gint64 sz = (gint64) MIN (size, (guint64) G_MAXINT64);
  GArray *same = g_hash_table_lookup (f->by_size, &sz);
  Candidate c;

  g_ptr_array_add (f->keys, g_strdup (key));
  c.key = g_ptr_array_index (f->keys, f->keys->len - 1);
  c.id_hash = id_hash (message_id);
  if (same == NULL)
    {
      same = g_array_new (FALSE, FALSE, sizeof (Candidate));
      g_hash_table_insert (f->by_size, g_memdup2 (&sz, sizeof sz), same);
    }
  g_array_append_val (same, c);
  return TRUE;
}

gboolean
mh_run_forgotten_load (MhStore *store, const char *mailbox,
                       MhRunForgotten *f, GError **error)
{
  f->keys = g_ptr_array_new_with_free_func (g_free);
  f->by_size = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                      (GDestroyNotify) g_array_unref);
  if (mh_store_foreach_mailbox_key (store, mailbox, forgotten_add, f,
                                    error))
    return TRUE;
  /* Half a list would pass for the whole one on the next attempt. */
  mh_run_forgotten_clear (f);
  return FALSE;
}

gboolean
mh_run_forgotten_any (const MhRunForgotten *f)
{
  return f->by_size != NULL && g_hash_table_size (f->by_size) > 0;
}

/* The header block carries the Message-ID, the dates and every Received
 * line, so with the size equal only a body rewritten to the same length
 * would pass for the archived one.  The candidates with the same
 * Message-ID are tried first, then a few others. */
gboolean
mh_run_find_relinkable (RunAccount *ra, const MhRunForgotten *f,
                        const MhImapMessageInfo *info,
                        MhStoreMessage **m_out, GError **error)
{
  MhStore *store = mh_archive_get_store (ra->archive);
  gint64 size = (gint64) MIN (info->size, (guint64) G_MAXINT64);
  g_autofree char *id = NULL;
  GArray *same;
  guint want;
  guint tries[2] = { 0, 0 };

  *m_out = NULL;
  /* A block without a single field names nothing. */
  if (!mh_run_forgotten_any (f) || info->header == NULL
      || memchr (info->header, ':', info->header_len) == NULL)
    return TRUE;
  same = g_hash_table_lookup (f->by_size, &size);
  if (same == NULL)
    return TRUE;
  id = mh_msgid_from_header_block ((const char *) info->header,
                                   info->header_len);
  want = id_hash (id);
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 0; i < same->len; i++)
      {
        const Candidate *c = &g_array_index (same, Candidate, i);
        g_autoptr(MhStoreMessage) m = NULL;

        if ((c->id_hash == want) != (pass == 0))
          continue;
        if (++tries[pass] > (pass == 0 && want != 0 ? RELINK_MAX_SAME_ID
                                                    : RELINK_MAX_OTHERS))
          break;
        if (!mh_store_lookup_key (store, c->key, &m, error))
          return FALSE;
        if (m != NULL
            && mh_archive_raw_starts_with (ra->archive, m, info->header,
                                           info->header_len))
          {
            *m_out = g_steal_pointer (&m);
            return TRUE;
          }
      }
  return TRUE;
}
