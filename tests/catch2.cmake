# Catch2 for faunae's tests: version 3 (Debian 13; a library) or 2 (Debian 12; one header), from the
# same test sources (tests/catch.hpp includes the right header). Included once, from the top-level
# CMakeLists.txt, so that tests/ and tests/torch/ see the same targets. Gives:
#   faunae_catch2          link this instead of Catch2::Catch2 (adds tests/ for "catch.hpp"); every
#                          test executable has its own main() (tests/main.cpp, tests/torch/main.cpp),
#                          so Catch2 3's Catch2WithMain is not used
#   catch_discover_tests   from Catch2's own Catch.cmake, either version
#   FAUNAE_CATCH2_NO_MATCH_FAILS
#                          the arguments that make a run whose test spec matches no test case fail
#                          (a ctest entry whose name no longer matches): v2 "--warn NoTests", v3
#                          "--warn UnmatchedTestSpec" (v3 refuses v2's "NoTests")
find_package(Catch2 3 QUIET CONFIG)
if(NOT Catch2_FOUND)
  find_package(Catch2 2 QUIET CONFIG)
endif()
if(NOT Catch2_FOUND)
  message(FATAL_ERROR "faunae tests: Catch2 3 or 2 not found (apt-get install catch2, or set Catch2_DIR to the folder "
                      "with Catch2Config.cmake); configure with -DFAUNAE_BUILD_TESTS=OFF to build without tests")
endif()
message(STATUS "faunae tests: Catch2 ${Catch2_VERSION}")
if(Catch2_VERSION VERSION_GREATER_EQUAL 3)
  set(FAUNAE_CATCH2_NO_MATCH_FAILS --warn UnmatchedTestSpec)
else()
  set(FAUNAE_CATCH2_NO_MATCH_FAILS --warn NoTests)
endif()
# Catch2Config.cmake (both versions) puts its folder, which holds Catch.cmake, on CMAKE_MODULE_PATH.
include(Catch)

add_library(faunae_catch2 INTERFACE)
target_link_libraries(faunae_catch2 INTERFACE Catch2::Catch2)
target_include_directories(faunae_catch2 INTERFACE ${CMAKE_CURRENT_LIST_DIR})
