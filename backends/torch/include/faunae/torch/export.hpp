// Extraction of a found architecture from the supernet, and weights files that Python reads.
//
//   auto net = faunae::torch_backend::extract(supernet, found);          // only the chosen ops
//   faunae::torch_backend::save_weights(*net, "found.pt");               // Python: torch.load("found.pt")
//   faunae::torch_backend::load_weights(*net, "found.pt");               // back in C++
//
// The file is a dict {parameter or buffer name: tensor} in torch.save's zip format — the format of
// torch.save(model.state_dict()) — so Python's torch.load returns a state_dict-like dict, also with
// weights_only=True (PyTorch 2.6's default): it is written without the type tag that
// torch::pickle_save puts on a typed dict (a call of torch.jit._pickle.restore_type_tag, which
// weights_only refuses).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <fmt/format.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/torch.h>

#include "faunae/core/atomic_file.hpp"
#include "faunae/core/error.hpp"
#include "faunae/core/architecture.hpp"
#include "faunae/torch/error_text.hpp"
#include "faunae/torch/supernet.hpp"

namespace faunae::torch_backend {

/// All parameters and buffers of `m` by their dotted names (the state_dict of PyTorch).
inline std::vector<std::pair<std::string, torch::Tensor>> state_dict(const torch::nn::Module& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : m.named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : m.named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

namespace detail {
/// Reads of a zip archive in memory that stop at its end. LibTorch 1.13's pickle_load reads through
/// an adapter that copies whatever range the archive's (possibly corrupt) directory names, past the
/// end of the buffer (found by tests/fuzz/evaluator_state); a short read here is an error the zip
/// reader reports instead.
class BoundedReadAdapter final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BoundedReadAdapter(const std::string& data) : data_(data) {}
  std::size_t size() const override { return data_.size(); }
  std::size_t read(std::uint64_t pos, void* buf, std::size_t n, const char* /*what*/ = "") const override {
    if (pos >= data_.size()) return 0;
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, data_.size() - pos));
    std::memcpy(buf, data_.data() + pos, n);
    return n;
  }

 private:
  const std::string& data_;
};

/// torch::pickle_load of `bytes` (what torch::pickle_save and Python's torch.save write), the same
/// steps with BoundedReadAdapter. Throws what LibTorch throws (c10::Error) for a damaged archive.
inline torch::IValue pickle_load(const std::string& bytes) {
  caffe2::serialize::PyTorchStreamReader reader(std::make_shared<BoundedReadAdapter>(bytes));
  return torch::jit::readArchiveAndTensors("data", /*pickle_prefix=*/"", /*tensor_prefix=*/"", /*type_resolver=*/c10::nullopt,
                                           /*obj_loader=*/c10::nullopt, /*device=*/c10::nullopt, reader);
}

/// What torch::pickle_save(dict) writes — a zip archive "data/" holding data.pkl and one record per
/// tensor, as Python's torch.save does — but without the type tag torch::pickle_save wraps a typed
/// dict in (GLOBAL torch.jit._pickle.restore_type_tag). Python's torch.load with weights_only=True
/// (the default since PyTorch 2.6) refuses that global; the plain dict it reads, like any
/// torch.save(state_dict) file. pickle_load reads it back (as a dict of Any keys and values).
inline std::vector<char> pickle_save_untagged(const c10::Dict<std::string, torch::Tensor>& dict) {
  std::vector<char> pickled;
  torch::jit::Pickler pickler([&](const char* bytes, std::size_t n) { pickled.insert(pickled.end(), bytes, bytes + n); },
                              /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
                              /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(torch::IValue(dict));
  pickler.stop();
  std::vector<char> archive;
  archive.reserve(pickled.size());
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* bytes, std::size_t n) {
    const char* b = static_cast<const char*>(bytes);
    archive.insert(archive.end(), b, b + n);
    return n;
  });
  torch::jit::writeArchiveAndTensors("data", pickled.data(), pickled.size(), pickler.tensorData(), writer);
  writer.writeEndOfFile();
  return archive;
}

