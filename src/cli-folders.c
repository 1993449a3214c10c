/* cli-folders.c - placeholder until the command lands. */
#include "cli-private.h"

int
mh_cli_folders (int argc, char **argv)
{
  mh_cli_error ("'folders' is not implemented yet");
  return MH_EXIT_USAGE;
}
