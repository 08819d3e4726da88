// The one translation unit with Catch2's main(): Catch2 2 compiles its implementation here
// (CATCH_CONFIG_RUNNER), Catch2 3 has it in its library; the same main() for both.
#define CATCH_CONFIG_RUNNER
#include "catch.hpp"

int main(int argc, char** argv) { return Catch::Session().run(argc, argv); }
