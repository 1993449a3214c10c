/* config.h - the configuration file: [defaults] and [account NAME].
 *
 * The file is an INI file read with GKeyFile, with two additions: a line
 * whose first non-blank character is ';' or '#' is a comment, and so is
 * everything from a ';' or '#' that follows a blank to the end of the line
 * ("latest = 500 ; newest only").  Values are taken literally, without
 * GKeyFile's escape sequences, so that a command keeps its backslashes;
 * blanks around them are dropped.  config.example.ini documents every key.
 *
 * Validation is strict: an unknown section or key, a key given twice in
 * one section, an account defined twice, or a value out of range is an
 * MH_ERROR_CONFIG error whose message names the file, the section and the
 * key, e.g.
 *   config.ini: [account work] port: expected a number from 1 to 65535,
 *   got "99999"
 * Typos must not pass silently, so nothing is merely warned about.
 *
 * Every key an account takes may also be given in [defaults], as the
 * default for all accounts; [defaults] also holds `output`, which only it
 * may hold.  The secret source keys (password_env, password_command,
 * password_file, oauth2_token_command) count as one setting: an account
 * that names any of them ignores all of those in [defaults].  After that,
 * each account needs exactly one of them.
 *
 * Relative paths (output, ca_file, password_file) are taken relative to
 * the directory of the configuration file; a leading "~/" is the home
 * directory.  This module never touches the network and runs no command:
 * secret.h reads the secrets when they are needed. */
#pragma once

#include <glib.h>

#include "mailharvest/thread.h"
#include "mailharvest/tls.h"

G_BEGIN_DECLS

#define MH_CONFIG_MAX_SIZE (1024 * 1024)    /* bytes of the file */
#define MH_CONFIG_MAX_ACCOUNTS 1000
#define MH_CONFIG_MAX_NAME 64               /* bytes of an account name */
#define MH_CONFIG_MAX_MAILBOXES 1000
#define MH_CONFIG_DEFAULT_LATEST 500
#define MH_CONFIG_MAX_LATEST 100000000
#define MH_CONFIG_DEFAULT_TIMEOUT 60        /* seconds */
#define MH_CONFIG_MAX_TIMEOUT 3600          /* seconds */
/* max_message_size, in bytes: 1 GiB by default, 64 KiB to 16 GiB. */
#define MH_CONFIG_DEFAULT_MESSAGE_SIZE (G_GUINT64_CONSTANT (1) << 30)
#define MH_CONFIG_MIN_MESSAGE_SIZE (G_GUINT64_CONSTANT (64) << 10)
#define MH_CONFIG_MAX_MESSAGE_SIZE (G_GUINT64_CONSTANT (16) << 30)

typedef enum {
  MH_PROFILE_GENERIC, /* reads `mailboxes` (default INBOX) */
  MH_PROFILE_GMAIL,   /* reads the folder flagged \All */
  MH_PROFILE_OUTLOOK, /* reads INBOX and the folder flagged \Sent */
} MhProfile;

typedef enum {
  MH_COMPRESS_AUTO,    /* when offered and the host is not loopback */
  MH_COMPRESS_YES,     /* whenever offered */
  MH_COMPRESS_NO,
} MhCompress;

typedef enum {
  MH_AUTH_AUTO,        /* oauth2_token_command: XOAUTH2 or OAUTHBEARER,
                        * else the best password mechanism offered */
  MH_AUTH_PLAIN,
  MH_AUTH_LOGIN,
  MH_AUTH_XOAUTH2,
  MH_AUTH_OAUTHBEARER,
} MhAuthMech;

typedef struct {
  char *name;                 /* from [account NAME]: 1 to
                               * MH_CONFIG_MAX_NAME of [A-Za-z0-9._-],
                               * not starting with '.'; used as a
                               * directory name */
  MhProfile profile;          /* default generic */
  char *host;                 /* never NULL: gmail and outlook default to
                               * imap.gmail.com / outlook.office365.com */
  guint16 port;               /* never 0: 993 for tls, 143 otherwise */
  MhSecurity security;        /* default tls; none only for loopback */
  char *username;             /* never NULL */
  MhAuthMech auth;            /* default auto; xoauth2 and oauthbearer
                               * need oauth2_token_command, plain and
                               * login a password source */
  /* The secret source: exactly one of these four is non-NULL. */
  char *password_env;         /* an environment variable name */
  char *password_command;     /* run with /bin/sh -c */
  char *password_file;        /* absolute path */
  char *oauth2_token_command; /* run with /bin/sh -c */
  char *ca_file;              /* absolute path, or NULL: system CAs */
  gboolean tls_verify;        /* default TRUE */
  MhCompress compress;        /* COMPRESS=DEFLATE; default auto */
  char **mailboxes;           /* generic: NULL-terminated, at least one
                               * (default { "INBOX" }); NULL for gmail and
                               * outlook */
  gint64 latest;              /* N newest per mailbox; 0 means all;
                               * default MH_CONFIG_DEFAULT_LATEST */
  char *since;                /* "YYYY-MM-DD" (a valid date), or NULL */
  guint timeout;              /* seconds, 1..MH_CONFIG_MAX_TIMEOUT,
                               * default MH_CONFIG_DEFAULT_TIMEOUT */
  guint64 max_message_size;   /* bytes; a bigger message is not fetched
                               * and counts as failed; default
                               * MH_CONFIG_DEFAULT_MESSAGE_SIZE */
  MhThreadSubjectMode subject_threading; /* default guarded */
  guint subject_window_days;  /* 1..MH_THREAD_MAX_WINDOW, default
                               * MH_THREAD_DEFAULT_WINDOW */
} MhAccount;

typedef struct {
  char *path;           /* the file as given to mh_config_load */
  char *output;         /* absolute path; default "archive" beside the
                         * configuration file */
  GPtrArray *accounts;  /* (element-type MhAccount), owned, in file
                         * order; may be empty */
} MhConfig;

/* Reads and validates @path.  Returns (transfer full) a configuration, or
 * NULL with MH_ERROR_CONFIG (bad content, not a regular file, larger than
 * MH_CONFIG_MAX_SIZE) or MH_ERROR_IO (missing or unreadable) set.  Never
 * runs commands or reads secrets. */
MhConfig *mh_config_load (const char *path, GError **error);

/* As mh_config_load, on @len bytes of @data.  @path names the file in
 * messages and anchors relative paths; it is not opened. */
MhConfig *mh_config_load_from_data (const char *data, gsize len,
                                    const char *path, GError **error);

/* Keeps only the accounts named in @names (NULL-terminated; NULL or empty
 * keeps all), in file order.  Returns FALSE with MH_ERROR_CONFIG, leaving
 * @config unchanged, when a name is not an account of @config. */
gboolean mh_config_select (MhConfig *config, const char *const *names,
                           GError **error);

/* Looks an account up by name; (transfer none), or NULL. */
const MhAccount *mh_config_find_account (const MhConfig *config,
                                         const char *name);

/* TRUE if @host is "localhost", an IPv4 address in 127.0.0.0/8 or ::1.
 * Only such hosts may use security = none. */
gboolean mh_config_host_is_loopback (const char *host);

/* The key words used in the file ("gmail", "starttls", "xoauth2", ...);
 * static strings. */
const char *mh_profile_to_string (MhProfile profile);
const char *mh_security_to_string (MhSecurity security);
const char *mh_auth_mech_to_string (MhAuthMech auth);
const char *mh_subject_threading_to_string (MhThreadSubjectMode mode);

void mh_account_free (MhAccount *account);
void mh_config_free (MhConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhAccount, mh_account_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MhConfig, mh_config_free)

G_END_DECLS
