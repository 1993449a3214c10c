/* store-schema.c - the state store's schema: the check of a file before
 * anything is changed, its creation, and the updates from older
 * versions (doc/store.txt). */
#include "mailharvest/error.h"
#include "store-private.h"

/* Version 1 of the schema; doc/store.txt explains each table.  Locations
 * and attachments go with their message; a location names its mailbox
 * row so that forgetting a mailbox cannot leave orphans. */
static const char schema_v1[] =
  "CREATE TABLE mailbox ("
  "  name TEXT PRIMARY KEY NOT NULL,"
  "  uidvalidity INTEGER NOT NULL DEFAULT 0,"
  "  highest_uid INTEGER NOT NULL DEFAULT 0,"
  "  uidnext INTEGER NOT NULL DEFAULT 0,"
  "  last_sync INTEGER NOT NULL DEFAULT 0);"
  "CREATE TABLE message ("
  "  key TEXT PRIMARY KEY NOT NULL CHECK (length (key) = 64),"
  "  message_id TEXT,"
  "  gm_msgid INTEGER,"
  "  gm_thrid TEXT,"
  "  date INTEGER NOT NULL DEFAULT 0,"
  "  subject TEXT,"
  "  from_addr TEXT,"
  "  participants TEXT,"
  "  references_raw TEXT,"
  "  in_reply_to_raw TEXT,"
  "  thread_index TEXT,"
  "  thread_topic TEXT,"
  "  size INTEGER NOT NULL DEFAULT 0,"
  "  dir TEXT NOT NULL,"
  "  thread_dir TEXT);"
  "CREATE INDEX message_by_message_id ON message (message_id);"
  "CREATE INDEX message_by_gm_msgid ON message (gm_msgid);"
  "CREATE INDEX message_by_thread_dir ON message (thread_dir);"
  "CREATE TABLE location ("
  "  mailbox TEXT NOT NULL REFERENCES mailbox (name) ON DELETE CASCADE,"
  "  uidvalidity INTEGER NOT NULL,"
  "  uid INTEGER NOT NULL,"
  "  message_key TEXT NOT NULL"
  "    REFERENCES message (key) ON DELETE CASCADE,"
  "  PRIMARY KEY (mailbox, uidvalidity, uid)) WITHOUT ROWID;"
  "CREATE INDEX location_by_message ON location (message_key);"
  "CREATE TABLE attachment ("
  "  message_key TEXT NOT NULL"
  "    REFERENCES message (key) ON DELETE CASCADE,"
  "  idx INTEGER NOT NULL,"
  "  part TEXT NOT NULL,"
  "  filename TEXT,"
  "  path TEXT NOT NULL,"
  "  content_type TEXT,"
  "  size INTEGER NOT NULL DEFAULT 0,"
  "  sha256 TEXT,"
  "  PRIMARY KEY (message_key, idx)) WITHOUT ROWID;"
  "CREATE INDEX attachment_by_sha256 ON attachment (sha256);"
  "CREATE TABLE thread ("
  "  root_id TEXT PRIMARY KEY NOT NULL,"
  "  dir TEXT NOT NULL);"
  "PRAGMA user_version = 1;";

/* Version 2: message dirs are looked up by their own name, not by their
 * thread dir's.  The conversation step sets thread_dir on every new
 * message; with thread_dir indexed, each of those updates also moved an
 * index entry (a third of the step's store time).  A dir name is all but
 * unique by itself, so the rare lookups by (thread_dir, dir) lose
 * nothing. */
static const char migrate_v2[] =
  "DROP INDEX IF EXISTS message_by_thread_dir;"
  "CREATE INDEX IF NOT EXISTS message_by_dir ON message (dir);"
  "PRAGMA user_version = 2;";

/* Version 3: the conversation step's record of its last layout, so that
 * a later step copies the entries of threads.json and index.html of the
 * conversations no new message touched (archive-finish.c). */
