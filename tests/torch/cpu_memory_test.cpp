// keep_freed_cpu_memory (cpu_memory.hpp): under glibc, large blocks come from the heap (no mmap per
// block, which every training step would fault in again) and stay there when freed.
#include <faunae/torch/cpu_memory.hpp>  // first: the header stands alone

#include <cstdlib>
#include <new>

#include "catch_torch.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define FAUNAE_TEST_OWN_MALLOC 0  // AddressSanitizer's malloc ignores mallopt
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FAUNAE_TEST_OWN_MALLOC 0
#endif
#endif
#ifndef FAUNAE_TEST_OWN_MALLOC
#define FAUNAE_TEST_OWN_MALLOC 1
#endif

TEST_CASE("keep_freed_cpu_memory serves large blocks from glibc's heap, not from a mmap each", "[cpu_memory]") {
#if defined(__GLIBC__) && FAUNAE_TEST_OWN_MALLOC
  REQUIRE(faunae::torch_backend::keep_freed_cpu_memory());
  const auto mapped_before = mallinfo2().hblks;  // blocks served by mmap, now in use
  void* big = std::malloc(std::size_t{96} << 20);  // above glibc's largest mmap threshold (32 MiB)
  REQUIRE(big != nullptr);
  CHECK(mallinfo2().hblks == mapped_before);
  std::free(big);
  // Freed, it stays with the process: the heap keeps at least that much free.
  CHECK(mallinfo2().fordblks >= (std::size_t{96} << 20));
  // And a tensor of that size is served without a new mapping.
  const auto t = torch::empty({24 << 20}, torch::kFloat);
  CHECK(mallinfo2().hblks == mapped_before);
#else
  SUCCEED("not glibc's own malloc: keep_freed_cpu_memory does nothing here");
#endif
}
