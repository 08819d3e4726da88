// Search quality on any tabular benchmark: the faithful FaUNAE, FaUNAE-R, the recommended FaUNAE-TS
// and its ablations, random search, regularized evolution and local search, every method at the same
// number of evaluations, over many seeds, with paired differences and credit-assignment statistics.
//
//   search_quality --table PATH [--plain] [--identity C] [--fidelity run|mean|proxy] [--noise SD]
//                  [--epochs-per-op 3,10] [--alpha0 KEY|random ...] [--seeds N] [--methods a,b,...]
//                  [--write-doc PATH --tag NAME]
//
// A method's result is judged by the table's truth (mean_field) of the architecture it returns; its
// search sees the evaluator's fidelity (one measured run, the noise-free truth, or a low-fidelity
// proxy) plus optional Gaussian noise. Every method at a seed starts from the same α0 (the existing
// architecture, or one drawn uniformly for that seed), so differences are paired by seed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "faunae/core/atomic_file.hpp"
#include "seed_streams.hpp"
#include "faunae/faunae.hpp"
#include "faunae/tabular.hpp"

namespace {

using faunae::Architecture;
using faunae::SearchResult;
using faunae::tabular::BenchmarkTable;
using faunae::tabular::Fidelity;
using faunae::tabular::TabularEvaluator;
using faunae::tabular::TabularEvaluatorOptions;
using faunae::tabular::TabularSpace;

using faunae_bench::stream_seed;

struct Setting {
  const BenchmarkTable* table = nullptr;
  const TabularSpace* space = nullptr;
  std::size_t epochs_per_op = 3;
  std::size_t evaluations = 0;
  TabularEvaluatorOptions evaluator;
};

struct RunInput {
  Architecture alpha0;
  std::uint64_t search_seed = 0;
  std::uint64_t evaluator_seed = 0;
};

using MethodFn = std::function<SearchResult(const Setting&, const RunInput&)>;

struct Method {
  std::string key;   ///< the name on the command line
  std::string name;  ///< the name in the tables
  MethodFn run;
};

template <class SearchT>
SearchResult run_to_end(SearchT& search, const Setting& s, const RunInput& in) {
  TabularEvaluatorOptions eo = s.evaluator;
  eo.seed = in.evaluator_seed;
  TabularEvaluator evaluator(*s.table, eo);
  SearchResult r = search.run(evaluator);
  if (r.evaluations != s.evaluations || evaluator.evaluations() != s.evaluations)
    throw std::logic_error(fmt::format("search_quality: a method used {} evaluations, the budget is {}", r.evaluations,
                                       s.evaluations));
  return r;
}

template <class Mutation, class Elimination, class Acceptance = faunae::BlockwiseAcceptance>
SearchResult run_search(const Setting& s, const RunInput& in, Mutation m, Elimination e, Acceptance a = Acceptance()) {
  faunae::Search<TabularSpace, Mutation, Elimination, Acceptance> search(
      *s.space, {.seed = in.search_seed, .initial = in.alpha0}, std::move(m), std::move(e), std::move(a));
  return run_to_end(search, s, in);
}

SearchResult best_evaluated_readout(SearchResult r) {
  r.architecture = faunae::best_evaluated(r.history).architecture;
  r.evaluated = true;
  return r;
}

// FaUNAE-TS's parameters (defaults: the library's); --ts-* options change them for a sweep.
faunae::ThompsonMutationOptions g_ts_mutation;
faunae::PosteriorEliminationOptions g_ts_elimination;

faunae::ThompsonMutation ts_mutation(std::optional<std::size_t> max_changes = {},
                                     std::optional<bool> single_block_from_alpha0 = {},
                                     std::optional<bool> scan_alpha0_neighbourhood = {}) {
  faunae::ThompsonMutationOptions o = g_ts_mutation;
  if (max_changes) o.max_changes = *max_changes;
  if (single_block_from_alpha0) o.single_block_from_alpha0 = *single_block_from_alpha0;
  if (scan_alpha0_neighbourhood) o.scan_alpha0_neighbourhood = *scan_alpha0_neighbourhood;
  return faunae::ThompsonMutation(o);
}
faunae::PosteriorElimination ts_elimination(std::size_t e, std::optional<double> optimism = {}, bool confident_only = false,
                                            std::size_t spare_best_observed = 0, bool keep_unscanned_neighbours = false) {
  faunae::PosteriorEliminationOptions o = g_ts_elimination;
  o.epochs_per_op = e;
  if (optimism) o.optimism = *optimism;
  o.confident_only = confident_only;
  o.spare_best_observed = spare_best_observed;
  o.keep_unscanned_neighbours = keep_unscanned_neighbours;
  return faunae::PosteriorElimination(o);
}
faunae::ThompsonMutation lt_mutation() {
  faunae::ThompsonMutationOptions o = g_ts_mutation;
  o.scan_base_neighbourhood = true;
  return faunae::ThompsonMutation(o);
}

std::vector<Method> all_methods() {
  using faunae::ArchitectureAcceptance;
  using faunae::FaunaeMutation;
  std::vector<Method> m;
  m.push_back({"faunae", "FaUNAE (faithful)", [](const Setting& s, const RunInput& in) {
                 return run_search(s, in, FaunaeMutation(), faunae::UcbElimination({.epochs_per_op = s.epochs_per_op}));
               }});
  m.push_back({"faunae-r", "FaUNAE-R (RegressionElimination), best evaluated", [](const Setting& s, const RunInput& in) {
                 return best_evaluated_readout(run_search(s, in, FaunaeMutation(),
                                                          faunae::RegressionElimination({.epochs_per_op = s.epochs_per_op})));
               }});
  m.push_back({"faunae-ts", "FaUNAE-TS (recommended)", [](const Setting& s, const RunInput& in) {
                 return run_search(s, in, ts_mutation(), ts_elimination(s.epochs_per_op), ArchitectureAcceptance());
               }});
  // Ablations of FaUNAE-TS: one design choice changed each.
  m.push_back({"ts-no-elimination", "FaUNAE-TS w/o elimination", [](const Setting& s, const RunInput& in) {
                 return run_search(s, in, ts_mutation(),
                                   faunae::NoElimination({.epochs = s.evaluations - 1}), ArchitectureAcceptance());
               }});
  m.push_back({"ts-ucb", "FaUNAE-TS with eq. (9) UCB elimination", [](const Setting& s, const RunInput& in) {
                 return run_search(s, in, ts_mutation(), faunae::UcbElimination({.epochs_per_op = s.epochs_per_op}),
                                   ArchitectureAcceptance());
               }});
  m.push_back({"ts-blockwise", "FaUNAE-TS with eq. (5) blockwise acceptance", [](const Setting& s, const RunInput& in) {
                 return run_search(s, in, ts_mutation(), ts_elimination(s.epochs_per_op));
               }});
  m.push_back({"ts-faunae-mutation", "FaUNAE-TS with eqs. (1)–(3) mutation", [](const Setting& s, const RunInput& in) {
                 return run_search(s, in, FaunaeMutation(), ts_elimination(s.epochs_per_op), ArchitectureAcceptance());
               }});
  m.push_back({"ts-radius-1", "FaUNAE-TS, 1 block per mutation", [](const Setting& s, const RunInput& in) {
                 return run_search(s, in, ts_mutation(1), ts_elimination(s.epochs_per_op), ArchitectureAcceptance());
               }});
  m.push_back({"ts-radius-all", "FaUNAE-TS, any number of blocks per mutation", [](const Setting& s, const RunInput& in) {
                 return run_search(s, in, ts_mutation(0), ts_elimination(s.epochs_per_op), ArchitectureAcceptance());
               }});
  m.push_back({"ts-two-from-alpha0", "FaUNAE-TS, two blocks per mutation from α0 on", [](const Setting& s, const RunInput& in) {
                 return run_search(s, in, ts_mutation({}, false), ts_elimination(s.epochs_per_op), ArchitectureAcceptance());
               }});
  m.push_back({"ts-no-scan", "FaUNAE-TS without the scan of α0's neighbourhood", [](const Setting& s, const RunInput& in) {
                 return run_search(s, in, ts_mutation({}, {}, false), ts_elimination(s.epochs_per_op), ArchitectureAcceptance());
               }});
  m.push_back({"ts-optimism-0", "FaUNAE-TS, elimination by posterior mean (κ = 0)", [](const Setting& s, const RunInput& in) {
                 return run_search(s, in, ts_mutation(), ts_elimination(s.epochs_per_op, 0.0), ArchitectureAcceptance());
               }});
  // FaUNAE-LT: every base's neighbourhood scanned (in the model's order) while the budget covers it,
  // FaUNAE-TS's elimination; and its ablations (confident elimination only, none, local search's acceptance).
  m.push_back({"faunae-lt", "FaUNAE-LT (every base's neighbourhood scanned while the budget covers it)", [](const Setting& s, const RunInput& in) {
                 return run_search(s, in, lt_mutation(), ts_elimination(s.epochs_per_op), ArchitectureAcceptance());
               }});
  for (const std::size_t k : {2, 3})
    m.push_back({fmt::format("lt-spare-{}", k), fmt::format("FaUNAE-LT, elimination sparing the ops of the {} best observed", k),
                 [k](const Setting& s, const RunInput& in) {
                   return run_search(s, in, lt_mutation(), ts_elimination(s.epochs_per_op, {}, false, k), ArchitectureAcceptance());
                 }});
  m.push_back({"lt-scan-gated", "FaUNAE-LT, elimination only of ops whose neighbour of the base was evaluated",
               [](const Setting& s, const RunInput& in) {
                 return run_search(s, in, lt_mutation(), ts_elimination(s.epochs_per_op, {}, false, 0, true), ArchitectureAcceptance());
               }});
  m.push_back({"lt-confident", "FaUNAE-LT with confident elimination only", [](const Setting& s, const RunInput& in) {
                 return run_search(s, in, lt_mutation(), ts_elimination(s.epochs_per_op, {}, true), ArchitectureAcceptance());
               }});
  m.push_back({"lt-no-elimination", "FaUNAE-LT w/o elimination", [](const Setting& s, const RunInput& in) {
                 return run_search(s, in, lt_mutation(), faunae::NoElimination({.epochs = s.evaluations - 1}), ArchitectureAcceptance());
               }});
  m.push_back({"lt-local-acceptance", "FaUNAE-LT with local search's acceptance, w/o elimination", [](const Setting& s, const RunInput& in) {
                 return run_search(s, in, lt_mutation(), faunae::NoElimination({.epochs = s.evaluations - 1}), faunae::LocalSearchAcceptance());
               }});
  m.push_back({"random", "Random search", [](const Setting& s, const RunInput& in) {
                 auto search = faunae::random_search(*s.space, {.evaluations = s.evaluations, .seed = in.search_seed, .initial = in.alpha0});
                 return run_to_end(search, s, in);
               }});
  for (const auto& [p, t] : std::vector<std::pair<std::size_t, std::size_t>>{{4, 2}, {8, 4}, {16, 4}, {20, 5}}) {
    m.push_back({fmt::format("rea-{}-{}", p, t), fmt::format("Regularized evolution (P = {}, S = {})", p, t),
                 [p, t](const Setting& s, const RunInput& in) {
                   auto search = faunae::regularized_evolution(
                       *s.space, {.evaluations = s.evaluations, .seed = in.search_seed, .initial = in.alpha0},
                       {.population = p, .sample = t});
                   return run_to_end(search, s, in);
                 }});
  }
  m.push_back({"local", "Local search", [](const Setting& s, const RunInput& in) {
                 auto search = faunae::local_search(*s.space, {.evaluations = s.evaluations, .seed = in.search_seed, .initial = in.alpha0});
                 return run_to_end(search, s, in);
               }});
  return m;
}

// --- credit-assignment statistics ---------------------------------------------------------------

/// Mean truth of the table's architectures that use op k at block b (the marginal mean).
std::vector<std::vector<double>> marginal_means(const BenchmarkTable& table, const TabularSpace& space) {
  std::vector<std::vector<double>> sum(space.num_blocks()), count(space.num_blocks());
  for (std::size_t b = 0; b < space.num_blocks(); ++b) {
    sum[b].assign(space.num_ops(b), 0.0);
    count[b].assign(space.num_ops(b), 0.0);
  }
  table.for_each([&](const Architecture& a, const faunae::tabular::Entry& e) {
    for (std::size_t b = 0; b < a.size(); ++b) {
      sum[b][a[b]] += e.mean;
      count[b][a[b]] += 1.0;
    }
  });
  for (std::size_t b = 0; b < sum.size(); ++b)
    for (std::size_t k = 0; k < sum[b].size(); ++k) sum[b][k] = count[b][k] > 0 ? sum[b][k] / count[b][k] : NAN;
  return sum;
}

struct Credit {
  double eliminations = 0, removed_worst = 0, removed_best = 0;
};

Credit credit_of(const SearchResult& r, const TabularSpace& space, const std::vector<std::vector<double>>& marginal) {
  Credit c;
  std::vector<std::vector<bool>> alive(space.num_blocks());
  for (std::size_t b = 0; b < alive.size(); ++b) alive[b].assign(space.num_ops(b), true);
  for (const faunae::EpochRecord& rec : r.history)
    for (const faunae::Elimination& e : rec.eliminations) {
      double worst = INFINITY, best = -INFINITY;
      for (std::size_t k = 0; k < alive[e.block].size(); ++k)
        if (alive[e.block][k]) {
          worst = std::min(worst, marginal[e.block][k]);
          best = std::max(best, marginal[e.block][k]);
        }
      const double m = marginal[e.block][e.op];
      c.eliminations += 1;
      c.removed_worst += m == worst;
      c.removed_best += m == best;
      alive[e.block][e.op] = false;
    }
  return c;
}

struct Row {
  std::string name, alpha0;
  std::vector<double> truth;  ///< per seed
  double evaluated = 0;       ///< share of seeds whose result was evaluated
  Credit credit;              ///< summed over seeds
  double seconds = 0;
};

double mean(const std::vector<double>& x) {
  double m = 0;
  for (double v : x) m += v;
  return m / static_cast<double>(x.size());
}
double se(const std::vector<double>& x) {
  const double m = mean(x);
  double v = 0;
  for (double a : x) v += (a - m) * (a - m);
  return std::sqrt(v / static_cast<double>(x.size() - 1) / static_cast<double>(x.size()));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"faunae search quality on a tabular benchmark, every method at equal evaluations"};
  std::string table_path;
  bool plain = false;
  std::string identity, json_path;
  std::string fidelity = "run";
  std::string proxy_field;
  double noise = 0.0;
  std::vector<std::size_t> budgets = {3, 10};
  std::vector<std::string> alpha0s = {"random"};
  std::size_t seeds = 100;
  std::vector<std::string> method_keys;
  std::string doc, tag, title;
  app.add_option("--table", table_path, "table file (JSON)")->required();
  app.add_flag("--plain", plain, "keys name ops by their character (no NAS-Bench-Macro op names / identity)");
  app.add_option("--identity", identity, "with --plain: the character of the identity op, if any");
  app.add_option("--proxy-field", proxy_field, "the table's low-fidelity field (for --fidelity proxy)");
  app.add_option("--fidelity", fidelity, "what a search sees: run (one measured run), mean (the truth), proxy")
      ->check(CLI::IsMember({"run", "mean", "proxy"}));
  app.add_option("--noise", noise, "Gaussian noise (score units) added to every evaluation")->check(CLI::NonNegativeNumber);
  app.add_option("--epochs-per-op", budgets, "E of each budget (evaluations = 1 + Σ_{m=2}^{M} m·E)")->delimiter(',');
  app.add_option("--alpha0", alpha0s, "α0: a table key, or random (one per seed)")->delimiter(',');
  app.add_option("--seeds", seeds, "seeds per row")->check(CLI::Range(2, 1000000));
  app.add_option("--methods", method_keys, "methods to run (default: all)")->delimiter(',');
  app.add_option("--write-doc", doc, "replace the block <!-- TAG:begin --> … <!-- TAG:end --> of this file");
  app.add_option("--tag", tag, "the block's tag (with --write-doc)");
  app.add_option("--title", title, "a heading line for the output");
  app.add_option("--json", json_path, "also write every row's per-seed truth here (benchmarks/search_robustness.py reads it)");
  app.add_option("--ts-max-changes", g_ts_mutation.max_changes, "FaUNAE-TS: blocks changed per proposal (0 = any)");
  double noise_fraction = g_ts_mutation.model.noise_fraction;
  app.add_option("--ts-noise-fraction", noise_fraction, "FaUNAE-TS: the model's noise_fraction")->check(CLI::PositiveNumber);
  app.add_option("--ts-optimism", g_ts_elimination.optimism, "FaUNAE-TS: κ of the elimination")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  g_ts_mutation.model.noise_fraction = g_ts_elimination.model.noise_fraction = noise_fraction;

