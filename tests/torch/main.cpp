#define CATCH_CONFIG_RUNNER
#include "catch_torch.hpp"


int main(int argc, char** argv) {
  torch::set_num_threads(2);  // explicit: the default differs between builds
  return Catch::Session().run(argc, argv);
}
