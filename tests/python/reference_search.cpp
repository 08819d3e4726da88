// The C++ side of tests/python/test_search.py: runs one named search with the C++ API on a space and a
// deterministic evaluator read from a JSON spec, and prints the checkpoint payload (Search::to_json) of
// the finished search. The Python test runs the same search through the bindings and compares.
//
//   faunae_reference_search spec.json > payload.json
//   spec: {"blocks": [{"name", "ops": [[name, size], ...], "identity": index | null}], "initial": [...],
//          "max_size": number | null, "search": "FaUNAE" | "FaUNAENoElimination" | "FaUNAER" | "FaUNAETS" |
//          "RandomSearch" | "RegularizedEvolution" | "LocalSearch", "seed": n, "evaluations": n (baselines),
//          "w": [[...]], "v": [[...]]}   (the loss: Σ_b w[b][α_b] + Σ_b v[b][α_b]·v[b+1][α_{b+1}])
#include <fstream>
#include <iostream>
#include <string>

#include <faunae/faunae.hpp>

namespace {

struct TableEvaluator {
  std::vector<std::vector<double>> w, v;
  double evaluate(const faunae::Architecture& a) const {
    double loss = 0.0;
    for (std::size_t b = 0; b < a.size(); ++b) loss += w.at(b).at(a[b]);
    if (!v.empty())
      for (std::size_t b = 0; b + 1 < a.size(); ++b) loss += v.at(b).at(a[b]) * v.at(b + 1).at(a[b + 1]);
    return loss;
  }
};

template <class SearchT>
nlohmann::json run(SearchT search, TableEvaluator& evaluator) {
  search.run(evaluator);
  return search.to_json();
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 2) {
    std::cerr << "usage: faunae_reference_search spec.json\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  const nlohmann::json spec = nlohmann::json::parse(in);
  std::vector<faunae::Block> blocks;
  for (const auto& b : spec.at("blocks")) {
    faunae::Block block{b.at("name").get<std::string>(), {}, std::nullopt};
    for (const auto& op : b.at("ops")) block.ops.push_back({op.at(0).get<std::string>(), op.at(1).get<double>()});
    if (!b.at("identity").is_null()) block.identity = b.at("identity").get<faunae::OpIndex>();
    blocks.push_back(std::move(block));
  }
  faunae::BlockSpace space(std::move(blocks), faunae::Architecture(spec.at("initial").get<std::vector<faunae::OpIndex>>()));
  if (!spec.at("max_size").is_null()) space = space.with_max_size(spec.at("max_size").get<double>());
  TableEvaluator evaluator{spec.at("w").get<std::vector<std::vector<double>>>(), spec.at("v").get<std::vector<std::vector<double>>>()};
  const std::string name = spec.at("search").get<std::string>();
  const auto seed = spec.at("seed").get<std::uint64_t>();
  const faunae::SearchOptions options{.seed = seed};
  const faunae::BaselineOptions baseline{.evaluations = spec.value("evaluations", std::size_t{100}), .seed = seed};
  nlohmann::json payload;
  if (name == "FaUNAE") payload = run(faunae::FaUNAE<faunae::BlockSpace>(space, options), evaluator);
  else if (name == "FaUNAENoElimination") payload = run(faunae::FaUNAENoElimination<faunae::BlockSpace>(space, options), evaluator);
  else if (name == "FaUNAER") payload = run(faunae::FaUNAER<faunae::BlockSpace>(space, options), evaluator);
  else if (name == "FaUNAETS") payload = run(faunae::FaUNAETS<faunae::BlockSpace>(space, options), evaluator);
  else if (name == "RandomSearch") payload = run(faunae::random_search(space, baseline), evaluator);
  else if (name == "RegularizedEvolution") payload = run(faunae::regularized_evolution(space, baseline), evaluator);
  else if (name == "LocalSearch") payload = run(faunae::local_search(space, baseline), evaluator);
  else throw faunae::InvalidArgument("faunae_reference_search: unknown search '" + name + "'");
  std::cout << payload.dump() << '\n';
  return 0;
} catch (const std::exception& e) {
  std::cerr << "faunae_reference_search: " << e.what() << '\n';
  return 1;
}