/// Writes `entries` (name → tensor, each moved to the CPU) to `path` as a dict that Python's
/// torch.load reads (weights_only too), atomically: a crash leaves the old file or the new one, whole.
inline void save_tensor_dict(const std::vector<std::pair<std::string, torch::Tensor>>& entries,
                             const std::filesystem::path& path) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, t] : entries) dict.insert(name, t.detach().to(torch::kCPU).contiguous());
  const std::vector<char> bytes = pickle_save_untagged(dict);
  write_file_atomically(path, std::string_view(bytes.data(), bytes.size()));
}

/// Copies every parameter and buffer of `target` from the entry of `source` with the same name and
/// shape, after checking them all (nothing is half-copied). `Error` is the exception type; `origin`
/// says what the source is in messages ("the source", "the file"). With `exact`, entries of the source
/// that the target lacks are an error too.
template <class Error>
void copy_by_name(const std::map<std::string, torch::Tensor>& source, torch::nn::Module& target_module,
                  std::string_view where, std::string_view origin, bool exact) {
  const auto target = state_dict(target_module);
  std::set<std::string> used;
  for (const auto& [name, t] : target) {
    const auto it = source.find(name);
    if (it == source.end()) throw Error(fmt::format("{}: {} has no '{}'", where, origin, name));
    if (!it->second.sizes().equals(t.sizes()))
      throw Error(fmt::format("{}: '{}' has shape {} in {}, the target expects {}", where, name, it->second.sizes().vec(),
                              origin, t.sizes().vec()));
    used.insert(name);
  }
  if (exact)
    for (const auto& [name, t] : source)
      if (!used.count(name)) throw Error(fmt::format("{}: {} has '{}', which the target does not", where, origin, name));
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : target) t.copy_(source.at(name));
}
}  // namespace detail

/// Copies every parameter and buffer of `to` from the entry of `from` with the same name and shape
/// (`from` may have more: a supernet into its extracted network). Throws naming the first missing or
/// mismatched entry; nothing is half-copied.
inline void copy_state(const torch::nn::Module& from, torch::nn::Module& to, std::string_view where = "faunae::torch_backend::copy_state()") {
  std::map<std::string, torch::Tensor> source;
  for (auto& [name, t] : state_dict(from)) source.emplace(name, t);
  detail::copy_by_name<InvalidArgument>(source, to, where, "the source", /*exact=*/false);
}

/// The standalone network of architecture `a`: only the chosen op of each block. With
/// `copy_weights`, it takes the supernet's weights (and BN statistics); otherwise fresh ones.
/// Works for any Supernet (supernet.hpp): ResNetSupernet, DartsSupernet.
template <Supernet Net>
Net extract(const Net& supernet, const Architecture& a, bool copy_weights = true) {
  supernet->check(a, "faunae::torch_backend::extract()");
  Net net(supernet->options(), a);
  if (copy_weights) copy_state(*supernet, *net, "faunae::torch_backend::extract()");
  net->to(supernet->stem_conv->weight.device());
  net->train(supernet->is_training());
  return net;
}

/// Writes the parameters and buffers of `m` (on the CPU) as a dict that Python's torch.load reads,
/// weights_only=True included; atomically (a crash leaves the old file or the new one, whole).
inline void save_weights(const torch::nn::Module& m, const std::filesystem::path& path) {
  detail::save_tensor_dict(state_dict(m), path);
}

/// Loads a file written by save_weights (or Python's torch.save(model.state_dict())) into `m`:
/// every parameter and buffer of `m` must be there with its shape; extra entries are an error too.
inline void load_weights(torch::nn::Module& m, const std::filesystem::path& path) {
  const std::string where = fmt::format("faunae::torch_backend::load_weights('{}')", path.string());
  const std::string text = read_file(path, where);
  torch::IValue value;
  try {
    value = detail::pickle_load(text);
  } catch (const std::exception& e) {
    throw IoError(fmt::format("{}: not a weights file written by torch.save / pickle_save: {}", where,
                              error_text(e)));
  }
  if (!value.isGenericDict()) throw IoError(fmt::format("{}: the file holds a {}, not a dict of tensors", where, value.tagKind()));
  std::map<std::string, torch::Tensor> loaded;
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString() || !item.value().isTensor())
      throw IoError(fmt::format("{}: every entry must map a name to a tensor", where));
    loaded.emplace(item.key().toStringRef(), item.value().toTensor());
  }
  detail::copy_by_name<IoError>(loaded, m, where, "the file", /*exact=*/true);
}

}  // namespace faunae::torch_backend
