/* safename.h - file names derived from what a sender wrote, made safe.
 *
 * A safe name is a single path component: valid UTF-8 in NFC, no '/',
 * '\\', NUL, control characters (C0, DEL, C1) or bidi controls, none of the
 * characters Windows rejects (<>:"|?*), no leading or trailing dots or
 * spaces, no Windows device name (CON, NUL.txt ...), at most
 * MH_SAFENAME_MAX bytes.  Such a name can be passed to openat() below a
 * directory we own without ever leaving it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The longest safe name in bytes; well under NAME_MAX (255) so that a
 * collision suffix " (12345)" and temporary prefixes still fit. */
#define MH_SAFENAME_MAX 200

/* The longest extension (with its dot) kept when a long name is cut. */
#define MH_SAFENAME_MAX_EXT 16

/* Returns a safe name for @name (transfer full, never NULL).  Directory
 * parts (everything up to the last '/' or '\\') are dropped, invalid UTF-8
 * is repaired, unsafe characters are removed or replaced by '_' and a
 * long name is cut at a character boundary keeping its extension.  When
 * nothing usable remains (or @name is NULL) the result is the safe form of
 * @fallback, and "attachment" when that is empty too. */
char *mh_safename (const char *name, const char *fallback);

/* Names already taken in one directory, compared case-insensitively
 * (after case folding and NFC), since archives get copied to
 * case-insensitive file systems. */
typedef struct _MhNameSet MhNameSet;

MhNameSet *mh_name_set_new (void);
void mh_name_set_free (MhNameSet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhNameSet, mh_name_set_free)

/* Returns TRUE when @name is taken in @set (case-insensitively). */
gboolean mh_name_set_contains (MhNameSet *set, const char *name);

/* Claims @safe_name (a result of mh_safename()) in @set and returns it, or,
 * when it is taken, the first free "stem (N).ext" with N = 2, 3, ...,
 * cut so that it stays within MH_SAFENAME_MAX bytes (transfer full). */
char *mh_name_set_claim (MhNameSet *set, const char *safe_name);

G_END_DECLS
