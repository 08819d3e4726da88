// Search quality on NAS-Bench-Macro (CIFAR-10): the faithful FaUNAE, its ablations, an improved
// variant and two baselines, every method at the same number of evaluations, over many seeds.
//
//   nas_bench_macro [--seeds N] [--table PATH] [--epsilon-sweep] [--write-doc docs/experiment-log.md]
//
// Every evaluation is `100 − one measured test accuracy drawn at random` (TabularEvaluator); the
// quality of what a method returns is the table's true mean accuracy and its rank among the 6561
// architectures (1 = best). Each (method, budget, seed) gets its own evaluator and search seed
// streams, so methods never share noise draws; the ε sweep instead reuses one pair of streams per
// seed across ε values (common random numbers), so its paired differences have smaller errors.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "faunae/core/atomic_file.hpp"
#include "seed_streams.hpp"
#include "faunae/faunae.hpp"
#include "faunae/policies/best_evaluated.hpp"
#include "faunae/policies/regression_elimination.hpp"
#include "faunae/tabular.hpp"

namespace {

using faunae::Architecture;
using faunae::tabular::BenchmarkTable;
using faunae::tabular::TabularEvaluator;
using faunae::tabular::TabularSpace;

#ifndef FAUNAE_DEFAULT_TABLE
#define FAUNAE_DEFAULT_TABLE "../shared/data/nas-bench-macro/nas-bench-macro_cifar10.json"
#endif

constexpr std::string_view kDocBegin = "<!-- nas-bench-macro:begin -->";
constexpr std::string_view kDocEnd = "<!-- nas-bench-macro:end -->";
constexpr std::string_view kExisting = "11111111";  // the "existing architecture" α0 (all MBv2 k3 e3)

struct Options {
  std::size_t seeds = 100;
  std::filesystem::path table = FAUNAE_DEFAULT_TABLE;
  std::optional<std::filesystem::path> doc;
  bool epsilon_sweep = false;
};

[[noreturn]] void usage(const std::string& error) {
  std::cerr << "nas_bench_macro: " << error << "\n"
            << "usage: nas_bench_macro [--seeds N (default 100)] [--table PATH] [--epsilon-sweep]\n"
            << "                       [--write-doc PATH (e.g. docs/experiment-log.md, updated in place)]\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(fmt::format("{} needs a value", arg));
      return argv[++i];
    };
    if (arg == "--seeds") {
      const std::string v = value();
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || n < 2) usage(fmt::format("--seeds must be an integer >= 2, got '{}'", v));
      o.seeds = static_cast<std::size_t>(n);
    } else if (arg == "--table") {
      o.table = value();
    } else if (arg == "--write-doc") {
      o.doc = value();
    } else if (arg == "--epsilon-sweep") {
      o.epsilon_sweep = true;
    } else if (arg == "--help" || arg == "-h") {
      usage("help");
    } else {
      usage(fmt::format("unknown argument '{}'", arg));
    }
  }
  return o;
}

// --- seed streams --------------------------------------------------------------------------------

using faunae_bench::stream_seed;

/// α0 drawn uniformly from the table for `seed` (the same for every method at that seed).
Architecture random_alpha0(const BenchmarkTable& table, std::uint64_t seed) {
  faunae::Rng rng(stream_seed("random-alpha0", "alpha0", seed));
  std::vector<faunae::OpIndex> ops(table.num_blocks());
  while (true) {
    for (std::size_t b = 0; b < ops.size(); ++b) ops[b] = static_cast<faunae::OpIndex>(rng.below(table.tokens(b).size()));
    Architecture a(ops);
    if (table.find(a)) return a;
  }
}

// --- methods -------------------------------------------------------------------------------------

enum class Start { existing, random, none };
enum class Readout { last_base, best_evaluated };

struct Outcome {
  Architecture architecture;
  std::size_t evaluations = 0;
  bool was_evaluated = true;  ///< the returned architecture is one the method evaluated
};

