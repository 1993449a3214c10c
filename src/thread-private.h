/* thread-private.h - internals shared by thread.c (linking, pruning,
 * output) and thread-join.c (joins beyond References).  Not installed. */
#pragma once

#include "mailharvest/thread.h"

typedef struct {
  MhThreadNode pub;          /* first, so that casts work both ways */
  const MhThreadInput *in;   /* NULL for a placeholder */
  guint rank;                /* index in MhtCtx.nodes: real messages by
                              * (date, key), then placeholders by creation */
  gboolean has_link;         /* its own References / In-Reply-To name a
                              * valid id other than its own */
  char *base;                /* base subject, or NULL */
  gboolean is_reply;
  GBytes *tindex;            /* decoded Thread-Index, or NULL */
  gboolean id_conflict;      /* a second message with an id that an
                              * older message holds */
  char *rid;                 /* root id for a grouping node, or NULL */
  gpointer pretop;           /* MhtNode*: top before pruning */
  gboolean pruned;
} MhtNode;

typedef struct {
  GPtrArray *nodes;          /* MhtNode*, owned: real in canonical order,
                              * then placeholders */
  guint n_real;
  GHashTable *by_id;         /* id -> MhtNode* holding it */
  MhThreadOptions opt;
} MhtCtx;

/* Returns, for every node of @nodes by rank, the rank of the top of its
 * tree, in O(n) however deep the trees are.  Duplicates map to
 * themselves.  (transfer full) */
guint *mh_thread_priv_tops (GPtrArray *nodes);

/* Returns TRUE when linking @child under @parent would close a loop or
 * make @parent's chain deeper than MH_THREAD_MAX_DEPTH. */
gboolean mh_thread_priv_refused (MhtNode *child, MhtNode *parent);

/* Creates a node without a message (@id may be NULL) and adds it to
 * ctx->nodes (and ctx->by_id when @id is set). */
MhtNode *mh_thread_priv_placeholder (MhtCtx *ctx, const char *id);

/* The root id of the tree whose top is @top (transfer full). */
char *mh_thread_priv_root_id (MhtNode *top);

/* The normalised ids @in's References and In-Reply-To name, other than
 * @own_id (its own normalised Message-ID, or NULL), oldest first, each
 * once; the In-Reply-To id comes last when References lacks it.
 * *@irt_out gets the In-Reply-To id, or NULL.  A message links to
 * something exactly when the array is not empty.  (transfer full) */
GPtrArray *mh_thread_priv_own_links (const MhThreadInput *in,
                                     const char *own_id, char **irt_out);

/* Joins linkless messages by Thread-Index, Gmail thread id and subject,
 * as ctx->opt asks (thread-join.c). */
void mh_thread_priv_join (MhtCtx *ctx);
