"""Parameters: one specification, checked before anything runs."""

from __future__ import annotations

import datetime as dt

import pytest

from workbench.app import params
from workbench.app.notebook import resolve_filters
from workbench.errors import EmptyPeriodError, ParameterError


def test_defaults_validate_and_convert() -> None:
    p = params.validate({"channels": "Tmall, jd", "threshold_pct": "7.5", "period": "last-14d"})
    assert p["channels"] == "tmall,jd" and p["threshold_pct"] == 7.5 and p["period"] == "last-14d"
    assert p["language"] == "zh" and p["compare"] == "previous"


@pytest.mark.parametrize("values, fragment", [
    ({"colour": "red"}, "unknown parameter 'colour'"),
    ({"start": "01/02/2025"}, "YYYY-MM-DD"),
    ({"start": "2025-02-30"}, "parameter 'start'"),
    ({"channels": "tmall,taobao"}, "unknown channel taobao"),
    ({"period": "__import__('os').system('echo hi')"}, "parameter 'period'"),
    ({"language": "fr"}, "zh, en"),
    ({"threshold_pct": "ten"}, "expected a number"),
    ({"start": "2025-03-01", "end": "2025-02-01"}, "is after end"),
])
def test_bad_values_are_refused_with_the_valid_list(values: dict, fragment: str) -> None:
    with pytest.raises(ParameterError) as err:
        params.validate(values)
    assert fragment in str(err.value)
    assert "valid parameters:" in str(err.value) and "period" in str(err.value)


SPAN = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))


def test_relative_periods_and_comparisons() -> None:
    f = resolve_filters(params.validate({}), SPAN)
    assert (f.start, f.end, f.days) == (dt.date(2025, 12, 4), dt.date(2025, 12, 31), 28)
    assert (f.compare_start, f.compare_end) == (dt.date(2025, 11, 6), dt.date(2025, 12, 3))
    f = resolve_filters(params.validate({"period": "ytd", "as_of": "2025-06-30", "compare": "last_year"}), SPAN)
    assert f.start == dt.date(2025, 1, 1) and f.compare_start == dt.date(2024, 1, 3)  # 52 weeks back: same weekday
    assert f.compare_start.weekday() == f.start.weekday()
    f = resolve_filters(params.validate({"start": "2025-03-01", "end": "2025-03-31", "channels": "jd",
                                         "compare": "none"}), SPAN)
    assert f.channels == ("jd",) and f.comparison() is None


def test_period_outside_the_data_is_a_clear_error() -> None:
    with pytest.raises(EmptyPeriodError, match="covers 2024-01-01 to 2025-12-31"):
        resolve_filters(params.validate({"start": "2027-01-01", "end": "2027-01-31"}), SPAN)
