// error_text: what an exception says, fit for one of faunae's error messages. LibTorch's c10::Error
// appends a C++ backtrace to what() ("Exception raised from valid at inline_container.cc:177 ...
// frame #0: c10::Error::Error(...) ..."), which helps LibTorch's developers and buries the reason for
// a user; error_text gives c10::Error's what_without_backtrace() and any other exception's what().
//
//   try { ... } catch (const std::exception& e) {
//     throw faunae::IoError(fmt::format("{}: '{}' is damaged: {}", where, path, faunae::torch_backend::error_text(e)));
//   }
#pragma once

#include <cstddef>
#include <exception>
#include <string>

#include <c10/util/Exception.h>

namespace faunae::torch_backend {

/// The message of `e` without LibTorch's backtrace and without trailing white space; cut to `limit`
/// characters (and marked "…") when longer.
inline std::string error_text(const std::exception& e, std::size_t limit = 300) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = torch_error ? torch_error->what_without_backtrace() : e.what();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.size() > limit) text = text.substr(0, limit) + "…";
  return text;
}

}  // namespace faunae::torch_backend
