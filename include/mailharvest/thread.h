/* thread.h - the threader: a pure function from messages to a forest of
 * conversations.
 *
 * The threader sees strings and numbers only: no GMime, no files, no I/O.
 * It links messages by References and In-Reply-To (JWZ's algorithm, the
 * one RFC 5256 REFERENCES standardises), then joins messages that have no
 * usable link by Outlook's Thread-Index, Gmail's thread id and, guarded,
 * by subject.  doc/threading.txt gives the rules and the reasons.
 *
 * The result depends only on the set of inputs, never on their order:
 * the same forest, root ids and ordering for every permutation (the only
 * exception is MhThreadNode.input_index, which points back into the
 * caller's array).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MH_THREAD_MAX_MESSAGES 10000000 /* inputs accepted by one build */
#define MH_THREAD_MAX_DEPTH 4096        /* the loop check follows at most
                                         * this many parent links; a link
                                         * it cannot clear is dropped */
#define MH_THREAD_DEFAULT_WINDOW 30     /* days */
#define MH_THREAD_MAX_WINDOW 3650       /* days */

/* One message, as the caller stored it.  Strings are borrowed for the
 * duration of mh_thread_build() only; any may be NULL except key. */
typedef struct {
  const char *key;          /* unique per stored message, not NULL */
  const char *message_id;   /* raw Message-ID header value */
  const char *references;   /* raw References header value */
  const char *in_reply_to;  /* raw In-Reply-To header value */
  const char *subject;      /* RFC 2047 decoded */
  gint64 date;              /* seconds since the epoch, UTC */
  const char *thread_index; /* raw Thread-Index (base64) */
  const char *gm_thrid;     /* Gmail thread id (X-GM-THRID) */
  const char *const *participants; /* NULL-terminated lower-case
                                    * addresses, sender first */
  const char *mailbox;      /* mailbox name; not used for threading:
                             * messages of all mailboxes thread together,
                             * which is how Inbox and Sent Items meet */
} MhThreadInput;

typedef enum {
  MH_THREAD_SUBJECT_GUARDED, /* join linkless replies by subject, only
                              * with a shared participant, within the
                              * window, never by a generic subject */
  MH_THREAD_SUBJECT_OFF,     /* never join by subject */
  MH_THREAD_SUBJECT_RFC5256, /* RFC 5256 REFERENCES: merge every tree
                              * with the same base subject (Dovecot) */
} MhThreadSubjectMode;

typedef struct {
  MhThreadSubjectMode subject_mode;
  guint window_days;        /* 0: MH_THREAD_DEFAULT_WINDOW; capped at
                             * MH_THREAD_MAX_WINDOW */
} MhThreadOptions;

/* How a node came under its parent. */
typedef enum {
  MH_THREAD_LINK_ROOT,         /* no parent */
  MH_THREAD_LINK_REFERENCES,   /* its own References / In-Reply-To */
  MH_THREAD_LINK_CHAIN,        /* another message's References chain */
  MH_THREAD_LINK_THREAD_INDEX, /* Outlook Thread-Index prefix */
  MH_THREAD_LINK_GMAIL,        /* same Gmail thread id */
  MH_THREAD_LINK_SUBJECT,      /* guarded or RFC 5256 subject join */
} MhThreadLink;

typedef struct _MhThreadNode MhThreadNode;

/* A node of the forest: a real message (key != NULL) or a placeholder
 * for a message that is referenced but absent (key == NULL; id is its
 * Message-ID, or NULL for the grouping node RFC 5256 mode creates). */
struct _MhThreadNode {
  char *key;                /* the input key, or NULL for a placeholder */
  char *id;                 /* the normalised Message-ID (local@domain
                             * in lower case), or NULL */
  gint64 date;              /* the message's date; for a placeholder the
                             * earliest date below it */
  MhThreadNode *parent;     /* NULL for a root and for a duplicate */
  GPtrArray *children;      /* MhThreadNode*, not owned, never NULL,
                             * sorted by date, then key; a placeholder
                             * (dated by its earliest child) sorts before
                             * a message of the same date, then by id;
                             * duplicates not included */
  MhThreadNode *duplicate_of; /* a second copy of the same message (same
                             * id, date and sender): the copy it repeats;
                             * such a copy appears in no children array
                             * and shares the tree of its original */
  guint tree;               /* index of its tree in the forest */
  guint depth;              /* 0 for a root */
  MhThreadLink link;
  gsize input_index;        /* index into the input array; G_MAXSIZE for
                             * a placeholder */
};

