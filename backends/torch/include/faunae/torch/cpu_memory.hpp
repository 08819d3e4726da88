// Keeping freed tensor memory in the process, for training on the CPU under glibc.
//
// LibTorch's CPU allocator is malloc. glibc's malloc serves every block above its mmap threshold
// (128 KiB at start, adapting up to 32 MiB) with a fresh mmap and gives it back with munmap when it
// is freed; it also trims the top of its heap past 128 KiB. A training step frees and allocates the
// same large activations every step, so every step faults all their pages in again, each zeroed by
// the kernel. On the 2-core Debian 12 machine the stand-alone training of the ground truth spent 22 of
// its 59 s in the kernel that way (14×14 images, one thread; docs/benchmarks.md, "Speed"): with the
// memory kept, the same run took 13.7 s and gave the same numbers bit for bit.
//
//   faunae::torch_backend::keep_freed_cpu_memory();   // once, at the start of main()
//
// It is a process-wide choice, so the library never makes it by itself: programs call it (the
// `faunae` program and the benchmarks do). The cost is memory: what the peak step needed stays
// with the process until it exits (the peak was reached anyway). Elsewhere than glibc it does nothing
// and says so.
#pragma once

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace faunae::torch_backend {

/// Makes glibc's malloc serve every block from its heap (no mmap per large block) and never trim the
/// heap, so freed tensors' pages are reused instead of faulted in again. Returns whether it took
/// effect (false where the C library is not glibc, or mallopt refused).
inline bool keep_freed_cpu_memory() noexcept {
#if defined(__GLIBC__)
  const int no_mmap = mallopt(M_MMAP_MAX, 0);                  // large blocks from the heap too
  const int no_trim = mallopt(M_TRIM_THRESHOLD, 1 << 30);      // keep up to 1 GiB of free top
  const int no_shrink = mallopt(M_TOP_PAD, 64 << 20);          // grow the heap in 64 MiB steps
  return no_mmap == 1 && no_trim == 1 && no_shrink == 1;
#else
  return false;
#endif
}

}  // namespace faunae::torch_backend
