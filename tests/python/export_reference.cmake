# faunae_export_reference: writes networks as `faunae export` does (network.json, weights.pt) with a
# fixed input and the C++ forward's outputs, for tests/python/test_torch_net.py, which checks that
# python/faunae/torch_net.py rebuilds them exactly. Included from tests/python/CMakeLists.txt.
#
#   faunae_export_reference OUT_DIR      # one subfolder per case
#   FAUNAE_EXPORT_REFERENCE=$(pwd)/faunae_export_reference PYTHONPATH=python python3 -m pytest tests/python
if(TARGET faunae::torch)
  add_executable(faunae_export_reference ${CMAKE_CURRENT_LIST_DIR}/export_reference.cpp)
  # examples/faunae/config.hpp: config_to_json, the JSON of the space and data that `faunae export` copies.
  target_link_libraries(faunae_export_reference PRIVATE faunae_program_parts faunae::torch faunae_warnings)
  if(TARGET faunae_torch_pch)
    target_precompile_headers(faunae_export_reference REUSE_FROM faunae_torch_pch)
  endif()
endif()
