/* tls.c - OpenSSL transport with verification, SNI and STARTTLS. */
#include "mailharvest/tls.h"
#include "mailharvest/autoptr.h"
#include "mailharvest/error.h"
#include "mailharvest/tls-suites.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <unistd.h>

/* The socket is read this much at a time (with read-ahead). */
#define TLS_READ_BUFFER (128 * 1024)

typedef struct {
  MhTransport parent;
  int fd;
  SSL_CTX *ctx;
  SSL *ssl;
  char *host;
  char *verify_name;
  char *ca_file;
  guint16 port;
  gboolean verify;
} TlsTransport;

/* OpenSSL writes to the socket with write(2), so a peer that went away
 * would raise SIGPIPE and kill the whole program.  Every OpenSSL call that
 * may write runs with SIGPIPE blocked; a SIGPIPE it caused is swallowed
 * before the mask is restored (curl does the same). */
typedef struct {
  sigset_t old;
  gboolean was_pending;
  gboolean active;
} SigpipeGuard;

/* A program that ignores SIGPIPE (mailharvest run does, before its first
 * connection) needs no guard, and skipping it saves four system calls per
 * read.  Looked up once: ignoring SIGPIPE is a decision for the process's
 * life. */
static gboolean
sigpipe_ignored (void)
{
  static gsize state;

  if (g_once_init_enter (&state))
    {
      struct sigaction sa;
      gboolean ign = sigaction (SIGPIPE, NULL, &sa) == 0
                     && sa.sa_handler == SIG_IGN;

      g_once_init_leave (&state, ign ? 2 : 1);
    }
  return state == 2;
}

static void
sigpipe_block (SigpipeGuard *g)
{
  sigset_t set;
  sigset_t pending;

  g->active = !sigpipe_ignored ();
  if (!g->active)
    return;
  sigemptyset (&set);
  sigaddset (&set, SIGPIPE);
  sigemptyset (&pending);
  sigpending (&pending);
  g->was_pending = sigismember (&pending, SIGPIPE) == 1;
  pthread_sigmask (SIG_BLOCK, &set, &g->old);
}

static void
sigpipe_restore (SigpipeGuard *g)
{
  sigset_t set;
  sigset_t pending;

  if (!g->active)
    return;
  sigemptyset (&set);
  sigaddset (&set, SIGPIPE);
  sigemptyset (&pending);
  sigpending (&pending);
  if (!g->was_pending && sigismember (&pending, SIGPIPE) == 1)
    {
      const struct timespec zero = { 0, 0 };
      int saved = errno;

      sigtimedwait (&set, NULL, &zero);
      errno = saved;
    }
  pthread_sigmask (SIG_SETMASK, &g->old, NULL);
}

void
mh_connect_options_init (MhConnectOptions *opts)
{
  memset (opts, 0, sizeof *opts);
  opts->security = MH_SECURITY_TLS;
  opts->tls_verify = TRUE;
  opts->timeout_ms = MH_NET_DEFAULT_TIMEOUT_MS;
}

guint16
mh_connect_options_get_port (const MhConnectOptions *opts)
{
  if (opts->port != 0)
    return opts->port;
  return opts->security == MH_SECURITY_TLS ? 993 : 143;
}

/* The first error of OpenSSL's queue as text, clearing the queue. */
static char *
openssl_error_string (void)
{
  unsigned long e = ERR_get_error ();
  char buf[256];

  ERR_clear_error ();
  if (e == 0)
    return g_strdup ("unknown error");
  ERR_error_string_n (e, buf, sizeof buf);
  return g_strdup (buf);
}

/* Waits for the socket as OpenSSL asks after a WANT_READ / WANT_WRITE
 * result; returns FALSE with @error for any other result. */
static gboolean
tls_retry (TlsTransport *tt, int ret, int timeout_ms, const char *what,
           GError **error)
{
  int err = SSL_get_error (tt->ssl, ret);

  if (err == SSL_ERROR_WANT_READ)
    return mh_net_wait (tt->fd, POLLIN, timeout_ms, what, error);
  if (err == SSL_ERROR_WANT_WRITE)
    return mh_net_wait (tt->fd, POLLOUT, timeout_ms, what, error);
  if (err == SSL_ERROR_SYSCALL && errno != 0)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_NET, "%s: %s", what,
                   g_strerror (errno));
      ERR_clear_error ();
      return FALSE;
    }
  {
    g_autofree char *msg = openssl_error_string ();

    g_set_error (error, MH_ERROR, MH_ERROR_TLS, "%s: %s", what, msg);
  }
  return FALSE;
}

