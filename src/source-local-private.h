/* source-local-private.h - what the readers of source-local.h share. */
#pragma once

#include "mailharvest/source-local.h"

G_BEGIN_DECLS

/* mh_local_mailbox_foreach() for an mbox (source-mbox.c). */
gboolean mh_local_foreach_mbox (const MhLocalMailbox *mailbox,
                                const char *tmp_dir, MhLocalFunc func,
                                gpointer user_data, GError **error);

G_END_DECLS
