/* tnef.h - the attachments inside an application/ms-tnef part.
 *
 * Outlook wraps attachments into winmail.dat (TNEF).  This is a small,
 * bounds-checked reader of the TNEF attribute stream: it returns the
 * attached files with their names, and ignores the rest (the RTF body,
 * appointment properties).  Pure: bytes in, members out.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* More members than this in one winmail.dat are not read. */
#define MH_TNEF_MAX_MEMBERS 1024

typedef struct {
  char *name;         /* UTF-8: the long file name (MAPI
                       * PR_ATTACH_LONG_FILENAME) when present, else the
                       * title (attAttachTitle), else NULL */
  char *content_type; /* PR_ATTACH_MIME_TAG lower-cased, or NULL */
  GBytes *data;       /* the file contents (never NULL, may be empty) */
} MhTnefMember;

void mh_tnef_member_free (MhTnefMember *member);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhTnefMember, mh_tnef_member_free)

/* Reads the TNEF stream @data of @len bytes.  Returns an array of
 * MhTnefMember* (owned, in stream order; possibly empty), or NULL with
 * @error set (MH_ERROR_PARSE) when @data does not start with the TNEF
 * signature.  Damage after the signature (a truncated attribute, a bad
 * checksum, an unreadable property list) is not an error: what was read
 * is returned and a sentence for each problem is appended to @warnings
 * (char*, may be NULL). */
GPtrArray *mh_tnef_parse (const guint8 *data, gsize len,
                          GPtrArray *warnings, GError **error);

G_END_DECLS
