// Process-wide malloc settings for training.
//
// Every training step allocates and frees the same large activation and gradient buffers. By
// default glibc serves allocations above a (dynamic) threshold with fresh mmap'd pages and
// returns freed memory to the kernel, so each step pays tens of thousands of page faults and
// the kernel's page zeroing again (measured: about a third of the sparse attention op's time
// at n = 4096). Keeping freed memory in the process reuses warm pages instead; the cost is
// that the resident size stays at its peak.
#ifndef HEADEVO_WORKER_ALLOCATOR_TUNING_H_
#define HEADEVO_WORKER_ALLOCATOR_TUNING_H_

namespace headevo::worker {

// Makes malloc serve large blocks from its heap and never trim it. Call once at start-up,
// before threads start. A no-op where the C library is not glibc. Returns whether it applied.
bool KeepFreedMemoryInProcess();

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_ALLOCATOR_TUNING_H_
