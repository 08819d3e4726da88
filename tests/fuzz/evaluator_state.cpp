// Fuzzes what a ContrastiveEvaluator reads back from a checkpoint (backends/torch/include/faunae/torch/
// contrastive_evaluator.hpp restore, MocoLearner::load in moco.hpp) and load_weights (export.hpp),
// on a tiny ResNet supernet (evaluator_fixture.hpp). The first byte picks the mode:
//   0: the rest is the JSON that Search::load hands to restore() (kind, file name); the files are valid;
//   1: the rest edits the learner file's dict of tensors (the `pickle` target fuzzes its bytes);
//   2: the same for the student's weights file and load_weights.
// An edit is 3 bytes (operation, entry, value): drop an entry, cut a tensor to 0–3 elements, change
// its dtype, rename it, replace it by a scalar, or add an entry. The edited dict is written with
// torch::pickle_save, so faunae's own checks of the entries are reached past LibTorch's archive
// (zip CRCs) and unpickler. A failed restore or load must leave the learner unchanged.
//
// FAUNAE_FUZZ_WRITE_SEEDS=<folder> writes inputs for the three modes there and exits.
#include <cstdint>
#include <cstdlib>

#include "evaluator_fixture.hpp"

namespace fb = faunae::torch_backend;

namespace {

std::string edited(const std::vector<std::pair<std::string, torch::Tensor>>& original, const std::uint8_t* edit, std::size_t size) {
  std::vector<std::pair<std::string, torch::Tensor>> entries = original;
  static const torch::ScalarType dtypes[] = {torch::kFloat, torch::kDouble, torch::kLong, torch::kUInt8, torch::kBool, torch::kHalf};
  for (std::size_t p = 0; p + 3 <= size && !entries.empty(); p += 3) {
    const unsigned op = edit[p] % 6, value = edit[p + 2];
    auto& [name, t] = entries[edit[p + 1] % entries.size()];
    switch (op) {
      case 0: entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(edit[p + 1] % entries.size())); break;
      case 1: t = t.flatten().narrow(0, 0, std::min<std::int64_t>(t.numel(), value % 4)); break;
      case 2: t = t.to(dtypes[value % std::size(dtypes)]); break;
      case 3: name += static_cast<char>('a' + value % 26); break;
      case 4: t = torch::full({}, static_cast<std::int64_t>(static_cast<std::int8_t>(value)) * 1000003, torch::kLong); break;
      default: entries.emplace_back("extra" + std::to_string(value), torch::zeros({value % 3}));
    }
  }
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, t] : entries) dict.insert_or_assign(name, t);
  const std::vector<char> bytes = torch::pickle_save(dict);
  return {bytes.begin(), bytes.end()};
}

std::vector<std::pair<std::string, torch::Tensor>> entries_of(const std::string& bytes) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : fb::detail::pickle_load(bytes).toGenericDict())
    out.emplace_back(item.key().toStringRef(), item.value().toTensor());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  faunae_fuzz::Fixture& f = faunae_fuzz::fixture();
  if (const char* out = std::getenv("FAUNAE_FUZZ_WRITE_SEEDS")) {
    const std::filesystem::path dir(out);
    std::filesystem::create_directories(dir);
    faunae_fuzz::write_bytes(dir / "json", std::string(1, '\0') + nlohmann::json{{"kind", "contrastive"}, {"file", f.name}, {"steps", 1}}.dump());
    faunae_fuzz::write_bytes(dir / "learner_unchanged", std::string(1, '\1'));
    faunae_fuzz::write_bytes(dir / "learner_empty_pointer", std::string("\1\1\0\0", 4));
    faunae_fuzz::write_bytes(dir / "weights_unchanged", std::string(1, '\2'));
    faunae_fuzz::write_bytes(dir / "weights_renamed", std::string("\2\3\5\7", 4));
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  faunae_fuzz::Fixture& f = faunae_fuzz::fixture();
  static const auto learner_entries = entries_of(f.learner_bytes), weights_entries = entries_of(f.weights_bytes);
  const int mode = data[0] % 3;
  faunae_fuzz::write_bytes(f.dir / f.name, mode == 1 ? edited(learner_entries, data + 1, size - 1) : f.learner_bytes);
  faunae_fuzz::write_bytes(f.dir / (f.name + ".order"), f.order_bytes);
  if (mode == 2) {
    faunae_fuzz::write_bytes(f.dir / "weights.pt", edited(weights_entries, data + 1, size - 1));
    f.expect_strong_guarantee([&] { fb::load_weights(*f.evaluator->student(), f.dir / "weights.pt"); });
    return 0;
  }
  nlohmann::json j = {{"kind", "contrastive"}, {"file", f.name}, {"steps", 1}};
  if (mode == 0) {
    j = nlohmann::json::parse(faunae_fuzz::as_text(data + 1, size - 1), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return 0;
  }
  f.expect_strong_guarantee([&] { f.evaluator->restore(j); });
  return 0;
}
