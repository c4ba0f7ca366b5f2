// Idle OpenMP threads that sleep instead of spinning.
//
// LibTorch's intra-op threads are libgomp's. After every parallel region libgomp's idle threads
// spin, then yield, waiting for the next region (its default wait policy), and OpenBLAS's own
// threads do the same around each matrix product. A training step of the worker's small models
// runs thousands of short parallel regions; with as many busy threads as cores (OpenBLAS's pool,
// another process on the machine) the waiting threads take the cores from those with work.
// bench_attention on 2 busy cores: a training step at n = 784 with k = 8 offsets per head took
// 596 ms with spinning threads and 86 ms with sleeping ones (see docs/scale.md). libgomp reads
// its wait policy only from the environment, when the library loads, so changing it takes a
// fresh start of the process.
#ifndef HEADEVO_WORKER_THREAD_TUNING_H_
#define HEADEVO_WORKER_THREAD_TUNING_H_

namespace headevo::worker {

// Where OMP_WAIT_POLICY is unset: sets it to "passive" and replaces this process by a fresh
// start of the same binary with the same arguments (execv of /proc/self/exe; the process id
// stays). Returns only when it did not restart: the variable was already set (by the user,
// who keeps the last word, or by the restart itself), the system is not Linux, or execv failed
// (the process then runs on with libgomp's default). Call first thing in main, before any
// thread starts or file opens.
void RestartWithSleepingOpenMpThreads(char** argv);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_THREAD_TUNING_H_
