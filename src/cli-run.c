/* cli-run.c - placeholder until the command lands. */
#include "cli-private.h"

int
mh_cli_run (int argc, char **argv)
{
  mh_cli_error ("'run' is not implemented yet");
  return MH_EXIT_USAGE;
}
