// Crash-safe file replacement and content checksums for checkpoints.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "faunae/core/error.hpp"
#include "faunae/core/hash.hpp"  // fnv1a64, the checksum of checkpoints

#if __has_include(<unistd.h>)
#include <fcntl.h>
#include <unistd.h>
#define FAUNAE_HAVE_POSIX_IO 1
#endif

namespace faunae {

/// Replaces `path` with `content` atomically: write "<path>.tmp", flush it to disk, rename it over
/// `path`, flush the directory. A crash at any moment leaves either the old or the new file whole.
/// Throws IoError naming the path and the system's reason; the old file is then untouched.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  const std::filesystem::path tmp = path.string() + ".tmp";
#ifdef FAUNAE_HAVE_POSIX_IO
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw IoError(fmt::format("faunae::write_file_atomically(): cannot create '{}': {}", tmp.string(),
                              std::strerror(errno)));
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw IoError(fmt::format("faunae::write_file_atomically(): writing '{}' failed after {} of {} bytes: {}",
                                tmp.string(), written, content.size(), std::strerror(err)));
    }
    written += static_cast<std::size_t>(n);
  }
  // close() even when fsync() failed: the descriptor must not leak in a search that goes on.
  const bool synced = ::fsync(fd) == 0;
  const int sync_err = errno;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed) {
    const int err = synced ? errno : sync_err;
    ::unlink(tmp.c_str());
    throw IoError(fmt::format("faunae::write_file_atomically(): flushing '{}' failed: {}", tmp.string(),
                              std::strerror(err)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw IoError(fmt::format("faunae::write_file_atomically(): renaming '{}' to '{}' failed: {}", tmp.string(),
                              path.string(), std::strerror(err)));
  }
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
#else
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) throw IoError(fmt::format("faunae::write_file_atomically(): writing '{}' failed", tmp.string()));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    throw IoError(fmt::format("faunae::write_file_atomically(): renaming '{}' to '{}' failed: {}", tmp.string(),
                              path.string(), ec.message()));
#endif
}

/// Bytes of physical memory, or 0 where the system cannot tell: no size read from a file may ask for
/// more than this.
inline std::uint64_t physical_memory_bytes() noexcept {
#if defined(FAUNAE_HAVE_POSIX_IO) && defined(_SC_PHYS_PAGES)
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page > 0) return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
#endif
  return 0;
}

/// The whole content of `path`. A regular file larger than `max_bytes` (0: the physical memory) is
/// refused before anything is read or allocated, with an IoError naming it, its size and the limit.
inline std::string read_file(const std::filesystem::path& path, std::string_view where, std::uint64_t max_bytes = 0) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open '{}'", where, path.string()));
  const std::uint64_t limit = max_bytes > 0 ? max_bytes : physical_memory_bytes();
  std::error_code ec;
  if (const std::uint64_t size = std::filesystem::file_size(path, ec); !ec && limit > 0 && size > limit)
    throw IoError(fmt::format("{}: '{}' is {} bytes, more than the {} bytes {} (refused before reading it)", where,
                              path.string(), size, limit, max_bytes > 0 ? "allowed for this file" : "of physical memory"));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw IoError(fmt::format("{}: reading '{}' failed", where, path.string()));
  return std::move(buffer).str();
}

}  // namespace faunae
