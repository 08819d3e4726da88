"""faunae.torch_net rebuilds the networks that `faunae export` writes, equal to the C++ networks.

The reference comes from the C++ side: faunae_export_reference (tests/python/export_reference.cpp)
writes networks in export's format (network.json, weights.pt) with a fixed input and the C++
outputs on it (eval-mode features, the feature map of each stage, train-mode features and the
BatchNorm buffers after that forward). Set FAUNAE_EXPORT_REFERENCE to the program's path:

    FAUNAE_EXPORT_REFERENCE=build/faunae_export_reference PYTHONPATH=python python3 -m pytest tests/python

Without it, the comparisons are skipped; the checks of network descriptions (errors naming the bad
key and value) and of the networks' shapes still run.
"""

from __future__ import annotations

import copy
import math
import os
import subprocess
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="faunae.torch_net needs PyTorch (Debian: apt-get install python3-torch)")

from faunae import torch_net  # noqa: E402  (after the skip)

#: Largest |Python − C++| accepted on any output element.
TOLERANCE = 1e-5

#: The cases faunae_export_reference writes (one subfolder each).
CASES = ["resnet_gray28", "resnet_color32", "resnet_imagenet224", "darts_color32", "darts_gray28"]


# --- the C++ reference --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    exe = os.environ.get("FAUNAE_EXPORT_REFERENCE")
    if not exe:
        pytest.skip(
            "FAUNAE_EXPORT_REFERENCE is not set: build the target faunae_export_reference "
            "(tests/python/export_reference.cmake) and set the variable to its path to compare with the C++ networks"
        )
    if not Path(exe).is_file():
        pytest.fail(f"FAUNAE_EXPORT_REFERENCE={exe!r} is not a file")
    out = tmp_path_factory.mktemp("reference")
    run = subprocess.run([exe, str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"{exe} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"
    return out


def _load_tensors(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, f"shape {tuple(a.shape)} != C++ {tuple(b.shape)}"
    return (a.double() - b.double()).abs().max().item()


@pytest.fixture(params=CASES)
def case(request, reference):
    folder = reference / request.param
    assert folder.is_dir(), f"faunae_export_reference wrote no case {request.param!r}"
    return folder


def test_the_exporter_writes_exactly_the_known_cases(reference):
    assert sorted(p.name for p in reference.iterdir()) == sorted(CASES)


def test_state_dict_keys_and_shapes_equal_the_cpp_weights(case):
    weights = _load_tensors(case / "weights.pt")
    built = torch_net.build(case / "network.json")  # fresh weights, from the description alone
    expected = {k: tuple(t.shape) for k, t in built.state_dict().items()}
    assert {k: tuple(t.shape) for k, t in weights.items()} == expected
    net = torch_net.load(case)  # strict
    for k, t in net.state_dict().items():
        assert torch.equal(t, weights[k]), k


def test_eval_forward_equals_cpp(case, record_property):
    net = torch_net.load(case)
    assert not net.training
    x = _load_tensors(case / "input.pt")["input"]
    out = _load_tensors(case / "output.pt")
    with torch.no_grad():
        y = net(x)
    assert y.shape == (x.shape[0], net.feature_dim)
    assert y.std().item() > 1e-3, "degenerate output: the comparison would prove nothing"
    diff = _max_diff(y, out["features"])
    record_property("max_abs_diff_eval", diff)
    print(f"{case.name}: eval max |diff| = {diff:.3g}")
    assert diff <= TOLERANCE


def test_stage_feature_maps_equal_cpp(case):
    net = torch_net.load(case)
    x = _load_tensors(case / "input.pt")["input"]
    out = _load_tensors(case / "output.pt")
    with torch.no_grad():
        stages = net.forward_stages(x)
    reference_stages = [out[f"stage.{i}"] for i in range(sum(k.startswith("stage.") for k in out))]
    assert len(stages) == len(reference_stages) == len(net.stage_channels) == len(net.stage_strides)
    size = x.shape[-1]
    for i, (mine, theirs) in enumerate(zip(stages, reference_stages)):
        assert mine.shape[1] == net.stage_channels[i]
        assert mine.shape[-1] == math.ceil(size / net.stage_strides[i])
        diff = _max_diff(mine, theirs)
        print(f"{case.name}: stage {i} {tuple(mine.shape)} max |diff| = {diff:.3g}")
        assert diff <= TOLERANCE, f"stage {i}"
    # The last stage is what the forward pools.
    with torch.no_grad():
        assert torch.equal(torch.nn.functional.adaptive_avg_pool2d(stages[-1], 1).flatten(1), net(x))


def test_train_mode_forward_and_running_statistics_equal_cpp(case):
    net = torch_net.load(case).train()
    x = _load_tensors(case / "input.pt")["input"]
    out = _load_tensors(case / "output.pt")
    with torch.no_grad():
        y = net(x)
    diff = _max_diff(y, out["train_features"])
    print(f"{case.name}: train max |diff| = {diff:.3g}")
    assert diff <= TOLERANCE
    buffers = dict(net.named_buffers())
    assert sorted(buffers) == sorted(k[len("after_train.") :] for k in out if k.startswith("after_train."))
    for name, b in buffers.items():
        theirs = out[f"after_train.{name}"]
        if b.is_floating_point():
            assert _max_diff(b, theirs) <= TOLERANCE, name
        else:
            assert torch.equal(b, theirs), name


def test_the_running_statistics_matter(case):
    """The comparison sees the BatchNorm buffers: with them reset, the eval output moves away."""
    net = torch_net.load(case)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
    x = _load_tensors(case / "input.pt")["input"]
    with torch.no_grad():
        assert _max_diff(net(x), _load_tensors(case / "output.pt")["features"]) > 100 * TOLERANCE


def test_the_cases_cover_every_op(reference):
    resnet, normal, reduce_input, reduce_node = set(), set(), set(), set()
    for name in CASES:
        net = torch_net.load(reference / name)
        if isinstance(net, torch_net.ResNetNetwork):
            resnet.update(net.architecture)
            continue
        edges = net.EDGES
        normal.update(net.architecture[:edges])
        for (node, source), op in zip(torch_net.DARTS_EDGES, net.architecture[edges:]):
            (reduce_input if source < 2 else reduce_node).add(op)
    assert resnet == set(torch_net.RESNET_OPS)
    assert normal == set(torch_net.DARTS_OPS)
    assert reduce_input == set(torch_net.DARTS_OPS)  # stride 2: skip_connect is FactorizedReduce
    assert "skip_connect" in reduce_node


# --- network descriptions (no C++ needed) --------------------------------------------------------------


def _resnet_network() -> dict:
    """A network.json of a ResNet run on Fashion-MNIST: 3 blocks; identity only in the last (the first
    block of each stage changes width or resolution). data.channels/size are the program's defaults,
    which the fashion-mnist kind overrides."""
    return {
        "space": {
            "kind": "resnet",
            "blocks_per_stage": [1, 2],
            "width": 0.125,
            "ops": ["conv3", "sa_k3r2", "identity"],
            "darts_layers": 5,
            "darts_channels": 8,
        },
        "data": {"kind": "fashion-mnist", "path": "/usr/share/datasets/fashion-mnist", "channels": 3, "size": 32},
        "architecture": {"architecture": [1, 0, 2], "ops": ["sa_k3r2", "conv3", "identity"], "params": 0, "flops": 0},
    }


def _darts_network() -> dict:
    ops = ["sep_conv_3x3", "skip_connect", "none", "max_pool_3x3"] * 7
    return {
        "space": {"kind": "darts", "blocks_per_stage": [2, 2], "width": 0.25, "ops": ["conv3"], "darts_layers": 3, "darts_channels": 4},
        "data": {"kind": "cifar10", "path": "/usr/share/datasets/cifar10", "channels": 3, "size": 32},
        "architecture": {"ops": ops},
    }


def test_built_networks_have_the_shapes_of_their_description():
    net = torch_net.build(_resnet_network())
    assert net.architecture == ["sa_k3r2", "conv3", "identity"]
    assert (net.in_channels, net.input_size) == (1, 28)
    x = torch.randn(2, 1, 28, 28)
    net.eval()
    assert net(x).shape == (2, net.feature_dim)
    assert [s.shape[1:] for s in net.forward_stages(x)] == [(32, 28, 28), (64, 14, 14)]
    assert net.stage_channels == [32, 64] and net.feature_dim == 64
    assert list(net.blocks[2].state_dict()) == []  # a skipped block has no weights
    darts = torch_net.build(_darts_network()).eval()
    y = darts.forward_stages(torch.randn(2, 3, 32, 32))
    assert [t.shape[1:] for t in y] == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
    assert torch_net.normalization(net) == ((0.2860,), (0.3530,))


def test_every_form_of_the_architecture_builds_the_same_network():
    names = ["sa_k3r2", "conv3", "identity"]
    forms = [
        names,
        {"ops": names},
        {"architecture": [1, 0, 2]},
        {"format": "faunae.architecture", "version": 1, "blocks": [{"block": f"block{i}", "op": n} for i, n in enumerate(names)]},
    ]
    for form in forms:
        network = _resnet_network()
        network["architecture"] = form
        assert torch_net.build(network).architecture == names, form


def _expect_error(network: dict, *fragments: str):
    with pytest.raises(ValueError) as e:
        torch_net.build(network)
    for fragment in fragments:
        assert fragment in str(e.value), f"{fragment!r} not in: {e.value}"


def test_an_unknown_op_in_the_architecture_is_named():
    n = _resnet_network()
    n["architecture"]["ops"][1] = "sa_k7r3"
    _expect_error(n, "architecture.ops[1]", "'sa_k7r3'", "conv3, sa_k3r2")
    n = _darts_network()
    n["architecture"]["ops"][27] = "dil_conv_3x3"
    _expect_error(n, "architecture[27]", "'dil_conv_3x3'", "reduce.node3.from4")


def test_an_unknown_op_in_the_space_is_named():
    n = _resnet_network()
    n["space"]["ops"] = ["conv3", "conv7"]
    _expect_error(n, "space.ops[1]", "'conv7'")


def test_an_architecture_of_the_wrong_length_is_refused():
    n = _resnet_network()
    n["architecture"] = ["conv3", "conv3"]
    _expect_error(n, "architecture has 2 ops, the space has 3 blocks")
    n = _resnet_network()
    n["architecture"] = {"architecture": [0, 0, 0, 0], "ops": ["conv3"] * 4}
    _expect_error(n, "architecture.architecture has 4 op indices, the space has 3 blocks")
    n = _darts_network()
    n["architecture"]["ops"] = n["architecture"]["ops"][:27]
    _expect_error(n, "27 ops, the space has 28 blocks")


def test_identity_where_the_block_changes_shape_is_refused():
    n = _resnet_network()
    n["architecture"] = ["sa_k3r2", "identity", "identity"]  # block 1 strides
    _expect_error(n, "architecture[1]", "'identity'", "stage2.block0", "identity is not allowed there")


def test_indices_that_disagree_with_the_names_are_refused():
    n = _resnet_network()
    n["architecture"]["architecture"] = [0, 0, 2]
    _expect_error(n, "architecture.architecture[0] = 0 is op 'conv3'", "architecture.ops[0] names 'sa_k3r2'")
    n["architecture"]["architecture"] = [0, 0, 3]
    _expect_error(n, "architecture.architecture[2]", "[0, 3)", "3")


@pytest.mark.parametrize(
    "section, key, value, fragments",
    [
        ("space", "kind", "mobilenet", ["space.kind", "'mobilenet'"]),
        ("space", "width", 0, ["space.width", "(0, 8]", "0"]),
        ("space", "width", True, ["space.width", "True"]),
        ("space", "blocks_per_stage", [2, 0], ["space.blocks_per_stage", "[2, 0]"]),
        ("space", "blocks_per_stage", None, ["space.blocks_per_stage is missing"]),
        ("data", "kind", "mnist", ["data.kind", "'mnist'"]),
    ],
)
def test_bad_space_and_data_values_are_named(section, key, value, fragments):
    n = _resnet_network()
    if value is None:
        del n[section][key]
    else:
        n[section][key] = value
    _expect_error(n, *fragments)


def test_darts_space_values_are_checked():
    n = _darts_network()
    n["space"]["darts_channels"] = 5
    _expect_error(n, "space.darts_channels", "even", "5")


def test_a_folder_without_a_stem_is_refused():
    n = _resnet_network()
    n["data"] = {"kind": "folder", "path": "images", "channels": 1, "size": 64}
    _expect_error(n, "1-channel 64×64", "no stem")
    n["data"]["channels"], n["data"]["size"] = 3, 224
    assert torch_net.build(n).stem == "imagenet224"


def test_weights_that_do_not_fit_are_named(tmp_path):
    network = _resnet_network()
    (tmp_path / "network.json").write_text(__import__("json").dumps(network))
    good = torch_net.build(network).state_dict()
    torch.save(good, tmp_path / "weights.pt")
    assert not torch_net.load(tmp_path).training

    missing = copy.copy(good)
    del missing["blocks.0.ops.sa_k3r2.fc1.bias"]
    with pytest.raises(ValueError, match=r"missing \['blocks.0.ops.sa_k3r2.fc1.bias'\]"):
        torch_net.load(tmp_path, weights=missing)
    extra = dict(good, **{"blocks.2.reduce.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"unexpected \['blocks.2.reduce.weight'\]"):
        torch_net.load(tmp_path, weights=extra)
    wrong = dict(good, **{"stem_conv.weight": torch.zeros(16, 1, 3, 3)})
    with pytest.raises(ValueError, match=r"'stem_conv.weight' has shape \(16, 1, 3, 3\).*expects \(8, 1, 3, 3\)"):
        torch_net.load(tmp_path, weights=wrong)
