# Builds and runs tests/package/ against faunae, as a user would, with `cmake -P`:
#   -DMODE=find_package    install faunae's source tree into a fresh prefix, then find_package(faunae)
#   -DMODE=add_subdirectory  add_subdirectory(faunae's source tree)
#   -DMODE=find_package_torch  install faunae built with LibTorch, then a project on faunae::torch (torch/)
# Other variables: FAUNAE_SOURCE_DIR, CONSUMER_DIR, WORK_DIR, GENERATOR, CXX_COMPILER.
cmake_minimum_required(VERSION 3.20)

foreach(var MODE FAUNAE_SOURCE_DIR CONSUMER_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_package_test.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rv OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rv EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "package test (${MODE}): ${step} failed (${rv})\n  command: ${cmd}\n${out}\n${err}")
  endif()
  message(STATUS "package test (${MODE}): ${step}: ok")
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(common -G "${GENERATOR}" -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
# LibTorch is optional and slow to find; the consumer only needs faunae::core and faunae::tabular.
# The Python package is tested on its own (tests/python: "faunae python: installed package").
set(faunae_options -DFAUNAE_WITH_TORCH=OFF -DFAUNAE_BUILD_PYTHON=OFF)

if(MODE STREQUAL "find_package")
  set(prefix "${WORK_DIR}/prefix")
  run("configure faunae" ${CMAKE_COMMAND} -S "${FAUNAE_SOURCE_DIR}" -B "${WORK_DIR}/faunae-build" ${common} ${faunae_options}
      -DFAUNAE_BUILD_TESTS=OFF -DFAUNAE_BUILD_EXAMPLES=OFF -DFAUNAE_BUILD_BENCHMARKS=OFF)
  run("install faunae" ${CMAKE_COMMAND} --install "${WORK_DIR}/faunae-build" --prefix "${prefix}")
  foreach(header faunae/faunae.hpp faunae/concepts.hpp faunae/tabular.hpp faunae/tabular/benchmark_table.hpp)
    if(NOT EXISTS "${prefix}/include/${header}")
      message(FATAL_ERROR "package test: ${header} was not installed into ${prefix}/include")
    endif()
  endforeach()
  run("configure consumer" ${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/consumer" ${common}
      -DFAUNAE_CONSUMER_MODE=find_package -DCMAKE_PREFIX_PATH=${prefix} -DFAUNAE_EXPECTED_PREFIX=${prefix})
elseif(MODE STREQUAL "find_package_torch")
  # faunae::torch as users get it: faunae configured with LibTorch, installed, found by a project that
  # links faunae::torch (tests/package/torch/).
  set(prefix "${WORK_DIR}/prefix")
  run("configure faunae with LibTorch" ${CMAKE_COMMAND} -S "${FAUNAE_SOURCE_DIR}" -B "${WORK_DIR}/faunae-build" ${common}
      -DFAUNAE_WITH_TORCH=ON -DFAUNAE_BUILD_PYTHON=OFF -DFAUNAE_BUILD_TESTS=OFF -DFAUNAE_BUILD_EXAMPLES=OFF -DFAUNAE_BUILD_BENCHMARKS=OFF)
  run("install faunae" ${CMAKE_COMMAND} --install "${WORK_DIR}/faunae-build" --prefix "${prefix}")
  foreach(file include/faunae/torch.hpp include/faunae/torch/supernet.hpp lib/cmake/faunae/faunaeTorchTargets.cmake lib/cmake/faunae/faunaeStb.cmake)
    if(NOT EXISTS "${prefix}/${file}")
      message(FATAL_ERROR "package test: ${file} was not installed into ${prefix}")
    endif()
  endforeach()
  # No build type, like the other consumers: what is checked is that it builds and runs, and -O3
  # only made the test 11 s longer (47 s against 36 s).
  run("configure consumer" ${CMAKE_COMMAND} -S "${CONSUMER_DIR}/torch" -B "${WORK_DIR}/consumer" ${common}
      -DCMAKE_PREFIX_PATH=${prefix} -DFAUNAE_EXPECTED_PREFIX=${prefix})
elseif(MODE STREQUAL "add_subdirectory")
  run("configure consumer" ${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${WORK_DIR}/consumer" ${common} ${faunae_options}
      -DFAUNAE_CONSUMER_MODE=add_subdirectory -DFAUNAE_SOURCE_DIR=${FAUNAE_SOURCE_DIR})
else()
  message(FATAL_ERROR "run_package_test.cmake: MODE must be find_package, find_package_torch or add_subdirectory, got '${MODE}'")
endif()

run("build consumer" ${CMAKE_COMMAND} --build "${WORK_DIR}/consumer")
run("run consumer" "${WORK_DIR}/consumer/consumer")
if(NOT last_output MATCHES "consumer: OK")
  message(FATAL_ERROR "package test (${MODE}): the consumer did not report OK:\n${last_output}")
endif()
message(STATUS "package test (${MODE}): ${last_output}")
