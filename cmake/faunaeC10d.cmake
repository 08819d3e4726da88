# What faunae/torch/distributed.hpp needs on top of LibTorch: LibTorch's c10d headers include Gloo's
# headers (Debian: libgloo-dev) and are empty unless USE_C10D_GLOO is defined; NCCL's process group
# needs USE_C10D_NCCL and nccl.h (LibTorch built with CUDA only). Used by CMakeLists.txt for the
# faunae::torch_distributed target and by faunaeConfig.cmake for the installed one; call it after
# find_package(Torch).
#
# faunae_c10d_requirements(<target> <found-var>): adds the include directories and definitions to
# the INTERFACE (or imported) <target>; sets <found-var> to TRUE when Gloo's headers were found.
# FAUNAE_WITH_NCCL (AUTO, ON or OFF): NCCL when LibTorch has CUDA and nccl.h is found; ON makes a
# missing nccl.h an error.
function(faunae_c10d_requirements target found_var)
  set(${found_var} FALSE PARENT_SCOPE)
  # In the build tree everything stays $<BUILD_INTERFACE:...>: the installed package finds it anew
  # on the user's machine (faunaeConfig.cmake calls this function on the imported target).
  get_target_property(imported ${target} IMPORTED)
  macro(faunae_c10d_add property value)
    if(imported)
      set_property(TARGET ${target} APPEND PROPERTY ${property} "${value}")
    else()
      set_property(TARGET ${target} APPEND PROPERTY ${property} "$<BUILD_INTERFACE:${value}>")
    endif()
  endmacro()
  find_path(FAUNAE_GLOO_INCLUDE_DIR gloo/algorithm.h HINTS ${TORCH_INCLUDE_DIRS} "${TORCH_INSTALL_PREFIX}/include"
            DOC "Gloo's headers, which LibTorch's c10d headers include (Debian: libgloo-dev)")
  if(NOT FAUNAE_GLOO_INCLUDE_DIR)
    return()
  endif()
  faunae_c10d_add(INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${FAUNAE_GLOO_INCLUDE_DIR}")
  faunae_c10d_add(INTERFACE_INCLUDE_DIRECTORIES "${FAUNAE_GLOO_INCLUDE_DIR}")
  faunae_c10d_add(INTERFACE_COMPILE_DEFINITIONS USE_C10D_GLOO)

  if(NOT DEFINED FAUNAE_WITH_NCCL)
    set(FAUNAE_WITH_NCCL AUTO)
  endif()
  if(CAFFE2_USE_CUDA AND NOT FAUNAE_WITH_NCCL STREQUAL "OFF")
    # pip's torch keeps nccl.h in site-packages/nvidia/nccl/include, beside torch/.
    find_path(FAUNAE_NCCL_INCLUDE_DIR nccl.h
              HINTS ${TORCH_INCLUDE_DIRS} "$ENV{NCCL_ROOT}/include" "$ENV{NCCL_HOME}/include" "$ENV{NCCL_INCLUDE_DIR}"
                    "${TORCH_INSTALL_PREFIX}/../nvidia/nccl/include" ${CUDAToolkit_INCLUDE_DIRS} ${CUDA_INCLUDE_DIRS}
              DOC "NCCL's nccl.h, which LibTorch's ProcessGroupNCCL.hpp includes")
    if(FAUNAE_NCCL_INCLUDE_DIR)
      faunae_c10d_add(INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${FAUNAE_NCCL_INCLUDE_DIR}")
      faunae_c10d_add(INTERFACE_INCLUDE_DIRECTORIES "${FAUNAE_NCCL_INCLUDE_DIR}")
      faunae_c10d_add(INTERFACE_COMPILE_DEFINITIONS USE_C10D_NCCL)
    elseif(FAUNAE_WITH_NCCL STREQUAL "ON")
      message(FATAL_ERROR "faunae: FAUNAE_WITH_NCCL=ON but nccl.h was not found (set NCCL_ROOT or FAUNAE_NCCL_INCLUDE_DIR)")
    else()
      message(STATUS "faunae: LibTorch has CUDA but nccl.h was not found: faunae::torch_distributed offers Gloo only")
    endif()
  elseif(FAUNAE_WITH_NCCL STREQUAL "ON")
    message(FATAL_ERROR "faunae: FAUNAE_WITH_NCCL=ON but this LibTorch was built without CUDA")
  endif()
  set(${found_var} TRUE PARENT_SCOPE)
endfunction()
