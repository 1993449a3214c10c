/* store.h - the per-account state store: OUTPUT/ACCOUNT/state.sqlite.
 *
 * The store is the source of truth for re-runs.  It records, per mailbox,
 * the UIDVALIDITY and the UIDs done (as locations), the index of stored
 * messages with the fields the threader needs, the attachment index, and
 * the thread directory assignment.  doc/store.txt describes the schema and
 * the crash semantics.
 *
 * Conventions for every function below:
 *  - On failure it returns FALSE (or NULL) and sets @error in the MH_ERROR
 *    domain.  SQLite failures are MH_ERROR_IO and the message names the
 *    database file and carries SQLite's own message.
 *  - A lookup that finds nothing is not an error: it returns TRUE and sets
 *    its out-parameter to NULL (or an empty array).
 *  - Strings passed in are copied; strings and structs returned are owned
 *    by the caller (transfer full).
 *  - A message key is the lowercase hex SHA-256 of the raw message bytes
 *    (64 characters); anything else is refused with MH_ERROR_PARSE.
 *  - Text values are limited to MH_STORE_MAX_TEXT bytes each; a longer
 *    value is refused with MH_ERROR_LIMIT, the row is not written.
 *  - An MhStore is used by one thread at a time.  Several processes may
 *    open the same file; a writer waits up to MH_STORE_BUSY_TIMEOUT_MS for
 *    another one's transaction and then fails with MH_ERROR_IO.
 *
 * Writes made outside mh_store_begin()/mh_store_commit() commit one by one.
 * A batch run writes the files first, then records them inside a
 * transaction, and commits every N messages or M seconds with
 * mh_store_batch_maybe_commit().  Closing the store with a transaction
 * open rolls it back: whatever was not committed was never recorded.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The schema this code writes, kept in PRAGMA user_version. */
#define MH_STORE_SCHEMA_VERSION 3

#define MH_STORE_MAX_TEXT (4 * 1024 * 1024)
#define MH_STORE_BUSY_TIMEOUT_MS 10000

typedef struct _MhStore MhStore;

/* One mailbox's sync state.  uidvalidity 0 means never seen. */
typedef struct {
  char *name;           /* the mailbox name as the server spells it */
  guint32 uidvalidity;
  guint32 highest_uid;  /* the highest UID recorded as done, 0 if none */
  guint32 uidnext;      /* UIDNEXT at the last sync, 0 if unknown */
  gint64 last_sync;     /* caller's time of the last finished sync (Unix
                         * seconds), 0 if never */
} MhStoreMailbox;

/* One stored message: its identity, where its files are, and the inputs
 * of the threader.  Every string may be NULL unless noted. */
typedef struct {
  char *key;             /* SHA-256 hex of the raw bytes; never NULL */
  char *message_id;      /* normalised by the caller; not unique */
  guint64 gm_msgid;      /* X-GM-MSGID, 0 when unknown */
  char *gm_thrid;        /* X-GM-THRID as text */
  gint64 date;           /* Unix seconds, UTC; 0 when unknown */
  char *subject;
  char *from_addr;
  char *participants;    /* addresses joined with '\n' */
  char *references_raw;
  char *in_reply_to_raw;
  char *thread_index;
  char *thread_topic;
  guint64 size;          /* bytes of message.eml */
  char *dir;             /* message dir name (not a path); never NULL */
  char *thread_dir;      /* current thread dir name, or NULL */
  gint64 rowid;          /* set by reads: the row's number in the store,
                          * the same while the message is stored (for
                          * mh_store_lookup_rowid()); ignored by writes */
} MhStoreMessage;

/* A place on the server where a stored message was seen. */
typedef struct {
  char *mailbox;
  guint32 uidvalidity;
  guint32 uid;
} MhStoreLocation;

/* One row of the attachment index.  path is relative to the message dir. */
typedef struct {
  char *part;            /* "2.1", "2.t1"; never NULL */
  char *filename;        /* the name as the sender meant it, or NULL */
  char *path;            /* never NULL */
  char *content_type;
  guint64 size;
  char *sha256;          /* hex of the decoded content, or NULL */
} MhStoreAttachment;

/* Opens @path, creating the file and the schema when the file does not
 * exist or is empty.  Turns on WAL, synchronous=NORMAL, foreign keys and
 * the busy timeout.  Fails with MH_ERROR_IO when the file cannot be
 * opened, is not an SQLite database or is corrupt, and with
 * MH_ERROR_CONFIG when its schema version is newer than
 * MH_STORE_SCHEMA_VERSION (written by a newer mailharvest).  The parent
 * directory must exist.  Returns (transfer full). */