static const char migrate_v3[] =
  "CREATE TABLE IF NOT EXISTS layout_conv ("
  "  sig BLOB NOT NULL CHECK (length (sig) = 32),"
  "  seq INTEGER NOT NULL,"
  "  root_id TEXT NOT NULL,"
  "  dir TEXT NOT NULL,"
  "  last_date INTEGER NOT NULL,"
  "  messages INTEGER NOT NULL,"
  "  json_off INTEGER NOT NULL,"
  "  json_len INTEGER NOT NULL,"
  "  html_off INTEGER NOT NULL,"
  "  html_len INTEGER NOT NULL,"
  "  PRIMARY KEY (sig, seq)) WITHOUT ROWID;"
  "CREATE TABLE IF NOT EXISTS layout_files ("
  "  id INTEGER PRIMARY KEY CHECK (id = 1),"
  "  version TEXT NOT NULL,"
  "  files TEXT NOT NULL);"
  "PRAGMA user_version = 3;";


gboolean
mh_store_exec (MhStore *store, const char *sql, const char *what,
               GError **error)
{
  char *msg = NULL;

  if (sqlite3_exec (store->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO, "%s: %s: %s", store->path,
                   what, msg != NULL ? msg : sqlite3_errmsg (store->db));
      sqlite3_free (msg);
      return FALSE;
    }
  return TRUE;
}

/* Runs @sql, which returns one integer, into *@value_out. */
static gboolean
read_int (MhStore *store, const char *sql, gint64 *value_out,
          GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (store->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    return mh_store_db_error (store, error,
                              "cannot read the state database");
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      mh_store_db_error (store, error, "cannot read the state database");
      sqlite3_finalize (stmt);
      return FALSE;
    }
  *value_out = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return TRUE;
}

/* Reading the version reads the database header, so this is where a file
 * that is not a database is noticed. */
static gboolean
read_user_version (MhStore *store, gint64 *version_out, GError **error)
{
  return read_int (store, "PRAGMA user_version", version_out, error);
}

static gboolean
check_version (MhStore *store, gint64 version, GError **error)
{
  if (version > MH_STORE_SCHEMA_VERSION || version < 0)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_CONFIG,
                   "%s: schema version %" G_GINT64_FORMAT " is not known "
                   "to this mailharvest (it writes version %d); it was "
                   "written by a newer release", store->path, version,
                   MH_STORE_SCHEMA_VERSION);
      return FALSE;
    }
  return TRUE;
}

gboolean
mh_store_schema_update (MhStore *store, GError **error)
{
  gint64 version = 0;

  if (!read_user_version (store, &version, error) ||
      !check_version (store, version, error))
    return FALSE;
  if (version == MH_STORE_SCHEMA_VERSION)
    return TRUE;

  /* Version 0 is a new file, 1 an older one.  The check is repeated
   * inside the write transaction so that two processes creating or
   * updating the file at once do not both do it. */
  if (!mh_store_exec (store, "BEGIN IMMEDIATE", "cannot lock the database",
                      error))
    return FALSE;
  if (!read_user_version (store, &version, error) ||
      !check_version (store, version, error))
    goto fail;
  if (version == 0 &&
      !mh_store_exec (store, schema_v1, "cannot create the schema",
                      error))
    goto fail;
  /* A new file takes the same steps as an old one. */
  if (version < 2
      && !mh_store_exec (store, migrate_v2, "cannot update the schema",
                         error))
    goto fail;
  if (version < 3
      && !mh_store_exec (store, migrate_v3, "cannot update the schema",
                         error))
    goto fail;
  if (!mh_store_exec (store, "COMMIT", "cannot update the schema", error))
    goto fail;
  return TRUE;

fail:
  sqlite3_exec (store->db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

gboolean
mh_store_schema_check (MhStore *store, GError **error)
{
  gint64 version = 0, n_objects = 0;

  if (!read_user_version (store, &version, error) ||
      !check_version (store, version, error) ||
      !read_int (store, "SELECT count(*) FROM sqlite_schema", &n_objects,
                 error))
    return FALSE;
  if (version == 0 && n_objects > 0)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_IO,
                   "%s: an SQLite database, but not a mailharvest state "
                   "file", store->path);
      return FALSE;
    }
  return TRUE;
}
