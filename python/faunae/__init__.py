"""faunae from Python: FaUNAE's search (the C++ core, bound with pybind11) and found networks rebuilt in PyTorch.

    import faunae
    space = faunae.BlockSpace([[("conv3", 9.0), ("conv5", 25.0), ("skip", 0.0)]] * 4, initial=[0, 0, 0, 0])
    search = faunae.FaUNAE(space, seed=7)
    found = search.run(lambda arch: my_training_loss(arch))

The search classes come from the compiled extension ``faunae._core``; it is imported on first use, so
that ``faunae.torch_net`` (pure Python, torch only) works where the extension is not built.
"""

__all__ = [
    "BlockSpace",
    "FaUNAE",
    "FaUNAENoElimination",
    "FaUNAER",
    "FaUNAETS",
    "RandomSearch",
    "RegularizedEvolution",
    "LocalSearch",
    "SearchResult",
    "EvaluationError",
    "FaunaeError",
    "InvalidArgument",
    "InvalidArchitecture",
    "IoError",
    "torch_net",
]


def __getattr__(name):
    if name == "torch_net":
        import importlib

        return importlib.import_module(".torch_net", __name__)
    if name in __all__ or name in ("__version__", "_core"):
        import importlib

        try:
            _core = importlib.import_module("._core", __name__)
        except ImportError as e:
            raise ImportError(
                f"faunae.{name}: the compiled extension faunae._core is not importable ({e}); build faunae with "
                "-DFAUNAE_BUILD_PYTHON=ON and install it, or put the build's python/ folder on PYTHONPATH (docs/python.md)"
            ) from e
        if name == "_core":
            return _core
        value = getattr(_core, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'faunae' has no attribute '{name}'")


def __dir__():
    return sorted(list(globals()) + __all__)
