/* store-layout.c - the conversation step's record of its last layout:
 * where each conversation's entry stands in threads.json and index.html
 * (archive-finish.c reuses them for the groups no new message touched). */
#include "store-private.h"

#define SIG_LEN 32

void
mh_store_layout_conv_free (MhStoreLayoutConv *conv)
{
  if (conv == NULL)
    return;
  g_free (conv->root_id);
  g_free (conv->dir);
  g_free (conv);
}

gboolean
mh_store_layout_get_files (MhStore *store, char **version_out,
                           char **files_out, GError **error)
{
  sqlite3_stmt *stmt = mh_store_stmt (store, ST_LAYOUT_GET_FILES, error);
  int rc;

  *version_out = NULL;
  *files_out = NULL;
  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *version_out = mh_store_column_text (stmt, 0);
      *files_out = mh_store_column_text (stmt, 1);
    }
  else if (rc != SQLITE_DONE)
    mh_store_db_error (store, error, "cannot read the layout record");
  mh_store_stmt_done (stmt);
  return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

gboolean
mh_store_layout_set_files (MhStore *store, const char *version,
                           const char *files, GError **error)
{
  sqlite3_stmt *stmt = mh_store_stmt (store, ST_LAYOUT_SET_FILES, error);

  return stmt != NULL
         && mh_store_bind_text (store, stmt, 1, version, error)
         && mh_store_bind_text (store, stmt, 2, files, error)
         && mh_store_step_done (store, stmt, "cannot record the layout",
                                error);
}

gboolean
mh_store_layout_lookup (MhStore *store, const guint8 *sig,
                        GPtrArray **convs_out, GError **error)
{
  g_autoptr(GPtrArray) convs = g_ptr_array_new_with_free_func (
      (GDestroyNotify) mh_store_layout_conv_free);
  sqlite3_stmt *stmt = mh_store_stmt (store, ST_LAYOUT_LOOKUP, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, sig, SIG_LEN, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      MhStoreLayoutConv *c = g_new0 (MhStoreLayoutConv, 1);

      c->seq = (guint) sqlite3_column_int64 (stmt, 0);
      c->root_id = mh_store_column_text (stmt, 1);
      c->dir = mh_store_column_text (stmt, 2);
      c->last_date = sqlite3_column_int64 (stmt, 3);
      c->messages = (guint) sqlite3_column_int64 (stmt, 4);
      c->json_off = (guint64) sqlite3_column_int64 (stmt, 5);
      c->json_len = (guint64) sqlite3_column_int64 (stmt, 6);
      c->html_off = (guint64) sqlite3_column_int64 (stmt, 7);
      c->html_len = (guint64) sqlite3_column_int64 (stmt, 8);
      g_ptr_array_add (convs, c);
    }
  if (rc != SQLITE_DONE)
    {
      mh_store_db_error (store, error, "cannot read the layout record");
      mh_store_stmt_done (stmt);
      return FALSE;
    }
  mh_store_stmt_done (stmt);
  *convs_out = g_steal_pointer (&convs);
  return TRUE;
}

gboolean
mh_store_layout_clear (MhStore *store, GError **error)
{
  sqlite3_stmt *stmt = mh_store_stmt (store, ST_LAYOUT_CLEAR, error);

  return stmt != NULL
         && mh_store_step_done (store, stmt, "cannot record the layout",
                                error);
}

gboolean
mh_store_layout_put (MhStore *store, const guint8 *sig,
                     const MhStoreLayoutConv *conv, GError **error)
{
  sqlite3_stmt *stmt = mh_store_stmt (store, ST_LAYOUT_PUT, error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, sig, SIG_LEN, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, conv->seq);
  sqlite3_bind_int64 (stmt, 5, conv->last_date);
  sqlite3_bind_int64 (stmt, 6, conv->messages);
  sqlite3_bind_int64 (stmt, 7, (sqlite3_int64) conv->json_off);
  sqlite3_bind_int64 (stmt, 8, (sqlite3_int64) conv->json_len);
  sqlite3_bind_int64 (stmt, 9, (sqlite3_int64) conv->html_off);
  sqlite3_bind_int64 (stmt, 10, (sqlite3_int64) conv->html_len);
  return mh_store_bind_text (store, stmt, 3, conv->root_id, error)
         && mh_store_bind_text (store, stmt, 4, conv->dir, error)
         && mh_store_step_done (store, stmt, "cannot record the layout",
                                error);
}
