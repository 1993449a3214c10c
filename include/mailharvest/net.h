/* net.h - byte transports and plain TCP with timeouts.
 *
 * An MhTransport is a small vtable: the IMAP session reads and writes
 * through it and never sees whether the bytes travel over a plain socket,
 * over OpenSSL (tls.h) or over a scripted fake (tests/fake-transport.c).
 *
 * Every read and write takes a timeout in milliseconds: a peer that stops
 * answering yields MH_ERROR_TIMEOUT, never a hang.  A timeout_ms <= 0 means
 * the default of 30 seconds, not "forever".
 *
 * A peer that went away never raises SIGPIPE: plain sockets write with
 * send (MSG_NOSIGNAL), and tls.c blocks SIGPIPE around OpenSSL calls.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MH_NET_DEFAULT_TIMEOUT_MS 30000

typedef struct _MhTransport MhTransport;

typedef struct {
  /* Reads up to @len bytes.  Returns the number read (> 0), 0 at end of
   * stream, or -1 with @error set (MH_ERROR_TIMEOUT, MH_ERROR_NET,
   * MH_ERROR_TLS). */
  gssize (*read) (MhTransport *t, guint8 *buf, gsize len, int timeout_ms,
                  GError **error);
  /* Writes all of @data or fails. */
  gboolean (*write_all) (MhTransport *t, const guint8 *data, gsize len,
                         int timeout_ms, GError **error);
  /* Upgrades the connection to TLS in place (STARTTLS).  May be NULL when
   * the transport cannot do it. */
  gboolean (*starttls) (MhTransport *t, int timeout_ms, GError **error);
  /* Closes the connection; further reads return errors.  Idempotent. */
  void (*close) (MhTransport *t);
  /* Releases the transport (after close). */
  void (*free) (MhTransport *t);
} MhTransportClass;

/* Implementations embed this as their first member. */
struct _MhTransport {
  const MhTransportClass *klass;
};

gssize mh_transport_read (MhTransport *t, guint8 *buf, gsize len,
                          int timeout_ms, GError **error);
gboolean mh_transport_write_all (MhTransport *t, const guint8 *data,
                                 gsize len, int timeout_ms, GError **error);
/* FALSE with MH_ERROR_TLS when the transport cannot upgrade. */
gboolean mh_transport_starttls (MhTransport *t, int timeout_ms,
                                GError **error);
void mh_transport_close (MhTransport *t);
/* Closes and frees; NULL is fine. */
void mh_transport_free (MhTransport *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhTransport, mh_transport_free)

/* IMAP COMPRESS=DEFLATE (RFC 4978) over @inner: what is written is
 * deflated and flushed, what is read is inflated.  @pending are bytes
 * already read from @inner that belong to the compressed stream (at most
 * 64 KB).  Takes @inner on success; on failure returns NULL with @error
 * set and leaves @inner to the caller.  No STARTTLS over it. */
MhTransport *mh_deflate_transport_new (MhTransport *inner,
                                       const guint8 *pending,
                                       gsize n_pending, GError **error);

/* Resolves @host (getaddrinfo, IPv4 and IPv6) and tries each address in
 * turn with a non-blocking connect bounded by @timeout_ms per address.
 * Returns a connected, non-blocking, close-on-exec socket, or -1 with
 * MH_ERROR_NET (or MH_ERROR_TIMEOUT when every attempt timed out). */
int mh_net_connect (const char *host, guint16 port, int timeout_ms,
                    GError **error);

/* Waits until @fd is ready for @events (POLLIN/POLLOUT) or @timeout_ms
 * pass; @what names the operation in the error message. */
gboolean mh_net_wait (int fd, short events, int timeout_ms, const char *what,
                      GError **error);

/* Read and write on a non-blocking socket with a timeout, as the vtable. */
gssize mh_net_read (int fd, guint8 *buf, gsize len, int timeout_ms,
                    GError **error);
gboolean mh_net_write_all (int fd, const guint8 *data, gsize len,
                           int timeout_ms, GError **error);

/* A plain transport over @fd, which it owns (closes on close/free).  The
 * socket is switched to non-blocking mode.  It cannot do STARTTLS. */
MhTransport *mh_net_transport_new (int fd);

/* TRUE for "localhost", 127.0.0.0/8 and ::1. */
gboolean mh_net_host_is_loopback (const char *host);
/* TRUE when @host is an IPv4 or IPv6 address literal. */
gboolean mh_net_host_is_ip_literal (const char *host);

G_END_DECLS
