/* rawfetch: the raw speed limit of fetching a mailbox over IMAP.
 *
 *   rawfetch HOST PORT USER PASSWORD CAFILE MAILBOX...
 *
 * Connects with implicit TLS, verifies the server certificate against
 * CAFILE and the host name (or IP address) HOST, logs in, and for each
 * mailbox sends EXAMINE and one "UID FETCH 1:* (BODY.PEEK[])".  Everything
 * the server sends is read in 64 KiB blocks and thrown away; the only work
 * per byte is finding line ends and skipping {N} literals.  This is the
 * floor the benchmark compares every real tool against.
 *
 * Prints one line, "messages=M literals=L literal_bytes=B wire_bytes=W",
 * and exits 0; on any failure prints a message to stderr and exits 1.
 *
 * The password is taken from argv because this is a benchmark tool that
 * only ever talks to the throwaway test Dovecot.  Mailbox names are sent
 * as quoted strings and must not contain '"', '\\' or control characters;
 * non-ASCII names must already be in modified UTF-7.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mailharvest/tls-suites.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define READ_SIZE (64 * 1024)
/* Lines outside literals are protocol lines: status responses, FETCH
 * headers, capability lists.  Anything longer is a broken server. */
#define MAX_LINE (64 * 1024)
/* Larger than any message the benchmark corpus holds, with room. */
#define MAX_LITERAL ((uint64_t) 1 << 32)
#define MAX_ARG 1024

typedef struct {
  SSL *ssl;
  unsigned char buf[READ_SIZE];
  size_t pos, len;
  char line[MAX_LINE + 1];
  size_t line_len;
  uint64_t wire_bytes;
  uint64_t literals;
  uint64_t literal_bytes;
  uint64_t fetches;
} Conn;

static void
die (const char *what)
{
  unsigned long e = ERR_get_error ();

  if (e != 0)
    fprintf (stderr, "rawfetch: %s: %s\n", what,
             ERR_reason_error_string (e));
  else
    fprintf (stderr, "rawfetch: %s\n", what);
  exit (1);
}

static int
tcp_connect (const char *host, const char *port)
{
  struct addrinfo hints, *res, *ai;
  int fd = -1;
  int rc;

  memset (&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  rc = getaddrinfo (host, port, &hints, &res);
  if (rc != 0)
    {
      fprintf (stderr, "rawfetch: %s: %s\n", host, gai_strerror (rc));
      exit (1);
    }
  for (ai = res; ai != NULL; ai = ai->ai_next)
    {
      fd = socket (ai->ai_family, ai->ai_socktype, ai->ai_protocol);
      if (fd < 0)
        continue;
      if (connect (fd, ai->ai_addr, ai->ai_addrlen) == 0)
        break;
      close (fd);
      fd = -1;
    }
  freeaddrinfo (res);
  if (fd < 0)
    die ("cannot connect");
  return fd;
}

static SSL *
tls_open (int fd, const char *host, const char *cafile)
{
  SSL_CTX *ctx = SSL_CTX_new (TLS_client_method ());
  SSL *ssl;
  unsigned char addr[16];
  int is_ip;

  if (ctx == NULL)
    die ("SSL_CTX_new");
  SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION);
  /* mailharvest's preference, so that both pay the same cipher. */
  if (SSL_CTX_set_ciphersuites (ctx, MH_TLS13_CIPHERSUITES) != 1)
    die ("SSL_CTX_set_ciphersuites");
  if (SSL_CTX_load_verify_locations (ctx, cafile, NULL) != 1)
    die ("cannot load the CA file");
  SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER, NULL);
  ssl = SSL_new (ctx);
  /* The SSL holds its own reference to the context. */
  SSL_CTX_free (ctx);
  if (ssl == NULL)
    die ("SSL_new");

  is_ip = inet_pton (AF_INET, host, addr) == 1
          || inet_pton (AF_INET6, host, addr) == 1;
  if (is_ip)
    {
      if (X509_VERIFY_PARAM_set1_ip_asc (SSL_get0_param (ssl), host) != 1)
        die ("cannot set the expected IP address");
    }
  else
    {
      SSL_set_tlsext_host_name (ssl, host);
      if (SSL_set1_host (ssl, host) != 1)
        die ("cannot set the expected host name");
    }
  SSL_set_fd (ssl, fd);
  if (SSL_connect (ssl) != 1)
    die ("TLS handshake failed");
  return ssl;
}

static void
fill (Conn *c)
{
  int n = SSL_read (c->ssl, c->buf, sizeof c->buf);

  if (n <= 0)
    die ("connection closed by the server");
  c->pos = 0;
  c->len = (size_t) n;
  c->wire_bytes += (uint64_t) n;
}

/* Parses a trailing "{N}" or "{N+}" of the line; returns 1 and sets *n. */
static int
trailing_literal (const char *line, size_t len, uint64_t *n)
{
  size_t i;
  uint64_t v = 0;
  uint64_t scale = 1;

  if (len < 3 || line[len - 1] != '}')
    return 0;
  i = len - 1;
  if (line[i - 1] == '+')
    i--;
  if (i == 0 || line[i - 1] < '0' || line[i - 1] > '9')
    return 0;
  while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
    {
      if (scale > MAX_LITERAL)
        die ("literal too large");
      v += (uint64_t) (line[i - 1] - '0') * scale;
      scale *= 10;
      i--;
    }
  if (i == 0 || line[i - 1] != '{')
    return 0;
  if (v > MAX_LITERAL)
    die ("literal too large");
  *n = v;
  return 1;
}

