// faunae._core: the C++ search core bound for Python with pybind11 (docs/python.md).
//
// The edge where Python picks types at run time: every named search (the faithful FaUNAE, its
// variants, the baselines) is one Python class over one Search<BlockSpace, ...> instantiation, and a
// Python evaluator or hook is wrapped in an adapter that satisfies the core's concepts. The GIL is
// released while the C++ search works and taken back for every call into Python.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/ranges.h>
#include <faunae/faunae.hpp>

namespace py = pybind11;

namespace faunae::python {

// --- JSON ⇄ Python ----------------------------------------------------------------------------

py::object to_python(const nlohmann::json& j) {
  using T = nlohmann::json::value_t;
  switch (j.type()) {
    case T::null: return py::none();
    case T::boolean: return py::bool_(j.get<bool>());
    case T::number_integer: return py::int_(j.get<std::int64_t>());
    case T::number_unsigned: return py::int_(j.get<std::uint64_t>());
    case T::number_float: return py::float_(j.get<double>());
    case T::string: return py::str(j.get_ref<const std::string&>());
    case T::array: {
      py::list out;
      for (const auto& x : j) out.append(to_python(x));
      return out;
    }
    case T::object: {
      py::dict out;
      for (const auto& [k, v] : j.items()) out[py::str(k)] = to_python(v);
      return out;
    }
    default: throw py::type_error("faunae: a JSON value of type " + std::string(j.type_name()) + " has no Python form");
  }
}

nlohmann::json from_python(py::handle h, const std::string& where) {
  if (h.is_none()) return nullptr;
  if (py::isinstance<py::bool_>(h)) return h.cast<bool>();
  if (py::isinstance<py::int_>(h)) {
    try {
      return h.cast<std::int64_t>();
    } catch (const py::cast_error&) {
      return h.cast<std::uint64_t>();
    }
  }
  if (py::isinstance<py::float_>(h)) return h.cast<double>();
  if (py::isinstance<py::str>(h)) return h.cast<std::string>();
  if (py::isinstance<py::dict>(h)) {
    nlohmann::json out = nlohmann::json::object();
    for (auto [k, v] : h.cast<py::dict>()) {
      if (!py::isinstance<py::str>(k))
        throw py::type_error(where + ": dict keys must be str to become JSON, got " + std::string(py::str(py::type::of(k).attr("__name__"))));
      out[k.cast<std::string>()] = from_python(v, where);
    }
    return out;
  }
  if (py::isinstance<py::list>(h) || py::isinstance<py::tuple>(h)) {
    nlohmann::json out = nlohmann::json::array();
    for (auto v : h) out.push_back(from_python(v, where));
    return out;
  }
  throw py::type_error(where + ": a value of type " + std::string(py::str(py::type::of(h).attr("__name__"))) +
                       " cannot become JSON (use None, bool, int, float, str, list, tuple or dict)");
}

std::string type_name(py::handle h) { return py::str(py::type::of(h).attr("__name__")); }

// --- architectures ----------------------------------------------------------------------------

py::tuple to_python(const Architecture& a) {
  py::tuple out(a.size());
  for (std::size_t b = 0; b < a.size(); ++b) out[b] = py::int_(a[b]);
  return out;
}

/// A sequence of op indices, or of op names (looked up in `space`'s blocks), as an Architecture.
Architecture to_architecture(py::handle h, const BlockSpace* space, const std::string& where) {
  if (py::isinstance<py::str>(h) || !py::isinstance<py::sequence>(h))
    throw py::type_error(where + ": expected a sequence of op indices (int) or op names (str), got " + type_name(h));
  std::vector<OpIndex> ops;
  std::size_t b = 0;
  for (auto x : h.cast<py::sequence>()) {
    if (py::isinstance<py::str>(x)) {
      if (!space) throw py::type_error(where + ": op names need a search space; give op indices");
      if (b >= space->num_blocks())
        throw py::value_error(fmt::format("{}: has more than the space's {} blocks", where, space->num_blocks()));
      const auto name = x.cast<std::string>();
      const auto k = space->find_op(b, name);
      if (!k) {
        std::vector<std::string> names;
        for (const Op& op : space->blocks()[b].ops) names.push_back(op.name);
        throw py::value_error(fmt::format("{}: block {} has no op '{}' (it has {})", where, b, name, fmt::join(names, ", ")));
      }
      ops.push_back(*k);
    } else if (py::isinstance<py::int_>(x) && !py::isinstance<py::bool_>(x)) {
      const auto v = x.cast<long long>();
      if (v < 0) throw py::value_error(fmt::format("{}: block {} has op index {}, which is negative", where, b, v));
      ops.push_back(static_cast<OpIndex>(v));
    } else {
      throw py::type_error(fmt::format("{}: block {} holds a {}; op indices are int, op names str", where, b, type_name(x)));
    }
    ++b;
  }
  return Architecture(std::move(ops));
}

// --- a Python object kept alive by C++ values that may be copied or destroyed without the GIL ----

struct PyRef {
  std::shared_ptr<py::object> object;
  explicit PyRef(py::object o)
      : object(new py::object(std::move(o)), [](py::object* p) {
          py::gil_scoped_acquire gil;
          delete p;
        }) {}
  const py::object& operator*() const { return *object; }
};

// Raises a pending KeyboardInterrupt (Ctrl-C while C++ worked) before calling into Python.
void check_signals() {
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}

[[noreturn]] void raise_python(PyObject* type, const std::string& message) {
  PyErr_SetString(type, message.c_str());
  throw py::error_already_set();
}

// --- evaluators -------------------------------------------------------------------------------

/// Any Python callable `f(architecture: tuple[int, ...]) -> loss | (loss, {name: value})`, or an
/// object with such an `evaluate` method. Satisfies faunae::Evaluator.
class PyEvaluator {
 public:
  explicit PyEvaluator(const py::object& evaluator)
      : owner_(evaluator), call_(py::hasattr(evaluator, "evaluate") ? py::object(evaluator.attr("evaluate")) : evaluator) {
    if (!PyCallable_Check((*call_).ptr()))
      throw py::type_error("faunae: evaluator must be callable (architecture -> loss) or have an evaluate(architecture) method, got " +
                           type_name(evaluator));
  }

