/* charset.h - bytes in a declared (or unknown) charset to clean UTF-8.
 *
 * Pure functions: no GMime, no I/O.  Mail declares charsets that are
 * missing, misspelled, or wrong for the bytes; these functions always
 * return valid UTF-8 and report which charset was actually used.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Largest input mh_charset_to_utf8() converts; longer input is cut at this
 * many bytes (callers cut bodies earlier, at MhParseOptions.max_body). */
#define MH_CHARSET_MAX_INPUT (256u * 1024u * 1024u)

/* Converts @len bytes of @data, declared as @declared (a MIME charset
 * label, or NULL when none was given), to UTF-8.
 *
 * Order of attempts:
 *  1. a multi-byte or 7-bit stateful declared charset (Shift_JIS, GB2312,
 *     ISO-2022-JP, UTF-16, ...), converted strictly, with the usual
 *     supersets substituted (cp932 for shift_jis, GB18030 for gb2312 and
 *     gbk, cp949 for euc-kr, cp950 for big5);
 *  2. valid UTF-8 (a UTF-8 message mislabelled as iso-8859-1 is common);
 *  3. a single-byte declared charset, with windows-1252 for iso-8859-1,
 *     us-ascii and unlabelled text, windows-1254 for iso-8859-9 and so on;
 *  4. windows-1252 as the last resort: it maps every byte (the five bytes
 *     it leaves undefined become the C1 controls, as WHATWG does).
 *
 * NUL characters become U+FFFD so that the result can be used as a C
 * string without losing what follows them.
 *
 * Returns a newly allocated NUL-terminated valid UTF-8 string (never NULL).
 * @used_out (may be NULL) receives the name of the charset used, newly
 * allocated, in lower case ("utf-8", "windows-1252", "gb18030", ...).
 * @lossy_out (may be NULL) is set to TRUE when the declared charset was
 * unknown or did not fit the bytes, so the caller can warn. */
char *mh_charset_to_utf8 (const char *data, gsize len, const char *declared,
                          char **used_out, gboolean *lossy_out);

/* Returns the decoder name used for the MIME label @label (lower case,
 * static string), e.g. "windows-1252" for "ISO-8859-1", "gb18030" for
 * "gb2312", or NULL when @label names no charset that can be converted. */
const char *mh_charset_decoder_for (const char *label);

/* Decodes windows-1252 @data into UTF-8; every byte maps to a character.
 * Returns a newly allocated string; NUL bytes become U+FFFD. */
char *mh_charset_from_cp1252 (const char *data, gsize len);

/* Replaces NUL characters and invalid sequences in @data (UTF-8 that may be
 * damaged) with U+FFFD.  Returns a newly allocated string. */
char *mh_charset_clean_utf8 (const char *data, gsize len);

/* Loads the converters of the common mail charsets once, so that
 * converting one header or body at a time does not load and unload
 * glibc's converter modules over and over.  Called by mh_message_init. */
void mh_charset_preload (void);

G_END_DECLS
