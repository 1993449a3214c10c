#include <stdio.h>
#include <string.h>

#include "mailharvest/cli.h"

int
mh_cli_main (int argc, char **argv)
{
  if (argc > 1 && strcmp (argv[1], "--version") == 0)
    {
      printf ("mailharvest %s\n", MH_VERSION);
      return MH_EXIT_OK;
    }
  fprintf (stderr, "usage: mailharvest COMMAND [OPTIONS]\n");
  return MH_EXIT_USAGE;
}
