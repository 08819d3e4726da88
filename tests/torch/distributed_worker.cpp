// One rank of a short data-parallel FaUNAE search, for distributed_test.cpp (which launches it with
// 1 and 2 processes on 127.0.0.1) and for trying a launcher by hand:
//
//   torchrun --no_python --standalone --nproc_per_node=2 build/tests/torch/faunae_distributed_worker out.json
//
// Reads the launch variables (torchrun's or Slurm's), joins a Gloo group, runs FaUNAE over a tiny
// ResNet space (blocks_per_stage {1, 2}, width 0.125, ops conv3, sa_k3r2, identity) with the
// contrastive evaluator on random 28×28 images, checks after every epoch that the ranks agree
// (RanksAgree), and writes its result to `OUT.json.rank<R>`: the architecture, each epoch's
// evaluated architecture and loss, the decisions and the bytes communicated.
//
// Options: --seed N (search and data, default 3); --no-augment (both views are the image itself);
// --threads N (Torch threads per process, default 1); --lambda2-on-rank-1 X (rank 1 runs the search
// with another λ2: the ranks must then part and every rank exit with status 3); --timeout-s S (how
// long a collective waits for the other ranks, C10dOptions::timeout; default 60); --checkpoint DIR
// (each rank checkpoints every epoch to DIR/search-rank<R>.json, evaluator state in DIR/evaluator/,
// and resumes from there when its checkpoint exists: what `faunae search --resume=auto` does; rank 0
// holds DIR's RunFolderLock, the other ranks check that it does); --rank-1-dies-after-epoch E /
// --rank-1-hangs-after-epoch E (rank 1 sends itself SIGKILL / SIGSTOP once epoch E is checkpointed).
// Exit status: 0 done, 2 bad arguments, 3 the ranks disagreed, 1 any other error.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <faunae/core/run_folder.hpp>
#include <faunae/search/search.hpp>
#include <faunae/torch/contrastive_evaluator.hpp>
#include <faunae/torch/distributed.hpp>
#include "fixtures.hpp"

using namespace faunae::torch_backend;

using faunae_test::random_images;
using faunae_test::TempDir;
using faunae_test::tiny_space;

namespace {

/// The smallest margin by which any decision of the search was taken: |l(new) − l(old)| of every
/// eq. (5) comparison, and for every elimination the gap in w (eq. 9) between the removed op and the
/// runner-up (and between the replacement and the next best). Proposals depend on sample counts and
/// sizes only, so if every loss of another run differs by less than half this margin, that run must
/// take the same decisions.
struct DecisionMargins {
  double smallest = std::numeric_limits<double>::infinity();

  void on_mutation(const faunae::BlockMutation& m, const faunae::SearchState&) {
    if (!std::isnan(m.loss_from)) smallest = std::min(smallest, std::abs(m.loss_to - m.loss_from));
  }

  void on_elimination(const faunae::Elimination& x, const faunae::SearchState& s) {
    std::vector<double> others;  // w of the ops left in the block (the statistics are those used)
    for (faunae::OpIndex k = 0; k < static_cast<faunae::OpIndex>(s.stats.alive.cols()); ++k)
      if (s.stats.is_alive(x.block, k)) others.push_back(faunae::UcbElimination::score(s.stats, x.block, k, s.evaluations));
    std::sort(others.begin(), others.end());
    const auto gap = [&](double a, double b) {
      if (std::isfinite(a) && std::isfinite(b)) smallest = std::min(smallest, std::abs(a - b));
    };
    if (!others.empty()) gap(x.score, others.back());
    if (x.replacement && others.size() >= 2) gap(others[0], others[1]);
  }
};

/// Rank 1 sends itself `signal` once epoch `epoch` is checkpointed (hooks run after the checkpoint).
struct Fault {
  int rank = -1, signal = 0;
  long epoch = -1;
  void on_epoch(const faunae::EpochRecord& record, const faunae::SearchState&) const {
    if (rank == 1 && signal != 0 && static_cast<long>(record.epoch) == epoch) ::raise(signal);
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: {} OUT.json [--seed N] [--lambda2-on-rank-1 X]\n", argv[0]);
    return 2;
  }
  const std::string out = argv[1];
  std::uint64_t seed = 3;
  double lambda2_rank1 = -1.0;
  int threads = 1;
  bool augment = true;
  std::int64_t shuffle_groups = 2;
  long timeout_s = 60, fault_epoch = -1;
  int fault_signal = 0;
  std::string checkpoint_dir;
  try {
    for (int i = 2; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--seed" && i + 1 < argc) seed = std::stoull(argv[++i]);
      else if (a == "--lambda2-on-rank-1" && i + 1 < argc) lambda2_rank1 = std::stod(argv[++i]);
      else if (a == "--threads" && i + 1 < argc) threads = std::stoi(argv[++i]);
      else if (a == "--no-augment") augment = false;
      else if (a == "--shuffle-groups" && i + 1 < argc) shuffle_groups = std::stoll(argv[++i]);
      else if (a == "--timeout-s" && i + 1 < argc) timeout_s = std::stol(argv[++i]);
      else if (a == "--checkpoint" && i + 1 < argc) checkpoint_dir = argv[++i];
      else if (a == "--rank-1-dies-after-epoch" && i + 1 < argc) fault_epoch = std::stol(argv[++i]), fault_signal = SIGKILL;
      else if (a == "--rank-1-hangs-after-epoch" && i + 1 < argc) fault_epoch = std::stol(argv[++i]), fault_signal = SIGSTOP;
      else throw std::invalid_argument(fmt::format("unknown argument '{}'", a));
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "faunae_distributed_worker: {}\n", e.what());
    return 2;
  }

