"""Products and pricing: the planted elasticities, listing effects and stock-out losses are recovered.

True values come from data/sample/truth.json (never hard-coded). The accessors below accept a
number or a dict holding it under a usual name, so the test reads the generator's structure.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import workbench
from workbench.sql.common import Filters, compare_window
from workbench.topics import products

Z99 = 2.576




def _number(entry, *names):
    """The true value in ``entry``: the entry itself when a number, else the first of ``names`` it holds."""
    if isinstance(entry, (int, float)):
        return float(entry)
    for n in names:
        if isinstance(entry, dict) and n in entry:
            return float(entry[n])
    raise AssertionError(f"truth entry {entry!r} holds none of {names}; adapt the accessor to the generator")


def _per_key(block, key_names=("category", "name", "id")):
    """A truth block as {key: entry}: a dict already keyed, or a list of dicts carrying a key field."""
    if isinstance(block, dict):
        inner = block.get("by_category") or block.get("categories") or block.get("values")
        return inner if isinstance(inner, dict) else {k: v for k, v in block.items() if not k.startswith("_")}
    out = {}
    for item in block:
        key = next(item[k] for k in key_names if k in item)
        out[key] = item
    return out


def _filters(ds, days=28):
    end = ds.sql("SELECT max(order_date) AS d FROM orders_cny")["d"].iloc[0]
    end = end.date() if hasattr(end, "date") else end
    start = end - dt.timedelta(days=days - 1)
    cs, ce = compare_window(start, end, "previous")
    return Filters(start=start, end=end, compare="previous", compare_start=cs, compare_end=ce)


def test_price_elasticities_recover_the_planted_values(ds, truth):
    """Each planted elasticity lies inside the 99% CI; across categories at least all but one lie inside the 95% CI.

    (With k calibrated 95% intervals, all k covering happens only 0.95^k of the time, so the
    strict per-category check uses the 99% interval.)
    """
    planted = {k: _number(v, "elasticity", "value", "true") for k, v in _per_key(truth["price_elasticity"]).items()}
    est = {e.category: e for e in products.price_elasticities(ds)}
    assert set(planted) <= set(est), f"no estimate for {set(planted) - set(est)}"
    inside95 = 0
    for cat, true in planted.items():
        e = est[cat]
        assert e.estimate - Z99 * e.std_error <= true <= e.estimate + Z99 * e.std_error, (cat, true, e.estimate, e.std_error)
        inside95 += e.low <= true <= e.high
        assert e.n > 50 and e.method
    assert inside95 >= len(planted) - 1
    # the categories are told apart: the ranking of estimates follows the ranking of the truth
    order_true = sorted(planted, key=planted.get)
    order_est = sorted(planted, key=lambda c: est[c].estimate)
    assert order_true[0] == order_est[0] or abs(planted[order_true[0]] - planted[order_est[0]]) < 0.3


def test_price_change_scenario_follows_the_constant_elasticity_identity(ds):
    table = products.elasticity_table(products.price_elasticities(ds))
    gmv = table[["category"]].assign(gmv=1000.0)
    scen = products.price_change_scenario(table, gmv, 0.05).set_index("category")
    for _, r in table.iterrows():
        s = scen.loc[r["category"]]
        assert s["units_change"] == pytest.approx(1.05 ** r["elasticity"] - 1)
        assert s["gmv_change"] == pytest.approx(1.05 ** (1 + r["elasticity"]) - 1)
        assert s["units_change_low"] <= s["units_change"] <= s["units_change_high"]
        assert s["gmv_change_cny"] == pytest.approx(1000.0 * s["gmv_change"])


def test_stockout_losses_match_the_planted_losses(ds, truth):
    """Every planted stock-out window is found (its days counted within 2 days) and the units it cost,
    summed over the planted windows, are estimated within 25% of the planted loss.

    The 25% tolerance: each product's in-stock baseline rests on about 40 days of one or two
    units a day, so its Poisson error alone is about ±15–20% per product (the interval the
    function reports), and the planted demand also drifts with season and campaigns.
    """
    items = truth["stockouts"]["items"]
    est = products.stockout_losses(ds)
    by = est.by_product.set_index("product_id")
    true_lost, est_lost, low, high = 0.0, 0.0, 0.0, 0.0
    for item in items:
        days = (dt.date.fromisoformat(item["end"]) - dt.date.fromisoformat(item["start"])).days + 1
        pid = item["product_id"]
        assert pid in by.index, f"planted stock-out of {pid} not found"
        assert abs(by.loc[pid, "stockout_days"] - days) <= 2, (pid, by.loc[pid, "stockout_days"], days)
        true_lost += item["lost_units_per_day"] * days
        est_lost += by.loc[pid, "lost_units"]
    assert est_lost == pytest.approx(true_lost, rel=0.25), (est_lost, true_lost)
    assert 0 <= est.lost_units.low <= est.lost_units.estimate <= est.lost_units.high
    assert (est.by_product["lost_units_low"] >= 0).all() and (est.by_product["lost_gmv_low"] >= 0).all()
    assert est.stockout_days >= sum(1 for _ in items) * 10


def test_listing_quality_finds_the_planted_effects(ds, truth):
    """Video and images raise sales as planted, title length does not.

    Planted: weight × (1 + image effect) per image up to a cap, × (1 + video effect) with a
    video. The regression is linear in the image count (no cap), so its per-image effect is
    attenuated by the images beyond the cap: the test asks for a positive, significant image
    effect below the planted one, the planted video effect inside the 99% interval, and a
    title-length interval that holds zero (99%).
    """
    planted = truth["listing_quality"]
    lq = products.listing_quality(ds)
    assert lq is not None and lq.n >= 20
    eff = lq.effects.set_index("term")
    half99 = (eff["coef_high"] - eff["coef_low"]) / 2 * Z99 / 1.96
    video = np.log1p(planted["video_effect"])
    assert abs(eff.loc["has_video", "coef"] - video) <= half99["has_video"], (eff.loc["has_video"], video)
    image = np.log1p(planted["image_effect_per_image"])
    assert 0 < eff.loc["image_count", "coef_low"] and eff.loc["image_count", "coef"] <= image + half99["image_count"]
    title = eff.loc["title_length", "coef"]
    assert abs(title - planted["title_length_effect"]) <= half99["title_length"]


def test_abc_classes_split_the_value_at_80_and_95_percent(ds):
    classes = products.abc_classes(ds, _filters(ds), "gmv")
    assert not classes.empty
    share = classes.groupby("abc_class")["gmv"].sum() / classes["gmv"].sum()
    assert share["A"] >= 0.8 - classes["gmv"].max() / classes["gmv"].sum()
    assert share["A"] < 0.8 + classes["gmv"].max() / classes["gmv"].sum() + 1e-9
    assert classes["cum_share"].is_monotonic_increasing


def test_growth_share_and_launches(ds):
    gs = products.growth_share(ds, _filters(ds, 90))
    assert gs["share"].sum() == pytest.approx(1.0)
    assert set(gs["quadrant"]) <= {"star", "cash_cow", "question_mark", "dog"}
    curves = products.launch_curves(ds, ds.sql("SELECT max(order_date) AS d FROM orders_cny")["d"].iloc[0], 90)
    if not curves.empty:
        assert (curves.groupby("product_id")["cum_units"].diff().dropna() >= 0).all()
        assert curves["days_since_launch"].max() <= 89


def test_degenerate_cases(ds, tiny_shop):
    empty = Filters(start=dt.date(1990, 1, 1), end=dt.date(1990, 1, 28))
    assert products.abc_classes(ds, empty).empty
    assert products.growth_share(ds, empty).empty
    tiny = workbench.load(tiny_shop)
    assert products.price_elasticities(tiny) == []          # far too few product-weeks
    assert products.listing_quality(tiny) is None           # no listing attributes
    with pytest.raises(workbench.MissingTableError):
        products.stockout_losses(tiny)                      # no inventory table


# ----- the SQL layer, the KPI registry and the page's catalogue --------------------------------------

def test_product_queries_bind_values_so_a_quote_in_a_channel_is_harmless(ds):
    from workbench.sql import products as q

    end = ds.sql("SELECT max(order_date) AS d FROM orders_cny")["d"].iloc[0]
    end = end.date() if hasattr(end, "date") else end
    odd = Filters(start=end - dt.timedelta(days=27), end=end, channels=("o'brien; DROP TABLE orders --",))
    assert q.product_totals(ds, odd, True, True).empty
    assert q.category_gmv(ds, odd).empty
    assert q.category_price_days(ds, odd.channels, ("live'stream",), True).empty
    both = Filters(start=odd.start, end=end, channels=("tmall", "o'brien"))
    tmall = Filters(start=odd.start, end=end, channels=("tmall",))
    assert products.product_totals(ds, both)["gmv"].sum() == pytest.approx(products.product_totals(ds, tmall)["gmv"].sum())
    with pytest.raises(workbench.ParameterError):
        q.listing_data(ds, ["title_length; DROP TABLE products"])


def test_elasticity_n_is_the_days_of_that_category_and_the_products_have_names(ds):
    days = ds.sql("SELECT count(DISTINCT order_date) AS n FROM orders_cny")["n"].iloc[0]
    for e in products.price_elasticities(ds):
        assert e.value.n == e.n_days <= days and e.value.low <= e.estimate <= e.value.high
        assert not hasattr(e, "n_products")
    totals = products.product_totals(ds, _filters(ds))
    assert totals["product_name"].notna().all() and (totals["product_name"] != totals["product_id"]).any()


def test_discount_depth_is_the_registered_kpi(ds):
    from workbench.topics import kpi

    f = _filters(ds)
    mine, registry = products.discount_depth(ds, f), kpi.kpi(ds, f, "discount_depth")
    assert mine.value == registry.value and mine.status == registry.status
    assert 0 <= mine.value.low <= mine.value.estimate <= mine.value.high <= 1


def test_the_pages_catalogue_keys_exist_in_both_languages():
    from pathlib import Path

    from testkit import notebook_keys
    from workbench.stats import elasticity, stockout
    from workbench.text import catalogue

    source = (Path(__file__).resolve().parents[2] / "notebooks" / "src" / "02_products_pricing.py").read_text("utf-8")
    keys = notebook_keys("02_products_pricing")
    keys |= {f"products_pricing.method.{m}" for m in (elasticity.METHOD, stockout.METHOD, products.LISTING_METHOD)}
    keys |= {f"products_pricing.finding.{k}" for k in ("least_decline", "abc_margin_none", "stockouts_none")}
    keys |= {f"products_pricing.reason.{r}" for r in ("no_comparison", "too_few", "no_data", "comparison_empty")}
    assert len(keys) > 25
    for lang in ("zh", "en"):
        missing = sorted(k for k in keys if not catalogue.has(k, lang))
        assert missing == [], (lang, missing)
    assert "i18n" not in source and "en=" not in source and "zh=" not in source and "fmt_" not in source
