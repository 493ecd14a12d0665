"""The KPI registry: values equal a hand computation, every status is red/amber/green/none (never NaN)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

import workbench
from workbench.sql import metrics
from workbench.sql.filters import Filters, compare_window
from workbench.text import catalogue
from workbench.topics import kpi as kpis


def _filters(start: dt.date, end: dt.date, compare: str = "previous", channels: tuple[str, ...] = ()) -> Filters:
    cs, ce = compare_window(start, end, compare)
    return Filters(start, end, channels=channels, compare=compare, compare_start=cs, compare_end=ce)


@pytest.fixture(scope="module")
def sample(sample_dir: Path):
    return workbench.load(sample_dir)


def test_registry_values_equal_a_hand_computation_on_the_tiny_shop(tiny_shop: Path):
    ds = workbench.load(tiny_shop)
    f = _filters(dt.date(2025, 1, 1), dt.date(2025, 1, 6))
    # four valid orders: 100 + 225 + 200 CNY and 40 USD at 7.2; o3 refunded; c1 orders twice
    assert kpis.kpi(ds, f, "gmv").value.estimate == pytest.approx(100 + 225 + 200 + 40 * 7.2)
    assert kpis.kpi(ds, f, "orders").value.estimate == 4
    assert kpis.kpi(ds, f, "aov").value.estimate == pytest.approx((100 + 225 + 200 + 288) / 4)
    assert kpis.kpi(ds, f, "refund_rate").value.estimate == pytest.approx(1 / 4)
    assert kpis.kpi(ds, f, "repeat_rate").value.estimate == pytest.approx(1 / 4)
    assert kpis.kpi(ds, f, "buyers").value.estimate == 3
    assert kpis.kpi(ds, f, "discount_depth").value.estimate == pytest.approx(25 / (100 + 250 + 200 + 288))
    assert kpis.kpi(ds, f, "cross_border_gmv").value.estimate == pytest.approx(288)
    tmall = kpis.kpi(ds, _filters(f.start, f.end, channels=("tmall",)), "gmv")
    assert tmall.value.estimate == pytest.approx(300)


def test_every_status_is_known_and_none_has_a_reason(tiny_shop: Path, sample):
    tiny = workbench.load(tiny_shop)
    cases = [(tiny, _filters(dt.date(2025, 1, 1), dt.date(2025, 1, 6))),
             (tiny, _filters(dt.date(2025, 1, 1), dt.date(2025, 1, 6), "none")),
             (sample, _filters(dt.date(2025, 12, 4), dt.date(2025, 12, 31))),
             (sample, _filters(dt.date(2025, 6, 1), dt.date(2025, 6, 28), channels=("tmall",)))]
    for ds, f in cases:
        for k in kpis.kpis(ds, f):
            assert isinstance(k.status, str) and k.status in kpis.STATUSES, (k.key, k.status)
            if k.status == "none":
                assert k.reason and catalogue.has(f"kpi.reason.{k.reason}", "zh"), (k.key, k.reason)
            else:
                assert k.reason is None and math.isfinite(k.change)
            assert catalogue.has(f"kpi.name.{k.key}", "zh") and catalogue.has(f"kpi.name.{k.key}", "en")
            assert len(k.daily) == f.days


def test_thresholds_and_direction(sample):
    f = _filters(dt.date(2025, 12, 4), dt.date(2025, 12, 31))
    gmv = kpis.kpi(sample, f, "gmv")
    # the sample's GMV falls by more than the red threshold against a comparison window holding Double 11
    assert gmv.change < -metrics.metric("gmv").red and gmv.status == "red"
    m = metrics.metric("refund_rate")
    assert kpis.status_of(m, gmv.value, gmv.value, 0.5 * m.amber)[0] == "green"
    assert kpis.status_of(m, gmv.value, gmv.value, 2 * m.red)[0] == "red"
    assert kpis.status_of(m, gmv.value, None, math.nan) == ("none", "no_comparison")


def test_like_for_like_leaves_campaign_days_out(sample):
    f = _filters(dt.date(2025, 12, 4), dt.date(2025, 12, 31))
    days = [dt.date(2025, 11, 6) + dt.timedelta(days=i) for i in range(6)]
    lfl = kpis.excluding_days(sample, f, "gmv", days)
    cmp_days = metrics.daily(sample, f.comparison(), "gmv")
    kept = cmp_days[~cmp_days["date"].isin([dt.datetime.combine(d, dt.time()) for d in days])]
    assert lfl.comparison.estimate == pytest.approx(kept["num"].mean())
    assert lfl.comparison.n == len(kept) == 22
    ly = kpis.against_last_year(sample, f, "gmv")
    assert ly.comparison.estimate == pytest.approx(
        metrics.period(sample, Filters(dt.date(2024, 12, 5), dt.date(2025, 1, 1)), "gmv")["num"])


def test_registry_binds_channel_values(sample):
    f = _filters(dt.date(2025, 6, 1), dt.date(2025, 6, 28), channels=("o'brien",))
    k = kpis.kpi(sample, f, "gmv")
    assert k.value.estimate == 0 and k.status == "none" and k.reason == "comparison_empty"