static void
skip_literal (Conn *c, uint64_t n)
{
  c->literals++;
  c->literal_bytes += n;
  while (n > 0)
    {
      size_t avail;

      if (c->pos == c->len)
        fill (c);
      avail = c->len - c->pos;
      if (avail > n)
        avail = (size_t) n;
      c->pos += avail;
      n -= avail;
    }
}

/* Reads one logical response line, skipping every literal inside it, and
 * leaves the text outside the literals (up to MAX_LINE) in c->line. */
static void
read_response_line (Conn *c)
{
  c->line_len = 0;
  for (;;)
    {
      unsigned char *start, *nl;
      size_t take;

      if (c->pos == c->len)
        fill (c);
      start = c->buf + c->pos;
      nl = memchr (start, '\n', c->len - c->pos);
      take = nl != NULL ? (size_t) (nl - start) : c->len - c->pos;
      if (c->line_len + take > MAX_LINE)
        die ("response line too long");
      memcpy (c->line + c->line_len, start, take);
      c->line_len += take;
      c->pos += take;
      if (nl != NULL)
        {
          uint64_t n;

          c->pos++;
          if (c->line_len > 0 && c->line[c->line_len - 1] == '\r')
            c->line_len--;
          c->line[c->line_len] = '\0';
          if (!trailing_literal (c->line, c->line_len, &n))
            return;
          skip_literal (c, n);
        }
    }
}

static void
send_line (Conn *c, const char *text)
{
  size_t len = strlen (text);

  if (SSL_write (c->ssl, text, (int) len) != (int) len)
    die ("write failed");
}

/* Reads responses until the one tagged @tag; dies unless it is OK.  An
 * untagged BYE is fatal unless @bye_ok (the answer to LOGOUT). */
static void
wait_tagged (Conn *c, const char *tag, const char *what, int bye_ok)
{
  size_t tag_len = strlen (tag);

  for (;;)
    {
      read_response_line (c);
      if (c->line_len > 2 && c->line[0] == '*' && c->line[1] == ' ')
        {
          const char *p = c->line + 2;

          while (*p >= '0' && *p <= '9')
            p++;
          if (p != c->line + 2 && strncmp (p, " FETCH ", 7) == 0)
            c->fetches++;
          else if (!bye_ok && strncmp (c->line + 2, "BYE", 3) == 0)
            {
              fprintf (stderr, "rawfetch: %s: %s\n", what, c->line);
              exit (1);
            }
          continue;
        }
      if (c->line_len > tag_len && strncmp (c->line, tag, tag_len) == 0
          && c->line[tag_len] == ' ')
        {
          if (strncmp (c->line + tag_len + 1, "OK", 2) != 0)
            {
              fprintf (stderr, "rawfetch: %s: %s\n", what, c->line);
              exit (1);
            }
          return;
        }
    }
}

static void
check_quotable (const char *s)
{
  if (strlen (s) > MAX_ARG)
    die ("argument too long");
  for (; *s != '\0'; s++)
    if (*s == '"' || *s == '\\' || (unsigned char) *s < 0x20
        || (unsigned char) *s >= 0x7f)
      die ("arguments must be printable ASCII without '\"' or '\\'");
}

int
main (int argc, char **argv)
{
  static Conn conn;
  Conn *c = &conn;
  char cmd[3 * MAX_ARG + 64];
  int fd;
  int i;

  if (argc < 7)
    {
      fprintf (stderr, "usage: rawfetch HOST PORT USER PASSWORD CAFILE "
                       "MAILBOX...\n");
      return 2;
    }
  for (i = 3; i < argc; i++)
    if (i != 5)
      check_quotable (argv[i]);

  fd = tcp_connect (argv[1], argv[2]);
  c->ssl = tls_open (fd, argv[1], argv[5]);

  /* The greeting is untagged; anything but "* OK" or PREAUTH ends here. */
  read_response_line (c);
  if (strncmp (c->line, "* OK", 4) != 0
      && strncmp (c->line, "* PREAUTH", 9) != 0)
    die ("unexpected greeting");

  snprintf (cmd, sizeof cmd, "a LOGIN \"%s\" \"%s\"\r\n", argv[3], argv[4]);
  send_line (c, cmd);
  wait_tagged (c, "a", "LOGIN", 0);

  for (i = 6; i < argc; i++)
    {
      snprintf (cmd, sizeof cmd, "b%d EXAMINE \"%s\"\r\n", i, argv[i]);
      send_line (c, cmd);
      snprintf (cmd, sizeof cmd, "b%d", i);
      wait_tagged (c, cmd, "EXAMINE", 0);
      snprintf (cmd, sizeof cmd, "c%d UID FETCH 1:* (BODY.PEEK[])\r\n", i);
      send_line (c, cmd);
      snprintf (cmd, sizeof cmd, "c%d", i);
      wait_tagged (c, cmd, "UID FETCH", 0);
    }

  send_line (c, "z LOGOUT\r\n");
  wait_tagged (c, "z", "LOGOUT", 1);
  SSL_shutdown (c->ssl);
  SSL_free (c->ssl);
  close (fd);

  printf ("messages=%llu literals=%llu literal_bytes=%llu wire_bytes=%llu\n",
          (unsigned long long) c->fetches, (unsigned long long) c->literals,
          (unsigned long long) c->literal_bytes,
          (unsigned long long) c->wire_bytes);
  return 0;
}
