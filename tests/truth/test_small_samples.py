"""Small and odd data said plainly: a tiny shop (five customers, one week, no traffic, no costs) gives
"too few" and names what it cannot judge, never an absurd number."""

from __future__ import annotations

import math

import pandas as pd

from testkit import tiny_tables, write_csvs


def _tiny_with_reviews(folder):
    t = tiny_tables()
    t["reviews"] = pd.DataFrame({
        "review_id": ["r1", "r2", "r3"], "order_id": ["o1", "o2", "o3"], "product_id": ["p1", "p2", "p1"],
        "customer_id": ["c1", "c2", "c1"], "channel": ["tmall", "jd", "tmall"], "rating": [5, 1, 2],
        "text": ["很好用", "质量差", "不满意"], "created_at": ["2025-01-03 10:00:00", "2025-01-04 10:00:00",
                                                       "2025-01-07 10:00:00"]})
    return write_csvs(folder, t)


def test_sentiment_monitor_names_the_products_it_cannot_judge(tmp_path):
    import workbench
    from workbench.sql.common import Filters
    from workbench.topics import reputation as rep

    ds = workbench.load(_tiny_with_reviews(tmp_path / "shop"))
    drops = rep.sentiment_drops(ds, Filters(pd.Timestamp("2025-01-01").date(), pd.Timestamp("2025-01-07").date()))
    assert drops.empty and drops.attrs["tested"] == 0
    nj = drops.attrs["not_judged"]
    assert set(nj["product_id"]) == {"p1", "p2"} and (nj["baseline_reviews"] < rep.MIN_BASELINE).all()


def test_ab_reader_and_sizing_on_degenerate_counts():
    from workbench.stats.abtest import ab_test, required_sample, sample_size_table

    t = ab_test(50, 0, 50, 0)  # no conversions at all: a detectable difference, no "power", no p of 0
    assert math.isnan(t.p_value) and 0 < t.detectable_difference < 1
    assert not hasattr(t, "power")
    assert required_sample(0.0, 0.1) is None
    assert sample_size_table(0.0)["visitors_per_arm"].isna().all()


def test_estimates_below_their_minimum_read_too_few():
    from workbench.stats.result import Estimate
    from workbench.stats.sentiment import mean_interval, net_promoter

    for est in (Estimate.proportion(1, 3), mean_interval(3.0, 5.0, 3), net_promoter(1, 0, 5)):
        assert est.too_few and "too few" in est.reading("en").lower(), est.reading("en")
