"""Reputation: the planted sentiment drop is found, text sentiment agrees with ratings, degenerate cases are clear."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import workbench
from workbench.errors import EmptyPeriodError, MissingTableError
from workbench.sql.common import Filters, compare_window
from workbench.topics import reputation as rep


@pytest.fixture(scope="module")
def drop(sample_dir: Path) -> dict:
    return json.loads((sample_dir / "truth.json").read_text(encoding="utf-8"))["effects"]["sentiment_drop"]


def _period(end: dt.date, days: int = 28) -> Filters:
    start = end - dt.timedelta(days=days - 1)
    cs, ce = compare_window(start, end, "previous")
    return Filters(start, end, compare_start=cs, compare_end=ce)


@pytest.mark.parametrize("weeks_after", [4, 15])
def test_sentiment_drop_finds_the_planted_product_and_date(ds, drop, weeks_after):
    date = dt.date.fromisoformat(drop["date"])
    drops = rep.sentiment_drops(ds, _period(date + dt.timedelta(weeks=weeks_after)))
    assert len(drops) >= 1
    top = drops.iloc[0]
    assert top["product_id"] == drop["product_id"]
    assert (drops["product_id"] == drop["product_id"]).sum() == 1 and len(drops) <= 2
    # reviews follow delivery, so the change shows a few days after the planted order date
    assert date - dt.timedelta(days=3) <= top["change_date"] <= date + dt.timedelta(days=14)
    assert top["drop_high"] < 0


def test_no_drop_before_the_defect(ds, drop):
    date = dt.date.fromisoformat(drop["date"])
    assert rep.sentiment_drops(ds, _period(date - dt.timedelta(days=30))).empty


def test_ratings_of_the_defect_product_match_truth(ds, drop):
    date = dt.date.fromisoformat(drop["date"])
    f = Filters(date + dt.timedelta(days=14), date + dt.timedelta(days=120))
    row = rep.rating_by(ds, f, "product_id", min_reviews=10).set_index("group").loc[drop["product_id"]]
    # the planted mean is before the planted delay effect, which lowers ratings by up to
    # |slope| stars per late day (less where the one-star floor binds): the expected mean lies
    # between planted + slope x mean late days and the planted value
    delay = json.loads((Path(ds.source) / "truth.json").read_text(encoding="utf-8"))["effects"]["delay_effect"]
    late = ds.sql(f"""
        SELECT avg(least({delay['cap_days']}, greatest(0, ceil((epoch(s.delivered_at) - epoch(s.promised_at))
                   / 86400.0)))) AS late_days
        FROM reviews r JOIN shipments s USING (order_id)
        WHERE r.product_id = '{drop['product_id']}' AND s.delivered_at IS NOT NULL
          AND CAST(r.created_at AS DATE) BETWEEN DATE '{f.start}' AND DATE '{f.end}'""")["late_days"].iloc[0]
    lowest = drop["mean_rating_after"] + delay["rating_per_late_day"] * late
    assert row["rating_low"] <= drop["mean_rating_after"] and row["rating_high"] >= lowest
    assert row["negative_share_low"] - 0.05 <= drop["negative_share_after"] <= row["negative_share_high"] + 0.05


def test_text_sentiment_agrees_with_ratings(ds):
    a = rep.sentiment_agreement(ds, _period(dt.date(2025, 6, 30), 90))
    assert a.spearman.low > 0.5 and a.agreement.low > 0.9 and a.coverage.estimate > 0.8
    assert -1 <= a.spearman.low <= a.spearman.estimate <= a.spearman.high <= 1
    assert set(a.by_language["language"]) == {"zh", "en"}


def test_lexicon_method():
    assert rep.sentiment_score("质量很好，非常满意", "zh")[0] == 1.0
    assert rep.sentiment_score("做工粗糙，不推荐", "zh")[0] == -1.0
    assert rep.sentiment_score("没有想象中好", "zh")[0] < 0           # negation flips
    assert rep.sentiment_score("not bad at all", "en")[0] > 0
    assert rep.sentiment_score("would not recommend", "en")[0] < 0
    assert rep.sentiment_score("the parcel came on Tuesday", "en") == (0.0, 0, 0)
    assert rep.detect_language("很好") == "zh" and rep.detect_language("great") == "en"


def test_complaint_terms_after_the_defect_name_the_defect(ds, drop):
    date = dt.date.fromisoformat(drop["date"])
    f = _period(date + dt.timedelta(days=60), 60)
    terms = rep.complaint_terms(ds, f, by_product=True, top=10)
    mine = terms[(terms["product_id"] == drop["product_id"]) & (terms["language"] == "zh")]
    assert len(mine) and (mine["share"] <= 1).all()
    rising = rep.rising_terms(ds, f)
    assert (rising["lift"] > 0).all()


def test_promoter_score_interval(ds):
    scores = rep.promoter_score(ds, _period(dt.date(2025, 6, 30), 90))
    assert (scores["nps_low"] <= scores["nps"]).all() and (scores["nps"] <= scores["nps_high"]).all()
    assert scores["nps"].between(-100, 100).all()
    assert scores["nps_low"].ge(-100).all() and scores["nps_high"].le(100).all()
    total = rep.promoter_total(ds, _period(dt.date(2025, 6, 30), 90))
    assert -100 <= total.low <= total.estimate <= total.high <= 100


def test_sentiment_and_rating_intervals_stay_within_their_range(ds, drop):
    f = _period(dt.date.fromisoformat(drop["date"]) + dt.timedelta(weeks=4))
    for by in (None, "language", "product_id"):
        t = rep.sentiment_trend(ds, f, by=by)
        assert len(t) and t["sentiment_low"].dropna().ge(-1).all() and t["sentiment_high"].dropna().le(1).all()
    r = rep.rating_trend(ds, f, by="category")
    assert r["rating_low"].dropna().ge(1).all() and r["rating_high"].dropna().le(5).all()
    d = rep.sentiment_drops(ds, f)
    assert d["drop_low"].ge(-2).all() and rep.drop_estimate(d.iloc[0]).bounds == (-2.0, 2.0)
    assert d["name"].notna().all()


def test_rating_headline_is_the_registry_kpi(ds):
    from workbench.topics.kpi import kpi

    f = _period(dt.date(2025, 6, 30))
    s = rep.rating_summary(ds, f)
    k = kpi(ds, f, "rating")
    assert s.rating.value.estimate == k.value.estimate and s.rating.status == k.status
    assert 0 <= s.negative.low <= s.negative.estimate <= s.negative.high <= 1


def test_review_queries_bind_a_channel_with_a_quote(ds):
    from workbench.sql import reputation as q

    f = Filters(dt.date(2025, 6, 1), dt.date(2025, 6, 30), channels=("tmall", "o'brien"))
    alone = Filters(dt.date(2025, 6, 1), dt.date(2025, 6, 30), channels=("tmall",))
    assert q.rating_stats(ds, f)["reviews"].iloc[0] == q.rating_stats(ds, alone)["reviews"].iloc[0] > 0
    assert q.text_counts(ds, Filters(f.start, f.end, channels=("x'; DROP TABLE reviews; --",))).empty
    assert len(q.rating_stats(ds, f, ("category",))) > 1


def test_degenerate_cases(ds, tiny_shop: Path):
    with pytest.raises(EmptyPeriodError):
        rep.rating_summary(ds, Filters(dt.date(2030, 1, 1), dt.date(2030, 1, 7)))
    tiny = workbench.load(tiny_shop)
    with pytest.raises(MissingTableError):
        rep.rating_summary(tiny, Filters(dt.date(2025, 1, 1), dt.date(2025, 1, 6)))


def test_the_notebook_text_is_in_the_catalogue_in_both_languages():
    from testkit import notebook_keys
    from workbench.text import catalogue

    keys = notebook_keys("11_brand_reputation")
    assert len(keys) > 20
    keys |= {f"brand_reputation.reason.{r}" for r in ("no_comparison", "too_few", "no_data", "comparison_empty")}
    for lang in ("zh", "en"):
        missing = sorted(k for k in keys if not catalogue.has(k, lang))
        assert not missing, (lang, missing)
