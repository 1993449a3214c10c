/* cli.h - the command line: argv, user messages, exit codes.
 * Only this module prints to the user or picks an exit status. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Exit statuses (DESIGN.md). */
enum {
  MH_EXIT_OK = 0,      /* everything done */
  MH_EXIT_PARTIAL = 1, /* at least one account or message failed */
  MH_EXIT_USAGE = 2,   /* usage or configuration error, nothing done */
};

int mh_cli_main (int argc, char **argv);

G_END_DECLS
