// Include this instead of tests/catch.hpp in tests that use Torch: LibTorch built with glog (as
// Debian's is) defines a CHECK macro that aborts, which would silently replace Catch's CHECK if
// Torch came second. Torch first, then Catch's macros win.
#pragma once

#include <torch/torch.h>
#undef CHECK
#include "catch.hpp"
