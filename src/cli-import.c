/* cli-import.c - placeholder until the command lands. */
#include "cli-private.h"

int
mh_cli_import (int argc, char **argv)
{
  mh_cli_error ("'import' is not implemented yet");
  return MH_EXIT_USAGE;
}
