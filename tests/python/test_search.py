"""The search from Python: the same history as the C++ API, resume, evaluators that raise, bad arguments.

FAUNAE_REFERENCE_SEARCH names tests/python/reference_search.cpp's program (ctest sets it): it runs a
search through the C++ API on a spec of this file and prints Search::to_json() of the finished search.
"""

import json
import math
import os
import random
import signal
import subprocess

import pytest

import faunae
_testing = faunae._core._testing

SEARCHES = ["FaUNAE", "FaUNAENoElimination", "FaUNAER", "FaUNAETS", "RandomSearch", "RegularizedEvolution", "LocalSearch"]
BASELINES = {"RandomSearch", "RegularizedEvolution", "LocalSearch"}


def make_spec(search, seed, budget=True):
    """A space of 6 blocks with 2 to 5 ops (sizes, an identity op in some), and a table evaluator."""
    rng = random.Random(1234)
    blocks = []
    for b in range(6):
        n = 2 + b % 4
        ops = [[f"op{k}", float(rng.randint(1, 9))] for k in range(n)]
        identity = None
        if b % 2 == 1:
            ops[0] = ["skip", 0.0]
            identity = 0
        blocks.append({"name": f"b{b}", "ops": ops, "identity": identity})
    w = [[rng.uniform(0.0, 1.0) for _ in block["ops"]] for block in blocks]
    v = [[rng.uniform(-0.3, 0.3) for _ in block["ops"]] for block in blocks]
    initial = [len(block["ops"]) - 1 for block in blocks]
    max_size = sum(max(op[1] for op in block["ops"]) for block in blocks) - 4.0 if budget else None
    return {"blocks": blocks, "initial": initial, "max_size": max_size, "search": search, "seed": seed, "evaluations": 40, "w": w, "v": v}


def make_space(spec):
    return faunae.BlockSpace(
        [{"name": b["name"], "ops": [tuple(op) for op in b["ops"]], "identity": b["identity"]} for b in spec["blocks"]],
        spec["initial"],
        max_size=spec["max_size"],
    )


def table_loss(spec):
    """The loss of reference_search.cpp's TableEvaluator, summed in the same order."""
    w, v = spec["w"], spec["v"]

    def loss(a):
        total = 0.0
        for b, k in enumerate(a):
            total += w[b][k]
        for b in range(len(a) - 1):
            total += v[b][a[b]] * v[b + 1][a[b + 1]]
        return total

    return loss


def make_search(spec, **options):
    space = make_space(spec)
    cls = getattr(faunae, spec["search"])
    if spec["search"] in BASELINES:
        return cls(space, evaluations=spec["evaluations"], seed=spec["seed"], **options)
    return cls(space, seed=spec["seed"], **options)