  Evaluation evaluate(const Architecture& a) {
    py::gil_scoped_acquire gil;
    check_signals();
    const py::object r = (*call_)(to_python(a));
    return parse(r);
  }

 protected:
  static Evaluation parse(const py::object& r) {
    const auto as_loss = [](py::handle x, const char* what) {
      if (py::isinstance<py::bool_>(x) || !(py::isinstance<py::float_>(x) || py::isinstance<py::int_>(x) || py::hasattr(x, "__float__")))
        raise_python(PyExc_TypeError, fmt::format("faunae: the evaluator's {} must be a number, got {}", what, type_name(x)));
      return x.cast<double>();
    };
    if (py::isinstance<py::tuple>(r)) {
      const auto t = r.cast<py::tuple>();
      if (t.size() != 2)
        raise_python(PyExc_TypeError, fmt::format("faunae: the evaluator returned a tuple of {} items; return loss or (loss, metrics)", t.size()));
      Evaluation e{as_loss(t[0], "loss"), {}};
      if (!py::isinstance<py::dict>(t[1]))
        raise_python(PyExc_TypeError, "faunae: the evaluator's metrics must be a dict {name: number}, got " + type_name(t[1]));
      for (auto [k, v] : t[1].cast<py::dict>()) {
        if (!py::isinstance<py::str>(k))
          raise_python(PyExc_TypeError, "faunae: the evaluator's metric names must be str, got " + type_name(k));
        e.metrics.emplace_back(k.cast<std::string>(), as_loss(v, ("metric '" + k.cast<std::string>() + "'").c_str()));
      }
      return e;
    }
    return Evaluation{as_loss(r, "loss"), {}};
  }

  PyRef owner_;
  PyRef call_;
};

/// A PyEvaluator whose object also has `state() -> JSON-like` and `restore(state)`: checkpoints keep its
/// state (faunae::StatefulEvaluator).
class PyStatefulEvaluator : public PyEvaluator {
 public:
  using PyEvaluator::PyEvaluator;
  nlohmann::json state() const {
    py::gil_scoped_acquire gil;
    return from_python((*owner_).attr("state")(), "faunae: the evaluator's state()");
  }
  void restore(const nlohmann::json& j) {
    py::gil_scoped_acquire gil;
    (*owner_).attr("restore")(to_python(j));
  }
};

bool is_stateful(const py::object& evaluator) {
  return py::hasattr(evaluator, "state") && py::hasattr(evaluator, "restore");
}

/// Calls `f(e)` with a PyStatefulEvaluator* when `evaluator` has state() and restore(), otherwise with
/// a std::nullptr_t* (the core's "no evaluator", whose state a checkpoint does not hold).
template <class F>
decltype(auto) with_evaluator_state(const py::object& evaluator, F&& f) {
  if (!evaluator.is_none() && is_stateful(evaluator)) {
    PyStatefulEvaluator e(evaluator);
    return f(&e);
  }
  static std::nullptr_t none = nullptr;
  return f(&none);
}

/// C++ evaluators for tests and the overhead benchmark: the loss Σ_b w[b][α_b] + Σ_b v[b][α_b]·v[b+1][α_{b+1}],
/// computed in this order (so that Python computing the same sum gets the same double).
struct TableEvaluator {
  std::vector<std::vector<double>> w, v;
  double evaluate(const Architecture& a) const {
    double loss = 0.0;
    for (std::size_t b = 0; b < a.size(); ++b) loss += w.at(b).at(a[b]);
    if (!v.empty())
      for (std::size_t b = 0; b + 1 < a.size(); ++b) loss += v.at(b).at(a[b]) * v.at(b + 1).at(a[b + 1]);
    return loss;
  }
};

// --- hooks ------------------------------------------------------------------------------------

/// The Python callables of one run (each optional; one returning a true value stops the search after
/// the epoch), and the library's JSON-lines log and progress display.
struct PyHooks {
  std::optional<PyRef> epoch, mutation, elimination, end;
  std::optional<JsonLinesLogger> log;
  std::optional<ProgressDisplay> progress;

  static bool call(const std::optional<PyRef>& f, const nlohmann::json& argument) {
    if (!f) return false;
    py::gil_scoped_acquire gil;
    check_signals();
    return py::bool_((**f)(to_python(argument)));
  }

