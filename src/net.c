/* net.c - plain TCP with timeouts, and the generic transport calls. */
#include "mailharvest/net.h"
#include "mailharvest/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int
effective_timeout (int timeout_ms)
{
  return timeout_ms > 0 ? timeout_ms : MH_NET_DEFAULT_TIMEOUT_MS;
}

gssize
mh_transport_read (MhTransport *t, guint8 *buf, gsize len, int timeout_ms,
                   GError **error)
{
  return t->klass->read (t, buf, len, effective_timeout (timeout_ms), error);
}

gboolean
mh_transport_write_all (MhTransport *t, const guint8 *data, gsize len,
                        int timeout_ms, GError **error)
{
  return t->klass->write_all (t, data, len, effective_timeout (timeout_ms),
                              error);
}

gboolean
mh_transport_starttls (MhTransport *t, int timeout_ms, GError **error)
{
  if (t->klass->starttls == NULL)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_TLS,
                           "this connection cannot be upgraded to TLS");
      return FALSE;
    }
  return t->klass->starttls (t, effective_timeout (timeout_ms), error);
}

void
mh_transport_close (MhTransport *t)
{
  if (t != NULL)
    t->klass->close (t);
}

void
mh_transport_free (MhTransport *t)
{
  if (t == NULL)
    return;
  t->klass->close (t);
  t->klass->free (t);
}

gboolean
mh_net_wait (int fd, short events, int timeout_ms, const char *what,
             GError **error)
{
  gint64 deadline = g_get_monotonic_time ()
                    + (gint64) effective_timeout (timeout_ms) * 1000;

  for (;;)
    {
      struct pollfd pfd = { .fd = fd, .events = events };
      gint64 left_ms = (deadline - g_get_monotonic_time () + 999) / 1000;
      int rc;

      if (left_ms <= 0)
        break;
      rc = poll (&pfd, 1, (int) MIN (left_ms, G_MAXINT));
      if (rc > 0)
        return TRUE;
      if (rc < 0 && errno != EINTR)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_NET, "%s: poll: %s", what,
                       g_strerror (errno));
          return FALSE;
        }
    }
  g_set_error (error, MH_ERROR, MH_ERROR_TIMEOUT,
               "%s: no answer within %d ms", what,
               effective_timeout (timeout_ms));
  return FALSE;
}

static gboolean
set_nonblocking (int fd)
{
  int flags = fcntl (fd, F_GETFL);

  return flags >= 0 && fcntl (fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

/* One connect attempt; returns the socket or -1 with @error set. */
static int
connect_one (const struct addrinfo *ai, const char *host, guint16 port,
             int timeout_ms, GError **error)
{
  int fd = socket (ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                   ai->ai_protocol);
  int soerr = 0;
  socklen_t slen = sizeof soerr;
  int one = 1;

  if (fd < 0)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_NET, "socket: %s",
                   g_strerror (errno));
      return -1;
    }
  if (!set_nonblocking (fd))
    {
      g_set_error (error, MH_ERROR, MH_ERROR_NET, "fcntl: %s",
                   g_strerror (errno));
      close (fd);
      return -1;
    }
  if (connect (fd, ai->ai_addr, ai->ai_addrlen) < 0)
    {
      g_autofree char *what = NULL;

      if (errno != EINPROGRESS && errno != EINTR)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_NET,
                       "cannot connect to %s:%u: %s", host, port,
                       g_strerror (errno));
          close (fd);
          return -1;
        }
      what = g_strdup_printf ("connect to %s:%u", host, port);
      if (!mh_net_wait (fd, POLLOUT, timeout_ms, what, error))
        {
          close (fd);
          return -1;
        }
      if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) < 0)
        soerr = errno;
      if (soerr != 0)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_NET,
                       "cannot connect to %s:%u: %s", host, port,
                       g_strerror (soerr));
          close (fd);
          return -1;
        }
    }
  /* IMAP commands are small and answered one by one when not pipelined;
   * Nagle would add a round trip of delay to each. */
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

