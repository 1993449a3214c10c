/* archive-reuse.c - the conversation step's record of its last layout:
 * a group of messages the last step placed, all of them, under the same
 * signature is copied from the last threads.json and index.html instead
 * of threaded and written again (doc/store.txt, layout_conv). */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive-finish-private.h"

/* The signature of a group: the layout version and options, and what
 * MsgSig keeps of each message, in the store's order.  Equal signatures,
 * equal conversations: their texts depend on nothing else. */
void
mh_finish_group_sig (const Finish *f, const MsgSig *sigs, const guint *idx,
                     guint n, guint8 *sig_out)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize len = SIG_LEN;

  g_checksum_update (sum, (const guchar *) f->version,
                     (gssize) strlen (f->version) + 1);
  for (guint i = 0; i < n; i++)
    {
      MsgSig ms = sigs[idx[i]] & ~MSG_SIG_PLACED;
      guint8 bytes[8];

      for (guint k = 0; k < 8; k++)
        bytes[k] = (guint8) (ms >> (8 * k));
      g_checksum_update (sum, bytes, sizeof bytes);
    }
  g_checksum_get_digest (sum, sig_out, &len);
}

/* Takes a group's conversations from the last layout when its record
 * has them: sets *@done. */
gboolean
mh_finish_reuse_group (Finish *f, const MsgSig *sigs, const guint *idx,
                       guint n, gboolean *done, GError **error)
{
  g_autoptr(GPtrArray) rows = NULL;
  guint members = 0;

  *done = FALSE;
  if (f->old_json_fd < 0)
    return TRUE;
  for (guint i = 0; i < n; i++)
    if (!(sigs[idx[i]] & MSG_SIG_PLACED))
      return TRUE;
  if (!mh_store_layout_lookup (f->a->store, f->sig, &rows, error))
    return FALSE;
  /* A record that points outside its files, or whose conversations do
   * not hold the group's messages, is not used. */
  for (guint i = 0; i < rows->len; i++)
    {
      const MhStoreLayoutConv *row = rows->pdata[i];

      if (row->json_off > f->old_size[0]
          || row->json_len > f->old_size[0] - row->json_off
          || row->html_off > f->old_size[1]
          || row->html_len > f->old_size[1] - row->html_off
          || row->messages > n - members)
        return TRUE;
      members += row->messages;
    }
  if (members != n)
    return TRUE;
  for (guint i = 0; i < rows->len; i++)
    {
      MhStoreLayoutConv *row = rows->pdata[i];
      Conv c = { 0 };

      c.last_date = row->last_date;
      c.root_id = g_steal_pointer (&row->root_id);
      c.tdir = g_steal_pointer (&row->dir);
      c.span = g_new0 (MhConvSpan, 1);
      c.span->json_off = row->json_off;
      c.span->json_len = (gsize) row->json_len;
      c.span->html_off = row->html_off;
      c.span->html_len = (gsize) row->html_len;
      c.reused = TRUE;
      memcpy (c.sig, f->sig, SIG_LEN);
      c.seq = row->seq;
      c.n_messages = row->messages;
      f->n_messages += c.n_messages;
      g_array_append_val (f->convs, c);
      g_hash_table_add (f->wanted, c.tdir);
      f->stats->reused++;
    }
  *done = rows->len > 0;
  return TRUE;
}

/* Opens the last layout's threads.json and index.html for reuse when the
 * store's record of that layout is of this version and holds their
 * SHA-256 (a step killed after it put new files in place, before its
 * commit, or a file edited by hand, fails this); else nothing is
 * reused. */
gboolean
mh_finish_open_last_layout (Finish *f, GError **error)
{
  MhArchive *a = f->a;
  g_autofree char *version = NULL;
  g_autofree char *files = NULL;
  g_autoptr(GString) now = g_string_new (NULL);
  int *fds[2] = { &f->old_json_fd, &f->old_html_fd };
  const char *names[2] = { "threads.json", "index.html" };

  if (!mh_store_layout_get_files (a->store, &version, &files, error))
    return FALSE;
  if (files == NULL || g_strcmp0 (version, f->version) != 0)
    return TRUE;
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(MhSha256) sum = mh_sha256_new ();
      guint64 size = 0;
      struct stat st;

      *fds[i] = openat (a->account_fd, names[i],
                        O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (*fds[i] < 0 || fstat (*fds[i], &st) != 0 || !S_ISREG (st.st_mode)
          || !mh_sha256_update_fd (sum, *fds[i], &size))
        break;
      f->old_size[i] = size;
      g_string_append_printf (now, "%s%s", i > 0 ? " " : "",
                              mh_sha256_get_string (sum));
    }
  if (strcmp (now->str, files) != 0)
    for (guint i = 0; i < 2; i++)
      {
        if (*fds[i] >= 0)
          close (*fds[i]);
        *fds[i] = -1;
      }
  return TRUE;
}

/* Records this layout: where each conversation's texts went in the
 * files just put in place, and their SHA-256. */
gboolean
mh_finish_record_layout (Finish *f, GError **error)
{
  MhArchive *a = f->a;
  g_autofree char *files = NULL;

  if (!mh_store_layout_clear (a->store, error))
    return FALSE;
  for (guint i = 0; i < f->convs->len; i++)
    {
      const Conv *c = &g_array_index (f->convs, Conv, i);
      MhStoreLayoutConv row = { 0 };

      row.seq = c->seq;
      row.root_id = c->root_id;
      row.dir = c->tdir;
      row.last_date = c->last_date;
      row.messages = c->n_messages;
      row.json_off = c->json_at;
      row.json_len = c->span->json_len;
      row.html_off = c->html_at;
      row.html_len = c->span->html_len;
      if (!mh_store_layout_put (a->store, c->sig, &row, error))
        return FALSE;
    }
  files = g_strdup_printf ("%s %s", mh_sha256_get_string (f->json.sum),
                           mh_sha256_get_string (f->html.sum));
  return mh_store_layout_set_files (a->store, f->version, files, error);
}