struct Run {
  const BenchmarkTable& table;
  const TabularSpace& space;
  Architecture alpha0;
  std::uint64_t search_seed = 0;
  std::uint64_t evaluator_seed = 0;
};

template <class Mutation, class Elimination>
Outcome run_search(const Run& run, Mutation mutation, Elimination elimination, Readout readout) {
  faunae::SearchOptions options;
  options.seed = run.search_seed;
  options.initial = run.alpha0;
  faunae::Search<TabularSpace, Mutation, Elimination> search(run.space, options, std::move(mutation),
                                                             std::move(elimination));
  TabularEvaluator evaluator(run.table, run.evaluator_seed);
  const faunae::SearchResult result = search.run(evaluator);
  if (evaluator.evaluations() != result.evaluations)
    throw std::logic_error("nas_bench_macro: the search and its evaluator disagree on the evaluation count");
  const Architecture found =
      readout == Readout::last_base ? result.architecture : faunae::best_evaluated(result.history).architecture;
  const bool evaluated = std::any_of(result.history.begin(), result.history.end(),
                                     [&](const faunae::EpochRecord& r) { return r.evaluated == found; });
  return Outcome{found, result.evaluations, evaluated};
}

struct Method {
  std::string name;
  Start start = Start::existing;
  std::function<Outcome(const Run&)> run;
};

faunae::FaunaeMutation mutation(double epsilon, double lambda1 = 0.9) {
  return faunae::FaunaeMutation(faunae::FaunaeMutationOptions{.epsilon = epsilon, .lambda1 = lambda1});
}

constexpr double kDefaultEpsilon = faunae::FaunaeMutationOptions{}.epsilon;

Method faunae_method(std::string name, Start start, std::size_t e, double epsilon = kDefaultEpsilon,
                     Readout readout = Readout::last_base) {
  return {std::move(name), start, [=](const Run& r) {
            return run_search(r, mutation(epsilon), faunae::UcbElimination({.epochs_per_op = e}), readout);
          }};
}

std::vector<Method> faunae_methods(std::size_t e) {
  std::vector<Method> m;
  for (const Start start : {Start::existing, Start::random}) {
    m.push_back(faunae_method("FaUNAE (faithful)", start, e));
    m.push_back({"FaUNAE w/o elimination", start, [=](const Run& r) {
                   return run_search(r, mutation(kDefaultEpsilon), faunae::NoElimination({.epochs_per_op = e}), Readout::last_base);
                 }});
    m.push_back({"FaUNAE w/o size restriction (λ1 = 1)", start, [=](const Run& r) {
                   return run_search(r, mutation(kDefaultEpsilon, 1.0), faunae::UcbElimination({.epochs_per_op = e}), Readout::last_base);
                 }});
    m.push_back(faunae_method("FaUNAE, best evaluated", start, e, kDefaultEpsilon, Readout::best_evaluated));
    for (const Readout readout : {Readout::last_base, Readout::best_evaluated})
      m.push_back({readout == Readout::last_base ? "FaUNAE-R (RegressionElimination)"
                                                 : "FaUNAE-R, best evaluated",
                   start, [=](const Run& r) {
                     return run_search(r, mutation(kDefaultEpsilon),
                                       faunae::RegressionElimination({.epochs_per_op = e}), readout);
                   }});
  }
  return m;
}

// The baselines start from a random α0 of their own (BaselineOptions::initial left empty), which
// counts as their first evaluation.
Method random_search(std::size_t evaluations) {
  return {"Random search", Start::none, [=](const Run& r) {
            TabularEvaluator evaluator(r.table, r.evaluator_seed);
            auto search = faunae::random_search(r.space, {.evaluations = evaluations, .seed = r.search_seed});
            const faunae::SearchResult found = search.run(evaluator);
            return Outcome{found.architecture, found.evaluations, found.evaluated};
          }};
}

