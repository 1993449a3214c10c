/* message-private.h - shared between message.c and message-parts.c. */
#pragma once

#include "mailharvest/message.h"
#include "mailharvest/autoptr.h"

#include <gmime/gmime.h>

/* At most this many warnings are kept per message; a flood of them from a
 * hostile message says nothing more than the first ones. */
#define MH_MAX_WARNINGS 200
/* A warning's quoted item is cut at this many bytes. */
#define MH_MAX_WARNING_ITEM 120
/* Decoded content is read in pieces of this size. */
#define MH_CHUNK (64 * 1024)
/* winmail.dat larger than this is kept but not unpacked. */
#define MH_MAX_TNEF (64u * 1024u * 1024u)
/* Uuencoded blocks taken out of one text body. */
#define MH_MAX_UUENCODE 64

typedef struct {
  GMimeParserOptions *gopts; /* owned by the top GMimeMessage */
  guint max_depth;
  gsize max_body;
  gint64 fallback_date;
} MhParseCtx;

void mh_message_warn (MhMessage *msg, const char *fmt, ...)
  G_GNUC_PRINTF (2, 3);

/* Fills @msg (headers already done) with bodies and attachments from the
 * tree of @gmsg.  @prefix is the part path of @gmsg inside the outer
 * message ("" for the top).  @depth counts enclosing multiparts and
 * messages. */
void mh_message_collect_parts (MhMessage *msg, GMimeMessage *gmsg,
                               const char *prefix, guint depth,
                               const MhParseCtx *ctx);

/* Builds the MhMessage of an embedded message (message.c). */
MhMessage *mh_message_from_gmime (GMimeMessage *gmsg, const char *prefix,
                                  guint depth, const MhParseCtx *ctx);

void mh_attachment_free (MhAttachment *att);

/* message-stream.c: a read-only stream on @fd from @start to @end (-1:
 * the end of the file), closing @fd when the last stream cut from it goes
 * if @owner. */
GMimeStream *mh_stream_file_new (int fd, gboolean owner, gint64 start,
                                 gint64 end);
/* The same over @bytes (referenced), read with plain copies. */
GMimeStream *mh_stream_bytes_new (GBytes *bytes);

/* message-names.c */

/* A file name extension for @content_type ("pdf"; "bin" when unknown). */
const char *mh_part_extension (const char *content_type);
/* A content type for the extension of @name, "application/octet-stream"
 * when unknown or NULL. */
const char *mh_part_type_for_name (const char *name);
/* Lower-case "type/subtype" of @obj, newly allocated. */
char *mh_part_mime_type (GMimeObject *obj);
/* The file name of @obj as UTF-8 (disposition filename, else Content-Type
 * name; RFC 2231 and RFC 2047 decoded), newly allocated, or NULL. */
char *mh_part_name (GMimeObject *obj, const MhParseCtx *ctx);
/* "attachment", "inline" or NULL, newly allocated. */
char *mh_part_disposition (GMimeObject *obj);
/* Appends @s to @out with %XX escapes decoded. */
void mh_percent_decode (GString *out, const char *s);

/* message-decode.c */

/* Streams the decoded content of the GMimePart @obj to @sink in MH_CHUNK
 * pieces; base64 damage is added to @msg's warnings. */
gboolean mh_part_decode (MhMessage *msg, GMimeObject *obj, const char *path,
                         MhSinkFunc sink, gpointer user_data, GError **error);
/* The first @limit decoded bytes of @obj; @cut_out tells whether there
 * were more.  Read errors become warnings. */
GByteArray *mh_part_read_decoded (MhMessage *msg, GMimeObject *obj,
                                  const char *path, gsize limit,
                                  gboolean *cut_out);