MhStore *mh_store_open (const char *path, GError **error);

/* Rolls back an open transaction, finalizes the cached statements and
 * closes the database.  NULL is allowed. */
void mh_store_free (MhStore *store);

/* The path given to mh_store_open(); owned by @store. */
const char *mh_store_get_path (MhStore *store);

/* Transactions.  mh_store_begin() fails when one is already open;
 * mh_store_commit() and mh_store_rollback() fail when none is. */
gboolean mh_store_begin (MhStore *store, GError **error);
gboolean mh_store_commit (MhStore *store, GError **error);
gboolean mh_store_rollback (MhStore *store, GError **error);
gboolean mh_store_in_transaction (MhStore *store);

/* Call after recording each message.  Opens a transaction when none is
 * open.  Otherwise, when at least @max_changes writes were made in it
 * (each message, location, thread or attachment call counts one) or it
 * has been open for @max_seconds or more, commits it and opens a new one.
 * Sets *@committed_out (may be NULL) to whether a commit happened.  The
 * caller still calls mh_store_commit() at the end. */
gboolean mh_store_batch_maybe_commit (MhStore *store, guint max_changes,
                                      guint max_seconds,
                                      gboolean *committed_out,
                                      GError **error);

/* Mailboxes. */

/* Sets *@mailbox_out to the state of @name, or NULL when never seen. */
gboolean mh_store_get_mailbox (MhStore *store, const char *name,
                               MhStoreMailbox **mailbox_out,
                               GError **error);

/* Compares the server's @uidvalidity (not 0) with the recorded one.  On
 * first sight records it and sets *@changed_out FALSE.  When it differs,
 * forgets every location of @name (the UID to message mapping) and its
 * highest_uid and uidnext, records the new value and sets *@changed_out
 * TRUE.  The messages themselves are kept, so that the new UIDs are
 * matched to them again by key or Message-ID, not stored twice. */
gboolean mh_store_check_uidvalidity (MhStore *store, const char *name,
                                     guint32 uidvalidity,
                                     gboolean *changed_out, GError **error);

/* Records a finished sync of @name: @uidnext (0 if unknown) and
 * @last_sync (caller's clock, so that tests stay deterministic).
 * highest_uid is maintained by mh_store_add_location(). */
gboolean mh_store_mailbox_synced (MhStore *store, const char *name,
                                  guint32 uidnext, gint64 last_sync,
                                  GError **error);

/* The @n-th highest UID with a location in (@mailbox, @uidvalidity)
 * (1: the highest), or 0 in *@uid_out when there are fewer. */
gboolean mh_store_nth_newest_uid (MhStore *store, const char *mailbox,
                                  guint32 uidvalidity, guint n,
                                  guint32 *uid_out, GError **error);

/* Of the @n_uids UIDs in @uids (any order, duplicates and 0 allowed),
 * returns in *@pending_out a GArray of guint32 with those that have no
 * location in (@mailbox, @uidvalidity): ascending, without duplicates or
 * 0.  One query and a sorted walk, whatever the size of the list. */
gboolean mh_store_pending_uids (MhStore *store, const char *mailbox,
                                guint32 uidvalidity, const guint32 *uids,
                                gsize n_uids, GArray **pending_out,
                                GError **error);

/* Messages. */

MhStoreMessage *mh_store_message_new (void);
void mh_store_message_free (MhStoreMessage *msg);
MhStoreLocation *mh_store_location_new (const char *mailbox,
                                        guint32 uidvalidity, guint32 uid);
void mh_store_location_free (MhStoreLocation *loc);
MhStoreAttachment *mh_store_attachment_new (void);
void mh_store_attachment_free (MhStoreAttachment *att);
void mh_store_mailbox_free (MhStoreMailbox *mailbox);

/* Records @msg.  When a message with the same key exists its fields are
 * replaced by @msg's (its locations and attachments are kept), so that
 * recording the same message twice is harmless. */
gboolean mh_store_put_message (MhStore *store, const MhStoreMessage *msg,
                               GError **error);

/* Sets *@msg_out to the message with @key, or NULL. */
gboolean mh_store_lookup_key (MhStore *store, const char *key,
                              MhStoreMessage **msg_out, GError **error);

/* Sets *@msg_out to the message whose MhStoreMessage.rowid is @rowid, or
 * NULL. */