Method regularized_evolution(std::size_t evaluations, std::size_t population, std::size_t sample) {
  return {fmt::format("Regularized evolution (P = {}, S = {})", population, sample), Start::none, [=](const Run& r) {
            TabularEvaluator evaluator(r.table, r.evaluator_seed);
            auto search = faunae::regularized_evolution(r.space, {.evaluations = evaluations, .seed = r.search_seed},
                                                        {.population = population, .sample = sample});
            const faunae::SearchResult found = search.run(evaluator);
            return Outcome{found.architecture, found.evaluations, found.evaluated};
          }};
}

Method local_search(std::size_t evaluations) {
  return {"Local search", Start::none, [=](const Run& r) {
            TabularEvaluator evaluator(r.table, r.evaluator_seed);
            auto search = faunae::local_search(r.space, {.evaluations = evaluations, .seed = r.search_seed});
            const faunae::SearchResult found = search.run(evaluator);
            return Outcome{found.architecture, found.evaluations, found.evaluated};
          }};
}

// --- statistics ----------------------------------------------------------------------------------

struct Summary {
  std::string name;
  std::string alpha0;
  std::size_t min_evaluations = 0, max_evaluations = 0;
  double mean_acc = 0, std_acc = 0, se_acc = 0;
  double median_rank = 0, mean_rank = 0;
  double top1 = 0;             ///< share of seeds whose result ranks in the top 1% (rank <= 66)
  double evaluated = 0;        ///< share of seeds whose result was among the evaluated architectures
  std::vector<double> accs;    ///< per seed, for paired differences
};

constexpr std::size_t kTop1 = 66;  // ceil(1% of 6561)

Summary summarize(std::string name, std::string alpha0, const std::vector<double>& accs, std::vector<double> ranks,
                  const std::vector<std::size_t>& evaluations, double evaluated_share) {
  Summary s;
  s.name = std::move(name);
  s.alpha0 = std::move(alpha0);
  s.accs = accs;
  s.evaluated = evaluated_share;
  const double n = static_cast<double>(accs.size());
  for (const double a : accs) s.mean_acc += a / n;
  for (const double a : accs) s.std_acc += (a - s.mean_acc) * (a - s.mean_acc);
  s.std_acc = std::sqrt(s.std_acc / (n - 1));
  s.se_acc = s.std_acc / std::sqrt(n);
  for (const double r : ranks) {
    s.mean_rank += r / n;
    s.top1 += (r <= kTop1 ? 1.0 : 0.0) / n;
  }
  std::sort(ranks.begin(), ranks.end());
  const std::size_t m = ranks.size() / 2;
  s.median_rank = ranks.size() % 2 == 1 ? ranks[m] : 0.5 * (ranks[m - 1] + ranks[m]);
  s.min_evaluations = *std::min_element(evaluations.begin(), evaluations.end());
  s.max_evaluations = *std::max_element(evaluations.begin(), evaluations.end());
  return s;
}

std::string start_label(Start s) {
  switch (s) {
    case Start::existing: return fmt::format("`{}`", kExisting);
    case Start::random: return "random";
    case Start::none: return "—";
  }
  return "?";
}

class Bench {
 public:
  Bench(const BenchmarkTable& table, std::size_t seeds)
      : table_(table), space_(table, kExisting), existing_(table.architecture(kExisting)), seeds_(seeds) {}

  /// Runs `method` on every seed with its own seed streams (named by `stream`).
  Summary measure(const Method& method, const std::string& stream) const {
    std::vector<double> accs, ranks;
    std::vector<std::size_t> evaluations;
    double evaluated = 0.0;
    for (std::size_t seed = 0; seed < seeds_; ++seed) {
      const Run run{table_, space_, alpha0(method.start, seed), stream_seed(stream, "search", seed),
                    stream_seed(stream, "evaluator", seed)};
      const Outcome out = method.run(run);
      accs.push_back(table_.at(out.architecture).mean);
      ranks.push_back(static_cast<double>(table_.rank(out.architecture)));
      evaluations.push_back(out.evaluations);
      evaluated += out.was_evaluated ? 1.0 / static_cast<double>(seeds_) : 0.0;
    }
    return summarize(method.name, start_label(method.start), accs, ranks, evaluations, evaluated);
  }

