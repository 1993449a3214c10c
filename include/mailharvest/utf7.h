/* utf7.h - modified UTF-7 mailbox names (RFC 3501 section 5.1.3).
 *
 * IMAP servers without UTF8=ACCEPT send mailbox names in modified UTF-7:
 * printable US-ASCII stands for itself ("&" is written "&-"), everything
 * else is UTF-16 in a variant of base64 ("," for "/", no padding) between
 * "&" and "-".  Names are bounded by the IMAP line limit, so no further
 * limit applies here.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Decodes @mutf7 (NUL-terminated) to UTF-8.  Returns a new string
 * (transfer full), or NULL with an MH_ERROR_PARSE error when the name is
 * not valid modified UTF-7: a byte outside printable US-ASCII, an "&"
 * sequence that is unterminated, empty ("&" then "-" is "&") or holds a
 * character outside base64, leftover bits that are not zero or make a
 * whole base64 character, an unpaired UTF-16 surrogate, a NUL character,
 * printable US-ASCII that should have been written directly, or two "&"
 * sequences in a row ("&AOQ-&AOQ-": one run must hold them; Dovecot
 * refuses such names too).  So every name this accepts is the one
 * mh_utf7_encode() gives for its decoding.  The
 * caller then shows the name as it came, so nothing is half-decoded. */
char *mh_utf7_decode (const char *mutf7, GError **error);

/* Encodes @utf8 (NUL-terminated, valid UTF-8) to modified UTF-7.
 * Returns a new string (transfer full), or NULL if @utf8 is not valid
 * UTF-8. */
char *mh_utf7_encode (const char *utf8);

G_END_DECLS
