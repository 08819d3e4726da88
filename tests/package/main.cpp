// A user's program: a FaUNAE search over a small space, and a tabular lookup.
#include <cstdio>

#include <faunae/faunae.hpp>
#include <faunae/tabular.hpp>

int main() {
  const faunae::BlockSpace space = faunae::uniform_space(
      3, {{"skip", 0.0}, {"conv3", 9.0}, {"conv5", 25.0}}, faunae::Architecture{1, 1, 1}, std::string("skip"));
  auto loss = [](const faunae::Architecture& a) {
    double l = 0.0;
    for (auto op : a) l += op == 2 ? 0.1 : 1.0;
    return l;
  };
  faunae::FunctionEvaluator evaluator(loss);
  faunae::FaUNAE<faunae::BlockSpace> search(space, {.seed = 1});
  const faunae::SearchResult found = search.run(evaluator);
  fmt::print("{} after {} evaluations\n", faunae::architecture_to_json(space, found.architecture).dump(),
             found.evaluations);

  const auto table = faunae::tabular::BenchmarkTable::from_json(
      nlohmann::json::parse(R"({"0": {"test_acc": [90.0], "mean_acc": 90.0, "params": 1},
                                "1": {"test_acc": [95.0], "mean_acc": 95.0, "params": 2}})"),
      faunae::tabular::TableFormat{});
  const bool ok = found.finished && found.evaluations == 1 + faunae::schedule_length(3, 3) &&
                  table.rank(table.architecture("1")) == 1;
  std::puts(ok ? "consumer: OK" : "consumer: FAILED");
  return ok ? 0 : 1;
}
