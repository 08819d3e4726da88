// Fuzzes the pickled files faunae reads with LibTorch's own reader: the raw bytes of a learner file
// (MocoLearner::load through ContrastiveEvaluator::restore), of its .order file, and of a weights file
// (load_weights), on the fixture of evaluator_fixture.hpp. First byte: 0 learner, 1 .order, 2 weights.
//
// This reaches LibTorch 1.13's zip reader (miniz) and unpickler, which are not instrumented and not
// faunae's: faunae's part is to read the archive with bounded reads (detail::pickle_load in
// export.hpp), to turn what LibTorch throws into an IoError, and to leave the learner unchanged when
// a file is refused. LibTorch's unpickler allocates what a length field says before it checks that
// the bytes are there (a 4-byte length: up to 4 GiB), which libFuzzer reports as out-of-memory; so
// this target is not in scripts/fuzz.sh's default list (run it by name) — docs/reliability.md.
#include <cstdint>

#include "evaluator_fixture.hpp"

namespace fb = faunae::torch_backend;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  faunae_fuzz::Fixture& f = faunae_fuzz::fixture();
  const int mode = data[0] % 3;
  const std::string_view rest = faunae_fuzz::as_text(data + 1, size - 1);
  faunae_fuzz::write_bytes(f.dir / f.name, mode == 0 ? rest : std::string_view(f.learner_bytes));
  faunae_fuzz::write_bytes(f.dir / (f.name + ".order"), mode == 1 ? rest : std::string_view(f.order_bytes));
  if (mode == 2) {
    faunae_fuzz::write_bytes(f.dir / "weights.pt", rest);
    f.expect_strong_guarantee([&] { fb::load_weights(*f.evaluator->student(), f.dir / "weights.pt"); });
  } else {
    f.expect_strong_guarantee([&] { f.evaluator->restore({{"kind", "contrastive"}, {"file", f.name}}); });
  }
  return 0;
}
