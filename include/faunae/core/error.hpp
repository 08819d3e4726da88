// Error types of faunae. Every message names where (the function), which rule was broken and
// the bad value, e.g. "faunae::FaunaeMutation: epsilon must be in [0, 1], got 1.5".
#pragma once

#include <stdexcept>
#include <string>

namespace faunae {

/// A caller passed an argument that breaks a documented rule (bad option, bad architecture, ...).
class InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// An architecture does not fit the search space it is used with.
class InvalidArchitecture : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

/// The evaluator failed or returned a loss that cannot be used (NaN, Inf). The search state is the
/// one of the last completed epoch; nothing is lost.
class EvaluationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A checkpoint or data file could not be read or written, or its content is corrupt.
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace faunae
