/* run-harness.h - helpers for the tests that run the mailharvest binary
 * against the test Dovecot (test-run.c, test-cli.c).
 *
 * They need the environment of tests/dovecot/with-dovecot (MH_TEST_*)
 * and MH_BINARY; a missing variable ends the test with a message.  All of
 * them assert instead of returning errors.  Strings returned are
 * (transfer full).
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "testlib.h"

G_BEGIN_DECLS

/* ---- Maildirs ---- */

/* The Maildir roots of alice and bob. */
const char *mh_test_alice_dir (void);
const char *mh_test_bob_dir (void);
/* MAILDIR/FOLDER, created with cur, new and tmp and owned by the mail
 * user.  @folder is the on-disk name ("Sent", "[Gmail]/All Mail", modified
 * UTF-7 for other names); NULL is INBOX. */
char *mh_test_folder_dir (const char *root, const char *folder);
/* Delivers @text into FOLDER: into new/ when @flags is NULL, else into
 * cur/ with ":2,FLAGS".  Names start with a time stamp that grows with
 * every call, so that Dovecot gives UIDs in delivery order. */
void mh_test_deliver (const char *root, const char *folder,
                      const char *text, const char *flags);
/* Calls @fn for every file in a cur/ or new/ dir below @dir. */
void mh_test_walk_mail (const char *dir, guint depth,
                        void (*fn) (const char *dir, const char *name,
                                    gpointer data),
                        gpointer data);
/* Removes every message of both users; Dovecot sees them expunged. */
void mh_test_mail_reset (void);
/* Every message file of both users as "USER:NAME FLAGS" lines, sorted;
 * new/NAME and cur/NAME:2, both have no flags. */
char *mh_test_server_flags (void);

/* A message from @from with Message-ID <@id@test.example>; @refs is a
 * space separated list of ids (the last is In-Reply-To) or NULL; the
 * Date is 2024-02-28 08:00 UTC plus @hour hours; @pad bytes of body
 * text; @attach adds a small base64 attachment. */
char *mh_test_mail_text (const char *id, const char *refs,
                         const char *subject, guint hour, const char *from,
                         gsize pad, gboolean attach);
/* Delivers mh_test_mail_text() from Bob without padding; ids whose
 * length is a multiple of 3 get an attachment. */
void mh_test_put (const char *root, const char *folder, const char *id,
                  const char *refs, const char *subject, guint hour,
                  const char *flags);

/* ---- running the binary ---- */

typedef struct {
  int status;        /* exit status, or -1 when killed by a signal */
  int signal;        /* the signal, or 0 */
  char *out;
  char *err;
} MhTestRun;

void mh_test_run_clear (MhTestRun *r);
/* Runs $MH_BINARY with @args (NULL-terminated) and waits.  @kill_at
 * (or NULL) becomes MH_DEBUG_KILL_AT.  The child's environment holds the
 * passwords in MH_T_PW_ALICE and MH_T_PW_BOB, and a wrong one in
 * MH_T_PW_WRONG (MH_TEST_WRONG_PASSWORD). */
void mh_test_run (MhTestRun *r, const char *kill_at,
                  const char *const *args);
/* The same, and asserts the exit status @want (stderr is shown if not). */
void mh_test_run_expect (MhTestRun *r, int want, const char *kill_at,
                         const char *const *args);

#define MH_TEST_WRONG_PASSWORD "wrong-Canary-7731"

/* Asserts that a whole line of @r's stderr matches @pattern (a GRegex,
 * anchored at both ends); stderr is shown if not. */
void mh_test_assert_err_line (const MhTestRun *r, const char *pattern);

/* ---- archives ---- */

/* Every path below @dir, sorted, one a line: "PATH/" for dirs, "PATH
 * SIZE SHA256" for files, with " SECS.NSECS" of the mtime when @mtimes.
 * OUTPUT/ACCOUNT/state.sqlite is left out. */
char *mh_test_listing_full (const char *dir, gboolean mtimes);
char *mh_test_listing (const char *dir);
/* Asserts that two listings are equal, naming the lines that differ. */
void mh_test_assert_same_listing (const char *got, const char *want);
/* No work files are left below @dir: .tmp and .incoming are empty, no
 * ".tmp-" name anywhere, no SQLite journal. */
void mh_test_assert_clean (const char *dir);
/* The Message-IDs in ACCOUNT_DIR/threads.json without their "@domain",
 * sorted, joined with ' '.  Asserts that none is there twice and that
 * each has its message dir with a message.json. */
char *mh_test_archive_ids (const char *acct_dir);
/* The array of ACCOUNT_DIR/threads.json, owned by @parser. */
JsonArray *mh_test_load_threads (JsonParser *parser, const char *acct_dir);
/* The thread dirs below ACCOUNT_DIR/threads, and those threads.json
 * names, each sorted and joined with ' '. */
char *mh_test_thread_dirs_on_disk (const char *acct_dir);
char *mh_test_thread_dirs_listed (const char *acct_dir);
/* The thread dir that holds message @id (without "@domain"), or NULL. */
char *mh_test_thread_dir_of (const char *acct_dir, const char *id);

/* ---- the --json summary ---- */

gint64 mh_test_summary_int (const char *json, const char *account,
                            const char *key);
/* The account's synced mailboxes joined with '|'. */
char *mh_test_summary_mailboxes (const char *json, const char *account);

/* ---- files ---- */

void mh_test_rm_rf (const char *path, guint depth);
/* A fresh temporary dir from the template @tmpl ("NAME-XXXXXX"), and its
 * removal with everything in it, which also frees and NULLs *@dir. */
char *mh_test_work_dir_new (const char *tmpl);
void mh_test_work_dir_clear (char **dir);
/* Copies the tree @from to the absent path @to (cp -a). */
void mh_test_copy_tree (const char *from, const char *to);

/* The parsed message.json of message @id (without "@domain") in
 * ACCOUNT_DIR, found through threads.json (transfer full). */
JsonNode *mh_test_message_json (const char *acct_dir, const char *id);
gint64 mh_test_member_int (JsonNode *node, const char *name);
/* The "mailboxes" of a message.json as "MAILBOX UIDVALIDITY UID" joined
 * with '|'. */
char *mh_test_locations_of (JsonNode *node);
/* mh_test_listing() with message.json lines cut to their path: what must
 * not change when only locations change. */
char *mh_test_listing_without_manifests (const char *dir);

G_END_DECLS
