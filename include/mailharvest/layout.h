/* layout.h - the names of thread and message directories.
 *
 * Pure functions of their arguments, so that the same message always lands
 * in the same place:
 *   THREAD  = YYYY-MM-DD_subject-slug_HASH   (HASH: sha256 of the root id)
 *   MESSAGE = YYYYMMDDTHHMMSSZ_HASH          (HASH: the message's sha256)
 * Every result is a safe single path component: valid UTF-8 (NFC), no
 * '/', '.', control, format (bidi) or space characters.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Bytes of a subject slug at most. */
#define MH_LAYOUT_SLUG_MAX 60

/* Hex digits of a hash kept in a directory name. */
#define MH_LAYOUT_HASH_CHARS 10

/* Returns the slug of @subject (transfer full): invalid UTF-8 replaced,
 * reply and forward prefixes ("Re:", "Fwd:", "AW:", "Re[2]:" ...)
 * stripped, NFC-normalised; then ASCII letters and digits lower-cased,
 * other Latin letters transliterated to lower-case ASCII ("Köln" ->
 * "koln"), letters and digits of other scripts kept lower-cased (with the
 * combining marks that follow them: "見積書の送付", "отчёт-за-квартал"),
 * and every run of other characters turned into one '-' between words,
 * never at either end.  At most MH_LAYOUT_SLUG_MAX bytes, cut before a
 * whole character, never inside a UTF-8 sequence; "no-subject" when
 * nothing is left. */
char *mh_layout_slug (const char *subject);

/* Returns "YYYYMMDDTHHMMSSZ_" followed by the first 10 characters of
 * @sha256_hex (the message's key, lower-case hex) (transfer full).  Dates
 * outside years 1970-9999 are written as the epoch. */
char *mh_layout_message_dir (gint64 date, const char *sha256_hex);

/* Returns "YYYY-MM-DD_SLUG_" followed by the first 10 hex characters of the
 * sha256 of @root_id (the thread root's Message-ID or other key)
 * (transfer full). */
char *mh_layout_thread_dir (gint64 date, const char *subject,
                            const char *root_id);

/* Hex digits of a staging dir's name. */
#define MH_LAYOUT_STAGE_CHARS 16

/* Returns the name of the dir a new message's dir waits in until the
 * conversation step places it (transfer full): a guess at its
 * conversation, so that a new conversation whose messages all wait in
 * one dir moves into place as one.  The first MH_LAYOUT_STAGE_CHARS hex
 * characters of the sha256 of the first of: @gm_thrid (Gmail's thread
 * id), the first id of @references (the root, when mailers keep it),
 * the id of @in_reply_to, @message_id (a root's own id), @key.  A wrong
 * guess costs speed, never a misplaced message: the step checks. */
char *mh_layout_stage_dir (const char *gm_thrid, const char *references,
                           const char *in_reply_to, const char *message_id,
                           const char *key);

G_END_DECLS
