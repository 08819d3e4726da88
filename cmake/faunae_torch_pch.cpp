// The translation unit that makes the project's one precompiled <torch/torch.h> (faunae_torch_pch,
// the top CMakeLists.txt). It has nothing of its own: CMake compiles the header before it.