  /// What each seed starts from, scored as it is (no search, no evaluation).
  Summary no_search(Start start) const {
    std::vector<double> accs, ranks;
    std::vector<std::size_t> evaluations;
    for (std::size_t seed = 0; seed < seeds_; ++seed) {
      const Architecture a = alpha0(start, seed);
      accs.push_back(table_.at(a).mean);
      ranks.push_back(static_cast<double>(table_.rank(a)));
      evaluations.push_back(0);
    }
    return summarize("α0 itself (no search)", start_label(start), accs, ranks, evaluations, 0.0);
  }

  std::size_t seeds() const noexcept { return seeds_; }

 private:
  Architecture alpha0(Start start, std::size_t seed) const {
    return start == Start::random ? random_alpha0(table_, seed) : existing_;
  }

  const BenchmarkTable& table_;
  TabularSpace space_;
  Architecture existing_;
  std::size_t seeds_;
};

std::string evaluations_cell(const Summary& s) {
  return s.min_evaluations == s.max_evaluations ? fmt::format("{}", s.min_evaluations)
                                                : fmt::format("{}–{}", s.min_evaluations, s.max_evaluations);
}

std::string results_table(const std::vector<Summary>& rows) {
  std::string out =
      "| Method | α0 | Evaluations | True mean acc. (%): mean ± std | SE | Median rank | Mean rank | Top 1% | "
      "Result evaluated |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const Summary& s : rows)
    out += fmt::format("| {} | {} | {} | {:.3f} ± {:.3f} | {:.3f} | {:g} | {:.0f} | {:.0f}% | {} |\n", s.name, s.alpha0,
                       evaluations_cell(s), s.mean_acc, s.std_acc, s.se_acc, s.median_rank, s.mean_rank,
                       100.0 * s.top1, s.max_evaluations == 0 ? "—" : fmt::format("{:.0f}%", 100.0 * s.evaluated));
  return out;
}

/// Mean and standard error of the per-seed differences a − b.
std::pair<double, double> paired_difference(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size());
  double mean = 0.0, var = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) mean += (a[i] - b[i]) / n;
  for (std::size_t i = 0; i < a.size(); ++i) var += (a[i] - b[i] - mean) * (a[i] - b[i] - mean);
  return {mean, std::sqrt(var / (n - 1)) / std::sqrt(n)};
}

// --- the report ----------------------------------------------------------------------------------

struct Budget {
  std::size_t epochs_per_op;  ///< E
  std::size_t evaluations;    ///< 1 + schedule_length(3, E)
};

