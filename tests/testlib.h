/* testlib.h - helpers shared by the test programs: environment, sorting,
 * checksums, tree listings, JSON files and work-dir files.
 *
 * All of them assert instead of returning errors: a failure ends the test
 * case.  Strings and nodes returned are (transfer full).
 */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mailharvest/imap-session.h"
#include "mailharvest/import.h"

G_BEGIN_DECLS

/* The value of the environment variable @name; aborts when it is unset
 * (the tests that need tests/dovecot/with-dovecot). */
const char *mh_test_env (const char *name);

/* strcmp for g_ptr_array_sort and qsort of char* arrays. */
int mh_test_cmp_str (gconstpointer a, gconstpointer b);

/* The SHA-256 of the file @path, in lower-case hex. */
char *mh_test_sha256_file (const char *path);

/* Called for every entry of a tree walk with its name (one component)
 * and its lstat() result; it asserts what the caller requires. */
typedef void (*MhTestEntryCheck) (const char *name, const GStatBuf *st);

/* Appends every entry below @dir to @out (a GPtrArray of g_free'd
 * strings), in directory order, as "REL/" for dirs and "REL" for other
 * entries; with @sums files must be regular and are "REL SHA256".  @rel
 * is the prefix of the names ("" at the top); @check may be NULL.
 * Symbolic links are not followed; a tree deeper than 64 levels fails
 * the test. */
void mh_test_tree_entries (const char *dir, const char *rel, gboolean sums,
                           MhTestEntryCheck check, GPtrArray *out);

/* mh_test_tree_entries() of @dir, sorted with mh_test_cmp_str() and
 * joined with @sep; unless @with_store, the entries that contain
 * "state.sqlite" are left out (the store's bytes depend on the order of
 * its writes, not only on its contents). */
char *mh_test_tree_listing (const char *dir, gboolean sums,
                            MhTestEntryCheck check, gboolean with_store,
                            const char *sep);

/* The root of the JSON file @path, which must parse. */
JsonNode *mh_test_load_json (const char *path);

/* Writes @text to DIR/NAME and returns that path. */
char *mh_test_write_file (const char *dir, const char *name,
                          const char *text);
/* DIR/NAME, created with its parents, and returns that path. */
char *mh_test_new_dir (const char *dir, const char *name);

/* The message dirs waiting in @incoming (an account's .incoming), each
 * as STAGE/NAME (its staging dir, then its own name), sorted. */
GPtrArray *mh_test_staged_dirs (const char *incoming);

/* The bytes of tests/data/FIRST/... (a NULL-terminated list of path
 * components below tests/data), which must be readable. */
GBytes *mh_test_data_bytes (const char *first, ...) G_GNUC_NULL_TERMINATED;

/* Imports @corpus (NAME) for every name of the NULL-terminated @names
 * into OUT/local with mh_import(), which must return TRUE; @stats is
 * filled (the caller clears it) and each failure it lists is shown with
 * g_test_message(). */
void mh_test_import (const char *out, char *(*corpus) (const char *name),
                     const char *const *names, MhImportStats *stats);

/* The mailbox named @name in @boxes (a GPtrArray of MhImapMailbox);
 * aborts the test when it is not there. */
const MhImapMailbox *mh_test_find_box (GPtrArray *boxes, const char *name);

/* An MhImapTraceFunc that appends "C: LINE" (sent) or "S: LINE" to the
 * GPtrArray of g_free'd strings @user_data. */
void mh_test_collect_trace (gboolean sent, const char *line,
                            gpointer user_data);
/* TRUE when a line of @trace contains @needle. */
gboolean mh_test_trace_contains (GPtrArray *trace, const char *needle);

/* ---- the test Dovecot (tests/dovecot/with-dovecot) ---- */

/* Gives @path to the mail user (MH_TEST_MAIL_UID:GID); EPERM (not root)
 * is ignored, other failures abort. */
void mh_test_chown_mail (const char *path);
/* A session to the test Dovecot over implicit TLS, logged in as
 * MH_TEST_USER with AUTH AUTO and a 20 s timeout. */
MhImapSession *mh_test_login (void);

/* ---- sanitizer hooks ---- */

/* GLib 2.74 leaks the previous user directories each time
 * G_TEST_OPTION_ISOLATE_DIRS sets them for a new test case (fixed in later
 * GLib); tests/lsan.supp and MH_TEST_LSAN_GLIB_SUPPRESSION name that one
 * leak, so that leaks of our own still fail the test.  The suppression
 * only matches whole stacks, and GLib has no frame pointers, hence the
 * slow unwinder ("fast_unwind_on_malloc=0") in the options; a short
 * "malloc_context_size" keeps tests that allocate a lot fast enough.
 * The sanitizers read these hooks when they are linked in; otherwise the
 * functions are never called.  Use each at most once per program, at file
 * scope, followed by a semicolon. */
#define MH_TEST_ASAN_OPTIONS(opts)                                          \
  const char *__asan_default_options (void);                               \
  const char *__asan_default_options (void) { return (opts); }             \
  const char *__asan_default_options (void)
#define MH_TEST_LSAN_GLIB_SUPPRESSION                                       \
  const char *__lsan_default_suppressions (void);                          \
  const char *__lsan_default_suppressions (void)                           \
  {                                                                         \
    return "leak:g_set_user_dirs\n";                                       \
  }                                                                         \
  const char *__lsan_default_suppressions (void)

G_END_DECLS
