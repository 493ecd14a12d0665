"""Generated shops for recovery tests on several seeds (issue 13), cached between test runs.

``generated_shop(seed, scale)`` returns the folder of ``workbench sample --seed SEED --scale SCALE``.
The generator is deterministic byte for byte, so shops are kept in a cache folder keyed by the
generator's own source hash (``$WORKBENCH_SEED_CACHE``, default ``<tmp>/workbench-seeds``): a change
to the generator makes new shops, never stale ones.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from scipy.stats import binom

#: Seeds and scale of the multi-seed recovery tests (about 3 s per shop to generate).
SEEDS = (1, 2, 3, 4, 5)
SCALE = 0.3


def _generator_hash() -> str:
    import workbench.data.sample as sample

    return hashlib.sha256(Path(sample.__file__).read_bytes()).hexdigest()[:12]


def generated_shop(seed: int, scale: float = SCALE) -> Path:
    """The folder of the generated shop of ``seed`` at ``scale`` (generated on first use)."""
    from workbench.data.sample import generate

    root = Path(os.environ.get("WORKBENCH_SEED_CACHE", Path(tempfile.gettempdir()) / "workbench-seeds"))
    out = root / f"{_generator_hash()}-s{seed}-x{scale}"
    if not (out / "truth.json").exists():
        tmp = out.with_name(out.name + f".part{os.getpid()}")
        generate(tmp, seed=seed, scale=scale)
        try:
            tmp.rename(out)
        except OSError:  # another process finished first
            pass
    return out


def min_covered(n: int, level: float = 0.95, alpha: float = 0.001) -> int:
    """Fewest of ``n`` honest ``level`` intervals that cover their truth, except with probability ``alpha``.

    The largest k with P(Binomial(n, level) < k) < alpha: a test asserting "covered ≥ k of n" fails an
    honest estimator once in 1/alpha runs, and fails intervals whose real coverage is much lower.
    """
    return max(k for k in range(n + 1) if binom.cdf(k - 1, n, level) < alpha)