static gboolean
tls_handshake_unguarded (TlsTransport *tt, int timeout_ms, GError **error)
{
  const char *name = tt->verify_name != NULL ? tt->verify_name : tt->host;
  gboolean name_is_ip = mh_net_host_is_ip_literal (name);
  g_autoptr(SSL_CTX) ctx = SSL_CTX_new (TLS_client_method ());
  g_autoptr(SSL) ssl = NULL;

  if (ctx == NULL)
    {
      g_autofree char *msg = openssl_error_string ();

      g_set_error (error, MH_ERROR, MH_ERROR_TLS, "SSL_CTX_new: %s", msg);
      return FALSE;
    }
  SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION);
  /* TLS 1.3 suites in our order of preference (tls-suites.h). */
  if (SSL_CTX_set_ciphersuites (ctx, MH_TLS13_CIPHERSUITES) != 1)
    {
      g_autofree char *msg = openssl_error_string ();

      g_set_error (error, MH_ERROR, MH_ERROR_TLS,
                   "cannot set the TLS 1.3 cipher suites: %s", msg);
      return FALSE;
    }
  /* IMAP frames its own data, so a peer that closes without close_notify
   * cannot truncate a response unnoticed: treat it as end of stream. */
  SSL_CTX_set_options (ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (tt->verify)
    {
      int ok = tt->ca_file != NULL
                 ? SSL_CTX_load_verify_locations (ctx, tt->ca_file, NULL)
                 : SSL_CTX_set_default_verify_paths (ctx);

      if (ok != 1)
        {
          g_autofree char *msg = openssl_error_string ();

          g_set_error (error, MH_ERROR, MH_ERROR_TLS,
                       "cannot load CA certificates%s%s: %s",
                       tt->ca_file != NULL ? " from " : "",
                       tt->ca_file != NULL ? tt->ca_file : "", msg);
          return FALSE;
        }
      SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER, NULL);
    }
  else
    SSL_CTX_set_verify (ctx, SSL_VERIFY_NONE, NULL);

  ssl = SSL_new (ctx);
  if (ssl != NULL)
    {
      /* Read the socket in large pieces, not record by record: one
       * read() takes up to TLS_READ_BUFFER bytes, several records. */
      SSL_set_read_ahead (ssl, 1);
      SSL_set_default_read_buffer_len (ssl, TLS_READ_BUFFER);
    }
  if (ssl == NULL || SSL_set_fd (ssl, tt->fd) != 1)
    {
      g_autofree char *msg = openssl_error_string ();

      g_set_error (error, MH_ERROR, MH_ERROR_TLS, "SSL_new: %s", msg);
      return FALSE;
    }
  /* RFC 6066 forbids IP literals in SNI. */
  if (!mh_net_host_is_ip_literal (tt->host))
    SSL_set_tlsext_host_name (ssl, tt->host);
  if (tt->verify)
    {
      int ok = name_is_ip
                 ? X509_VERIFY_PARAM_set1_ip_asc (SSL_get0_param (ssl), name)
                 : SSL_set1_host (ssl, name);

      if (ok != 1)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_TLS,
                       "cannot set the expected certificate name %s", name);
          return FALSE;
        }
    }

  tt->ssl = g_steal_pointer (&ssl);
  tt->ctx = g_steal_pointer (&ctx);
  for (;;)
    {
      g_autoptr(GError) local = NULL;
      long vr;
      int ret;

      ERR_clear_error ();
      errno = 0;
      ret = SSL_connect (tt->ssl);
      if (ret == 1)
        return TRUE;
      vr = SSL_get_verify_result (tt->ssl);
      if (tt->verify && vr != X509_V_OK)
        {
          ERR_clear_error ();
          g_set_error (error, MH_ERROR, MH_ERROR_TLS,
                       "TLS certificate verification failed for %s:%u%s%s%s: "
                       "%s",
                       tt->host, tt->port,
                       tt->verify_name != NULL ? " (expected name " : "",
                       tt->verify_name != NULL ? tt->verify_name : "",
                       tt->verify_name != NULL ? ")" : "",
                       X509_verify_cert_error_string (vr));
          return FALSE;
        }
      if (!tls_retry (tt, ret, timeout_ms, "TLS handshake", &local))
        {
          if (local->code == MH_ERROR_TIMEOUT)
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          g_set_error (error, MH_ERROR, MH_ERROR_TLS,
                       "TLS handshake with %s:%u failed: %s", tt->host,
                       tt->port, local->message);
          return FALSE;
        }
    }
}

static gssize
tls_read_unguarded (MhTransport *t, guint8 *buf, gsize len,
                    int timeout_ms, GError **error)
{
  TlsTransport *tt = (TlsTransport *) t;

  if (tt->fd < 0)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_NET,
                           "connection is closed");
      return -1;
    }
  if (tt->ssl == NULL)
    return mh_net_read (tt->fd, buf, len, timeout_ms, error);
  for (;;)
    {
      size_t n = 0;
      int ret;

      ERR_clear_error ();
      errno = 0;
      ret = SSL_read_ex (tt->ssl, buf, len, &n);
      if (ret == 1)
        {
          size_t more = 0;

          /* One call returns one TLS record at most; take the records
           * already read ahead as well, without another poll. */
          while (n < len && SSL_has_pending (tt->ssl)
                 && SSL_read_ex (tt->ssl, buf + n, len - n, &more) == 1)
            n += more;
          ERR_clear_error ();
          return (gssize) n;
        }
      if (SSL_get_error (tt->ssl, ret) == SSL_ERROR_ZERO_RETURN)
        return 0;
      if (!tls_retry (tt, ret, timeout_ms, "read", error))
        return -1;
    }
}

