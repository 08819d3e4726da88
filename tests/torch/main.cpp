// The one translation unit with main() for the LibTorch test executables (faunae_torch_tests,
// faunae_torch_fault_tests, faunae_distributed_tests): compiled once, as the object library
// faunae_torch_tests_main (tests/torch/CMakeLists.txt). It needs only ATen's thread setting, not
// <torch/torch.h>: Catch2 2 compiles its whole implementation here, and that is slow enough alone.
#include <ATen/Parallel.h>
#undef CHECK  // glog's CHECK (LibTorch built with glog) must not replace Catch's: see catch_torch.hpp
#define CATCH_CONFIG_RUNNER
#include "catch.hpp"

int main(int argc, char** argv) {
  at::set_num_threads(2);  // explicit: the default differs between builds
  return Catch::Session().run(argc, argv);
}
