/* secret.h - passwords and OAuth2 tokens for an account, looked up when
 * they are needed: from an environment variable, the first line of a
 * command's output, or the first line of a file.
 *
 * Every string returned here is a secret: release it with mh_secret_free,
 * which overwrites it first.  No secret, and no output of a secret
 * command, ever appears in an error message; errors name the account, the
 * key, the variable, file or exit status instead. */
#pragma once

#include <glib.h>

#include "mailharvest/config.h"

G_BEGIN_DECLS

#define MH_SECRET_COMMAND_TIMEOUT_MS 60000 /* a command gets 60 s */
#define MH_SECRET_MAX_SIZE (64 * 1024)     /* bytes read from a file or a
                                            * command's stdout */

/* The password of @acct, from password_env, password_command or
 * password_file (whichever is set).  Returns (transfer full) a non-empty
 * string without its line end; free it with mh_secret_free.  NULL with
 * MH_ERROR_CONFIG when the variable is unset or empty, the file cannot be
 * read, is not a regular file, is readable by group or others (chmod 600
 * it) or holds no first line, or the account has no password source;
 * MH_ERROR_AUTH when the command fails, is killed or prints nothing;
 * MH_ERROR_TIMEOUT when it runs longer than MH_SECRET_COMMAND_TIMEOUT_MS
 * (it is then killed). */
char *mh_secret_password (const MhAccount *acct, GError **error);

/* The OAuth2 access token of @acct: the first line printed by
 * oauth2_token_command.  Errors as for mh_secret_password; MH_ERROR_CONFIG
 * when the account has no oauth2_token_command. */
char *mh_secret_oauth2_token (const MhAccount *acct, GError **error);

/* Runs @command with /bin/sh -c, stdin and stderr inherited, and returns
 * (transfer full) the first line of its stdout (at most
 * MH_SECRET_MAX_SIZE bytes are read; the line end is removed).  A command
 * still running after @timeout_ms is killed (SIGKILL to the shell).
 * @account and @key only name the command in error messages, which never
 * include its output.  Errors as for mh_secret_password. */
char *mh_secret_run_command (const char *account, const char *key,
                             const char *command, guint timeout_ms,
                             GError **error);

/* Overwrites @secret with zeros, then frees it.  NULL is ignored. */
void mh_secret_free (char *secret);

G_END_DECLS
