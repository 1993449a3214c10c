/* source-local.h - local mail (mbox, Maildir, .eml files) as raw messages.
 *
 * mh_local_scan() turns the paths a user gives into mailboxes:
 *   - a file starting with "From " is an mbox, named after the file
 *     without its ".mbox"/".mbx" extension;
 *   - any other file given explicitly is one message (.eml);
 *   - a directory with cur/ and new/ is a Maildir; its Maildir++
 *     subfolders ".Sent", ".Work.Project" become "Sent", "Work/Project",
 *     and the root of such a hierarchy is "INBOX";
 *   - any other directory is walked: the Maildirs and mbox files in it,
 *     and each folder holding *.eml files, become mailboxes named by their
 *     path relative to it ("mail/Inbox/X.eml" -> "Inbox").  Symbolic links
 *     are not followed.  Files at the top of the walked directory, and a
 *     directory given itself, are named after the directory's base name.
 *
 * A local UID is a position: a message's ordinal (from 1) in its
 * mailbox, by file name for Maildir (ignoring the ":2,flags" info, which
 * changes) and .eml folders, by position for mbox.  The uidvalidity is a
 * 32-bit hash of the mailbox's absolute path: importing the same files
 * again gives the same (mailbox, uidvalidity, uid); moving them gives a
 * new uidvalidity, as a rebuilt IMAP server would.  Unlike an IMAP UID,
 * a position names another message once one before it is deleted or the
 * file is written again: import.c checks the bytes.  A file named on the
 * command line is a position space of its own (uid 1, the uidvalidity
 * hashed from its path), so that importing the files of a folder one at
 * a time gives each a location that stays.
 *
 * mbox files are read as mboxrd: a "From " line preceded by an empty line
 * (or first in the file) starts a message, the empty line before it is
 * the separator's, and one '>' is removed from every ">From ", ">>From "
 * ... line.  mboxo writers escape only "From " lines, so the two formats
 * differ on lines that originally began with ">From "; no reader can tell
 * them apart, and Takeout and most current writers use mboxrd.  A body
 * line "From " without an empty line before it (a sloppy mboxo writer)
 * is kept as content.  The file is read in bounded pieces; a message is
 * kept in memory up to MH_LOCAL_IN_MEMORY bytes and a bigger one streamed
 * to a temporary file, so memory does not grow with its size.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  MH_LOCAL_MBOX,
  MH_LOCAL_MAILDIR,
  MH_LOCAL_EML,        /* .eml files: one folder's, or given explicitly */
} MhLocalKind;

typedef struct {
  char *name;          /* mailbox name, '/'-separated */
  MhLocalKind kind;
  char *path;          /* the mbox file, Maildir or folder */
  guint32 uidvalidity;
  GPtrArray *files;    /* MH_LOCAL_EML: char* paths in UID order */
  gboolean named;      /* MH_LOCAL_EML: files named on the command line,
                        * each its own position space */
} MhLocalMailbox;

void mh_local_mailbox_free (MhLocalMailbox *mailbox);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhLocalMailbox, mh_local_mailbox_free)

/* The largest mbox member handed over in memory (MhLocalMessage.bytes)
 * rather than in a temporary file. */
#define MH_LOCAL_IN_MEMORY (256 * 1024)

/* One raw message, valid during the callback only. */
typedef struct {
  const MhLocalMailbox *mailbox;
  guint32 uidvalidity;     /* the mailbox's, or a named file's own */
  guint32 uid;
  GBytes *bytes;           /* the message, when it is in memory (an mbox
                            * member of up to MH_LOCAL_IN_MEMORY bytes);
                            * the callback may keep a reference.  Then
                            * @path is NULL.  Otherwise: */
  const char *path;        /* a file holding exactly this message */
  gboolean is_temp;        /* @path is a temporary file the callback may
                            * move away (it is removed afterwards if still
                            * there); otherwise it is the user's file and
                            * must not be changed */
  const char *const *flags;/* IMAP flags from Maildir info, NULL-terminated
                            * ("\\Seen", ...), or NULL */
  const char *envelope_date; /* mbox: the date of the "From " line that
                              * began this message (the line's text after
                              * the sender), or NULL */
  gint64 delivered;        /* Maildir: the time (seconds, UTC) a file's
                            * unique name begins with, as delivery agents
                            * write it ("1700000000.M1P2.host"), or 0.
                            * Unlike the file time, copies keep it. */
  guint64 done, total;     /* how far through the mailbox this message
                            * ends, for a progress display: bytes of an
                            * mbox read and its size, otherwise messages
                            * (this one included) and their count */
} MhLocalMessage;

/* Handles one message; returning FALSE with @error set stops the
 * iteration with that error. */
typedef gboolean (*MhLocalFunc) (const MhLocalMessage *message,
                                 gpointer user_data, GError **error);

/* Finds the mailboxes in @paths (see above).  Returns an array of
 * MhLocalMailbox (transfer full, may be empty), or NULL with @error set
 * when a path cannot be read.  Walking stops at depth 32. */
GPtrArray *mh_local_scan (const char *const *paths, GError **error);

/* Calls @func for every message of @mailbox in UID order.  mbox messages
 * are written to temporary files in @tmp_dir (which must exist; put it on
 * the output's file system so that they can be renamed into place).
 * Returns FALSE with @error set when the mailbox cannot be read or @func
 * failed. */
gboolean mh_local_mailbox_foreach (const MhLocalMailbox *mailbox,
                                   const char *tmp_dir, MhLocalFunc func,
                                   gpointer user_data, GError **error);

G_END_DECLS
