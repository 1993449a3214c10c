#ifdef MH_WITH_MIMALLOC
#include <mimalloc.h>
#else
#include <malloc.h>
#endif

#include <sys/resource.h>

#include "mailharvest/cli.h"

/* The archive holds written files open until the commit that makes them
 * durable, so that their pages can be dropped then without a wait
 * (writeback.h); it sizes how many by the descriptor limit.  The usual
 * soft limit of 1,024 is a leftover of select(), which nothing here uses:
 * raise it towards the hard limit, as far as this program has use for. */
#define WANTED_FILES 16384

static void
raise_file_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= WANTED_FILES)
    return;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > WANTED_FILES
                  ? WANTED_FILES : rl.rlim_max;
  (void) setrlimit (RLIMIT_NOFILE, &rl);
}

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
  raise_file_limit ();
  return mh_cli_main (argc, argv);
}
