// Peak memory and step time of one training step (forward, backward, SGD) on the ResNet-block space:
//   single  — the single-path supernet running α (all ops' weights held, one path computed)
//   standalone — the same α extracted as a network of its own ops only
//   allops  — a DARTS-style supernet: every block computes the softmax-weighted sum of all its ops
// Each mode runs in its own process (peak RSS is per process); `--all` runs the three and prints a
// markdown table. Usage: supernet_memory --all [--batch 32] [--steps 3] [--threads 2]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <faunae/torch.hpp>

using namespace faunae::torch_backend;

namespace {
// A field of /proc/self/status ("VmHWM": peak resident set, "VmRSS": current) in MiB.
double status_mib(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field, 0) == 0 && line.size() > field.size() && line[field.size()] == ':')
      return std::stod(line.substr(field.size() + 1)) / 1024.0;
  return 0.0;
}
double peak_rss_mib() { return status_mib("VmHWM"); }
double current_rss_mib() { return status_mib("VmRSS"); }
// Resets VmHWM to the current RSS (Linux ≥ 4.0).
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// DARTS-style mixed block: reduce → Σ_k softmax(β)_k · op_k → expand (+ residual), identity weighted too.
torch::Tensor mixed_block(SearchBlockImpl& block, const torch::Tensor& x, const torch::Tensor& beta,
                          const std::vector<std::string>& names) {
  const auto w = beta.softmax(0);
  auto y = torch::relu(block.reduce_bn(block.reduce(x)));
  torch::Tensor mixed;
  torch::Tensor identity_weight;
  for (std::size_t k = 0; k < names.size(); ++k) {
    if (names[k] == "identity") {
      identity_weight = w[static_cast<std::int64_t>(k)];
      continue;
    }
    auto out = w[static_cast<std::int64_t>(k)] * std::static_pointer_cast<CandidateOpImpl>((*block.ops)[names[k]])->forward(y);
    mixed = mixed.defined() ? mixed + out : out;
  }
  auto z = block.expand_bn(block.expand(mixed));
  const auto residual = block.shortcut ? block.shortcut_bn(block.shortcut(x)) : x;
  auto result = torch::relu(z + residual);
  if (identity_weight.defined()) result = result * (1 - identity_weight) + identity_weight * x;
  return result;
}

nlohmann::json run_mode(const std::string& mode, std::int64_t batch, int steps) {
  torch::manual_seed(0);
  ResNetSupernet supernet(ResNetSpaceOptions{});
  const auto a = supernet->resnet50();
  ResNetSupernet standalone{nullptr};
  torch::nn::Module* model = supernet.get();
  std::vector<torch::Tensor> betas;
  if (mode == "standalone") {
    standalone = extract(supernet, a);
    supernet = ResNetSupernet{nullptr};  // free the supernet: the standalone network stands alone
    model = standalone.get();
  }
  if (mode == "allops")
    for (std::size_t b = 0; b < supernet->num_blocks(); ++b)
      betas.push_back(torch::zeros({static_cast<std::int64_t>(supernet->op_names(b).size())}, torch::requires_grad()));
  auto head = torch::nn::Linear(1024, 10);
  std::vector<torch::Tensor> params = model->parameters();
  for (auto& p : head->parameters()) params.push_back(p);
  for (auto& b : betas) params.push_back(b);
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(0.01).momentum(0.9).weight_decay(1e-4));
  const auto x = torch::randn({batch, 1, 28, 28});
  const auto labels = torch::randint(0, 10, {batch});

  auto forward = [&]() -> torch::Tensor {
    if (mode == "standalone") return standalone->forward(x);
    if (mode == "single") return supernet->forward(x, a);
    auto y = torch::relu(supernet->stem_bn(supernet->stem_conv(x)));
    for (std::size_t b = 0; b < supernet->num_blocks(); ++b)
      y = mixed_block(*supernet->blocks->ptr<SearchBlockImpl>(b), y, betas[b], supernet->op_names(b));
    return torch::adaptive_avg_pool2d(y, {1, 1}).flatten(1);
  };
  auto step = [&] {
    sgd.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(head(forward()), labels);
    loss.backward();
    sgd.step();
  };
  step();  // warm-up: allocates optimizer state, grads
  const double before = current_rss_mib();
  reset_peak_rss();
  std::vector<double> seconds;
  for (int i = 0; i < steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(seconds.begin(), seconds.end());
  std::int64_t weights = 0;
  for (const auto& p : params) weights += p.numel();
  return {{"mode", mode},
          {"batch", batch},
          {"parameters", weights},
          {"rss_before_step_mib", before},
          {"peak_rss_mib", peak_rss_mib()},
          {"step_peak_over_rss_mib", peak_rss_mib() - before},
          {"median_step_s", seconds[seconds.size() / 2]}};
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Peak memory and step time: single-path supernet vs standalone vs all-ops supernet"};
  std::string mode;
  std::int64_t batch = 32;
  int steps = 3, threads = 2;
  bool all = false;
  app.add_option("--mode", mode, "single, standalone or allops (one process per mode)")
      ->check(CLI::IsMember({"single", "standalone", "allops"}));
  app.add_flag("--all", all, "run the three modes, each in its own process, and print a table");
  app.add_option("--batch", batch, "images per step")->check(CLI::PositiveNumber);
  app.add_option("--steps", steps, "timed steps (median reported)")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "torch intra-op threads")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  torch::set_num_threads(threads);
  if (!mode.empty()) {
    std::cout << run_mode(mode, batch, steps).dump() << std::endl;
    return 0;
  }
  if (!all) {
    std::cerr << "give --mode or --all\n";
    return 2;
  }
  std::map<std::string, nlohmann::json> results;
  for (const std::string m : {"standalone", "single", "allops"}) {
    const std::string cmd = fmt::format("{} --mode {} --batch {} --steps {} --threads {}", argv[0], m, batch, steps, threads);
    FILE* pipe = ::popen(cmd.c_str(), "r");
    std::string out;
    char buffer[4096];
    while (pipe && std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
    if (!pipe || ::pclose(pipe) != 0) {
      std::cerr << "mode " << m << " failed\n";
      return 1;
    }
    results[m] = nlohmann::json::parse(out);
  }
  const auto& s = results["standalone"];
  fmt::print("ResNet-block space (22 blocks, width 0.5, 28×28 gray), α = ResNet-50 remap, batch {}, {} threads, median of {} steps\n\n",
             batch, threads, steps);
  fmt::print("| network | parameters (incl. head) | peak RSS (MiB) | peak / standalone | step (s) | step / standalone |\n");
  fmt::print("|---|---|---|---|---|---|\n");
  for (const std::string m : {"standalone", "single", "allops"}) {
    const auto& r = results[m];
    fmt::print("| {} | {} | {:.0f} | {:.2f}× | {:.3f} | {:.2f}× |\n", m, r["parameters"].get<std::int64_t>(),
               r["peak_rss_mib"].get<double>(), r["peak_rss_mib"].get<double>() / s["peak_rss_mib"].get<double>(),
               r["median_step_s"].get<double>(), r["median_step_s"].get<double>() / s["median_step_s"].get<double>());
  }
  return 0;
}
