/* sha256.h - SHA-256 over OpenSSL's EVP.
 *
 * GLib's GChecksum computes SHA-256 in portable C; OpenSSL's uses the
 * CPU's SHA extensions and is several times faster, which matters because
 * every message and every attachment is hashed once.  The interface
 * mirrors GChecksum's so that the two read alike. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MhSha256 MhSha256;

MhSha256 *mh_sha256_new (void);
void mh_sha256_update (MhSha256 *sum, const void *data, gsize len);
/* Adds the whole of the open file @fd, read from its start with pread (its
 * offset is neither used nor moved), and sets @size_out to its length.
 * FALSE with errno set when a read fails. */
gboolean mh_sha256_update_fd (MhSha256 *sum, int fd, guint64 *size_out);
/* Finishes the digest and returns it as 64 lower-case hex characters,
 * owned by @sum; no update may follow. */
const char *mh_sha256_get_string (MhSha256 *sum);
void mh_sha256_free (MhSha256 *sum);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhSha256, mh_sha256_free)

G_END_DECLS
