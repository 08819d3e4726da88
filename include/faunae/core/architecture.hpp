// An architecture α: one operation per block, stored as the op's index in its block's candidate
// list (the index in the *original* list of the space, so it stays valid when ops are eliminated).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace faunae {

using OpIndex = std::size_t;

class Architecture {
 public:
  Architecture() = default;
  explicit Architecture(std::vector<OpIndex> ops) : ops_(std::move(ops)) {}
  Architecture(std::initializer_list<OpIndex> ops) : ops_(ops) {}

  std::size_t size() const noexcept { return ops_.size(); }
  OpIndex operator[](std::size_t block) const { return ops_[block]; }
  OpIndex& operator[](std::size_t block) { return ops_[block]; }
  const std::vector<OpIndex>& ops() const noexcept { return ops_; }
  auto begin() const noexcept { return ops_.begin(); }
  auto end() const noexcept { return ops_.end(); }

  /// Compact form for messages and logs: "[0, 2, 1]".
  std::string to_string() const { return fmt::format("[{}]", fmt::join(ops_, ", ")); }

  friend bool operator==(const Architecture&, const Architecture&) = default;
  friend auto operator<=>(const Architecture&, const Architecture&) = default;

 private:
  std::vector<OpIndex> ops_;
};

}  // namespace faunae
