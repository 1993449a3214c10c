/* store-harness.h - shared by test-store.c and test-store-file.c: a
 * temporary dir with a store path, and messages made from a number. */
#pragma once

#include <glib.h>

#include "mailharvest/error.h"
#include "mailharvest/store.h"

typedef struct {
  char *dir;
  char *path;
} Fixture;

void fixture_setup (Fixture *fx, gconstpointer data);
void fixture_teardown (Fixture *fx, gconstpointer data);
/* The key (sha256 hex) of message number @n. */
char *make_key (guint n);
MhStoreMessage *make_message (guint n, const char *message_id);
MhStore *open_store (Fixture *fx);
void put (MhStore *store, guint n, const char *message_id);
gboolean has_key (MhStore *store, guint n);
void add_loc (MhStore *store, guint n, const char *mailbox,
              guint32 uidvalidity, guint32 uid);
/* Read and write with a plain SQLite connection, bypassing the store. */
gint64 raw_int (const char *path, const char *sql);
void raw_exec (const char *path, const char *sql);
/* Asserts that of @uids, exactly @want are pending in the mailbox. */
void assert_pending (MhStore *store, const char *mailbox, guint32 uidvalidity,
                     const guint32 *uids, gsize n, const guint32 *want,
                     gsize n_want);