gboolean mh_store_lookup_rowid (MhStore *store, gint64 rowid,
                                MhStoreMessage **msg_out, GError **error);

/* Sets *@msg_out to the message whose dir is named @dir, or NULL. */
gboolean mh_store_lookup_dir (MhStore *store, const char *dir,
                              MhStoreMessage **msg_out, GError **error);

/* Sets *@msg_out to a message with X-GM-MSGID @gm_msgid (not 0), or NULL.
 * When several carry it (the same Gmail message stored with different
 * bytes) the one with the smallest key is returned. */
gboolean mh_store_lookup_gm_msgid (MhStore *store, guint64 gm_msgid,
                                   MhStoreMessage **msg_out,
                                   GError **error);

/* Sets *@msgs_out to a GPtrArray of MhStoreMessage (free func set) with
 * every message whose message_id is @message_id, ordered by key; empty
 * when none. */
gboolean mh_store_lookup_message_id (MhStore *store, const char *message_id,
                                     GPtrArray **msgs_out, GError **error);

/* Sets *@msgs_out to a GPtrArray of every MhStoreMessage, ordered by key.
 * This is what the threader reads instead of re-parsing the archive. */
gboolean mh_store_list_messages (MhStore *store, GPtrArray **msgs_out,
                                 GError **error);

/* Calls @func once for every message, ordered by key.  @msg is borrowed
 * for the call only; one row is in memory at a time, so a caller that
 * keeps less than the whole row keeps less than mh_store_list_messages()
 * would.  Stops early when @func returns FALSE (that is no error). */
typedef gboolean (*MhStoreMessageFunc) (const MhStoreMessage *msg,
                                        gpointer user_data);
gboolean mh_store_foreach_message (MhStore *store, MhStoreMessageFunc func,
                                   gpointer user_data, GError **error);

/* Sets *@count_out to the number of messages. */
gboolean mh_store_count_messages (MhStore *store, guint64 *count_out,
                                  GError **error);

/* Records where a message's files are now: @thread_dir (NULL for none)
 * and @dir (NULL keeps the current one).  Fails with MH_ERROR_IO when no
 * message has @key. */
gboolean mh_store_set_message_dirs (MhStore *store, const char *key,
                                    const char *thread_dir, const char *dir,
                                    GError **error);

/* The same for a message just read (@msg->rowid), when only its thread
 * dir changes: the conversation step's update, by row number. */
gboolean mh_store_set_thread_dir (MhStore *store, const MhStoreMessage *msg,
                                  const char *thread_dir, GError **error);

/* Forgets the message recorded with @dir inside @thread_dir (its files
 * are gone), and its locations and attachments with it: the next sync
 * fetches it again.  Sets *@found_out to whether there was one. */
gboolean mh_store_forget_message (MhStore *store, const char *thread_dir,
                                  const char *dir, gboolean *found_out,
                                  GError **error);

/* Sets *@found_out to TRUE when a message is recorded with @dir inside
 * @thread_dir. */
gboolean mh_store_thread_has_dir (MhStore *store, const char *thread_dir,
                                  const char *dir, gboolean *found_out,
                                  GError **error);

/* Locations. */

/* Records that (@mailbox, @uidvalidity, @uid) is the message @key, which
 * must exist (MH_ERROR_IO otherwise); a location already recorded is
 * pointed at @key.  Creates the mailbox row when needed (with
 * @uidvalidity) and raises its highest_uid when @uidvalidity is the
 * recorded one. */
gboolean mh_store_add_location (MhStore *store, const char *key,
                                const char *mailbox, guint32 uidvalidity,
                                guint32 uid, GError **error);

/* Sets *@key_out to the key of the message at (@mailbox, @uidvalidity,
 * @uid), or NULL when that location is not recorded. */
gboolean mh_store_location_key (MhStore *store, const char *mailbox,
                                guint32 uidvalidity, guint32 uid,
                                char **key_out, GError **error);

/* Forgets the locations in (@mailbox, @uidvalidity) above @uid; sets
 * *@keys_out to a GPtrArray of the keys (char*) of the messages that had
 * them, in key order, each once. */
gboolean mh_store_drop_locations_above (MhStore *store, const char *mailbox,
                                        guint32 uidvalidity, guint32 uid,
                                        GPtrArray **keys_out,
                                        GError **error);

/* Sets *@locs_out to a GPtrArray of MhStoreLocation of message @key,
 * ordered by mailbox, uidvalidity, uid; empty when none. */