  bool on_epoch(const EpochRecord& r, const SearchState& s) {
    if (log) log->on_epoch(r, s);
    if (progress) progress->on_epoch(r, s);
    if (!epoch) {  // Ctrl-C is honoured after every epoch, also with a C++ evaluator and no Python hook
      py::gil_scoped_acquire gil;
      check_signals();
      return false;
    }
    nlohmann::json j = detail::record_to_json(r);
    j["evaluations"] = s.evaluations;
    return call(epoch, j);
  }
  bool on_mutation(const BlockMutation& m, const SearchState&) {
    if (!mutation) return false;
    return call(mutation, detail::mutation_to_json(m));
  }
  bool on_elimination(const Elimination& x, const SearchState&) {
    if (!elimination) return false;
    return call(elimination, detail::elimination_to_json(x));
  }
  void on_end(const SearchResult& r, const SearchState& s) {
    if (progress) progress->on_end(r, s);
    if (!end) return;
    py::gil_scoped_acquire gil;
    (**end)(py::cast(r));
  }
};

std::optional<PyRef> callable_or_none(const py::object& f, const char* argument) {
  if (f.is_none()) return std::nullopt;
  if (!PyCallable_Check(f.ptr()))
    throw py::type_error(fmt::format("faunae: {} must be callable or None, got {}", argument, type_name(f)));
  return PyRef(f);
}

// --- errors -----------------------------------------------------------------------------------

// Python's exception classes for the core's (set up in the module init).
PyObject* faunae_error = nullptr;
PyObject* invalid_argument = nullptr;
PyObject* invalid_architecture = nullptr;
PyObject* evaluation_error = nullptr;
PyObject* io_error = nullptr;

// An EvaluationError whose cause is a Python exception (the evaluator raised it, KeyboardInterrupt
// included) is raised as that exception, with the search's message added as a note (the state is
// kept); otherwise as faunae.EvaluationError. Call from within a catch block.
[[noreturn]] void raise_evaluation_error(const EvaluationError& e, const std::string& note) {
  try {
    std::rethrow_if_nested(e);
  } catch (py::error_already_set& cause) {
    const py::object value = cause.value();
    if (py::hasattr(value, "add_note")) value.attr("add_note")(note);
    throw;
  } catch (...) {
  }
  raise_python(evaluation_error, e.what());
}

// --- searches ---------------------------------------------------------------------------------

/// Runs `f(evaluator)` with the GIL released, for a Python evaluator (stateful or not) or a C++ one.
/// `state` describes where the search stands, for the note on an exception the evaluator raised.
template <class F, class State>
decltype(auto) with_evaluator(const py::object& evaluator, F&& f, State&& state) {
  try {
    if (py::isinstance<TableEvaluator>(evaluator)) {
      auto& e = evaluator.cast<TableEvaluator&>();
      py::gil_scoped_release release;
      return f(e);
    }
    if (is_stateful(evaluator)) {
      PyStatefulEvaluator e(evaluator);
      py::gil_scoped_release release;
      return f(e);
    }
    PyEvaluator e(evaluator);
    py::gil_scoped_release release;
    return f(e);
  } catch (const EvaluationError& e) {
    raise_evaluation_error(e, fmt::format("faunae: raised by the evaluator; {}", state()));
  }
}

/// What every Python search class holds: the space (shared with the BlockSpace object) and the search.
template <class SearchT>
struct PySearch {
  std::shared_ptr<const BlockSpace> space;
  std::unique_ptr<SearchT> search;
};

SearchOptions search_options(std::uint64_t seed, double lambda2, std::size_t max_epochs, const std::optional<std::filesystem::path>& checkpoint,
                             std::size_t checkpoint_every, std::size_t max_proposal_attempts, const py::object& initial,
                             const std::string& run_id, const BlockSpace& space, const std::string& who) {
  SearchOptions o;
  o.seed = seed;
  o.lambda2 = lambda2;
  o.max_epochs = max_epochs;
  if (checkpoint) o.checkpoint = *checkpoint;
  o.checkpoint_every = checkpoint_every;
  o.max_proposal_attempts = max_proposal_attempts;
  if (!initial.is_none()) o.initial = to_architecture(initial, &space, who + ": initial");
  o.run_id = run_id;
  return o;
}

BaselineOptions baseline_options(std::size_t evaluations, std::uint64_t seed, const py::object& initial,
                                 const std::optional<std::filesystem::path>& checkpoint, const std::string& run_id, const BlockSpace& space,
                                 const std::string& who) {
  BaselineOptions o;
  o.evaluations = evaluations;
  o.seed = seed;
  if (!initial.is_none()) o.initial = to_architecture(initial, &space, who + ": initial");
  if (checkpoint) o.checkpoint = *checkpoint;
  o.run_id = run_id;
  return o;
}

template <class SearchT>
py::class_<PySearch<SearchT>> bind_search(py::module_& m, const char* name, const char* doc) {
  using P = PySearch<SearchT>;
  py::class_<P> c(m, name, doc);
  const auto kept = [name](const P& p) {
    return [name, &p] {
      return fmt::format("the {} search is kept at epoch {} ({} evaluations); run() again to go on", name, p.search->state().epoch,
                         p.search->state().evaluations);
    };
  };
  const auto hooks_of = [](const py::object& on_epoch, const py::object& on_mutation, const py::object& on_elimination,
                           const py::object& on_end, const std::optional<std::filesystem::path>& log, bool progress, std::size_t planned) {
    auto h = std::make_unique<PyHooks>();
    h->epoch = callable_or_none(on_epoch, "on_epoch");
    h->mutation = callable_or_none(on_mutation, "on_mutation");
    h->elimination = callable_or_none(on_elimination, "on_elimination");
    h->end = callable_or_none(on_end, "on_end");
    if (log) h->log.emplace(*log);
    if (progress) h->progress.emplace(planned);
    return h;
  };
  c.def(
      "run",
      [hooks_of, kept](P& p, const py::object& evaluator, const py::object& on_epoch, const py::object& on_mutation,
                       const py::object& on_elimination, const py::object& on_end, const std::optional<std::filesystem::path>& log, bool progress) {
        auto hooks = hooks_of(on_epoch, on_mutation, on_elimination, on_end, log, progress, p.search->planned_epochs());
        return with_evaluator(evaluator, [&](auto& e) { return p.search->run(e, *hooks); }, kept(p));
      },
      py::arg("evaluator"), py::kw_only(), py::arg("on_epoch") = py::none(), py::arg("on_mutation") = py::none(),
      py::arg("on_elimination") = py::none(), py::arg("on_end") = py::none(), py::arg("log") = py::none(),
      py::arg("progress") = false,
      "Runs epochs until the search is over (its schedule, max_epochs, or a hook returning True), continuing from "
      "the current state (after load(), a resume). Returns a SearchResult. `evaluator(architecture) -> loss | "
      "(loss, {name: value})`; hooks get the epoch record, the mutation or the elimination as a dict (on_end: the "
      "SearchResult); `log` appends one JSON line per epoch to that file; `progress` prints a progress line.");
  c.def(
      "step",
      [hooks_of, kept](P& p, const py::object& evaluator, const py::object& on_epoch, const py::object& on_mutation,
                       const py::object& on_elimination) {
        auto hooks = hooks_of(on_epoch, on_mutation, on_elimination, py::none(), std::nullopt, false, 0);
        return with_evaluator(evaluator, [&](auto& e) { return p.search->step(e, *hooks); }, kept(p));
      },
      py::arg("evaluator"), py::kw_only(), py::arg("on_epoch") = py::none(), py::arg("on_mutation") = py::none(),
      py::arg("on_elimination") = py::none(),
      "One epoch of Algorithm 1 (epoch 0: α0's evaluation). Returns True if a hook asked to stop or the search is over.");
  c.def("result", [](const P& p) { return p.search->result(); }, "What the search found so far (a SearchResult).");
  c.def("reset", [](P& p) { p.search->reset(); }, "Back to the start: α0, empty statistics, the generator seeded again.");
  c.def(
      "save",
      [](const P& p, const std::filesystem::path& path, const py::object& evaluator) {
        with_evaluator_state(evaluator, [&](auto* e) { p.search->save(path, *e); });
      },
      py::arg("path"), py::arg("evaluator") = py::none(),
      "Writes a checkpoint atomically (with the evaluator's state() if it has one); the same file format as C++.");
  c.def(
      "load",
      [](P& p, const std::filesystem::path& path, const py::object& evaluator) {
        with_evaluator_state(evaluator, [&](auto* e) { p.search->load(path, *e); });
      },
      py::arg("path"), py::arg("evaluator") = py::none(),
      "Restores a checkpoint (checked: format, checksum, space, parameters); on any error the search is unchanged.");
  c.def(
      "to_json",
      [](const P& p, const py::object& evaluator) {
        return with_evaluator_state(evaluator, [&](auto* e) { return to_python(p.search->to_json(e)); });
      },
      py::arg("evaluator") = py::none(), "The checkpoint's payload as a dict: space fingerprint, parameters and state.");
  c.def(
      "from_json",
      [](P& p, const py::object& payload, const py::object& evaluator) {
        const nlohmann::json j = from_python(payload, "from_json(payload)");
        with_evaluator_state(evaluator, [&](auto* e) { p.search->from_json(j, e); });
      },
      py::arg("payload"), py::arg("evaluator") = py::none(), "Restores from a payload of to_json().");
  c.def_property_readonly("finished", [](const P& p) { return p.search->finished(); });
  c.def_property_readonly("epoch", [](const P& p) { return p.search->state().epoch; }, "Mutation epochs completed.");
  c.def_property_readonly("evaluations", [](const P& p) { return p.search->state().evaluations; }, "Architectures evaluated, α0 included.");
  c.def_property_readonly("current", [](const P& p) { return to_python(p.search->state().current); }, "The base architecture α.");
  c.def_property_readonly("planned_evaluations", [](const P& p) { return p.search->planned_evaluations(); });
  c.def_property_readonly("planned_epochs", [](const P& p) { return p.search->planned_epochs(); });
  c.def_property_readonly("space", [](const P& p) { return std::const_pointer_cast<BlockSpace>(p.space); });
  c.def_property_readonly(
      "history", [](const P& p) {
        py::list out;
        for (const auto& r : p.search->state().history) out.append(to_python(detail::record_to_json(r)));
        return out;
      },
      "Every epoch's record as a dict (epoch 0: α0's evaluation).");
  c.def_property_readonly(
      "ops_left", [](const P& p) {
        py::list out;
        const auto& stats = p.search->state().stats;
        for (std::size_t b = 0; b < stats.num_blocks(); ++b) {
          py::list ops;
          for (OpIndex k = 0; k < p.space->num_ops(b); ++k)
            if (stats.is_alive(b, k)) ops.append(k);
          out.append(ops);
        }
        return out;
      },
      "The op indices still alive in each block (Ω^i).");
  c.def("__repr__", [name](const P& p) {
    return fmt::format("faunae.{}(epoch={}, evaluations={}, finished={}, current={})", name, p.search->state().epoch,
                       p.search->state().evaluations, p.search->finished() ? "True" : "False", p.search->state().current.to_string());
  });
  return c;
}

// The arguments every search built from SearchOptions takes, in one place.
#define FAUNAE_SEARCH_ARGS                                                                                                   \
  py::arg("seed") = 0, py::arg("lambda2") = 0.3, py::arg("max_epochs") = 0, py::arg("checkpoint") = py::none(),           \
      py::arg("checkpoint_every") = 1, py::arg("max_proposal_attempts") = 1000, py::arg("initial") = py::none(),            \
      py::arg("run_id") = ""
#define FAUNAE_BASELINE_ARGS                                                                                                 \
  py::arg("evaluations") = 100, py::arg("seed") = 0, py::arg("initial") = py::none(), py::arg("checkpoint") = py::none(), \
      py::arg("run_id") = ""

using SpacePtr = std::shared_ptr<BlockSpace>;
using Path = std::optional<std::filesystem::path>;

template <class SearchT, class... Policies>
PySearch<SearchT> make_search(const SpacePtr& space, SearchOptions options, Policies&&... policies) {
  if (!space) throw py::type_error("faunae: space must be a faunae.BlockSpace, got None");
  return PySearch<SearchT>{space, std::make_unique<SearchT>(*space, std::move(options), std::forward<Policies>(policies)...)};
}

// --- spaces -----------------------------------------------------------------------------------

Op to_op(py::handle h, const std::string& where) {
  if (py::isinstance<py::str>(h)) return Op{h.cast<std::string>(), 0.0};
  if (py::isinstance<py::dict>(h)) {
    const auto d = h.cast<py::dict>();
    if (!d.contains("name")) throw py::value_error(where + ": an op given as a dict needs 'name'");
    return Op{py::str(d["name"]), d.contains("size") ? d["size"].cast<double>() : 0.0};
  }
  if (py::isinstance<py::tuple>(h) || py::isinstance<py::list>(h)) {
    const auto s = h.cast<py::sequence>();
    if (s.size() != 2 || !py::isinstance<py::str>(s[0]))
      throw py::type_error(where + ": an op given as a tuple must be (name: str, size: float)");
    try {
      return Op{s[0].cast<std::string>(), s[1].cast<double>()};
    } catch (const py::cast_error&) {
      throw py::type_error(where + ": an op's size must be a number, got " + type_name(s[1]));
    }
  }
  throw py::type_error(where + ": an op is a name (str), a (name, size) tuple or a dict {name, size}; got " + type_name(h));
}

Block to_block(py::handle h, std::size_t b) {
  const std::string where = fmt::format("faunae.BlockSpace: blocks[{}]", b);
  Block block;
  block.name = fmt::format("block{}", b);
  py::object ops = py::reinterpret_borrow<py::object>(h);
  py::object identity = py::none();
  if (py::isinstance<py::dict>(h)) {
    const auto d = h.cast<py::dict>();
    for (auto [k, v] : d) {
      const std::string key = py::str(k);
      if (key != "name" && key != "ops" && key != "identity")
        throw py::value_error(where + ": unknown key '" + key + "' (a block has 'name', 'ops' and 'identity')");
    }
    if (!d.contains("ops")) throw py::value_error(where + ": a block given as a dict needs 'ops'");
    if (d.contains("name")) block.name = py::str(d["name"]);
    ops = d["ops"];
    if (d.contains("identity")) identity = d["identity"];
  }
  if (py::isinstance<py::str>(ops) || !py::isinstance<py::sequence>(ops))
    throw py::type_error(where + ": the ops must be a list, got " + type_name(ops));
  std::size_t k = 0;
  for (auto op : ops.cast<py::sequence>()) block.ops.push_back(to_op(op, fmt::format("{}.ops[{}]", where, k++)));
  if (py::isinstance<py::str>(identity)) {
    const auto name = identity.cast<std::string>();
    for (std::size_t i = 0; i < block.ops.size(); ++i)
      if (block.ops[i].name == name) block.identity = i;
    if (!block.identity) throw py::value_error(where + ": identity '" + name + "' is not among the block's ops");
  } else if (py::isinstance<py::int_>(identity)) {
    const auto i = identity.cast<long long>();
    if (i < 0) throw py::value_error(fmt::format("{}: identity must be an op index >= 0 or a name, got {}", where, i));
    block.identity = static_cast<OpIndex>(i);
  } else if (!identity.is_none()) {
    throw py::type_error(where + ": identity must be an op name, an op index or None, got " + type_name(identity));
  }
  return block;
}

SpacePtr make_space(const py::object& blocks, const py::object& initial, std::optional<double> max_size, const py::object& is_valid) {
  if (py::isinstance<py::str>(blocks) || !py::isinstance<py::sequence>(blocks))
    throw py::type_error("faunae.BlockSpace: blocks must be a list of blocks, got " + type_name(blocks));
  std::vector<Block> bs;
  std::size_t b = 0;
  for (auto h : blocks.cast<py::sequence>()) bs.push_back(to_block(h, b++));
  BlockSpace::Validity validity;
  if (!is_valid.is_none()) {
    if (!PyCallable_Check(is_valid.ptr())) throw py::type_error("faunae.BlockSpace: is_valid must be callable or None, got " + type_name(is_valid));
    validity = [f = PyRef(is_valid)](const Architecture& a) {
      py::gil_scoped_acquire gil;
      return py::bool_((*f)(to_python(a))).cast<bool>();
    };
  }
  // Op names in `initial` are looked up in the blocks just read.
  const BlockSpace names(bs, Architecture(std::vector<OpIndex>(bs.size(), 0)));
  Architecture alpha0 = to_architecture(initial, &names, "faunae.BlockSpace: initial");
  auto space = std::make_shared<BlockSpace>(std::move(bs), std::move(alpha0), std::move(validity));
  if (max_size) *space = space->with_max_size(*max_size);
  return space;
}

py::list block_list(const BlockSpace& s) {
  py::list out;
  for (const Block& b : s.blocks()) {
    py::list ops;
    for (const Op& op : b.ops) ops.append(py::make_tuple(op.name, op.size));
    py::dict d;
    d["name"] = b.name;
    d["ops"] = ops;
    d["identity"] = b.identity ? py::object(py::int_(*b.identity)) : py::object(py::none());
    out.append(d);
  }
  return out;
}

}  // namespace faunae::python

