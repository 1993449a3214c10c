#include "mailharvest/cli.h"

int
main (int argc, char **argv)
{
  return mh_cli_main (argc, argv);
}
