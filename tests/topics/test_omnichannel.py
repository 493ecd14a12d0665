"""Omnichannel: the planted price gap is flagged; mix, matching and cannibalisation behave."""

from __future__ import annotations

import datetime as dt

import pytest

import workbench
from workbench.errors import EmptyPeriodError
from workbench.sql import omnichannel as om_sql
from workbench.sql.common import Filters
from workbench.text import catalogue
from workbench.topics import omnichannel as om

ALL = Filters(dt.date(2024, 1, 1), dt.date(2025, 12, 31))




def test_planted_price_gap_is_flagged_with_the_right_size(ds, truth):
    planted = truth["price_gap"]
    gaps = om.price_gaps(ds, ALL)
    flagged = gaps[gaps["flagged"]]
    for product in planted["products"]:
        row = flagged[(flagged["product_id"] == product) & (flagged["channel"] == planted["channel"])]
        assert len(row) == 1, product
        r = row.iloc[0]
        ratio = planted["price_ratio_vs_other_channels"]
        assert r["gap_low"] <= ratio - 1 <= r["gap_high"], product
    # the planted gaps are among the largest flagged
    top = set(flagged.head(len(planted["products"]) + 2)["product_id"])
    assert set(planted["products"]) <= top


def test_channel_mix_adds_up(ds):
    f = Filters(dt.date(2025, 10, 1), dt.date(2025, 12, 31), compare_start=dt.date(2025, 7, 1),
                compare_end=dt.date(2025, 9, 30))
    mix = om.channel_mix(ds, f)
    assert mix["gmv_share"].sum() == pytest.approx(1.0)
    assert (mix["margin_after_fees"] <= mix["gmv"]).all()
    assert mix["growth"].notna().all()


def test_multichannel_comparison_is_matched(ds):
    res = om.multichannel_effect(ds)
    for md in res.values():
        assert md.n_treated > 0 and md.n_control > 0
        d = md.difference
        assert d.low <= d.estimate <= d.high
    assert res["retention"].difference.unit == "points" and res["value"].difference.unit == "money"


def test_store_views_and_cannibalisation(ds):
    f = Filters(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    stores = om.store_performance(ds, f)
    assert len(stores) > 0 and (stores["orders"] >= stores["in_store"]).all()
    catch = om.store_catchment(ds, f)
    assert catch.groupby("store_id")["share"].sum().round(6).eq(1).all()
    c = om.cannibalisation(ds, "douyin", f)
    assert c.adopters > 0 and c.shift.low <= c.shift.estimate <= c.shift.high
    assert c.reading in ("moved", "no_shift", "unclear")


def test_empty_period_is_handled(ds):
    empty = Filters(dt.date(2030, 1, 1), dt.date(2030, 1, 31))
    assert om.channel_mix(ds, empty).empty
    assert om.price_gaps(ds, empty).empty
    with pytest.raises(EmptyPeriodError):
        om.cannibalisation(ds, "douyin", empty)


def test_orders_alone_lack_stores(tiny_shop):
    small = workbench.load(tiny_shop)
    assert small.missing(om.NEEDS_O2O)
    assert not small.missing(om.NEEDS_MIX)
    assert om.channel_mix(small, Filters(dt.date(2025, 1, 1), dt.date(2025, 1, 31)))["gmv"].sum() > 0


def test_price_gaps_name_the_products(ds):
    gaps = om.price_gaps(ds, Filters(dt.date(2025, 10, 1), dt.date(2025, 12, 31)))
    assert gaps["product"].notna().all()
    assert (gaps["product"] != gaps["product_id"]).any()  # the sample's products have names


def test_channel_mix_without_costs_has_no_margin_rate(tiny_shop):
    small = workbench.load(tiny_shop)  # products without unit cost
    assert not om.has_product_cost(small)
    mix = om.channel_mix(small, Filters(dt.date(2025, 1, 1), dt.date(2025, 1, 31)))
    assert mix["margin_rate"].isna().all() and mix["product_cost_cny"].isna().all()


def test_sql_binds_values_so_a_quote_in_a_channel_name_is_harmless(ds):
    odd = "o'brien"
    f = Filters(dt.date(2025, 1, 1), dt.date(2025, 3, 31), channels=(odd,))
    assert om_sql.channel_totals(ds, f).empty
    assert om_sql.fulfilment_totals(ds, f).empty
    assert om_sql.price_sums(ds, f).empty
    assert om_sql.weekly_gmv_of(ds, f, odd)["measure"].eq("other_gmv").all()
    assert om_sql.adopter_strata(ds, odd, f, 30).empty
    with pytest.raises(Exception, match="cannot group by"):
        om_sql.landmark_strata(ds, "value; DROP TABLE orders", 30, 30)


NOTEBOOKS = {"07_omnichannel": "omnichannel", "08_social_commerce": "social_commerce",
             "09_cross_border": "cross_border"}


@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_notebook_catalogue_keys_exist_in_both_languages(stem):
    from testkit import notebook_keys

    keys = notebook_keys(stem)
    assert len(keys) > 10
    for lang in catalogue.LANGUAGES:
        missing = sorted(k for k in keys if not catalogue.has(k, lang))
        assert not missing, (lang, missing)
