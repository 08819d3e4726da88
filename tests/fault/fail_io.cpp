// libfaunae_fail_io.so: an LD_PRELOAD shim that makes the system calls themselves fail, as a full or
// read-only disk does, for the files whose path contains a given string. The program under test is
// unchanged: its open/write/fsync calls reach this shim first, which fails them or passes them on to
// the C library.
//
//   FAUNAE_FAIL_IO=enospc  write() to a matching file fails with ENOSPC once FAUNAE_FAIL_IO_AFTER
//                          bytes have been written to matching files (the write that crosses the
//                          limit is cut short, as on a disk that fills up)
//   FAUNAE_FAIL_IO=erofs   opening a matching file for writing fails with EROFS after
//                          FAUNAE_FAIL_IO_AFTER successful opens (the disk was remounted read-only)
//   FAUNAE_FAIL_IO=eio     fsync() of a matching file fails with EIO after FAUNAE_FAIL_IO_AFTER
//                          successful ones (the device reported a write error)
//   FAUNAE_FAIL_IO=slow    nothing fails, but write() and fsync() of a matching file first sleep
//                          FAUNAE_FAIL_IO_AFTER µs: a kill at a random moment then often lands
//                          inside a checkpoint write
//   FAUNAE_FAIL_IO_PATH    the substring that selects the files (default: every file)
//
// Once a fault has struck, it stays (a full disk stays full). Single-threaded use is enough here.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace {

enum class Mode { none, enospc, erofs, eio, slow };

struct Config {
  Mode mode = Mode::none;
  std::uint64_t after = 0;
  const char* path = "";
};

const Config& config() {
  static const Config c = [] {
    Config x;
    const char* mode = getenv("FAUNAE_FAIL_IO");
    if (mode && strcmp(mode, "enospc") == 0) x.mode = Mode::enospc;
    else if (mode && strcmp(mode, "erofs") == 0) x.mode = Mode::erofs;
    else if (mode && strcmp(mode, "eio") == 0) x.mode = Mode::eio;
    else if (mode && strcmp(mode, "slow") == 0) x.mode = Mode::slow;
    if (const char* after = getenv("FAUNAE_FAIL_IO_AFTER")) x.after = strtoull(after, nullptr, 10);
    if (const char* path = getenv("FAUNAE_FAIL_IO_PATH")) x.path = path;
    return x;
  }();
  return c;
}

constexpr int kMaxFd = 65536;
bool tracked[kMaxFd];            // descriptors of matching files
std::uint64_t written = 0;       // bytes written to matching files
std::uint64_t opens = 0, syncs = 0;
bool struck = false;

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

bool matches(const char* path) { return path != nullptr && config().mode != Mode::none && strstr(path, config().path) != nullptr; }
bool for_writing(int flags) { return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)) != 0; }

// EROFS on opening a matching file for writing, once `after` such opens have succeeded.
bool refuse_open(const char* path, int flags) {
  if (!matches(path) || config().mode != Mode::erofs || !for_writing(flags)) return false;
  if (struck || opens >= config().after) {
    struck = true;
    errno = EROFS;
    return true;
  }
  ++opens;
  return false;
}

int track(int fd, const char* path) {
  if (fd >= 0 && fd < kMaxFd) tracked[fd] = matches(path);
  return fd;
}

bool is_tracked(int fd) { return fd >= 0 && fd < kMaxFd && tracked[fd]; }

}  // namespace

extern "C" {

int open(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = static_cast<mode_t>(va_arg(ap, int));
    va_end(ap);
  }
  if (refuse_open(path, flags)) return -1;
  static auto next = real<int (*)(const char*, int, ...)>("open");
  return track(next(path, flags, mode), path);
}

int open64(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = static_cast<mode_t>(va_arg(ap, int));
    va_end(ap);
  }
  if (refuse_open(path, flags)) return -1;
  static auto next = real<int (*)(const char*, int, ...)>("open64");
  return track(next(path, flags, mode), path);
}

int openat(int dirfd, const char* path, int flags, ...) {
  mode_t mode = 0;
  if (flags & (O_CREAT | O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = static_cast<mode_t>(va_arg(ap, int));
    va_end(ap);
  }
  if (refuse_open(path, flags)) return -1;
  static auto next = real<int (*)(int, const char*, int, ...)>("openat");
  return track(next(dirfd, path, flags, mode), path);
}

FILE* fopen(const char* path, const char* how) {
  const bool writing = how != nullptr && (strchr(how, 'w') || strchr(how, 'a') || strchr(how, '+'));
  if (refuse_open(path, writing ? O_WRONLY : O_RDONLY)) return nullptr;
  static auto next = real<FILE* (*)(const char*, const char*)>("fopen");
  FILE* f = next(path, how);
  if (f) track(fileno(f), path);
  return f;
}

FILE* fopen64(const char* path, const char* how) {
  const bool writing = how != nullptr && (strchr(how, 'w') || strchr(how, 'a') || strchr(how, '+'));
  if (refuse_open(path, writing ? O_WRONLY : O_RDONLY)) return nullptr;
  static auto next = real<FILE* (*)(const char*, const char*)>("fopen64");
  FILE* f = next(path, how);
  if (f) track(fileno(f), path);
  return f;
}

ssize_t write(int fd, const void* buffer, size_t count) {
  static auto next = real<ssize_t (*)(int, const void*, size_t)>("write");
  if (is_tracked(fd) && config().mode == Mode::slow) usleep(static_cast<useconds_t>(config().after));
  if (is_tracked(fd) && config().mode == Mode::enospc && count > 0) {
    if (struck || written >= config().after) {
      struck = true;
      errno = ENOSPC;
      return -1;
    }
    const std::uint64_t room = config().after - written;
    if (count > room) count = static_cast<size_t>(room);
    const ssize_t n = next(fd, buffer, count);
    if (n > 0) written += static_cast<std::uint64_t>(n);
    return n;
  }
  return next(fd, buffer, count);
}

// libstdc++'s file streams write a full buffer and the new data together with writev().
ssize_t writev(int fd, const struct iovec* iov, int count) {
  static auto next = real<ssize_t (*)(int, const struct iovec*, int)>("writev");
  if (!is_tracked(fd) || config().mode != Mode::enospc) return next(fd, iov, count);
  ssize_t total = 0;  // one write() per piece: the byte budget applies to each
  for (int i = 0; i < count; ++i) {
    if (iov[i].iov_len == 0) continue;
    const ssize_t n = write(fd, iov[i].iov_base, iov[i].iov_len);
    if (n < 0) return total > 0 ? total : -1;
    total += n;
    if (static_cast<size_t>(n) < iov[i].iov_len) break;
  }
  return total;
}

int fsync(int fd) {
  static auto next = real<int (*)(int)>("fsync");
  if (is_tracked(fd) && config().mode == Mode::slow) usleep(static_cast<useconds_t>(config().after));
  if (is_tracked(fd) && config().mode == Mode::eio) {
    if (struck || syncs >= config().after) {
      struck = true;
      errno = EIO;
      return -1;
    }
    ++syncs;
  }
  return next(fd);
}

int close(int fd) {
  static auto next = real<int (*)(int)>("close");
  if (fd >= 0 && fd < kMaxFd) tracked[fd] = false;
  return next(fd);
}

}  // extern "C"
