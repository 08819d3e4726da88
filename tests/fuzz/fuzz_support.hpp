// Shared pieces of faunae's libFuzzer targets (docs/reliability.md, "Fuzzing"; scripts/fuzz.sh).
//
// A target feeds the fuzzer's bytes to one parser of outside input, through the same API a user
// calls (a file path where the API takes one), and treats the library's documented exceptions as
// the expected answer to bad input: faunae::IoError (the file is wrong), faunae::InvalidArgument and
// its InvalidArchitecture (the call or the content breaks a documented rule), faunae::EvaluationError.
// Anything else fails the run: a crash, a sanitizer report, a leak, a timeout, running out of memory,
// or any other exception (reported by expect_documented_errors with its type and message).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <typeinfo>

#include <unistd.h>

#include "faunae/core/error.hpp"

namespace faunae_fuzz {

/// A folder of this process's own under /dev/shm (memory, so writing an input per run is cheap) or
/// the system's temp folder, removed at exit. Created on first use.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec) ? std::filesystem::path("/dev/shm")
                                                                              : std::filesystem::temp_directory_path();
    std::filesystem::path d = base / ("faunae-fuzz-" + std::to_string(::getpid()));
    std::filesystem::remove_all(d, ec);
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_dir(), ignored);
    });
    return d;
  }();
  return dir;
}

/// Replaces the file at `path` with `bytes`.
inline void write_bytes(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "faunae fuzz: cannot write '%s'\n", path.c_str());
    std::abort();
  }
}

/// A fuzz-found failure that is not a memory error: print why and abort, which libFuzzer reports as
/// a crash and saves the input.
[[noreturn]] inline void fail(std::string_view why) {
  std::fprintf(stderr, "faunae fuzz: %.*s\n", static_cast<int>(why.size()), why.data());
  std::abort();
}

/// Runs `f`; the library's documented exceptions are the expected outcome for bad input and return
/// false; any other exception fails the run. Returns true if `f` returned normally.
template <class F>
bool expect_documented_errors(F&& f) {
  try {
    f();
    return true;
  } catch (const faunae::IoError&) {
  } catch (const faunae::InvalidArgument&) {  // and InvalidArchitecture
  } catch (const faunae::EvaluationError&) {
  } catch (const std::exception& e) {
    fail(std::string("undocumented exception ") + typeid(e).name() + ": " + e.what());
  } catch (...) {
    fail("an exception that is not a std::exception");
  }
  return false;
}

/// The fuzzer's bytes as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace faunae_fuzz
