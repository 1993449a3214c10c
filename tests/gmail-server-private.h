/* gmail-server-private.h - what gmail-server.c (the connection, the
 * mailbox commands and the setters) and gmail-server-auth.c (LOGIN and
 * AUTHENTICATE) share.  Only for those two files. */
#pragma once

#include "gmail-server.h"

typedef struct {
  guint32 uid;
  guint64 msgid;
  guint64 thrid;
  char *labels;
  char *flags;
  char *text;
  GmFault fault;
} GmMessage;

struct _GmServer {
  int listen_fd;
  guint16 port;
  GThread *thread;
  gint stop;
  char *user;
  char *password;
  GMutex lock;            /* guards everything below */
  guint32 uidvalidity;
  GPtrArray *messages;    /* GmMessage*, sorted by UID */
  guint faults[GM_N_SESSION_FAULTS]; /* counts, see GmSessionFault */
  GHashTable *expired;    /* tokens expired (char*, owned) */
  guint bad;              /* commands answered BAD */
  GPtrArray *commands;    /* char* */
};

typedef struct {
  GmServer *server;
  int fd;
  GByteArray *in;
  gboolean authenticated;
  gboolean detached;      /* logged in, but every command gets Exchange's
                           * "BAD User is authenticated but not connected" */
  gboolean selected;
  guint bodies;           /* message bodies this session sent */
  char *token;            /* the OAuth2 token it logged in with */
} Conn;

/* Records a command line received (tags included). */
void gm_record (GmServer *s, const char *line);
/* Sends all of @data; FALSE when the client went away. */
gboolean gm_send_all (Conn *c, const char *data, gsize len);
gboolean gm_send_str (Conn *c, const char *str);
/* The next line without its CRLF, or NULL at end of stream, after
 * GM_SERVER_IDLE_MS of silence, on a line longer than GM_SERVER_MAX_LINE
 * or when the server stops. */
char *gm_read_line (Conn *c);
/* Takes an atom or a quoted string from *@p; NULL when there is none. */
char *gm_next_string (const char **p);
gboolean gm_has_prefix_ci (const char *str, const char *prefix);
/* Sends "TAG TEXT"; a BAD is counted. */
gboolean gm_reply (Conn *c, const char *tag, const char *text);

/* gmail-server-auth.c: the answers to LOGIN, AUTHENTICATE PLAIN and
 * AUTHENTICATE XOAUTH2 (@args: what follows the command name). */
gboolean gm_do_login (Conn *c, const char *tag, const char *args);
gboolean gm_do_authenticate (Conn *c, const char *tag, const char *args);
gboolean gm_do_xoauth2 (Conn *c, const char *tag, const char *args);