  faunae::tabular::TableFormat format = faunae::tabular::nas_bench_macro_format();
  if (plain) {
    format.op_names.clear();
    format.identity.reset();
    if (!identity.empty()) format.identity = identity[0];
  }
  format.proxy_field = proxy_field;
  const BenchmarkTable table = BenchmarkTable::load(table_path, format);
  const TabularSpace space(table);
  const auto marginal = marginal_means(table, space);

  std::vector<Method> methods = all_methods();
  if (!method_keys.empty()) {
    std::vector<Method> chosen;
    for (const std::string& k : method_keys) {
      const auto it = std::find_if(methods.begin(), methods.end(), [&](const Method& m) { return m.key == k; });
      if (it == methods.end()) {
        std::cerr << "search_quality: unknown method '" << k << "'; known:";
        for (const Method& m : methods) std::cerr << ' ' << m.key;
        std::cerr << '\n';
        return 2;
      }
      chosen.push_back(*it);
    }
    methods = chosen;
  }

  std::ostringstream out;
  nlohmann::json json_settings = nlohmann::json::array();
  const std::string noise_label = noise > 0 ? fmt::format(" + N(0, {}²) noise", noise) : "";
  out << fmt::format("Generated by `search_quality {}`: {} seeds per row, {} keys in the table, best truth {:.3f}. "
                     "Evaluations see the `{}` fidelity{}; results are judged by the truth (mean_acc). Paired "
                     "differences are by seed (same α0), ± one SE.\n\n",
                     [&] {
                       std::string s;
                       for (int i = 1; i < argc; ++i) s += (i > 1 ? " " : "") + std::string(argv[i]);
                       return s;
                     }(),
                     seeds, table.size(), table.best_mean(), fidelity, noise_label);
  if (!title.empty()) out << title << "\n\n";

