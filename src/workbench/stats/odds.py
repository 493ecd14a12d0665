"""Odds ratios of a binomial outcome from grouped counts: a logistic GLM fitted on successes and failures.

Grouped counts give the same odds ratios as a row-level logistic regression whose covariates are
the groups' values, at a cost that does not grow with the rows. Frames in, a tidy table out; the
design is built from the columns directly (no formula text), so any category value works.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

#: Method key of the odds ratios (``method.glm_wald`` in the catalogue).
METHOD = "glm_wald"


def grouped_logit(frame: pd.DataFrame, successes: str, failures: str, factors: Mapping[str, object],
                  covariates: Sequence[str] = (), level: float = 0.95) -> pd.DataFrame:
    """Fit a binomial GLM (logit) of ``successes`` / (``successes`` + ``failures``) on grouped rows.

    ``factors`` maps each categorical column to its baseline value (odds ratio 1); factors with a
    single value are left out. ``covariates`` enter linearly. Returns one row per term: ``term``
    (the factor's value, or the covariate's name), ``kind`` (the factor's column, or ``covariate``),
    ``odds_ratio``, ``low``, ``high`` (Wald interval at ``level``), ``p_value`` and ``estimable``
    (False when the interval is not finite: a group without any success or failure separates the
    outcome and its odds ratio cannot be estimated); highest odds first.
    """
    import statsmodels.api as sm

    parts, meta = [pd.Series(1.0, index=frame.index, name="const")], [("const", "const")]
    for col, base in factors.items():
        values = [v for v in pd.unique(frame[col]) if v != base]
        if not values:
            continue
        for v in sorted(values, key=str):
            parts.append((frame[col] == v).astype(float).rename(f"{col}={v}"))
            meta.append((v, col))
    for col in covariates:
        parts.append(frame[col].astype(float).rename(col))
        meta.append((col, "covariate"))
    x = pd.concat(parts, axis=1).to_numpy()
    y = frame[[successes, failures]].to_numpy(dtype=float)
    result = sm.GLM(y, x, family=sm.families.Binomial()).fit()
    ci = np.asarray(result.conf_int(alpha=1 - level))
    with np.errstate(over="ignore"):
        rows = [{"term": term, "kind": kind, "odds_ratio": float(np.exp(result.params[i])),
                 "low": float(np.exp(ci[i, 0])), "high": float(np.exp(ci[i, 1])), "p_value": float(result.pvalues[i])}
                for i, (term, kind) in enumerate(meta) if kind != "const"]
    out = pd.DataFrame(rows)
    finite = np.isfinite(out[["odds_ratio", "low", "high"]]).all(axis=1)
    out["estimable"] = finite & (out["low"] > 0) & (out["high"] / out["low"].where(out["low"] > 0) < 1e6)
    return out.sort_values("odds_ratio", ascending=False).reset_index(drop=True)
