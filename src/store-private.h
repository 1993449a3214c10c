/* store-private.h - what store.c and store-index.c share: the store
 * struct, the statement cache and the binding helpers.  Not installed. */
#pragma once

#include "mailharvest/store.h"

#include <sqlite3.h>

/* Every statement used after opening is prepared once, on first use, and
 * kept for the life of the store; this is its index. */
typedef enum {
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_GET_MAILBOX,
  ST_INSERT_MAILBOX,
  ST_SET_UIDVALIDITY,
  ST_FORGET_LOCATIONS,
  ST_MAILBOX_SYNCED,
  ST_RAISE_HIGHEST,
  ST_DONE_UIDS,
  ST_NTH_NEWEST_UID,
  ST_PUT_MESSAGE,
  ST_BY_KEY,
  ST_HAS_KEY,
  ST_BY_ROWID,
  ST_BY_DIR,
  ST_BY_GM_MSGID,
  ST_BY_MESSAGE_ID,
  ST_ALL_MESSAGES,
  ST_COUNT_MESSAGES,
  ST_SET_DIRS,
  ST_SET_THREAD_DIR,
  ST_THREAD_HAS_DIR,
  ST_FORGET_MESSAGE,
  ST_ADD_LOCATION,
  ST_LOCATION_KEY,
  ST_KEYS_ABOVE,
  ST_DROP_ABOVE,
  ST_LIST_LOCATIONS,
  ST_MAILBOX_KEYS,
  ST_DELETE_ATTACHMENTS,
  ST_INSERT_ATTACHMENT,
  ST_LIST_ATTACHMENTS,
  ST_SET_THREAD,
  ST_REMOVE_THREAD,
  ST_LOOKUP_THREAD,
  ST_ALL_THREADS,
  ST_COUNT_THREADS,
  ST_LAYOUT_LOOKUP,
  ST_LAYOUT_CLEAR,
  ST_LAYOUT_PUT,
  ST_LAYOUT_GET_FILES,
  ST_LAYOUT_SET_FILES,
  N_STATEMENTS
} StatementId;

struct _MhStore {
  sqlite3 *db;
  char *path;
  sqlite3_stmt *stmts[N_STATEMENTS];
  gboolean in_transaction;
  guint batch_changes;
  gint64 batch_started;   /* monotonic microseconds */
};

/* Sets @error to MH_ERROR_IO naming the file, @what and SQLite's message;
 * returns FALSE. */
gboolean mh_store_db_error (MhStore *store, GError **error, const char *what);

/* Returns the cached statement @id, prepared on first use, reset and
 * without bindings; NULL with @error set when it cannot be prepared. */
sqlite3_stmt *mh_store_stmt (MhStore *store, StatementId id, GError **error);
void mh_store_stmt_done (sqlite3_stmt *stmt);

/* Binds @text (NULL binds NULL) without copying: it must live until the
 * statement is stepped.  Refuses more than MH_STORE_MAX_TEXT bytes. */
gboolean mh_store_bind_text (MhStore *store, sqlite3_stmt *stmt, int idx,
                             const char *text, GError **error);

/* Steps a statement that returns no rows, then resets it. */
gboolean mh_store_step_done (MhStore *store, sqlite3_stmt *stmt,
                             const char *what, GError **error);

/* Returns a copy of a text column, or NULL for SQL NULL. */
char *mh_store_column_text (sqlite3_stmt *stmt, int col);

gboolean mh_store_check_key (MhStore *store, const char *key, GError **error);

/* Runs @sql (any number of statements); @what names it in the error. */
gboolean mh_store_exec (MhStore *store, const char *sql, const char *what,
                        GError **error);

/* store-schema.c: before anything is changed, checks that the file is a
 * state store of a version this code knows (or a new, empty file). */
gboolean mh_store_schema_check (MhStore *store, GError **error);
/* Creates the schema in a new file, or brings an older one up to date,
 * in one transaction. */
gboolean mh_store_schema_update (MhStore *store, GError **error);

/* Counts one write towards mh_store_batch_maybe_commit(). */
void mh_store_count_change (MhStore *store);

/* Creates the mailbox row of @name with @uidvalidity unless it exists. */
gboolean mh_store_ensure_mailbox (MhStore *store, const char *name,
                                  guint32 uidvalidity, GError **error);
