/* error.h - the MH_ERROR domain shared by every module. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MH_ERROR (mh_error_quark ())

typedef enum {
  MH_ERROR_CONFIG,     /* bad configuration or usage */
  MH_ERROR_TLS,        /* TLS handshake or certificate verification */
  MH_ERROR_NET,        /* connect, read, write, timeout, connection lost */
  MH_ERROR_PROTOCOL,   /* the server sent something we cannot parse */
  MH_ERROR_SERVER_NO,  /* tagged NO from the server */
  MH_ERROR_SERVER_BAD, /* tagged BAD from the server */
  MH_ERROR_BYE,        /* the server closed the session with BYE */
  MH_ERROR_AUTH,       /* authentication failed */
  MH_ERROR_THROTTLED,  /* the server asks us to slow down */
  MH_ERROR_LIMIT,      /* a configured limit was exceeded */
  MH_ERROR_IO,         /* local file system */
  MH_ERROR_PARSE,      /* malformed local input that cannot be used */
  MH_ERROR_TIMEOUT,    /* no answer within the time limit */
  MH_ERROR_CANCELLED,
  MH_ERROR_NO_SPACE,   /* the local disk is full, or the quota used up */
  MH_ERROR_UNAVAILABLE, /* the server cannot serve this session now, and
                         * says so; a new session may help */
} MhError;

GQuark mh_error_quark (void);

G_END_DECLS