  int rank = -1;
  try {
    auto comm = C10dCollective::from_environment("gloo", std::chrono::seconds(timeout_s));
    rank = comm.rank();
    const int world = comm.world_size();
    // The checkpoint folder: rank 0 holds its lock, the others check that rank 0 does (a second job on
    // the same folder stops at rank 0, and its other ranks with it).
    std::optional<faunae::RunFolderLock> lock;
    if (!checkpoint_dir.empty()) {
      std::string holder;
      if (rank == 0) {
        try {
          lock.emplace(checkpoint_dir);
          holder = lock->holder();
        } catch (const faunae::FolderInUse& e) {
          comm.broadcast_string("");
          throw;
        }
      }
      holder = comm.broadcast_string(holder);
      if (holder.empty()) throw faunae::FolderInUse(fmt::format("rank {}: rank 0 could not lock '{}'", rank, checkpoint_dir));
      if (rank != 0 && faunae::RunFolderLock::holder_of(checkpoint_dir) != holder)
        throw faunae::FolderInUse(fmt::format("rank {}: '{}' is not locked by rank 0 ({}), but by {}", rank, checkpoint_dir, holder,
                                              faunae::RunFolderLock::holder_of(checkpoint_dir).value_or("nobody")));
    }
    torch::set_num_threads(threads);
    torch::manual_seed(seed);  // rank 0's initial weights are broadcast to the others anyway

    ContrastiveEvaluatorOptions o;
    o.steps = 2;
    o.batch_size = 16;  // over all processes
    o.queue_size = 64;
    o.shuffle_groups = shuffle_groups;
    o.head_hidden = 32;
    o.head_out = 16;
    o.m = 0.9;
    o.lr = 0.05;
    o.validation_batch_size = 32;
    o.seed = seed;
    if (!checkpoint_dir.empty()) o.state_directory = std::filesystem::path(checkpoint_dir) / "evaluator";
    const auto train = random_images(256, seed + 100), validation = random_images(64, seed + 200);
    auto augment_options = default_augment_options(Stem::gray28);
    if (!augment) {
      // Both views are the image itself: no per-rank randomness left in the training step, so a
      // run on 2 processes differs from one on 1 only by batch-norm statistics and rounding.
      augment_options.scale = {1.0, 1.0};
      augment_options.ratio = {1.0, 1.0};
      augment_options.jitter_p = 0.0;
      augment_options.flip_p = 0.0;
    }
    BasicContrastiveEvaluator<ResNetSupernet, C10dCollective> evaluator(tiny_space(), train, validation, augment_options, o, comm);

    const ResNetSupernet probe(tiny_space());
    const auto space = probe->space(faunae::Architecture({0, 0, 0}));
    faunae::SearchOptions so;
    so.seed = seed;
    if (lambda2_rank1 >= 0.0 && rank == 1) so.lambda2 = lambda2_rank1;
    if (!checkpoint_dir.empty()) so.checkpoint = std::filesystem::path(checkpoint_dir) / fmt::format("search-rank{}.json", rank);
    faunae::FaUNAE<faunae::BlockSpace> search(space, so, faunae::FaunaeMutation(), faunae::UcbElimination({.epochs_per_op = 1}));
    faunae::torch_backend::RanksAgree agree(evaluator.learner().collective());
    // Resume when this rank's checkpoint exists, else start; every rank must be at the same epoch.
    long resumed_at = -1;
    if (!so.checkpoint.empty() && std::filesystem::exists(so.checkpoint)) {
      search.load(so.checkpoint, evaluator);
      resumed_at = static_cast<long>(search.state().epoch);
    }
    comm.agree("the epoch of the checkpoints", std::to_string(resumed_at));
    DecisionMargins margins;
    const Fault fault{rank, fault_signal, fault_epoch};
    const auto start = std::chrono::steady_clock::now();
    const auto result = search.run(evaluator, fault, agree, margins);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    nlohmann::json epochs = nlohmann::json::array();
    for (const auto& r : result.history) {
      nlohmann::json mutations = nlohmann::json::array();
      for (const auto& m : r.mutations)
        mutations.push_back({{"block", m.block}, {"from", m.from}, {"to", m.to}, {"loss_from", faunae::detail::number_to_json(m.loss_from)},
                             {"loss_to", faunae::detail::number_to_json(m.loss_to)}, {"accepted", m.accepted}});
      nlohmann::json eliminations = nlohmann::json::array();
      for (const auto& e : r.eliminations) eliminations.push_back({{"block", e.block}, {"op", e.op}});
      epochs.push_back({{"epoch", r.epoch},
                        {"evaluated", r.evaluated.ops()},
                        {"architecture", r.architecture.ops()},
                        {"loss", r.loss},
                        {"mutations", std::move(mutations)},
                        {"eliminations", std::move(eliminations)}});
    }
    const nlohmann::json report = {{"rank", rank},
                                   {"world_size", world},
                                   {"architecture", result.architecture.ops()},
                                   {"finished", result.finished},
                                   {"epochs", std::move(epochs)},
                                   {"epochs_checked", agree.checked()},
                                   {"smallest_decision_margin", faunae::detail::number_to_json(margins.smallest)},
                                   {"bytes_communicated", comm.bytes_communicated()},
                                   {"resumed_at", resumed_at},
                                   {"seconds", seconds}};
    std::ofstream(fmt::format("{}.rank{}", out, rank)) << report.dump(1) << '\n';
    comm.barrier();
    return 0;
  } catch (const faunae::torch_backend::DistributedError& e) {
    fmt::print(stderr, "faunae_distributed_worker (rank {}): {}\n", rank, e.what());
    return std::string(e.what()).find("disagree") != std::string::npos ? 3 : 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "faunae_distributed_worker (rank {}): {}\n", rank, e.what());
    return 1;
  }
}
