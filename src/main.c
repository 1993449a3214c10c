#ifdef MH_WITH_MIMALLOC
#include <mimalloc.h>
#else
#include <malloc.h>
#endif

#include "mailharvest/cli.h"

int
main (int argc, char **argv)
{
#ifdef MH_WITH_MIMALLOC
  /* The program links mimalloc, which replaces malloc for every library
   * (see meson.build).  Its per-thread heaps keep what a message freed
   * for the next one.  The call keeps the link from being dropped as
   * unneeded. */
  (void) mi_version ();
#elif defined M_TRIM_THRESHOLD
  /* Every message allocates and frees the same few 64 KiB buffers and
   * parse trees.  With glibc's defaults each free at the top of a
   * thread's heap hands the pages back (madvise) and the next message
   * faults them in again, zeroed: measurable system time, more so on
   * virtual machines.  Keep up to 32 MiB per heap instead, and keep
   * buffers below 4 MiB out of mmap.  Peak memory is unchanged, since it
   * is the peak of what is in use. */
  mallopt (M_TRIM_THRESHOLD, 32 * 1024 * 1024);
  mallopt (M_MMAP_THRESHOLD, 4 * 1024 * 1024);
#endif
  return mh_cli_main (argc, argv);
}
