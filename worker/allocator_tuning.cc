#include "worker/allocator_tuning.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <climits>

namespace headevo::worker {

bool KeepFreedMemoryInProcess() {
#if defined(__GLIBC__)
  // mallopt caps M_MMAP_THRESHOLD at HEAP_MAX_SIZE / 2 (32 MiB on 64-bit); blocks above it
  // still come from mmap, which only the largest buffers reach.
  const bool mmap_set = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;
  const bool trim_set = mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1;
  return mmap_set && trim_set;
#else
  return false;
#endif
}

}  // namespace headevo::worker
