/* rawbuf.h - reusable aligned buffers for fetched messages.
 *
 * A fetched message of up to MH_RAWBUF_MAX bytes is kept in memory until
 * a worker has parsed it and written it out as message.eml, instead of
 * going through a file of its own that the worker reads back.  Fresh
 * memory for each of them would cost a page fault per 4 KiB (on a VM
 * with free page reporting, a host fault too), so the buffers are kept
 * and handed out again: after the first few messages a run reuses the
 * same pages.  They are page-aligned for direct I/O (writer.h), so
 * message.eml is written from them without passing through the page
 * cache.
 *
 * All buffers together, in use or kept, stay within MH_RAWBUF_BUDGET;
 * when a message does not fit, mh_rawbuf_take() returns NULL and the
 * caller streams the message to a file as before.  Thread-safe.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The largest message kept in a buffer, and all buffers together. */
#define MH_RAWBUF_MAX (12 * 1024 * 1024)
#define MH_RAWBUF_BUDGET (16 * 1024 * 1024)
/* Buffers come in multiples of this (and are aligned to 4 KiB). */
#define MH_RAWBUF_GRAIN (1024 * 1024)

/* A buffer of at least @size bytes (at most MH_RAWBUF_MAX), or NULL when
 * the budget has no room for one now.  Give it back with
 * mh_rawbuf_give() or through mh_rawbuf_to_bytes(). */
guint8 *mh_rawbuf_take (gsize size);

/* Returns @buf (from mh_rawbuf_take()) for reuse. */
void mh_rawbuf_give (guint8 *buf);

/* The first @len bytes of @buf as GBytes, which give @buf back when the
 * last reference goes.  Takes @buf. */
GBytes *mh_rawbuf_to_bytes (guint8 *buf, gsize len);

/* Frees the buffers not in use (for the end of a run, and for tests). */
void mh_rawbuf_trim (void);

/* Bytes of all buffers, in use or kept (for tests). */
gsize mh_rawbuf_allocated (void);

G_END_DECLS
