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
#: Observations a factor's value needs (and events and non-events each) before its odds ratio is estimable.
MIN_N = 30
MIN_EVENTS = 5


def grouped_logit(frame: pd.DataFrame, successes: str, failures: str, factors: Mapping[str, object],
                  covariates: Sequence[str] = (), level: float = 0.95, min_n: int = MIN_N,
                  min_events: int = MIN_EVENTS) -> pd.DataFrame:
    """Fit a binomial GLM (logit) of ``successes`` / (``successes`` + ``failures``) on grouped rows.

    ``factors`` maps each categorical column to its baseline value (odds ratio 1); factors with a
    single value are left out. ``covariates`` enter linearly. Returns one row per term: ``term``
    (the factor's value, or the covariate's name), ``kind`` (the factor's column, or ``covariate``),
    ``odds_ratio``, ``low``, ``high`` (Wald interval at ``level``), ``p_value`` and ``estimable``
    (False when the interval is not finite: a group without any success or failure separates the
    outcome and its odds ratio cannot be estimated; also False for a factor's value, or its baseline,
    with fewer than ``min_n`` observations or fewer than ``min_events`` successes or failures, and for
    every term when the whole frame has fewer), and ``n`` (the observations of the factor's value; of
    the frame for a covariate); highest odds first. A fit that fails (a singular design) returns
    every term with NaN ratios and ``estimable`` False, never a traceback.
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
    k = len(meta)
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # separation and overflow warnings: judged below by `estimable`
            result = sm.GLM(y, x, family=sm.families.Binomial()).fit()
        params, ci, pvals = np.asarray(result.params), np.asarray(result.conf_int(alpha=1 - level)), np.asarray(
            result.pvalues)
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
        params, ci, pvals = np.full(k, np.nan), np.full((k, 2), np.nan), np.full(k, np.nan)

    def counts(mask: pd.Series) -> tuple[float, float]:
        return float(frame.loc[mask, successes].sum()), float(frame.loc[mask, failures].sum())

    enough = {}
    for col, base in factors.items():
        for v in pd.unique(frame[col]):
            enough[(v, col)] = counts(frame[col] == v)
        enough.setdefault((base, col), (0.0, 0.0))
    whole = counts(pd.Series(True, index=frame.index))

    def big(sf: tuple[float, float]) -> bool:
        return sum(sf) >= min_n and min(sf) >= min_events

    with np.errstate(over="ignore", invalid="ignore"):
        rows = []
        for i, (term, kind) in enumerate(meta):
            if kind == "const":
                continue
            sf = whole if kind == "covariate" else enough[(term, kind)]
            ok = big(whole) and big(sf) and (kind == "covariate" or big(enough[(factors[kind], kind)]))
            rows.append({"term": term, "kind": kind, "odds_ratio": float(np.exp(params[i])),
                         "low": float(np.exp(ci[i, 0])), "high": float(np.exp(ci[i, 1])),
                         "p_value": float(pvals[i]), "n": int(sum(sf)), "large_enough": ok})
    out = pd.DataFrame(rows, columns=["term", "kind", "odds_ratio", "low", "high", "p_value", "n", "large_enough"])
    finite = np.isfinite(out[["odds_ratio", "low", "high"]]).all(axis=1)
    out["estimable"] = (finite & (out["low"] > 0) & (out["high"] / out["low"].where(out["low"] > 0) < 1e6)
                        & out["large_enough"].astype(bool))
    return out.drop(columns="large_enough").sort_values("odds_ratio", ascending=False).reset_index(drop=True)