int
mh_net_connect (const char *host, guint16 port, int timeout_ms,
                GError **error)
{
  struct addrinfo hints = { 0 };
  struct addrinfo *res = NULL;
  char service[8];
  g_autoptr(GError) last = NULL;
  int rc;
  int fd = -1;

  if (host == NULL || *host == '\0' || port == 0)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_CONFIG,
                           "no host or port to connect to");
      return -1;
    }
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  g_snprintf (service, sizeof service, "%u", port);
  rc = getaddrinfo (host, service, &hints, &res);
  if (rc != 0)
    {
      /* AI_ADDRCONFIG hides every address on hosts whose only interface
       * is lo (containers, test machines); retry without it. */
      hints.ai_flags = 0;
      rc = getaddrinfo (host, service, &hints, &res);
    }
  if (rc != 0)
    {
      g_set_error (error, MH_ERROR, MH_ERROR_NET, "cannot resolve %s: %s",
                   host, gai_strerror (rc));
      return -1;
    }
  for (const struct addrinfo *ai = res; ai != NULL && fd < 0;
       ai = ai->ai_next)
    {
      g_clear_error (&last);
      fd = connect_one (ai, host, port, timeout_ms, &last);
    }
  freeaddrinfo (res);
  if (fd < 0)
    {
      if (last != NULL)
        g_propagate_error (error, g_steal_pointer (&last));
      else
        g_set_error (error, MH_ERROR, MH_ERROR_NET,
                     "no address found for %s", host);
    }
  return fd;
}

gssize
mh_net_read (int fd, guint8 *buf, gsize len, int timeout_ms, GError **error)
{
  for (;;)
    {
      ssize_t n = recv (fd, buf, len, 0);

      if (n >= 0)
        return n;
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_NET, "read: %s",
                       g_strerror (errno));
          return -1;
        }
      if (!mh_net_wait (fd, POLLIN, timeout_ms, "read", error))
        return -1;
    }
}

gboolean
mh_net_write_all (int fd, const guint8 *data, gsize len, int timeout_ms,
                  GError **error)
{
  while (len > 0)
    {
      ssize_t n = send (fd, data, len, MSG_NOSIGNAL);

      if (n > 0)
        {
          data += n;
          len -= (gsize) n;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        {
          g_set_error (error, MH_ERROR, MH_ERROR_NET, "write: %s",
                       g_strerror (errno));
          return FALSE;
        }
      if (!mh_net_wait (fd, POLLOUT, timeout_ms, "write", error))
        return FALSE;
    }
  return TRUE;
}

typedef struct {
  MhTransport parent;
  int fd;
} NetTransport;

static gssize
net_read (MhTransport *t, guint8 *buf, gsize len, int timeout_ms,
          GError **error)
{
  NetTransport *nt = (NetTransport *) t;

  if (nt->fd < 0)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_NET,
                           "connection is closed");
      return -1;
    }
  return mh_net_read (nt->fd, buf, len, timeout_ms, error);
}

static gboolean
net_write_all (MhTransport *t, const guint8 *data, gsize len, int timeout_ms,
               GError **error)
{
  NetTransport *nt = (NetTransport *) t;

  if (nt->fd < 0)
    {
      g_set_error_literal (error, MH_ERROR, MH_ERROR_NET,
                           "connection is closed");
      return FALSE;
    }
  return mh_net_write_all (nt->fd, data, len, timeout_ms, error);
}

static void
net_close (MhTransport *t)
{
  NetTransport *nt = (NetTransport *) t;

  if (nt->fd >= 0)
    close (nt->fd);
  nt->fd = -1;
}

static void
net_free (MhTransport *t)
{
  g_free (t);
}

static const MhTransportClass net_class = {
  net_read, net_write_all, NULL, net_close, net_free,
};

MhTransport *
mh_net_transport_new (int fd)
{
  NetTransport *nt = g_new0 (NetTransport, 1);

  nt->parent.klass = &net_class;
  nt->fd = fd;
  set_nonblocking (fd);
  return &nt->parent;
}

gboolean
mh_net_host_is_ip_literal (const char *host)
{
  struct in6_addr a6;
  struct in_addr a4;

  if (host == NULL)
    return FALSE;
  return inet_pton (AF_INET, host, &a4) == 1
         || inet_pton (AF_INET6, host, &a6) == 1;
}

gboolean
mh_net_host_is_loopback (const char *host)
{
  struct in6_addr a6;
  struct in_addr a4;

  if (host == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (host, "localhost") == 0
      || g_ascii_strcasecmp (host, "localhost.") == 0)
    return TRUE;
  if (inet_pton (AF_INET, host, &a4) == 1)
    return (ntohl (a4.s_addr) >> 24) == 127;
  if (inet_pton (AF_INET6, host, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK (&a6);
  return FALSE;
}