std::string comparison_section(const Bench& bench, const Budget& budget) {
  const std::size_t e = budget.epochs_per_op, n = budget.evaluations;
  const std::string tag = fmt::format("E{}", e);
  std::vector<Summary> rows;
  for (const Method& m : faunae_methods(e))
    rows.push_back(bench.measure(m, fmt::format("{}/{}/{}", tag, m.name, start_label(m.start))));
  rows.push_back(bench.measure(random_search(n), fmt::format("{}/random-search", tag)));
  rows.push_back(bench.measure(local_search(n), fmt::format("{}/local-search", tag)));

  // Regularized evolution: a few (P, S) that fit the budget; the best by mean accuracy goes into the
  // main table (chosen on these same seeds, so it is slightly optimistic), all of them below it.
  std::vector<Summary> re;
  for (const std::size_t p : {4, 8, 16})
    for (const std::size_t s : {2, 3, 4})
      if (p <= n / 2 && s < p) {
        const Method m = regularized_evolution(n, p, s);
        re.push_back(bench.measure(m, fmt::format("{}/re/{}/{}", tag, p, s)));
      }
  const auto best_re = std::max_element(re.begin(), re.end(),
                                        [](const Summary& x, const Summary& y) { return x.mean_acc < y.mean_acc; });
  Summary best_re_row = *best_re;
  best_re_row.name += ", best of the settings below";
  rows.push_back(best_re_row);
  rows.push_back(bench.no_search(Start::existing));
  rows.push_back(bench.no_search(Start::random));

  std::string out = fmt::format("### Budget: E = {} → {} evaluations per search\n\n", e, n);
  out += results_table(rows);
  out += fmt::format("\nRegularized evolution settings at {} evaluations (P = population, S = tournament):\n\n", n);
  out += results_table(re);

  // Paired differences against the faithful FaUNAE are not meaningful here (independent streams),
  // so state the unpaired difference of means with its standard error for the key comparisons.
  auto find = [&](std::string_view name, std::string_view alpha0) -> const Summary& {
    for (const Summary& s : rows)
      if (s.name == name && s.alpha0 == alpha0) return s;
    throw std::logic_error(fmt::format("nas_bench_macro: no row '{}' ({})", name, alpha0));
  };
  auto diff = [](const Summary& a, const Summary& b) {
    return fmt::format("{:+.3f} ± {:.3f}", a.mean_acc - b.mean_acc, std::hypot(a.se_acc, b.se_acc));
  };
  const std::string existing = start_label(Start::existing);
  const Summary& faithful = find("FaUNAE (faithful)", existing);
  const Summary& rs = find("Random search", "—");
  out += fmt::format(
      "\nDifferences of mean true accuracy (percentage points, ± one standard error, independent runs), α0 = {}:\n\n",
      existing);
  out += fmt::format("- faithful FaUNAE − α0 itself: {}\n", diff(faithful, find("α0 itself (no search)", existing)));
  out += fmt::format("- faithful FaUNAE − random search: {}\n", diff(faithful, rs));
  out += fmt::format("- FaUNAE, best evaluated − faithful FaUNAE: {}\n", diff(find("FaUNAE, best evaluated", existing), faithful));
  out += fmt::format("- FaUNAE-R − faithful FaUNAE: {}\n", diff(find("FaUNAE-R (RegressionElimination)", existing), faithful));
  out += fmt::format("- FaUNAE-R, best evaluated − random search: {}\n", diff(find("FaUNAE-R, best evaluated", existing), rs));
  out += fmt::format("- FaUNAE-R, best evaluated − {}: {}\n\n", best_re->name,
                     diff(find("FaUNAE-R, best evaluated", existing), *best_re));
  return out;
}

std::string epsilon_section(const Bench& bench, const Budget& budget, bool regression) {
  const std::vector<double> epsilons = {0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9};
  const std::size_t e = budget.epochs_per_op;
  std::string out = fmt::format(
      "#### {}, E = {} ({} evaluations)\n\n"
      "| ε | α0 | True mean acc. (%) ± SE | Median rank | Top 1% | Paired diff. vs ε = {} ± SE |\n"
      "|---:|---|---:|---:|---:|---:|\n",
      regression ? "FaUNAE-R, best evaluated (variant)" : "Faithful FaUNAE", e, budget.evaluations, kDefaultEpsilon);
  for (const Start start : {Start::existing, Start::random}) {
    std::vector<Summary> rows;
    for (const double eps : epsilons) {
      const Method m = regression
                           ? Method{"", start, [=](const Run& r) {
                                      return run_search(r, mutation(eps),
                                                        faunae::RegressionElimination({.epochs_per_op = e}),
                                                        Readout::best_evaluated);
                                    }}
                           : faunae_method("", start, e, eps);
      // One stream per (budget, α0 kind, seed), shared by every ε: common random numbers.
      rows.push_back(bench.measure(m, fmt::format("eps-sweep/{}/E{}/{}", regression ? "R" : "faithful", e,
                                                  start_label(start))));
    }
    const auto base = std::find(epsilons.begin(), epsilons.end(), kDefaultEpsilon) - epsilons.begin();
    const auto best = std::max_element(rows.begin(), rows.end(), [](const Summary& x, const Summary& y) {
                        return x.mean_acc < y.mean_acc;
                      }) - rows.begin();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto [d, se] = paired_difference(rows[i].accs, rows[static_cast<std::size_t>(base)].accs);
      const bool mark = static_cast<std::ptrdiff_t>(i) == best;
      out += fmt::format("| {}{:g}{} | {} | {:.3f} ± {:.3f} | {:g} | {:.0f}% | {} |\n", mark ? "**" : "", epsilons[i],
                         mark ? "**" : "", rows[i].alpha0, rows[i].mean_acc, rows[i].se_acc, rows[i].median_rank,
                         100.0 * rows[i].top1,
                         static_cast<std::ptrdiff_t>(i) == base ? "(default)" : fmt::format("{:+.3f} ± {:.3f}", d, se));
    }
  }
  return out + "\n";
}