static gboolean
tls_write_all_unguarded (MhTransport *t, const guint8 *data, gsize len,
                         int timeout_ms, GError **error)
{
  TlsTransport *tt = (TlsTransport *) t;

  if (tt->fd < 0)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_NET,
                           "connection is closed");
      return FALSE;
    }
  if (tt->ssl == NULL)
    return mh_net_write_all (tt->fd, data, len, timeout_ms, error);
  while (len > 0)
    {
      size_t n = 0;
      int ret;

      ERR_clear_error ();
      errno = 0;
      ret = SSL_write_ex (tt->ssl, data, len, &n);
      if (ret == 1)
        {
          data += n;
          len -= n;
          continue;
        }
      if (!tls_retry (tt, ret, timeout_ms, "write", error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
tls_handshake (TlsTransport *tt, int timeout_ms, GError **error)
{
  SigpipeGuard g;
  gboolean ok;

  sigpipe_block (&g);
  ok = tls_handshake_unguarded (tt, timeout_ms, error);
  sigpipe_restore (&g);
  return ok;
}

static gssize
tls_read (MhTransport *t, guint8 *buf, gsize len, int timeout_ms,
          GError **error)
{
  SigpipeGuard g;
  gssize n;

  sigpipe_block (&g);
  n = tls_read_unguarded (t, buf, len, timeout_ms, error);
  sigpipe_restore (&g);
  return n;
}

static gboolean
tls_write_all (MhTransport *t, const guint8 *data, gsize len, int timeout_ms,
               GError **error)
{
  SigpipeGuard g;
  gboolean ok;

  sigpipe_block (&g);
  ok = tls_write_all_unguarded (t, data, len, timeout_ms, error);
  sigpipe_restore (&g);
  return ok;
}

static gboolean
tls_starttls (MhTransport *t, int timeout_ms, GError **error)
{
  TlsTransport *tt = (TlsTransport *) t;

  if (tt->ssl != NULL)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_TLS,
                           "TLS is already active");
      return FALSE;
    }
  if (tt->fd < 0)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_NET,
                           "connection is closed");
      return FALSE;
    }
  return tls_handshake (tt, timeout_ms, error);
}

static void
tls_close_unguarded (MhTransport *t)
{
  TlsTransport *tt = (TlsTransport *) t;

  if (tt->ssl != NULL && tt->fd >= 0)
    {
      /* A best-effort close_notify; the socket is non-blocking, so this
       * never waits for the peer. */
      ERR_clear_error ();
      SSL_shutdown (tt->ssl);
      ERR_clear_error ();
    }
  g_clear_pointer (&tt->ssl, SSL_free);
  g_clear_pointer (&tt->ctx, SSL_CTX_free);
  if (tt->fd >= 0)
    close (tt->fd);
  tt->fd = -1;
}

static void
tls_close (MhTransport *t)
{
  SigpipeGuard g;

  sigpipe_block (&g);
  tls_close_unguarded (t);
  sigpipe_restore (&g);
}

static void
tls_free (MhTransport *t)
{
  TlsTransport *tt = (TlsTransport *) t;

  g_free (tt->host);
  g_free (tt->verify_name);
  g_free (tt->ca_file);
  g_free (tt);
}

static const MhTransportClass tls_class = {
  tls_read, tls_write_all, tls_starttls, tls_close, tls_free,
};

char *
mh_tls_describe (MhTransport *t)
{
  TlsTransport *tt = (TlsTransport *) t;

  if (t == NULL || t->klass != &tls_class || tt->ssl == NULL)
    return NULL;
  return g_strdup_printf ("%s %s", SSL_get_version (tt->ssl),
                          SSL_get_cipher_name (tt->ssl));
}

MhTransport *
mh_tls_connect (const MhConnectOptions *opts, GError **error)
{
  g_autoptr(MhTransport) t = NULL;
  TlsTransport *tt;
  guint16 port = mh_connect_options_get_port (opts);
  int fd;

  fd = mh_net_connect (opts->host, port, opts->timeout_ms, error);
  if (fd < 0)
    return NULL;
  tt = g_new0 (TlsTransport, 1);
  tt->parent.klass = &tls_class;
  tt->fd = fd;
  tt->host = g_strdup (opts->host);
  tt->verify_name = g_strdup (opts->verify_name);
  tt->ca_file = g_strdup (opts->ca_file);
  tt->port = port;
  tt->verify = opts->tls_verify;
  t = &tt->parent;
  if (opts->security == MH_SECURITY_TLS
      && !tls_handshake (tt, opts->timeout_ms > 0 ? opts->timeout_ms
                                                  : MH_NET_DEFAULT_TIMEOUT_MS,
                         error))
    return NULL;
  return g_steal_pointer (&t);
}
