/* cli-threads.c - placeholder until the command lands. */
#include "cli-private.h"

int
mh_cli_threads (int argc, char **argv)
{
  mh_cli_error ("'threads' is not implemented yet");
  return MH_EXIT_USAGE;
}
