/* cli-private.h - shared by the command implementations of the CLI. */
#pragma once

#include <stdio.h>

#include <glib.h>

#include "mailharvest/cli.h"
#include "mailharvest/config.h"

G_BEGIN_DECLS

/* Each command gets argv with argv[0] = the command name and returns an
 * exit status (MH_EXIT_*).  Errors go to stderr with g_printerr. */
int mh_cli_folders (int argc, char **argv);
int mh_cli_import (int argc, char **argv);
int mh_cli_run (int argc, char **argv);
int mh_cli_threads (int argc, char **argv);

/* Text from mail, servers and file names is not to drive the terminal:
 * mh_cli_print() formats like fprintf() and writes the result with its
 * control characters (but tab and line feed), DEL, C1 controls and
 * bidirectional overrides shown as '?', and invalid UTF-8 replaced;
 * mh_cli_printable() returns such a copy of @s for one line (line feeds
 * too as '?'), for a progress bar that draws with escapes of its own. */
void mh_cli_print (FILE *out, const char *format, ...) G_GNUC_PRINTF (2, 3);
char *mh_cli_printable (const char *s);

/* Prints "mailharvest: MESSAGE" to stderr, as mh_cli_print() does. */
void mh_cli_error (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* Parses the options of one command; on a usage error prints it with the
 * command's help hint and returns FALSE. */
gboolean mh_cli_parse (GOptionContext *ctx, int *argc, char ***argv);

/* Reads --progress=WHEN for @command: "auto" (or NULL: a bar when stderr
 * is a terminal and @quiet_bar is FALSE), "always" or "never".  Sets
 * *@bar; on a bad value prints the usage error and returns FALSE. */
gboolean mh_cli_progress_mode (const char *command, const char *value,
                               gboolean quiet_bar, gboolean *bar);

/* Loads @path (NULL: ~/.config/mailharvest/config.ini) and keeps the
 * accounts named in @accounts (NULL: all); on error prints it and returns
 * NULL (exit status MH_EXIT_USAGE). */
MhConfig *mh_cli_load_config (const char *path, char **accounts);

G_END_DECLS
