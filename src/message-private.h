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
