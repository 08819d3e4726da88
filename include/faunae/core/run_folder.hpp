// One run folder, one writer: an advisory lock (flock) on `<folder>/.lock`, held for as long as a
// process writes to the folder, and the id that tells one run's files from another's.
//
//   faunae::RunFolderLock lock("runs/demo");   // throws FolderInUse: "... in use by pid 4242 on host node7 ..."
//   ... write the run's files ...
//                                              // the destructor (or the process's death) releases it
//
// The lock is the kernel's flock(2) on an open file description: it dies with the process that holds
// it (exit, crash, SIGKILL), so a killed run never leaves a lock that blocks the next one; the file
// stays behind with the last holder's pid and host, which is harmless (the next holder rewrites it).
// The descriptor is opened with O_CLOEXEC, so programs the holder starts do not inherit the lock.
// flock is advisory: it keeps out the processes that ask for it (every faunae command), not `rm`. On
// NFS, Linux emulates flock with POSIX byte-range locks (NFSv4: held by the server, so it works across
// machines); on file systems without locks flock fails and so does the constructor, naming the error.
#pragma once

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "faunae/core/error.hpp"

#if __has_include(<sys/file.h>)
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#define FAUNAE_HAVE_FLOCK 1
#endif

namespace faunae {

/// Another process holds the run folder's lock (or the lock could not be taken at all).
class FolderInUse : public IoError {
 public:
  using IoError::IoError;
};

/// A new run's id: 16 hexadecimal digits (64 bits) from std::random_device, so two runs started in
/// the same second on two machines still differ.
inline std::string new_run_id() {
  std::random_device device;
  const std::uint64_t high = device(), low = device();
  return fmt::format("{:016x}", (high << 32) ^ low);
}

/// The exclusive lock of a run folder (see the top of this file). Move-only; releasing it is closing
/// the descriptor.
class RunFolderLock {
 public:
  /// Takes the lock on `folder` (created if missing) at once, or throws FolderInUse naming the folder
  /// and the holder: "faunae::RunFolderLock: run folder 'runs/demo' in use by pid 4242 on host node7
  /// (it holds runs/demo/.lock); wait until it ends, or stop it".
  explicit RunFolderLock(const std::filesystem::path& folder) : folder_(folder) {
    constexpr std::string_view where = "faunae::RunFolderLock";
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec) throw IoError(fmt::format("{}: cannot create the run folder '{}': {}", where, folder.string(), ec.message()));
#ifdef FAUNAE_HAVE_FLOCK
    const auto path = lock_path(folder);
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw IoError(fmt::format("{}: cannot open the lock file '{}': {}", where, path.string(), std::strerror(errno)));
    int rc = 0;
    while ((rc = ::flock(fd_, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      if (err != EWOULDBLOCK)
        throw FolderInUse(fmt::format("{}: cannot lock '{}': {}", where, path.string(), std::strerror(err)));
      throw FolderInUse(fmt::format("{}: run folder '{}' in use by {} (it holds {}); wait until it ends, or stop it", where, folder.string(),
                                    holder_text(path), path.string()));
    }
    // Who holds it, for the processes refused while it runs.
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "?");
    holder_ = fmt::format("pid {} on host {}", static_cast<long>(::getpid()), host);
    const std::string text = holder_ + "\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      throw IoError(fmt::format("{}: cannot write the lock file '{}': {}", where, path.string(), std::strerror(err)));
    }
#endif
  }

  RunFolderLock(RunFolderLock&& other) noexcept
      : folder_(std::move(other.folder_)), holder_(std::move(other.holder_)), fd_(std::exchange(other.fd_, -1)) {}
  RunFolderLock& operator=(RunFolderLock&& other) noexcept {
    if (this != &other) {
      release();
      folder_ = std::move(other.folder_);
      holder_ = std::move(other.holder_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  RunFolderLock(const RunFolderLock&) = delete;
  RunFolderLock& operator=(const RunFolderLock&) = delete;
  ~RunFolderLock() { release(); }

  /// Releases the lock (also done by the destructor and by the process's end).
  void release() noexcept {
#ifdef FAUNAE_HAVE_FLOCK
    if (fd_ >= 0) ::close(fd_);
#endif
    fd_ = -1;
  }

  const std::filesystem::path& folder() const noexcept { return folder_; }
  /// "pid N on host H": what this lock wrote into the lock file.
  const std::string& holder() const noexcept { return holder_; }

  static std::filesystem::path lock_path(const std::filesystem::path& folder) { return folder / ".lock"; }

  /// Who holds `folder`'s lock now ("pid N on host H"), or std::nullopt if nobody does. For the
  /// processes that only check the lock (the ranks other than 0 of a data-parallel job, once rank 0
  /// has taken it); probing takes a shared lock for an instant, so do not call it while another
  /// process may be taking the lock.
  static std::optional<std::string> holder_of(const std::filesystem::path& folder) {
#ifdef FAUNAE_HAVE_FLOCK
    const auto path = lock_path(folder);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    const bool free = ::flock(fd, LOCK_SH | LOCK_NB) == 0;
    ::close(fd);
    if (free) return std::nullopt;
    return holder_text(path);
#else
    (void)folder;
    return std::nullopt;
#endif
  }

 private:
  /// The holder's "pid N on host H" from the lock file; the holder writes it just after taking the
  /// lock, so an empty file is read again for up to 200 ms.
  static std::string holder_text([[maybe_unused]] const std::filesystem::path& path) {
#ifdef FAUNAE_HAVE_FLOCK
    for (int attempt = 0; attempt < 20; ++attempt) {
      if (const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
        char buffer[512] = {};
        const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
        ::close(fd);
        std::string text(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
        if (!text.empty()) return text;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
#endif
    return "another process (it has not written its pid yet)";
  }

  std::filesystem::path folder_;
  std::string holder_;
  int fd_ = -1;
};

}  // namespace faunae