gboolean mh_store_list_locations (MhStore *store, const char *key,
                                  GPtrArray **locs_out, GError **error);

/* Calls @func once for every message with a location in @mailbox, under
 * any UIDVALIDITY, in key order, with its key, size and Message-ID (NULL
 * when it has none); the strings are borrowed for the call.  Stops early
 * when @func returns FALSE (that is no error). */
typedef gboolean (*MhStoreKeyFunc) (const char *key, guint64 size,
                                    const char *message_id,
                                    gpointer user_data);
gboolean mh_store_foreach_mailbox_key (MhStore *store, const char *mailbox,
                                       MhStoreKeyFunc func,
                                       gpointer user_data, GError **error);

/* Attachments. */

/* Replaces the attachment index of message @key (which must exist) with
 * @atts (MhStoreAttachment, may be NULL or empty), kept in that order.
 * All or nothing: an entry without part or path (MH_ERROR_PARSE) or any
 * failure leaves the previous index in place when no transaction was
 * open; inside the caller's transaction the caller rolls back. */
gboolean mh_store_set_attachments (MhStore *store, const char *key,
                                   GPtrArray *atts, GError **error);

/* Sets *@atts_out to a GPtrArray of MhStoreAttachment of @key in the
 * order they were recorded; empty when none. */
gboolean mh_store_list_attachments (MhStore *store, const char *key,
                                    GPtrArray **atts_out, GError **error);

/* Threads: the directory chosen for each conversation, by root id. */

/* Records that the thread rooted at @root_id lives in @dir. */
gboolean mh_store_set_thread (MhStore *store, const char *root_id,
                              const char *dir, GError **error);

/* Forgets @root_id (a thread merged into another); absent is fine. */
gboolean mh_store_remove_thread (MhStore *store, const char *root_id,
                                 GError **error);

/* Sets *@dir_out to the dir of @root_id, or NULL. */
gboolean mh_store_lookup_thread (MhStore *store, const char *root_id,
                                 char **dir_out, GError **error);

/* Sets *@threads_out to a GHashTable of root id (char*) to dir (char*),
 * both owned by the table. */
gboolean mh_store_list_threads (MhStore *store, GHashTable **threads_out,
                                GError **error);

/* Calls @func with every thread's root id and dir, borrowed for the call,
 * one row in memory at a time; stops when @func returns FALSE.  @func must
 * not change the thread table. */
typedef gboolean (*MhStoreThreadFunc) (const char *root_id, const char *dir,
                                       gpointer user_data);
gboolean mh_store_foreach_thread (MhStore *store, MhStoreThreadFunc func,
                                  gpointer user_data, GError **error);

/* Sets *@count_out to the number of threads. */
gboolean mh_store_count_threads (MhStore *store, guint64 *count_out,
                                 GError **error);

/* The conversation step's record of its last layout (doc/store.txt):
 * each conversation's place in threads.json and index.html, under the
 * signature of the group of messages it was threaded from (32 bytes),
 * so that a later step copies what it would only write again. */
typedef struct {
  guint seq;                  /* its place among its group's */
  char *root_id;
  char *dir;                  /* its thread dir */
  gint64 last_date;
  guint messages;
  guint64 json_off;           /* its entry in threads.json */
  guint64 json_len;
  guint64 html_off;           /* its rows in index.html */
  guint64 html_len;
} MhStoreLayoutConv;

void mh_store_layout_conv_free (MhStoreLayoutConv *conv);

/* The layout's version and the identity of the files the record points
 * into, as mh_store_layout_set_files() left them; both NULL when there
 * is no record. */
gboolean mh_store_layout_get_files (MhStore *store, char **version_out,
                                    char **files_out, GError **error);
gboolean mh_store_layout_set_files (MhStore *store, const char *version,
                                    const char *files, GError **error);

/* The conversations recorded under @sig, in order (an empty array for
 * none); (transfer full) MhStoreLayoutConv*. */
gboolean mh_store_layout_lookup (MhStore *store, const guint8 *sig,
                                 GPtrArray **convs_out, GError **error);

/* Forgets every recorded conversation. */
gboolean mh_store_layout_clear (MhStore *store, GError **error);

gboolean mh_store_layout_put (MhStore *store, const guint8 *sig,
                              const MhStoreLayoutConv *conv, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhStore, mh_store_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhStoreMessage, mh_store_message_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhStoreLocation, mh_store_location_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhStoreAttachment, mh_store_attachment_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhStoreMailbox, mh_store_mailbox_free)

G_END_DECLS
