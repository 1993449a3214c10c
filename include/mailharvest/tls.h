/* tls.h - connecting to a server, with OpenSSL TLS and verification.
 *
 * mh_tls_connect() opens a TCP connection (net.h) and, for implicit TLS,
 * does the handshake before returning.  For STARTTLS and plain connections
 * it returns a plaintext transport whose starttls operation upgrades the
 * same socket once the IMAP session has negotiated it.
 *
 * Verification is on unless the caller turns it off: the chain must lead
 * to a system CA (or to @ca_file), TLS 1.2 is the minimum, and the
 * certificate must match the host name (SSL_set1_host) or the IP literal
 * (X509_VERIFY_PARAM_set1_ip_asc).  SNI is sent for names, not for IP
 * literals.  A verification failure is MH_ERROR_TLS with a message such as
 * "TLS certificate verification failed for imap.example.org:993: unable to
 * get local issuer certificate".
 */
#pragma once

#include <glib.h>

#include "mailharvest/net.h"

G_BEGIN_DECLS

typedef enum {
  MH_SECURITY_TLS,      /* implicit TLS (port 993) */
  MH_SECURITY_STARTTLS, /* plain connect, then STARTTLS before auth */
  MH_SECURITY_NONE,     /* plaintext: passwords only to loopback hosts */
} MhSecurity;

typedef struct {
  const char *host;        /* name or IP literal to connect to */
  guint16 port;            /* 0: 993 for TLS, 143 otherwise */
  MhSecurity security;
  const char *ca_file;     /* PEM bundle instead of the system CAs, or NULL */
  gboolean tls_verify;     /* FALSE only when the user asked for it */
  int timeout_ms;          /* connect and each read/write; <= 0: default */
  const char *verify_name; /* name the certificate must match instead of
                            * @host (tests), or NULL */
} MhConnectOptions;

/* Defaults: security TLS, tls_verify TRUE, timeout 30 s, the rest 0/NULL. */
void mh_connect_options_init (MhConnectOptions *opts);

/* The port that @opts resolves to (its own, or the default). */
guint16 mh_connect_options_get_port (const MhConnectOptions *opts);

/* Connects as described above.  Returns a transport (transfer full) or
 * NULL with MH_ERROR_NET, MH_ERROR_TIMEOUT or MH_ERROR_TLS.  The strings of
 * @opts are copied. */
MhTransport *mh_tls_connect (const MhConnectOptions *opts, GError **error);

/* For a transport from mh_tls_connect(): the protocol and cipher suite of
 * its TLS session, as "TLSv1.3 TLS_AES_128_GCM_SHA256" (transfer full), or
 * NULL while it has none (security none, or before STARTTLS). */
char *mh_tls_describe (MhTransport *t);

G_END_DECLS