PYBIND11_MODULE(_core, m) {
  using namespace faunae;
  using namespace faunae::python;
  m.doc() = "faunae._core: FaUNAE's search (C++) for Python; use it through the package `faunae` (docs/python.md).";
  m.attr("__version__") = "0.1.0";

  // Errors: faunae.FaunaeError is the base; the others are also the matching built-in exception.
  faunae_error = PyErr_NewExceptionWithDoc("faunae.FaunaeError", "Base of faunae's errors.", PyExc_RuntimeError, nullptr);
  invalid_argument = PyErr_NewExceptionWithDoc("faunae.InvalidArgument", "An argument breaks a documented rule (also a ValueError).",
                                               py::make_tuple(py::handle(faunae_error), py::handle(PyExc_ValueError)).release().ptr(), nullptr);
  invalid_architecture = PyErr_NewExceptionWithDoc("faunae.InvalidArchitecture", "An architecture does not fit its search space.",
                                                   invalid_argument, nullptr);
  evaluation_error = PyErr_NewExceptionWithDoc("faunae.EvaluationError",
                                               "The evaluator failed or returned a non-finite loss; the search state is kept.",
                                               faunae_error, nullptr);
  io_error = PyErr_NewExceptionWithDoc("faunae.IoError", "A checkpoint or file could not be read or written, or is corrupt (also an OSError).",
                                       py::make_tuple(py::handle(faunae_error), py::handle(PyExc_OSError)).release().ptr(), nullptr);
  m.attr("FaunaeError") = py::handle(faunae_error);
  m.attr("InvalidArgument") = py::handle(invalid_argument);
  m.attr("InvalidArchitecture") = py::handle(invalid_architecture);
  m.attr("EvaluationError") = py::handle(evaluation_error);
  m.attr("IoError") = py::handle(io_error);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InvalidArchitecture& e) {
      PyErr_SetString(invalid_architecture, e.what());
    } catch (const InvalidArgument& e) {
      PyErr_SetString(invalid_argument, e.what());
    } catch (const EvaluationError& e) {
      PyErr_SetString(evaluation_error, e.what());
    } catch (const IoError& e) {
      PyErr_SetString(io_error, e.what());
    }
  });

  // --- spaces ---
  py::class_<BlockSpace, SpacePtr>(m, "BlockSpace",
                                   "A search space given as data: blocks of candidate ops (name, model size), which op skips a "
                                   "block (identity), α0, an optional model-size budget and an optional rule across blocks.")
      .def(py::init(&make_space), py::arg("blocks"), py::arg("initial"), py::kw_only(), py::arg("max_size") = py::none(),
           py::arg("is_valid") = py::none(),
           "blocks: a list, one entry per block: a list of ops, or {'name': str, 'ops': [...], 'identity': name | index}; "
           "an op is a name, a (name, size) tuple or {'name', 'size'} (size: model size MS of eq. 2, default 0). "
           "initial: α0 as op indices or op names. max_size: Σ of the ops' sizes allowed. is_valid(architecture) -> bool.")
      .def_property_readonly("num_blocks", &BlockSpace::num_blocks)
      .def("num_ops", &BlockSpace::num_ops, py::arg("block"))
      .def("op_names", [](const BlockSpace& s, std::size_t b) {
             std::vector<std::string> names;
             for (const Op& op : s.blocks().at(b).ops) names.push_back(op.name);
             return names;
           }, py::arg("block"))
      .def_property_readonly("blocks", &block_list, "The blocks as dicts {'name', 'ops': [(name, size)], 'identity'}.")
      .def_property_readonly("initial", [](const BlockSpace& s) { return to_python(s.initial_architecture()); })
      .def_property_readonly("max_size", &BlockSpace::max_size)
      .def("size_of", [](const BlockSpace& s, const py::object& a) {
             const Architecture arch = to_architecture(a, &s, "faunae.BlockSpace.size_of(architecture)");
             s.check_architecture(arch, "faunae.BlockSpace.size_of(architecture)");
             return s.size_of(arch);
           }, py::arg("architecture"), "Σ_b MS(α_b), the model size of eq. (2).")
      .def("is_valid", [](const BlockSpace& s, const py::object& a) {
             return s.is_valid(to_architecture(a, &s, "faunae.BlockSpace.is_valid(architecture)"));
           }, py::arg("architecture"))
      .def("names", [](const BlockSpace& s, const py::object& a) {
             const Architecture arch = to_architecture(a, &s, "faunae.BlockSpace.names(architecture)");
             s.check_architecture(arch, "faunae.BlockSpace.names(architecture)");
             std::vector<std::string> out;
             for (std::size_t b = 0; b < arch.size(); ++b) out.emplace_back(s.op_name(b, arch[b]));
             return out;
           }, py::arg("architecture"), "The op names of an architecture, block by block.")
      .def("architecture_to_json", [](const BlockSpace& s, const py::object& a) {
             return to_python(architecture_to_json(s, to_architecture(a, &s, "faunae.BlockSpace.architecture_to_json(architecture)")));
           }, py::arg("architecture"), "The architecture file's content (format faunae.architecture) as a dict.")
      .def("architecture_from_json", [](const BlockSpace& s, const py::object& j) {
             return to_python(architecture_from_json(s, from_python(j, "faunae.BlockSpace.architecture_from_json(data)")));
           }, py::arg("data"), "Reads the dict form back, checked against the space.")
      .def("load_architecture", [](const BlockSpace& s, const std::filesystem::path& path) { return to_python(load_architecture(s, path)); },
           py::arg("path"), "Reads an architecture file written by the C++ library or the faunae program.")
      .def("__repr__", [](const BlockSpace& s) {
        return fmt::format("faunae.BlockSpace({} blocks, {} ops at most{})", s.num_blocks(), s.max_ops(),
                           s.max_size() ? fmt::format(", max_size={}", *s.max_size()) : std::string());
      });

  // --- results ---
  py::class_<SearchResult>(m, "SearchResult", "What a search returns.")
      .def_property_readonly("architecture", [](const SearchResult& r) { return to_python(r.architecture); }, "The found architecture.")
      .def_readonly("evaluations", &SearchResult::evaluations, "Architectures evaluated, α0 included.")
      .def_readonly("epochs", &SearchResult::epochs, "Mutation epochs run.")
      .def_readonly("finished", &SearchResult::finished, "The schedule's end was reached (not a hook, not max_epochs).")
      .def_readonly("evaluated", &SearchResult::evaluated, "The found architecture was evaluated (the faithful FaUNAE may return one it never evaluated).")
      .def_property_readonly("history", [](const SearchResult& r) {
        py::list out;
        for (const auto& e : r.history) out.append(to_python(detail::record_to_json(e)));
        return out;
      }, "Every epoch's record as a dict.")
      .def("__repr__", [](const SearchResult& r) {
        return fmt::format("faunae.SearchResult(architecture={}, evaluations={}, epochs={}, finished={}, evaluated={})",
                           r.architecture.to_string(), r.evaluations, r.epochs, r.finished ? "True" : "False", r.evaluated ? "True" : "False");
      });

  // --- the searches ---
  bind_search<FaUNAE<BlockSpace>>(m, "FaUNAE",
                                  "The faithful FaUNAE (Algorithm 1): FaunaeMutation (eqs. 1–3), eq. (4) smoothing, blockwise trial "
                                  "and test (eq. 5), UCB elimination (eqs. 9–10) every K·E epochs.")
      .def(py::init([](const SpacePtr& space, std::uint64_t seed, double lambda2, std::size_t max_epochs, const Path& checkpoint,
                       std::size_t checkpoint_every, std::size_t max_proposal_attempts, const py::object& initial, const std::string& run_id,
                       double epsilon, double lambda1, double size_unit, std::size_t epochs_per_op) {
             return make_search<FaUNAE<BlockSpace>>(
                 space, search_options(seed, lambda2, max_epochs, checkpoint, checkpoint_every, max_proposal_attempts, initial, run_id, *space, "faunae.FaUNAE"),
                 FaunaeMutation({.epsilon = epsilon, .lambda1 = lambda1, .size_unit = size_unit}),
                 UcbElimination({.epochs_per_op = epochs_per_op}));
           }),
           py::arg("space"), py::kw_only(), FAUNAE_SEARCH_ARGS, py::arg("epsilon") = 0.5, py::arg("lambda1") = 0.9,
           py::arg("size_unit") = 0.0, py::arg("epochs_per_op") = 3);
  bind_search<FaUNAENoElimination<BlockSpace>>(m, "FaUNAENoElimination", "Ablation: FaUNAE without elimination (as many epochs).")
      .def(py::init([](const SpacePtr& space, std::uint64_t seed, double lambda2, std::size_t max_epochs, const Path& checkpoint,
                       std::size_t checkpoint_every, std::size_t max_proposal_attempts, const py::object& initial, const std::string& run_id,
                       double epsilon, double lambda1, double size_unit, std::size_t epochs_per_op, std::size_t epochs) {
             return make_search<FaUNAENoElimination<BlockSpace>>(
                 space, search_options(seed, lambda2, max_epochs, checkpoint, checkpoint_every, max_proposal_attempts, initial, run_id, *space, "faunae.FaUNAENoElimination"),
                 FaunaeMutation({.epsilon = epsilon, .lambda1 = lambda1, .size_unit = size_unit}),
                 NoElimination({.epochs_per_op = epochs_per_op, .epochs = epochs}));
           }),
           py::arg("space"), py::kw_only(), FAUNAE_SEARCH_ARGS, py::arg("epsilon") = 0.5, py::arg("lambda1") = 0.9,
           py::arg("size_unit") = 0.0, py::arg("epochs_per_op") = 3, py::arg("epochs") = 0);
  bind_search<FaUNAER<BlockSpace>>(m, "FaUNAER", "FaUNAE-R (a variant): eq. (9) replaced by a ridge-regression credit assignment.")
      .def(py::init([](const SpacePtr& space, std::uint64_t seed, double lambda2, std::size_t max_epochs, const Path& checkpoint,
                       std::size_t checkpoint_every, std::size_t max_proposal_attempts, const py::object& initial, const std::string& run_id,
                       double epsilon, double lambda1, double size_unit, std::size_t epochs_per_op, double ridge) {
             return make_search<FaUNAER<BlockSpace>>(
                 space, search_options(seed, lambda2, max_epochs, checkpoint, checkpoint_every, max_proposal_attempts, initial, run_id, *space, "faunae.FaUNAER"),
                 FaunaeMutation({.epsilon = epsilon, .lambda1 = lambda1, .size_unit = size_unit}),
                 RegressionElimination({.epochs_per_op = epochs_per_op, .ridge = ridge}));
           }),
           py::arg("space"), py::kw_only(), FAUNAE_SEARCH_ARGS, py::arg("epsilon") = 0.5, py::arg("lambda1") = 0.9,
           py::arg("size_unit") = 0.0, py::arg("epochs_per_op") = 3, py::arg("ridge") = 1.0);
  bind_search<FaUNAETS<BlockSpace>>(m, "FaUNAETS",
                                    "FaUNAE-TS, the recommended search (docs/baselines.md): Thompson-sampling mutation over an additive "
                                    "Bayesian credit model, architecture-level acceptance, posterior elimination. "
                                    "scan_base_neighbourhood=True makes it FaUNAE-LT (docs/algorithm.md).")
      .def(py::init([](const SpacePtr& space, std::uint64_t seed, double lambda2, std::size_t max_epochs, const Path& checkpoint,
                       std::size_t checkpoint_every, std::size_t max_proposal_attempts, const py::object& initial, const std::string& run_id,
                       std::size_t max_changes, bool single_block_from_alpha0, bool scan_alpha0_neighbourhood, double noise_fraction,
                       std::size_t epochs_per_op, double optimism, bool scan_base_neighbourhood, bool confident_only,
                       std::size_t spare_best_observed) {
             const AdditiveModelOptions model{.noise_fraction = noise_fraction};
             return make_search<FaUNAETS<BlockSpace>>(
                 space, search_options(seed, lambda2, max_epochs, checkpoint, checkpoint_every, max_proposal_attempts, initial, run_id, *space, "faunae.FaUNAETS"),
                 ThompsonMutation({.max_changes = max_changes,
                                   .single_block_from_alpha0 = single_block_from_alpha0,
                                   .scan_alpha0_neighbourhood = scan_alpha0_neighbourhood,
                                   .scan_base_neighbourhood = scan_base_neighbourhood,
                                   .model = model}),
                 PosteriorElimination({.epochs_per_op = epochs_per_op,
                                       .optimism = optimism,
                                       .confident_only = confident_only,
                                       .spare_best_observed = spare_best_observed,
                                       .model = model}),
                 ArchitectureAcceptance());
           }),
           py::arg("space"), py::kw_only(), FAUNAE_SEARCH_ARGS, py::arg("max_changes") = 2,
           py::arg("single_block_from_alpha0") = true, py::arg("scan_alpha0_neighbourhood") = true, py::arg("noise_fraction") = 0.5,
           py::arg("epochs_per_op") = 3, py::arg("optimism") = 1.0, py::arg("scan_base_neighbourhood") = false,
           py::arg("confident_only") = false, py::arg("spare_best_observed") = 0);
  bind_search<RandomSearch<BlockSpace>>(m, "RandomSearch", "Random search: `evaluations` uniformly random valid architectures (α0 included); returns the best.")
      .def(py::init([](const SpacePtr& space, std::size_t evaluations, std::uint64_t seed, const py::object& initial, const Path& checkpoint,
                       const std::string& run_id) {
             if (!space) throw py::type_error("faunae.RandomSearch: space must be a faunae.BlockSpace, got None");
             return PySearch<RandomSearch<BlockSpace>>{
                 space, std::make_unique<RandomSearch<BlockSpace>>(random_search(
                            *space, baseline_options(evaluations, seed, initial, checkpoint, run_id, *space, "faunae.RandomSearch")))};
           }),
           py::arg("space"), py::kw_only(), FAUNAE_BASELINE_ARGS);
  bind_search<RegularizedEvolution<BlockSpace>>(m, "RegularizedEvolution", "Regularized (aging) evolution (Real et al. 2019) at `evaluations` evaluations.")
      .def(py::init([](const SpacePtr& space, std::size_t evaluations, std::uint64_t seed, const py::object& initial, const Path& checkpoint,
                       const std::string& run_id, std::size_t population, std::size_t sample) {
             if (!space) throw py::type_error("faunae.RegularizedEvolution: space must be a faunae.BlockSpace, got None");
             return PySearch<RegularizedEvolution<BlockSpace>>{
                 space, std::make_unique<RegularizedEvolution<BlockSpace>>(regularized_evolution(
                            *space, baseline_options(evaluations, seed, initial, checkpoint, run_id, *space, "faunae.RegularizedEvolution"),
                            RegularizedEvolutionOptions{.population = population, .sample = sample}))};
           }),
           py::arg("space"), py::kw_only(), FAUNAE_BASELINE_ARGS, py::arg("population") = 20, py::arg("sample") = 5);
  bind_search<LocalSearch<BlockSpace>>(m, "LocalSearch", "Local search (first improvement over one-op neighbours) at `evaluations` evaluations.")
      .def(py::init([](const SpacePtr& space, std::size_t evaluations, std::uint64_t seed, const py::object& initial, const Path& checkpoint,
                       const std::string& run_id) {
             if (!space) throw py::type_error("faunae.LocalSearch: space must be a faunae.BlockSpace, got None");
             return PySearch<LocalSearch<BlockSpace>>{
                 space, std::make_unique<LocalSearch<BlockSpace>>(local_search(
                            *space, baseline_options(evaluations, seed, initial, checkpoint, run_id, *space, "faunae.LocalSearch")))};
           }),
           py::arg("space"), py::kw_only(), FAUNAE_BASELINE_ARGS);

  // --- for tests and benchmarks ---
  auto testing = m.def_submodule("_testing", "C++ pieces for faunae's tests and benchmarks.");
  py::class_<TableEvaluator>(testing, "TableEvaluator",
                             "A C++ evaluator: loss = Σ_b w[b][α_b] + Σ_b v[b][α_b]·v[b+1][α_{b+1}], summed in this order.")
      .def(py::init([](std::vector<std::vector<double>> w, std::vector<std::vector<double>> v) {
             return TableEvaluator{std::move(w), std::move(v)};
           }),
           py::arg("w"), py::arg("v") = std::vector<std::vector<double>>{})
      .def("__call__", [](const TableEvaluator& e, const py::object& a) { return e.evaluate(to_architecture(a, nullptr, "TableEvaluator(architecture)")); });
}
