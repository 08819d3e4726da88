// faunae::RunFolderLock (core/run_folder.hpp): one process at a time in a run folder. flock locks
// belong to open file descriptions, so two locks in this one process conflict as two processes'
// would; the lock dies with its process (SIGKILL included): tests/program/run_folder.sh.
#include <faunae/core/run_folder.hpp>  // first: the header stands alone

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>

#include "catch.hpp"
#include "test_support.hpp"

using namespace faunae_test;

#if __has_include(<sys/file.h>)
TEST_CASE("RunFolderLock: a second lock on the folder is refused at once, naming the holder, and once released it is taken again", "[run_folder]") {
  TempDir dir;
  const auto folder = dir / "run";
  std::optional<faunae::RunFolderLock> first;
  first.emplace(folder);  // creates the folder
  CHECK(std::filesystem::is_directory(folder));
  CHECK_THAT(first->holder(), Contains(fmt::format("pid {} on host ", static_cast<long>(::getpid()))));
  std::ifstream in(folder / ".lock");
  std::string line;
  std::getline(in, line);
  CHECK(line == first->holder());
  CHECK(faunae::RunFolderLock::holder_of(folder) == first->holder());

  CHECK_THROWS_MATCHES(faunae::RunFolderLock(folder), faunae::FolderInUse,
                       What(Contains(fmt::format("run folder '{}' in use by {}", folder.string(), first->holder())) &&
                            Contains((folder / ".lock").string())));
  // Moved, the lock is still held; released (destructor), it is free.
  faunae::RunFolderLock moved = std::move(*first);
  first.reset();
  CHECK_THROWS_AS(faunae::RunFolderLock(folder), faunae::FolderInUse);
  moved.release();
  CHECK_FALSE(faunae::RunFolderLock::holder_of(folder).has_value());
  faunae::RunFolderLock again(folder);  // the stale file does not block
  CHECK(faunae::RunFolderLock::holder_of(folder) == again.holder());
  CHECK_FALSE(faunae::RunFolderLock::holder_of(dir / "never-locked").has_value());
}

TEST_CASE("RunFolderLock: a folder that cannot be created is an IoError naming it", "[run_folder]") {
  TempDir dir;
  std::ofstream(dir / "file") << "x";
  CHECK_THROWS_MATCHES(faunae::RunFolderLock(dir / "file" / "run"), faunae::IoError, What(Contains("cannot create the run folder")));
}
#endif

TEST_CASE("new_run_id: 16 hexadecimal digits, different every time", "[run_folder]") {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    const auto id = faunae::new_run_id();
    CHECK(id.size() == 16);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    ids.insert(id);
  }
  CHECK(ids.size() == 100);
}
