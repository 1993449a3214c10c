/* msgid.h - Message-ID, References and In-Reply-To values, base subjects
 * and Outlook Thread-Index values, as the threader needs them.
 *
 * Pure string functions: no GMime, no I/O, no logging.  Every function
 * accepts any bytes (NULL, invalid UTF-8, hostile nesting) and never fails
 * in a way other than returning NULL / an empty result.  doc/threading.txt
 * explains the rules.
 *
 * An "id" here is the text between the angle brackets with every
 * whitespace character removed.  It is valid when it has a non-empty local
 * part and a non-empty domain around its last '@', is at most
 * MH_MSGID_MAX_LEN bytes and holds no control character, '<' or '>'.
 * Something without an '@' (such as "<yes>", typed at git send-email's
 * prompt) is never an id and never links two messages.
 *
 * The "key" of an id is its comparison form: local part exactly as
 * written, '@', domain in lower case.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MH_MSGID_MAX_LEN 998       /* bytes of one id (RFC 5322 line) */
#define MH_MSGID_MAX_INPUT 65536   /* bytes of a header value looked at */
#define MH_MSGID_MAX_IDS 256       /* ids kept from one References */
#define MH_MSGID_MAX_SUBJECT 4096  /* bytes of a subject looked at */
#define MH_MSGID_THREAD_INDEX_HEADER 22
#define MH_MSGID_THREAD_INDEX_BLOCK 5
#define MH_MSGID_THREAD_INDEX_MAX_BLOCKS 255

/* Returns the key of @id (as defined above), or NULL when @id is not a
 * valid id.  @id may carry surrounding angle brackets and whitespace.
 * (transfer full) */
char *mh_msgid_normalize (const char *id);

/* Returns TRUE when @id (without brackets) is a valid id. */
gboolean mh_msgid_is_valid (const char *id);

/* Parses a Message-ID header value: the first valid id, as written
 * (brackets and whitespace removed, case kept), or NULL.
 * (transfer full) */
char *mh_msgid_parse_message_id (const char *value);

/* The key (mh_msgid_normalize()) of the id in the first Message-ID
 * field of a raw header block of @len bytes (as BODY[HEADER] gives it:
 * fields, folded lines, up to the first empty line), or NULL when there
 * is none.  (transfer full) */
char *mh_msgid_from_header_block (const char *block, gsize len);

/* Parses a References (or any list-of-ids) header value.  Comments
 * (nested), quoted strings, commas and words without an '@' are skipped;
 * ids may be folded across lines and may lack angle brackets when they
 * stand alone.  Returns the valid ids in order, as written, duplicates
 * kept.  When there are more than MH_MSGID_MAX_IDS, the first and the
 * last MH_MSGID_MAX_IDS - 1 are kept (the same trimming RFC 5322 3.6.4
 * suggests to mailers).  Never NULL.
 * (transfer full: char* elements, owned by the array) */
GPtrArray *mh_msgid_parse_references (const char *value);

/* Parses an In-Reply-To header value, which mailers fill with prose and
 * addresses as well as ids.  Returns the first candidate that is an id
 * and not an address, or NULL.  @addresses (NULL-terminated, may be NULL)
 * are addresses known to be no ids, typically the message's participants;
 * they compare case-insensitively.  A bracketed candidate is taken for an
 * address when it equals one of @addresses, follows "from" or "by", is
 * followed by a possessive "'s", or follows a display-name-like word or a
 * quoted name without digits unless it looks generated (four or more
 * digits, one of "=$%#", or a local part of 30 bytes or more).  Bare candidates (without brackets) are
 * looked at only when no bracketed candidate is an id.
 * (transfer full) */
char *mh_msgid_parse_in_reply_to (const char *value,
                                  const char *const *addresses);

/* Returns the base subject of @subject (already RFC 2047 decoded):
 * reply and forward prefixes ("Re:", "AW:", "Fwd:", "Re[2]:", "回复：",
 * ...), "[list]" tags before and between them and a trailing "(fwd)"
 * removed, whitespace collapsed, case-folded and NFKC-normalised, so that
 * two base subjects compare with strcmp().  Invalid UTF-8 is repaired
 * first; only the first MH_MSGID_MAX_SUBJECT bytes are looked at.  A tag
 * is kept when nothing would remain without it.  Sets *@is_reply_out (may
 * be NULL) to TRUE when a reply or forward marker was removed.  Never
 * NULL; "" for a NULL or empty subject.
 * (transfer full) */
char *mh_msgid_subject_base (const char *subject, gboolean *is_reply_out);

/* Returns TRUE when @base (a result of mh_msgid_subject_base()) says
 * nothing about a conversation: empty, fewer than three letters or
 * digits, or a stock subject such as "hello", "invoice", "question",
 * "meeting" or "no subject".  Such subjects never join threads in the
 * guarded subject fallback. */
gboolean mh_msgid_subject_is_generic (const char *base);

/* Decodes an Outlook Thread-Index header value (base64).  Returns the
 * bytes when they have the valid shape: a 22-byte header followed by zero
 * to MH_MSGID_THREAD_INDEX_MAX_BLOCKS 5-byte child blocks; otherwise
 * NULL.  Whitespace is ignored; any other non-base64 character makes the
 * value invalid.
 * (transfer full) */
GBytes *mh_msgid_thread_index_decode (const char *value);

/* Returns the number of child blocks of a decoded Thread-Index. */
guint mh_msgid_thread_index_depth (GBytes *index);

/* Returns TRUE when @parent is a proper prefix of @child: the same 22-byte
 * header and the first blocks of @child, with fewer blocks.  Both must be
 * results of mh_msgid_thread_index_decode(). */
gboolean mh_msgid_thread_index_is_ancestor (GBytes *parent, GBytes *child);

G_END_DECLS
