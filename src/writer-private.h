/* writer-private.h - shared by writer.c, writer-dirs.c and writer-raw.c. */
#pragma once

#include <glib.h>

#include "mailharvest/sha256.h"
#include "mailharvest/writer.h"

#define COPY_CHUNK 65536
/* The prefix of the writer's temporary names (mh_writer_clean_stale()). */
#define TMP_PREFIX ".tmp-"

/* Sets @error from errno (MH_ERROR_NO_SPACE for ENOSPC and EDQUOT) as
 * "@what @name: reason"; returns FALSE. */
gboolean mh_writer_io_error (GError **error, const char *what,
                             const char *name);
gboolean mh_writer_write_all (int fd, const guint8 *data, gsize len,
                              const char *name, GError **error);
/* Direct I/O (writer-direct.c): files of at least MH_WRITER_DIRECT_MIN
 * bytes go around the page cache where the file system allows it, from
 * buffers aligned to MH_WRITER_DIRECT_ALIGN. */
#define MH_WRITER_DIRECT_MIN (64 * 1024)
#define MH_WRITER_DIRECT_ALIGN 4096
/* The alignment direct I/O needs on @fd's file system, or 0 where it
 * cannot be had. */
gsize mh_writer_direct_align (int fd);
/* Writes @data to @fd, whose offset is a multiple of
 * MH_WRITER_DIRECT_ALIGN: its aligned bulk with O_DIRECT when @data is
 * aligned and at least MH_WRITER_DIRECT_MIN bytes long (or @force), the
 * rest through the page cache, whose bytes are added to *@cached (may be
 * NULL). */
gboolean mh_writer_write_direct (int fd, const guint8 *data, gsize len,
                                 gboolean force, guint64 *cached,
                                 const char *name, GError **error);
/* A new file @name in @dir_fd (O_EXCL, O_NOFOLLOW), or -1. */
int mh_writer_create_file (int dir_fd, const char *name, GError **error);
/* Syncs and closes @fd, or hands it to the write-behind queue (see
 * mh_writer_set_sync()). */
gboolean mh_writer_finish_file (int fd, const char *name, guint64 size,
                                GError **error);
/* Whether every file is synced on its own (mh_writer_set_sync()). */
gboolean mh_writer_syncs_each_file (void);

/* message.eml in @dir_fd from the file at @raw_path: renamed with @move
 * (@moved then TRUE; copied across file systems), copied otherwise;
 * hashed into @sum when @hash, its size in @size. */
gboolean mh_writer_put_raw (int dir_fd, const char *raw_path, gboolean move,
                            gboolean *moved, MhSha256 *sum, gboolean hash,
                            guint64 *size, GError **error);
/* The same from the unnamed file @raw_fd, linked (copied where the link
 * fails); @raw_fd stays open. */
gboolean mh_writer_link_raw (int dir_fd, int raw_fd, MhSha256 *sum,
                             gboolean hash, guint64 *size, GError **error);
/* The same from the bytes @raw, written out. */
gboolean mh_writer_put_raw_bytes (int dir_fd, GBytes *raw, MhSha256 *sum,
                                  gboolean hash, guint64 *size,
                                  GError **error);