  for (const std::size_t e : budgets) {
    Setting s;
    s.table = &table;
    s.space = &space;
    s.epochs_per_op = e;
    s.evaluations = faunae::planned_evaluations(space, faunae::UcbElimination({.epochs_per_op = e}));
    s.evaluator.fidelity = fidelity == "run" ? Fidelity::run : fidelity == "mean" ? Fidelity::mean : Fidelity::proxy;
    s.evaluator.noise_sd = noise;
    for (const std::string& start : alpha0s) {
      std::vector<Row> rows;
      for (const Method& m : methods) {
        Row row{m.name, start == "random" ? "random" : fmt::format("`{}`", start), {}, 0, {}, 0};
        const auto t0 = std::chrono::steady_clock::now();
        for (std::size_t seed = 0; seed < seeds; ++seed) {
          RunInput in;
          if (start == "random") {
            faunae::Rng rng(stream_seed("random-alpha0", "alpha0", seed));
            in.alpha0 = faunae::random_architecture(space, rng);
          } else {
            in.alpha0 = table.architecture(start);
          }
          const std::string stream = fmt::format("{}/E={}/{}", m.key, e, start);
          in.search_seed = stream_seed(stream, "search", seed);
          in.evaluator_seed = stream_seed(stream, "evaluator", seed);
          const SearchResult r = m.run(s, in);
          row.truth.push_back(table.at(r.architecture).mean);
          row.evaluated += r.evaluated ? 1.0 / static_cast<double>(seeds) : 0.0;
          const Credit c = credit_of(r, space, marginal);
          row.credit.eliminations += c.eliminations;
          row.credit.removed_worst += c.removed_worst;
          row.credit.removed_best += c.removed_best;
        }
        row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        rows.push_back(std::move(row));
        std::cerr << fmt::format("E={} α0={} {}: {:.3f} ({:.1f} s)\n", e, start, m.name, mean(rows.back().truth),
                                 rows.back().seconds);
      }
      {
        nlohmann::json js = {{"epochs_per_op", e}, {"evaluations", s.evaluations}, {"alpha0", start}, {"rows", nlohmann::json::array()}};
        for (std::size_t i = 0; i < rows.size(); ++i)
          js["rows"].push_back({{"key", methods[i].key}, {"name", rows[i].name}, {"truth", rows[i].truth}});
        json_settings.push_back(std::move(js));
      }
      out << fmt::format("#### E = {} → {} evaluations, α0 = {}\n\n", e, s.evaluations, rows.front().alpha0);
      out << "| Method | Truth: mean ± SE | Result evaluated | Eliminations removing the block's worst / best op |\n"
             "|---|---:|---:|---:|\n";
      for (const Row& r : rows) {
        const std::string credit = r.credit.eliminations > 0
                                       ? fmt::format("{:.0f}% / {:.0f}%", 100 * r.credit.removed_worst / r.credit.eliminations,
                                                     100 * r.credit.removed_best / r.credit.eliminations)
                                       : "—";
        out << fmt::format("| {} | {:.3f} ± {:.3f} | {:.0f}% | {} |\n", r.name, mean(r.truth), se(r.truth),
                           100 * r.evaluated, credit);
      }
      // Paired differences of the recommended method against every other method.
      const auto rec = std::find_if(rows.begin(), rows.end(), [](const Row& r) { return r.name.starts_with("FaUNAE-TS (recommended)"); });
      if (rec != rows.end()) {
        out << "\nFaUNAE-TS − other method, paired by seed (difference ± SE, and the difference in SEs):\n\n";
        for (const Row& r : rows) {
          if (&r == &*rec) continue;
          std::vector<double> d(r.truth.size());
          for (std::size_t i = 0; i < d.size(); ++i) d[i] = rec->truth[i] - r.truth[i];
          const double sd = se(d);
          out << fmt::format("- − {}: {:+.3f} ± {:.3f} ({:+.1f} SE)\n", r.name, mean(d), sd, sd > 0 ? mean(d) / sd : 0.0);
        }
      }
      out << "\n";
    }
  }
  std::cout << out.str();
  if (!json_path.empty())
    faunae::write_file_atomically(json_path, nlohmann::json{{"table", table_path}, {"fidelity", fidelity}, {"noise", noise}, {"seeds", seeds},
                                                            {"best_truth", table.best_mean()}, {"settings", json_settings}}
                                                     .dump() +
                                                 "\n");
  if (!doc.empty()) {
    if (tag.empty()) {
      std::cerr << "search_quality: --write-doc needs --tag\n";
      return 2;
    }
    const std::string begin = fmt::format("<!-- {}:begin -->", tag), end = fmt::format("<!-- {}:end -->", tag);
    std::string text = faunae::read_file(doc, "search_quality --write-doc");
    const auto b = text.find(begin), en = text.find(end);
    if (b == std::string::npos || en == std::string::npos || en < b) {
      std::cerr << "search_quality: " << doc << " has no block " << begin << " … " << end << "\n";
      return 2;
    }
    text = text.substr(0, b + begin.size()) + "\n" + out.str() + text.substr(en);
    faunae::write_file_atomically(doc, text);
  }
  return 0;
}