std::string report(const Bench& bench, const Options& options, double best_mean) {
  const std::vector<Budget> budgets = {{3, 1 + faunae::schedule_length(3, 3)}, {10, 1 + faunae::schedule_length(3, 10)}};
  std::string out = fmt::format(
      "Generated by `nas_bench_macro --seeds {}{}` on `{}`: {} seeds per row; accuracy is the table's "
      "`mean_acc` of the architecture a method returns, rank is among all 6561 keys (1 = best, "
      "{:.3f}%); \"Top 1%\" is the share of seeds whose result has rank ≤ {}; \"Result evaluated\" is the share "
      "of seeds whose returned architecture is one the method actually evaluated. The searches use λ1 = 0.9, "
      "λ2 = 0.3, ε = {} unless a row says otherwise.\n\n",
      bench.seeds(), options.epsilon_sweep ? " --epsilon-sweep" : "", options.table.filename().string(), bench.seeds(),
      best_mean, kTop1, kDefaultEpsilon);
  for (const Budget& b : budgets) out += comparison_section(bench, b);
  if (options.epsilon_sweep) {
    out += "### ε sweep\n\n"
           "Each seed uses the same search and evaluator seeds for every ε (common random numbers), so the "
           "paired differences against the default ε have smaller errors than the unpaired SEs suggest. The "
           "best mean of each α0 is in bold.\n\n";
    for (const Budget& b : budgets) out += epsilon_section(bench, b, /*regression=*/false);
    for (const Budget& b : budgets) out += epsilon_section(bench, b, /*regression=*/true);
  }
  return out;
}

void write_doc(const std::filesystem::path& path, const std::string& block) {
  std::string doc;
  if (std::filesystem::exists(path)) doc = faunae::read_file(path, "nas_bench_macro --write-doc");
  const std::string generated = fmt::format("{}\n{}{}", kDocBegin, block, kDocEnd);
  const auto begin = doc.find(kDocBegin);
  const auto end = begin == std::string::npos ? std::string::npos : doc.find(kDocEnd, begin);
  if (begin != std::string::npos && end != std::string::npos) {
    doc.replace(begin, end + kDocEnd.size() - begin, generated);
  } else {
    if (doc.empty()) doc = "# Benchmarks\n";
    doc += fmt::format("\n## NAS-Bench-Macro: search quality at equal evaluations\n\n{}\n", generated);
  }
  faunae::write_file_atomically(path, doc);
}

}  // namespace

int main(int argc, char** argv) try {
  const Options options = parse(argc, argv);
  const auto start = std::chrono::steady_clock::now();
  const BenchmarkTable table = BenchmarkTable::load(options.table);
  const Bench bench(table, options.seeds);
  const std::string block = report(bench, options, table.best_mean());
  std::cout << block;
  if (options.doc) {
    write_doc(*options.doc, block);
    std::cerr << fmt::format("nas_bench_macro: wrote the table into {}\n", options.doc->string());
  }
  std::cerr << fmt::format("nas_bench_macro: {} seeds in {:.1f} s\n", options.seeds,
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
} catch (const std::exception& e) {
  std::cerr << "nas_bench_macro: " << e.what() << "\n";
  return 1;
}
