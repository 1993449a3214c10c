/* archive-finish-private.h - what archive-finish.c (the conversation
 * step) and archive-reuse.c (its record of the last layout) share.  Not
 * installed. */
#pragma once

#include "archive-private.h"

#define SIG_LEN 32

/* One conversation laid out: what threads.json and index.html need to
 * list it in order, and to record where it went. */
typedef struct {
  gint64 last_date;
  char *root_id;
  char *tdir;
  MhConvSpan *span;           /* its texts: in the spool, filled by the
                               * mover for a conversation laid out now;
                               * in the last layout's files for one
                               * reused */
  gboolean reused;
  guint8 sig[SIG_LEN];        /* its group's signature */
  guint seq;                  /* its place among the group's */
  guint n_messages;
  guint64 json_at;            /* where write_lists() put its texts */
  guint64 html_at;
} Conv;

/* What a group's signature covers of each message, in 64 bits: the
 * leading bits of its key (the SHA-256 of its bytes) mixed with its
 * date; the lowest bit, which the signature leaves out, says whether
 * the last layout placed it (MSG_SIG_PLACED). */
typedef guint64 MsgSig;
#define MSG_SIG_PLACED G_GUINT64_CONSTANT (1)

/* The conversation step works group by group (mh_thread_split_new()):
 * only one group's rows and forest are in memory at a time, and per
 * message the whole account keeps a row id and a group number. */
typedef struct {
  MhArchive *a;
  MhThreadOptions topts;
  /* the group being laid out */
  MhThreadForest *forest;
  GHashTable *rows;           /* key -> MhStoreMessage*, owned */
  /* the whole account */
  GArray *convs;              /* Conv, in the order laid out */
  GHashTable *wanted;         /* thread dirs in use (borrowed from convs) */
  guint n_messages;
  MhArchiveOut spool;         /* the conversations' texts, until sorted */
  MhArchiveOut json;          /* threads.json */
  MhArchiveOut html;          /* index.html */
  MhMover *mover;             /* the new conversations' moves */
  GHashTable *staged;         /* staging dir -> its recorded messages */
  MhArchiveFinishStats *stats;
  /* the last layout: a group whose messages it placed, all of them, and
   * whose signature it recorded, is copied from its files */
  char *version;              /* the layout version and options */
  int old_json_fd;            /* its threads.json, or -1: nothing reused */
  int old_html_fd;            /* its index.html */
  guint64 old_size[2];        /* of each */
  guint8 sig[SIG_LEN];        /* the group being laid out */
  guint seq;                  /* its conversations so far */
} Finish;

/* archive-reuse.c */

/* The signature of the group of the messages @sigs[@idx[0..@n)]. */
void mh_finish_group_sig (const Finish *f, const MsgSig *sigs,
                          const guint *idx, guint n, guint8 *sig_out);
/* Takes the group's conversations (f->sig) from the last layout when its
 * record has them and every message of the group was placed: sets
 * *@done. */
gboolean mh_finish_reuse_group (Finish *f, const MsgSig *sigs,
                                const guint *idx, guint n, gboolean *done,
                                GError **error);
/* Opens the last layout's files when the record matches them. */
gboolean mh_finish_open_last_layout (Finish *f, GError **error);
/* Replaces the record with this step's layout. */
gboolean mh_finish_record_layout (Finish *f, GError **error);