def reference_payload(spec, tmp_path):
    program = os.environ.get("FAUNAE_REFERENCE_SEARCH")
    if not program:
        pytest.skip("FAUNAE_REFERENCE_SEARCH is not set (ctest sets it to the faunae_reference_search program)")
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    out = subprocess.run([program, str(path)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


# --- the same search as C++ --------------------------------------------------------------------


@pytest.mark.parametrize("name", SEARCHES)
@pytest.mark.parametrize("seed", [0, 7])
def test_python_search_equals_the_cpp_search(name, seed, tmp_path):
    spec = make_spec(name, seed)
    search = make_search(spec)
    result = search.run(table_loss(spec))
    expected = reference_payload(spec, tmp_path)
    assert result.evaluations > 10
    assert search.to_json() == expected  # the whole state: statistics, generator, every epoch's record
    assert search.history == expected["state"]["history"]


@pytest.mark.parametrize("name", SEARCHES)
def test_a_python_evaluator_and_a_cpp_evaluator_give_the_same_search(name):
    spec = make_spec(name, 3)
    in_python = make_search(spec)
    in_cpp = make_search(spec)
    in_python.run(table_loss(spec))
    in_cpp.run(_testing.TableEvaluator(spec["w"], spec["v"]))
    assert in_python.to_json() == in_cpp.to_json()


# --- checkpoints and resume --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["FaUNAE", "FaUNAETS", "RegularizedEvolution"])
def test_resume_after_an_interruption_ends_where_an_uninterrupted_run_ends(name, tmp_path):
    spec = make_spec(name, 11)
    loss = table_loss(spec)
    uninterrupted = make_search(spec)
    uninterrupted.run(loss)

    checkpoint = tmp_path / "search.ckpt"
    first = make_search(spec, checkpoint=checkpoint)
    stopped = first.run(loss, on_epoch=lambda record: record["epoch"] >= 7)
    assert not stopped.finished and first.epoch == 7
    del first  # the process "dies"; only the checkpoint is left

    resumed = make_search(spec, checkpoint=checkpoint)
    resumed.load(checkpoint)
    assert resumed.epoch == 7
    result = resumed.run(loss)
    assert result.finished
    assert resumed.to_json() == uninterrupted.to_json()
    assert result.architecture == uninterrupted.result().architecture


def test_checkpoints_are_those_of_cpp_and_refuse_another_space(tmp_path):
    spec = make_spec("FaUNAE", 5)
    search = make_search(spec)
    search.run(table_loss(spec), on_epoch=lambda r: r["epoch"] >= 4)
    search.save(tmp_path / "a.ckpt")
    stored = json.loads((tmp_path / "a.ckpt").read_text())
    assert stored["format"] == "faunae.checkpoint" and stored["payload"] == search.to_json()

    other = make_spec("FaUNAE", 5)
    other["blocks"][2]["ops"][1][0] = "renamed"
    with pytest.raises(faunae.IoError, match="another search space"):
        make_search(other).load(tmp_path / "a.ckpt")
    with pytest.raises(OSError, match="other parameters"):  # faunae.IoError is an OSError too
        make_search(spec, lambda2=0.5).load(tmp_path / "a.ckpt")
    with pytest.raises(OSError, match="other parameters"):  # the budget is a parameter of the search
        make_search(make_spec("FaUNAE", 5, budget=False)).load(tmp_path / "a.ckpt")
    (tmp_path / "b.ckpt").write_text((tmp_path / "a.ckpt").read_text()[:-40])
    fresh = make_search(spec)
    with pytest.raises(faunae.IoError, match="not valid JSON"):
        fresh.load(tmp_path / "b.ckpt")
    assert fresh.epoch == 0 and fresh.evaluations == 0  # unchanged


class CountingEvaluator:
    """A stateful evaluator: its state() goes into the checkpoint and restore() gets it back."""

    def __init__(self, spec):
        self.loss = table_loss(spec)
        self.calls = 0

    def evaluate(self, architecture):
        self.calls += 1
        return self.loss(architecture), {"calls": float(self.calls)}

    def state(self):
        return {"calls": self.calls}

    def restore(self, state):
        self.calls = state["calls"]


def test_a_stateful_evaluator_is_checkpointed_with_the_search(tmp_path):
    spec = make_spec("FaUNAE", 2)
    checkpoint = tmp_path / "s.ckpt"
    evaluator = CountingEvaluator(spec)
    make_search(spec, checkpoint=checkpoint).run(evaluator, on_epoch=lambda r: r["epoch"] >= 5)
    assert json.loads(checkpoint.read_text())["payload"]["evaluator"] == {"calls": 6}
    again = CountingEvaluator(spec)
    resumed = make_search(spec, checkpoint=checkpoint)
    resumed.load(checkpoint, evaluator=again)
    assert again.calls == 6
    result = resumed.run(again)
    assert result.history[-1]["metrics"] == [["calls", float(result.evaluations)]]


# --- evaluators that fail ----------------------------------------------------------------------


def test_an_evaluator_that_raises_stops_the_search_with_its_exception_and_the_state_kept():
    spec = make_spec("FaUNAE", 4)
    loss = table_loss(spec)
    reference = make_search(spec)
    reference.run(loss)

    def failing(architecture):
        if failing.calls == 5:
            failing.calls += 1
            raise ValueError("the GPU caught fire")
        failing.calls += 1
        return loss(architecture)

    failing.calls = 0
    search = make_search(spec)
    with pytest.raises(ValueError, match="the GPU caught fire") as raised:
        search.run(failing)
    assert any("kept at epoch 4" in note for note in raised.value.__notes__)
    assert search.epoch == 4 and search.evaluations == 5
    search.run(failing)  # goes on from where it stopped, as if nothing had happened
    assert search.to_json() == reference.to_json()


def test_keyboard_interrupt_stops_the_search_and_it_can_go_on():
    spec = make_spec("FaUNAETS", 9)
    loss = table_loss(spec)
    reference = make_search(spec)
    reference.run(loss)

    def interrupted(architecture):
        interrupted.calls += 1
        if interrupted.calls == 4:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the evaluator runs
        return loss(architecture)

    interrupted.calls = 0
    search = make_search(spec)
    # Python's own Ctrl-C handler, also where this process was started with SIGINT ignored (a
    # background job of a non-interactive shell), which Python then leaves ignored.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            search.run(interrupted)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert 2 <= search.epoch <= 4
    search.run(loss)
    assert search.to_json() == reference.to_json()


def test_bad_results_of_the_evaluator_are_named():
    spec = make_spec("FaUNAE", 1)
    with pytest.raises(faunae.EvaluationError, match="non-finite loss"):
        make_search(spec).run(lambda a: math.nan)
    with pytest.raises(TypeError, match="loss must be a number, got str"):
        make_search(spec).run(lambda a: "low")
    with pytest.raises(TypeError, match="tuple of 3 items"):
        make_search(spec).run(lambda a: (1.0, {}, 2))
    with pytest.raises(TypeError, match="metrics must be a dict"):
        make_search(spec).run(lambda a: (1.0, [("x", 1.0)]))
    with pytest.raises(TypeError, match="metric 'x' must be a number"):
        make_search(spec).run(lambda a: (1.0, {"x": "high"}))


# --- arguments ---------------------------------------------------------------------------------


def test_bad_arguments_give_a_type_or_value_error_that_names_them():
    spec = make_spec("FaUNAE", 0)
    space = make_space(spec)
    with pytest.raises(ValueError, match="lambda2"):
        faunae.FaUNAE(space, lambda2=2.0)
    with pytest.raises(ValueError, match="epsilon"):
        faunae.FaUNAE(space, epsilon=1.5)
    with pytest.raises(ValueError, match="evaluations must be at least 2"):
        faunae.RandomSearch(space, evaluations=1)
    with pytest.raises(ValueError, match="population"):
        faunae.RegularizedEvolution(space, population=0)
    with pytest.raises(TypeError, match="epsilon"):
        faunae.FaUNAE(space, epsilon="big")
    with pytest.raises(TypeError):
        faunae.FaUNAE(space, unknown_option=1)
    with pytest.raises(TypeError):
        faunae.FaUNAE(space, seed=-1)
    with pytest.raises(TypeError, match="evaluator must be callable"):
        faunae.FaUNAE(space).run(42)
    with pytest.raises(TypeError, match="on_epoch must be callable"):
        faunae.FaUNAE(space).run(lambda a: 0.0, on_epoch=3)
    with pytest.raises(faunae.InvalidArchitecture, match="initial"):
        faunae.FaUNAE(space, initial=[0, 0])
    with pytest.raises(ValueError, match="block 0 has no op 'conv9'"):
        faunae.FaUNAE(space, initial=["conv9"] + [0] * 5)


def test_bad_spaces_are_named():
    with pytest.raises(ValueError, match="no blocks"):
        faunae.BlockSpace([], [])
    with pytest.raises(ValueError, match=r"op 'a': model size must be finite and >= 0, got -1"):
        faunae.BlockSpace([[("a", -1.0), ("b", 1.0)]], [0])
    with pytest.raises(ValueError, match="two ops named 'a'"):
        faunae.BlockSpace([["a", "a"]], [0])
    with pytest.raises(ValueError, match="identity 'skip' is not among"):
        faunae.BlockSpace([{"ops": ["a", "b"], "identity": "skip"}], [0])
    with pytest.raises(ValueError, match="unknown key 'op'"):
        faunae.BlockSpace([{"op": ["a", "b"]}], [0])
    with pytest.raises(TypeError, match=r"blocks\[0\].ops\[1\]: an op is a name"):
        faunae.BlockSpace([["a", 3]], [0])
    with pytest.raises(TypeError, match="blocks must be a list"):
        faunae.BlockSpace("abc", [0])
    with pytest.raises(faunae.InvalidArchitecture, match="uses op index 5"):
        faunae.BlockSpace([["a", "b"]], [5])
    with pytest.raises(ValueError, match="no architecture fits max_size 1"):
        faunae.BlockSpace([[("a", 2.0), ("b", 3.0)]], [0], max_size=1.0)


# --- spaces, rules across blocks, logs, architecture files ---------------------------------------


@pytest.mark.parametrize("name", ["FaUNAENoElimination", "RegularizedEvolution"])
def test_a_space_with_a_rule_across_blocks_is_respected(name):
    blocks = [["conv3", "conv5", "skip"]] * 5
    space = faunae.BlockSpace(blocks, ["conv3"] * 5, is_valid=lambda a: list(a).count(2) <= 1)  # at most one skip
    search = getattr(faunae, name)(space, seed=3)
    result = search.run(lambda a: sum(a) * 0.1 + (0.0 if 2 in a else 1.0))
    assert len(result.history) >= 16
    assert all(list(r["evaluated"]).count(2) <= 1 for r in result.history)
    assert space.is_valid(result.architecture)
    assert space.names([0, 1, 2, 0, 0]) == ["conv3", "conv5", "skip", "conv3", "conv3"]


def test_the_jsonl_log_hooks_and_architecture_files(tmp_path):
    spec = make_spec("FaUNAE", 8)
    space = make_space(spec)
    search = faunae.FaUNAE(space, seed=8)
    seen = {"epochs": 0, "mutations": 0, "eliminations": 0, "end": None}

    def on_end(result):
        seen["end"] = result

    def count(key):
        def hook(item):
            seen[key] += 1

        return hook

    result = search.run(
        table_loss(spec),
        log=tmp_path / "search.jsonl",
        on_epoch=count("epochs"),
        on_mutation=count("mutations"),
        on_elimination=count("eliminations"),
        on_end=on_end,
    )
    lines = [json.loads(line) for line in (tmp_path / "search.jsonl").read_text().splitlines()]
    assert len(lines) == result.evaluations == seen["epochs"]
    assert [line["epoch"] for line in lines] == list(range(result.evaluations))
    assert seen["mutations"] == sum(len(r["mutations"]) for r in result.history) > 0
    assert seen["eliminations"] == sum(len(r["eliminations"]) for r in result.history) > 0
    assert seen["end"].architecture == result.architecture
    assert all(len(ops) == 1 for ops in search.ops_left)  # FaUNAE ends with one op per block

    document = space.architecture_to_json(result.architecture)
    assert document["format"] == "faunae.architecture"
    assert space.architecture_from_json(document) == result.architecture
    (tmp_path / "found.json").write_text(json.dumps(document))
    assert space.load_architecture(tmp_path / "found.json") == result.architecture
    document["blocks"][0]["op"] = "nope"
    with pytest.raises(faunae.InvalidArchitecture, match="nope"):
        space.architecture_from_json(document)


def test_planned_evaluations_and_step():
    spec = make_spec("FaUNAE", 6)
    search = make_search(spec)
    planned = search.planned_evaluations
    loss = table_loss(spec)
    steps = 0
    while not search.finished:
        search.step(loss)
        steps += 1
    assert steps == planned == search.evaluations
    assert search.step(loss) is True  # nothing left to do
    search.reset()
    assert search.epoch == 0 and search.evaluations == 0 and search.current == tuple(spec["initial"])


def test_faunae_lt_from_python_is_faunae_ts_with_the_scan_of_every_base():
    """FaUNAE-LT is FaUNAETS(scan_base_neighbourhood=True): it runs to its planned evaluations, and
    its checkpointed configuration names the option (docs/algorithm.md)."""
    spec = make_spec("FaUNAETS", 4)
    loss = table_loss(spec)
    lt = make_search(spec, scan_base_neighbourhood=True)
    lt.run(loss)
    assert lt.finished and lt.evaluations == lt.planned_evaluations
    config = lt.to_json()["config"]
    assert config["mutation"]["scan_base_neighbourhood"] is True
    assert "scan_base_neighbourhood" not in make_search(spec).to_json()["config"]["mutation"]
    confident = make_search(spec, confident_only=True)
    assert confident.to_json()["config"]["elimination"]["confident_only"] is True
    spared = make_search(spec, scan_base_neighbourhood=True, spare_best_observed=2)
    spared.run(loss)
    assert spared.finished and spared.evaluations == spared.planned_evaluations
    assert spared.to_json()["config"]["elimination"]["spare_best_observed"] == 2
    assert "spare_best_observed" not in make_search(spec).to_json()["config"]["elimination"]
