# faunae_find_stb(<result>): stb_image (Debian's libstb-dev), which faunae::torch's data.hpp decodes
# PNG and JPEG with, as the imported target PkgConfig::FAUNAE_STB; <result> is set to TRUE or FALSE.
# Through pkg-config's stb.pc, or else the header and the library found directly (set
# FAUNAE_STB_INCLUDE_DIR and FAUNAE_STB_LIBRARY to point at them). Used by faunae's CMakeLists.txt
# and by the installed faunaeConfig.cmake, so that both find stb the same way.
macro(faunae_find_stb result)
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND AND NOT TARGET PkgConfig::FAUNAE_STB)
    pkg_check_modules(FAUNAE_STB QUIET IMPORTED_TARGET GLOBAL stb)
  endif()
  if(NOT TARGET PkgConfig::FAUNAE_STB)
    find_path(FAUNAE_STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb)
    find_library(FAUNAE_STB_LIBRARY stb)
    if(FAUNAE_STB_INCLUDE_DIR AND FAUNAE_STB_LIBRARY)
      add_library(PkgConfig::FAUNAE_STB INTERFACE IMPORTED GLOBAL)
      set_target_properties(PkgConfig::FAUNAE_STB PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${FAUNAE_STB_INCLUDE_DIR}"
                                                              INTERFACE_LINK_LIBRARIES "${FAUNAE_STB_LIBRARY}")
    endif()
  endif()
  if(TARGET PkgConfig::FAUNAE_STB)
    set(${result} TRUE)
  else()
    set(${result} FALSE)
  endif()
endmacro()
