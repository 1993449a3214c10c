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

G_END_DECLS
