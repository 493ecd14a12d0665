"""The multi-seed recovery harness: a few generated shops, shared by every test of this folder.

Each shop is ``workbench.data.sample.generate(seed=k, scale=SCALE)`` written into a session
temporary folder, with its truth.json; the checks are those of ``benchmarks/truth.py`` (one
definition of what each analysis is compared with), so the suite and the sweep cannot drift apart.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEEDS = (1, 2, 3, 4, 5)
SCALE = 0.3


def _sweep_module():
    spec = importlib.util.spec_from_file_location("truth_sweep", ROOT / "benchmarks" / "truth.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["truth_sweep"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def sweep():
    """The module ``benchmarks/truth.py`` (its checks and its Outcome/Case records)."""
    return _sweep_module()


@pytest.fixture(scope="session")
def shops(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[object, dict]]:
    """(dataset, planted effects) of each generated shop of :data:`SEEDS` at :data:`SCALE`."""
    import workbench
    from workbench.data.sample import generate

    out = []
    for seed in SEEDS:
        folder = tmp_path_factory.mktemp(f"truth-shop-{seed}")
        generate(folder, seed=seed, scale=SCALE)
        truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))["effects"]
        out.append((workbench.load(folder), truth))
    return out


@pytest.fixture(scope="session")
def outcomes(sweep, shops):
    """Run a named check of the sweep on every shop (cached): ``outcomes("kol_roi")`` → list of Outcome."""
    cache: dict[str, list] = {}

    def run(name: str) -> list:
        if name not in cache:
            results = []
            for ds, truth in shops:
                o = sweep.Outcome()
                sweep.CHECKS[name](ds, truth, o)
                results.append(o)
            cache[name] = results
        return cache[name]

    return run
