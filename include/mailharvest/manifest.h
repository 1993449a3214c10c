/* manifest.h - message.json: what a message dir holds, as JSON.
 *
 * Keys come in one fixed order and hold nothing about the run that wrote
 * them (no timestamps, no absolute paths), so the same message and the
 * same metadata always give the same bytes.  64-bit Gmail ids are strings
 * because JSON readers often keep numbers as doubles.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "mailharvest/message.h"

G_BEGIN_DECLS

/* One place the message was found. */
typedef struct {
  const char *mailbox;
  guint32 uidvalidity;
  guint32 uid;
} MhLocation;

/* What the source knows about a message besides its bytes.  Everything is
 * borrowed and may be 0/NULL when unknown. */
typedef struct {
  const char *account;
  const MhLocation *locations; /* the first is the primary one */
  guint n_locations;
  guint64 gmail_msgid;         /* X-GM-MSGID, 0 when unknown */
  guint64 gmail_thrid;         /* X-GM-THRID, 0 when unknown (then the
                                * message's X-GM-THRID header is used) */
  const char *const *gmail_labels; /* NULL-terminated, or NULL (then the
                                * X-Gmail-Labels header is used) */
  const char *const *flags;    /* IMAP flags, NULL-terminated, or NULL */
  gint64 internaldate;         /* seconds since the epoch, 0 when unknown */
  const char *raw_sha256;      /* the raw file's SHA-256 (hex) when the
                                * caller computed it already, else NULL:
                                * the writer then reads the file for it */
} MhWriteMeta;

/* An attachment as written: where it went and what it holds. */
typedef struct {
  char *path;          /* relative to the message dir:
                        * "attachments/NAME" */
  char *filename;      /* as the sender meant it, or NULL */
  char *content_type;
  char *part;
  guint64 size;        /* decoded bytes written */
  char *sha256;        /* lower-case hex of those bytes */
  char *text_path;     /* MH_ORIGIN_MESSAGE: the embedded message's */
  char *html_path;     /* bodies ("attachments/NAME/body.txt"), or NULL */
  const MhAttachment *source; /* borrowed, valid while the MhMessage
                               * that was written lives */
} MhWrittenAttachment;

void mh_written_attachment_free (MhWrittenAttachment *att);

/* The manifest of @msg as text (transfer full), with its length in
 * *@length_out.  @written maps each MhAttachment* of @msg and of its
 * embedded messages to its MhWrittenAttachment*; attachments missing from
 * it are listed with a null path.  @text_path and @html_path are
 * "body.txt"/"body.html" or NULL; @sha256 and @size describe
 * message.eml. */
char *mh_manifest_build (const MhMessage *msg, const MhWriteMeta *meta,
                         const char *sha256, guint64 size,
                         const char *text_path, const char *html_path,
                         GHashTable *written, gsize *length_out);

/* Returns a copy of the manifest @root with the location fields (account,
 * mailbox, uid, uidvalidity, mailboxes, flags, internaldate, and gmail
 * when @meta knows any of it) taken from @meta, in the canonical key
 * order (transfer full), or NULL when @root is not a manifest object. */
JsonNode *mh_manifest_set_locations (JsonNode *root,
                                     const MhWriteMeta *meta);

/* @root as the archive writes JSON (json-out.h), with a final newline
 * (transfer full). */
char *mh_manifest_to_data (JsonNode *root, gsize *length_out);

/* @date (seconds since the epoch) as "YYYY-MM-DDTHH:MM:SSZ", or NULL when
 * it is out of range.  (transfer full) */
char *mh_manifest_format_date (gint64 date);

G_END_DECLS
