"""One result protocol for every figure a reader sees, in the manner of statsmodels' results.

An :class:`Estimate` is a number with what makes it honest: its interval (``low``, ``high``) at a
confidence ``level`` (an argument, never part of a name), the number of observations ``n`` behind
it, the ``method`` that produced it, its ``unit`` and the feasible range it lives in. Below
``min_n`` it withholds its value and reads "too few (n = …) to estimate". Topic results carry
Estimates; charts, findings, the overview and the findings JSON take any of them alike.

    >>> e = Estimate.proportion(930, 1000)
    >>> round(e.estimate, 3), e.conf_int()
    (0.93, (0.9125..., 0.9440...))
    >>> e.reading("en")
    '93.0% (95% CI 91.3% to 94.4%, n = 1,000)'
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from workbench.text import catalogue, fmt

#: Feasible ranges of the units whose values are bounded.
FEASIBLE: dict[str, tuple[float, float]] = {"share": (0.0, 1.0)}


def _f(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval, level, n, method and unit.

    ``estimate``: the value (NaN when it cannot be computed); ``low``/``high``: the interval's bounds
    (NaN when the method gives none); ``level``: its confidence level (0.95); ``n``: observations;
    ``method``: a short key of the method (``wilson``, ``bootstrap``, ``ols-hc1`` …), whose note is
    ``method.<key>`` in the catalogue; ``unit``: a unit of :mod:`workbench.text.fmt`; ``bounds``: the
    feasible range, to which the interval is clipped; ``min_n``: below it the estimate is withheld;
    ``kind``: ``confidence`` (where the true value lies) or ``prediction`` (where a future
    observation will lie, as for a forecast).
    """

    estimate: float
    low: float = math.nan
    high: float = math.nan
    level: float = 0.95
    n: int | None = None
    method: str = ""
    unit: str = "number"
    bounds: tuple[float, float] | None = None
    min_n: int = 1
    kind: str = "confidence"

    def __post_init__(self) -> None:
        object.__setattr__(self, "estimate", _f(self.estimate))
        lo, hi = _f(self.low), _f(self.high)
        b = self.bounds if self.bounds is not None else FEASIBLE.get(self.unit)
        if b is not None:
            lo = min(max(lo, b[0]), b[1]) if not math.isnan(lo) else lo
            hi = min(max(hi, b[0]), b[1]) if not math.isnan(hi) else hi
            object.__setattr__(self, "bounds", tuple(b))
        object.__setattr__(self, "low", lo)
        object.__setattr__(self, "high", hi)
        if self.n is not None:
            object.__setattr__(self, "n", int(self.n))

    # ----- constructors ----------------------------------------------------------------------
    @classmethod
    def proportion(cls, successes: float, trials: float, level: float = 0.95, method: str = "wilson",
                   min_n: int = 10) -> "Estimate":
        """A share ``successes / trials`` with its interval (statsmodels' ``proportion_confint``)."""
        from statsmodels.stats.proportion import proportion_confint

        k, n = _f(successes), _f(trials)
        if not n or n <= 0 or math.isnan(n):
            return cls(math.nan, n=0, method=method, unit="share", level=level, min_n=min_n)
        lo, hi = proportion_confint(k, n, alpha=1 - level, method=method)
        return cls(k / n, float(lo), float(hi), level, int(n), method, "share", min_n=min_n)

    @classmethod
    def of(cls, value: float, low: float = math.nan, high: float = math.nan, **kw: Any) -> "Estimate":
        """An estimate from a value and its bounds (any other field by keyword)."""
        return cls(value, low, high, **kw)

    # ----- statsmodels-style access ----------------------------------------------------------
    def conf_int(self) -> tuple[float, float]:
        """The interval ``(low, high)`` at :attr:`level`."""
        return self.low, self.high

    @property
    def too_few(self) -> bool:
        """Whether there are fewer observations than the method needs (then no value is reported)."""
        return self.n is not None and self.n < self.min_n

    @property
    def ok(self) -> bool:
        """Whether there is a value to report: enough observations and a finite estimate."""
        return not self.too_few and math.isfinite(self.estimate)

    @property
    def has_interval(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    @property
    def plus(self) -> float:
        """Distance from the estimate up to the high bound (for asymmetric error bars)."""
        return max(self.high - self.estimate, 0.0) if self.has_interval else math.nan

    @property
    def minus(self) -> float:
        """Distance from the estimate down to the low bound."""
        return max(self.estimate - self.low, 0.0) if self.has_interval else math.nan

    def scaled(self, factor: float, unit: str | None = None) -> "Estimate":
        """The same estimate multiplied by ``factor`` (a negative factor swaps the bounds)."""
        lo, hi = self.low * factor, self.high * factor
        if factor < 0:
            lo, hi = hi, lo
        return replace(self, estimate=self.estimate * factor, low=lo, high=hi, unit=unit or self.unit,
                       bounds=None if unit and unit != self.unit else self.bounds)

    # ----- readings --------------------------------------------------------------------------
    def value_text(self, lang: str = "zh") -> str:
        """The value in its unit ("93.1%"), or the "too few" sentence."""
        if self.too_few:
            return catalogue.message("result.too_few", lang, n=fmt.count(self.n, lang))
        return fmt.value(self.estimate, self.unit, lang)

    def interval_text(self, lang: str = "zh") -> str:
        """The interval with its level and n ("95% 置信区间 92.5% 至 93.7%，n = 12,345")."""
        n = fmt.count(self.n, lang) if self.n is not None else None
        if self.too_few:
            return catalogue.message("result.too_few", lang, n=n)
        if not self.has_interval:
            return catalogue.message("result.no_interval_n" if n else "result.no_interval", lang, n=n or "")
        rng = fmt.span(self.low, self.high, self.unit, lang)
        key = "result.interval_n" if n is not None else "result.interval"
        if self.kind == "prediction":
            key = key.replace("interval", "prediction")
        return catalogue.message(key, lang, level=fmt.level(self.level), range=rng, n=n or "")

    def reading(self, lang: str = "zh") -> str:
        """The estimate as a reader reads it: value and, in brackets, interval, level and n."""
        if self.too_few:
            return self.value_text(lang)
        open_, close = ("（", "）") if lang == "zh" else (" (", ")")
        return f"{self.value_text(lang)}{open_}{self.interval_text(lang)}{close}"

    def as_dict(self) -> dict[str, Any]:
        """The fields the findings JSON carries (NaN written as None)."""
        d = asdict(self)
        d.pop("bounds")
        d.pop("min_n")
        d.pop("kind")
        for k in ("estimate", "low", "high"):
            if d[k] is not None and not math.isfinite(d[k]):
                d[k] = None
        d["too_few"] = self.too_few
        return d


class ReadsEstimate:
    """For a result whose figure is the :class:`Estimate` in its ``value`` field: ``estimate``,
    ``low``, ``high``, ``n`` and ``method`` read that Estimate (a result may override ``n``)."""

    value: Estimate

    @property
    def estimate(self) -> float:
        return self.value.estimate

    @property
    def low(self) -> float:
        return self.value.low

    @property
    def high(self) -> float:
        return self.value.high

    @property
    def n(self) -> int:
        return int(self.value.n or 0)

    @property
    def method(self) -> str:
        return self.value.method
