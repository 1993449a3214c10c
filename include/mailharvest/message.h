/* message.h - one raw message parsed with GMime into an MhMessage.
 *
 * The message module reads; it never writes files.  Attachment contents
 * are not copied into memory: mh_attachment_write() streams the decoded
 * bytes from the parsed source file to a caller's sink.
 *
 * Malformed mail is not an error: whatever can be recovered is returned and
 * the problems are listed in MhMessage.warnings.  Only an unreadable file is
 * an error.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MhMessage MhMessage;
typedef struct _MhAttachment MhAttachment;

/* Where the body or attachment came from. */
typedef enum {
  MH_ORIGIN_MIME,      /* a MIME leaf part */
  MH_ORIGIN_UUENCODE,  /* a uuencoded block inside a text part */
  MH_ORIGIN_TNEF,      /* a member of an application/ms-tnef part */
  MH_ORIGIN_MESSAGE,   /* a message/rfc822 part, kept as .eml */
} MhOrigin;

struct _MhAttachment {
  char *part;          /* MIME part path, "2.1"; TNEF members "2.t1",
                        * uuencoded blocks "1.u1" */
  char *filename;      /* the name as the sender meant it, decoded to
                        * UTF-8 (may be hostile!), or NULL */
  char *fallback_name; /* a name from position and type when filename is
                        * NULL ("part-2.1.pdf"), otherwise NULL */
  char *content_type;  /* lower case "type/subtype" */
  char *disposition;   /* "attachment", "inline" or NULL when absent */
  char *content_id;    /* without angle brackets, or NULL */
  gboolean referenced; /* an inline part that the HTML body uses (cid:) */
  MhOrigin origin;
  MhMessage *embedded; /* MH_ORIGIN_MESSAGE: the inner message, parsed
                        * (its own bodies and attachments), or NULL when
                        * the depth limit was reached */
  /* private to message.c */
  gpointer priv_object; /* GMimeObject* (ref), for MIME parts */
  GBytes *priv_data;    /* synthesized content (TNEF, uuencode) */
};

struct _MhMessage {
  /* Identity and threading.  Ids are without angle brackets. */
  char *message_id;        /* or NULL */
  char *in_reply_to;       /* the first id of In-Reply-To, or NULL */
  GPtrArray *references;   /* char*, References in order (never NULL) */
  char *references_raw;    /* unfolded raw header values, or NULL; the */
  char *in_reply_to_raw;   /* threader applies its own rules to them */
  char *thread_index;      /* Thread-Index header (base64), or NULL */
  char *thread_topic;      /* Thread-Topic, decoded, or NULL */
  char *gm_thrid;          /* X-GM-THRID header (Takeout), or NULL */
  char *gm_labels;         /* X-Gmail-Labels header (Takeout), or NULL */

  /* Display. */
  char *subject;           /* RFC 2047 decoded UTF-8, or NULL */
  gint64 date;             /* seconds since the epoch, UTC */
  const char *date_source; /* "header", "received", "internaldate",
                            * "none" (static string) */
  char *from;              /* decoded, "Name <a@b>, ..." or NULL */
  char *to;
  char *cc;
  GPtrArray *participants; /* char*, lower-case addresses of From, To, Cc,
                            * deduplicated, in order (never NULL) */

  /* Bodies, valid UTF-8 without NUL bytes, or NULL. */
  char *text;
  char *html;
  gboolean text_derived;   /* text was derived from html */
  char *text_charset;      /* charset the text was decoded from, or NULL */
  char *html_charset;

  GPtrArray *attachments;  /* MhAttachment* (owned), document order */
  GPtrArray *warnings;     /* char* (owned): parser and decoder warnings */

  /* private to message.c: keeps the parsed tree and the source alive */
  gpointer priv_mime;      /* GMimeMessage* */
  gpointer priv_stream;    /* GMimeStream* */
};

typedef struct {
  gint64 fallback_date;    /* IMAP INTERNALDATE (seconds, UTC), or 0 */
  guint max_depth;         /* nesting limit (multiparts and embedded
                            * messages); 0 for the default, 16 */
  gsize max_body;          /* bytes of one decoded body kept; 0 for the
                            * default, 32 MiB; longer bodies are cut at a
                            * character boundary with a warning */
} MhParseOptions;

/* Parses the message in @path (a file holding exactly one message).  The
 * file is read through a GMime stream, not copied into memory; it must
 * stay unchanged while the MhMessage lives.  @options may be NULL.
 * Returns NULL only when the file cannot be opened or read. */
MhMessage *mh_message_parse_file (const char *path,
                                  const MhParseOptions *options,
                                  GError **error);

/* Same, for @length bytes starting at @offset of the open file @fd (for
 * mbox members).  @fd is not closed and must stay open while the
 * MhMessage lives; @length -1 means to the end of the file. */
MhMessage *mh_message_parse_fd (int fd, gint64 offset, gint64 length,
                                const MhParseOptions *options,
                                GError **error);

/* Same, for a message in memory (referenced while the MhMessage
 * lives). */
MhMessage *mh_message_parse_bytes (GBytes *bytes,
                                   const MhParseOptions *options);

/* The time in @text, a date as mail writes it (RFC 5322, or the asctime
 * form of an mbox "From " line, with or without a zone), in seconds
 * since the epoch, UTC; 0 when it holds none.  A date without a zone is
 * taken as UTC. */
gint64 mh_message_parse_date (const char *text);

void mh_message_free (MhMessage *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhMessage, mh_message_free)

/* Called with consecutive pieces of decoded content; return FALSE with
 * @error set to stop. */
typedef gboolean (*MhSinkFunc) (const guint8 *data, gsize len,
                                gpointer user_data, GError **error);

/* Streams the decoded content of @att to @sink: for a MIME part its
 * transfer encoding undone (a damaged base64 or quoted-printable body
 * yields what can be decoded), for MH_ORIGIN_MESSAGE the inner message's
 * bytes, for TNEF and uuencode members their data.  Decoding problems are
 * added to @msg's warnings (so pass the message that owns @att, or the
 * embedded message that does). */
gboolean mh_attachment_write (MhMessage *msg, const MhAttachment *att,
                              MhSinkFunc sink, gpointer user_data,
                              GError **error);

/* Must be called once before any parse (calls g_mime_init). */
void mh_message_init (void);

G_END_DECLS
