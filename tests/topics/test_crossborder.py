"""Cross-border: the planted currency move is recovered and the GMV split adds up."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from workbench.errors import EmptyPeriodError
from workbench.sql import crossborder as cb_sql
from workbench.sql.common import Filters
from workbench.topics import crossborder as cb


def _windows(move: dict) -> tuple[tuple[str, str], tuple[str, str]]:
    """A month before the move starts and a month after it ends."""
    start, end = pd.Timestamp(move["start"]), pd.Timestamp(move["end"])
    before = ((start - pd.Timedelta(days=30)).date().isoformat(), (start - pd.Timedelta(days=1)).date().isoformat())
    after = ((end + pd.Timedelta(days=1)).date().isoformat(), (end + pd.Timedelta(days=30)).date().isoformat())
    return before, after


def test_currency_move_recovers_the_planted_move(ds, truth):
    move = truth["fx_move"]
    before, after = _windows(move)
    est = cb.currency_move(ds, move["currency"], before, after)
    assert est.low <= move["percent_change"] / 100 <= est.high
    assert est.high < 0 if move["percent_change"] < 0 else est.low > 0
    assert est.change.unit == "change" and est.change.level == 0.95


def test_decomposition_adds_up_and_assigns_the_move_to_fx(ds, truth):
    move = truth["fx_move"]
    before, after = _windows(move)
    f = Filters(dt.date.fromisoformat(after[0]), dt.date.fromisoformat(after[1]),
                compare_start=dt.date.fromisoformat(before[0]), compare_end=dt.date.fromisoformat(before[1]))
    d = cb.fx_decomposition(ds, f)
    assert d.totals["contribution_cny"].sum() == pytest.approx(d.gmv_change_cny, rel=1e-6, abs=1e-3)
    est = cb.currency_move(ds, move["currency"], before, after)
    fx = d.fx_change.set_index("currency").loc[move["currency"], "change"]
    # the rate the orders were converted at moved as the currency did, within the currency's own noise
    assert est.low <= fx <= est.high
    jp = d.table[(d.table["currency"] == move["currency"]) & (d.table["factor"] == "fx")]
    assert (jp["contribution_cny"] < 0).all() == (move["percent_change"] < 0)


def test_margin_delivery_and_scorecard(ds):
    f = Filters(dt.date(2025, 7, 1), dt.date(2025, 12, 31), compare_start=dt.date(2025, 1, 1),
                compare_end=dt.date(2025, 6, 30))
    margin = cb.landed_margin(ds, f)
    assert len(margin) > 1
    total_cost = margin[["product_cost", "shipping", "duty", "platform_fee"]].sum(axis=1)
    assert (margin["margin"] - (margin["gmv_cny"] - total_cost)).abs().max() < 1e-6
    times = cb.delivery_by_market(ds, f)
    assert (times["clearance_days"] <= times["median_days"]).all()
    card = cb.market_scorecard(ds, f)
    assert {"market", "gmv_cny", "growth", "margin_rate", "return_rate", "fx_volatility"} <= set(card.columns)


def test_lmdi_adds_up_exactly():
    parts = cb.lmdi({"a": 2.0, "b": 3.0}, {"a": 1.0, "b": 4.0}, 6.0, 4.0)
    assert sum(parts.values()) == pytest.approx(2.0)


def test_no_comparison_or_empty_period_is_a_clear_error(ds):
    with pytest.raises(EmptyPeriodError):
        cb.fx_decomposition(ds, Filters(dt.date(2025, 1, 1), dt.date(2025, 1, 31)))
    with pytest.raises(EmptyPeriodError):
        cb.market_scorecard(ds, Filters(dt.date(2030, 1, 1), dt.date(2030, 1, 31)))
    assert cb.market_totals(ds, Filters(dt.date(2030, 1, 1), dt.date(2030, 1, 31))).empty


def test_margin_per_order_and_on_time_read_as_estimates(ds):
    f = Filters(dt.date(2025, 7, 1), dt.date(2025, 12, 31))
    row = cb.landed_margin(ds, f).iloc[0]
    est = cb.margin_per_order(row)
    assert est.unit == "money" and est.low <= est.estimate <= est.high and est.n == row["orders"]
    times = cb.delivery_by_market(ds, f).iloc[0]
    rate = cb.on_time(times)
    assert rate.estimate == pytest.approx(times["on_time_rate"]) and 0 <= rate.low <= rate.high <= 1


def test_no_cross_border_channel_selected_is_told_not_raised(ds):
    f = Filters(dt.date(2025, 7, 1), dt.date(2025, 12, 31), channels=("tmall",))
    assert not cb.has_cross_border(ds, f)
    assert cb.has_cross_border(ds, Filters(dt.date(2025, 7, 1), dt.date(2025, 12, 31)))


def test_sql_binds_values_so_a_quote_in_a_channel_or_currency_is_harmless(ds):
    f = Filters(dt.date(2025, 1, 1), dt.date(2025, 3, 31), channels=("o'brien",))
    assert cb_sql.market_totals(ds, f).empty
    assert cb_sql.landed_costs(ds, f).empty
    assert cb_sql.returns(ds, f).empty
    assert cb_sql.currency_rates(ds, "JP'Y").empty
    assert cb_sql.fx_rates(ds, f.start, f.end, ["JP'Y"]).empty