typedef struct {
  char *root_id;            /* stable name of the conversation: the id of
                             * the oldest ancestor known through the
                             * References chains, before placeholders are
                             * pruned ("key:" + key for a root without a
                             * usable Message-ID) */
  MhThreadNode *root;       /* the root node after pruning */
  char *subject;            /* subject of the oldest real message, as
                             * given (not normalised), or NULL */
  gint64 first_date;        /* earliest and latest real message */
  gint64 last_date;
  guint message_count;      /* real messages, duplicates not counted */
} MhThreadTree;

typedef struct _MhThreadForest MhThreadForest;

/* Sets @options to the defaults: guarded subject joining, 30 days. */
void mh_thread_options_init (MhThreadOptions *options);

/* Threads @n_inputs messages (@inputs may be NULL when @n_inputs is 0).
 * @options may be NULL for the defaults.
 * Fails with MH_ERROR_PARSE when a key is NULL or appears twice, and with
 * MH_ERROR_LIMIT above MH_THREAD_MAX_MESSAGES inputs; bad header values
 * are never an error.  Every input becomes exactly one real node in
 * exactly one tree.  Work is close to linear in the number of ids; each
 * loop check is bounded by MH_THREAD_MAX_DEPTH steps.
 * (transfer full) */
MhThreadForest *mh_thread_build (const MhThreadInput *inputs,
                                 gsize n_inputs,
                                 const MhThreadOptions *options,
                                 GError **error);

void mh_thread_forest_free (MhThreadForest *forest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhThreadForest, mh_thread_forest_free)

/* Returns the trees, MhThreadTree*, newest activity first (last_date
 * descending, then root_id ascending).  Owned by @forest. */
GPtrArray *mh_thread_forest_get_trees (MhThreadForest *forest);

/* Returns the node of the message with @key, or NULL.  Owned by @forest. */
MhThreadNode *mh_thread_forest_lookup (MhThreadForest *forest,
                                       const char *key);

/* Returns the parent of @key's message as a key, or for a placeholder
 * parent as "<id>", or NULL for a root (duplicates: their original's
 * parent).  (transfer full) */
char *mh_thread_forest_parent_of (MhThreadForest *forest, const char *key);

/* Returns a canonical one-line-per-tree rendering for tests and
 * debugging: "root_id: key(child child(grandchild))", placeholders as
 * "<id>", duplicates as "=key" after their original.
 * (transfer full) */
char *mh_thread_forest_render (MhThreadForest *forest);

/* Splitting a large account before threading.
 *
 * mh_thread_build() holds every message at once.  A splitter takes the
 * messages one at a time, keeps a few bytes per message and per key (as
 * hashes, never the strings), and then gives each message a group, so
 * that a caller can thread one group at a time.  Two messages get the same
 * group whenever the threader could connect them: they share an id
 * (Message-ID, References, In-Reply-To), an Outlook Thread-Index header or
 * a Gmail thread id, or they have a base subject that the subject join of
 * the options may use.  Threading each group alone gives the same trees,
 * root ids and links as threading all the messages at once; only the
 * order of trees across groups is the caller's to restore, and
 * MhThreadNode.tree counts within a group.  Groups may be larger than
 * needed (two keys whose hashes collide put their groups together), never
 * smaller. */
typedef struct _MhThreadSplit MhThreadSplit;

/* @options as for mh_thread_build(), NULL for the defaults: the subject
 * mode decides which subjects join groups.  (transfer full) */
MhThreadSplit *mh_thread_split_new (const MhThreadOptions *options);
void mh_thread_split_free (MhThreadSplit *split);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhThreadSplit, mh_thread_split_free)

/* Adds a message; messages are numbered from 0 in the order added.  The
 * strings are read during the call only.  Fails with MH_ERROR_LIMIT above
 * MH_THREAD_MAX_MESSAGES messages. */
gboolean mh_thread_split_add (MhThreadSplit *split, const MhThreadInput *in,
                              GError **error);

/* Returns the group of every message added, by message number; groups
 * are numbered from 0 in the order of their first message, and
 * *@n_groups_out gets their count.  Call once, after the last add.
 * (transfer full) */
guint *mh_thread_split_groups (MhThreadSplit *split, guint *n_groups_out);

G_END_DECLS
