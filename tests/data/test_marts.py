"""Marts (workbench.data.marts): built once per version of the data, reused unchanged, extended
incrementally when only days were appended, and giving the same numbers as the in-memory path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from workbench.data import schema
from workbench.data.loader import load
from workbench.data.sample import generate

CUTOFF = "2025-12-01"
FIGURES = {
    "orders_cny": "SELECT count(*) AS n, sum(gmv_cny) AS gmv, sum(discount_cny) AS disc, count(fx_rate) AS rated "
                  "FROM orders_cny",
    "items_cny": "SELECT count(*) AS n, sum(line_gmv_cny) AS gmv, sum(quantity) AS units FROM items_cny",
    "by_day": "SELECT order_date, channel, sum(gmv_cny) AS gmv, count(*) AS n FROM orders_cny "
              "GROUP BY 1, 2 ORDER BY 1, 2",
    "traffic": "SELECT sum(sessions) AS s, sum(paid_orders) AS p FROM traffic",
    "cube_orders": "SELECT order_date, channel, region, customer_type, orders, gmv_cny, discount_cny, "
                   "refunded_orders FROM cube_orders ORDER BY 1, 2, 3, 4",
    "cube_items": "SELECT order_date, channel, category, orders, lines, units, gmv_cny FROM cube_items "
                  "ORDER BY 1, 2, 3",
}
#: the topic query that reads the cubes, per dimension, over a period that spans the appended days
DIMENSIONS = ("channel", "region", "customer_type", "category")


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small generated shop (``full``) and the same shop before CUTOFF (``before``): an append-only pair."""
    base = tmp_path_factory.mktemp("marts")
    full = base / "full"
    generate(full, seed=7, scale=0.05)
    before = base / "before"
    before.mkdir()
    orders = pd.read_parquet(full / "orders.parquet")
    kept = orders.loc[pd.to_datetime(orders["ordered_at"]).dt.strftime("%Y-%m-%d") < CUTOFF, "order_id"]
    for f in full.glob("*.parquet"):
        frame = pd.read_parquet(f)
        table = schema.TABLES.get(f.stem)
        col = table.time_column if table else None
        if f.stem == "order_items":
            frame = frame[frame["order_id"].isin(kept)]
        elif col and col in frame:
            frame = frame[pd.to_datetime(frame[col]).dt.strftime("%Y-%m-%d").fillna("") < CUTOFF]
        frame.to_parquet(before / f.name, index=False)
    return {"full": full, "before": before}


def _figures(ds) -> dict[str, list]:
    """The figures, sums to 6 significant decimals (a parallel sum's last digits depend on its order)."""
    import datetime as dt

    from workbench.sql import sales
    from workbench.sql.filters import Filters

    period = Filters(dt.date(2025, 11, 1), dt.date(2025, 12, 31))
    frames = {k: ds.sql(q) for k, q in FIGURES.items()}
    frames |= {f"totals_by_{by}": sales.totals_by(ds, period, by) for by in DIMENSIONS}
    out = {}
    for k, frame in frames.items():
        numbers = frame.select_dtypes("number").columns
        frame[numbers] = frame[numbers].astype(float).round(4)
        out[k] = frame.astype(str).values.tolist()
    return out


def _load(path: Path, monkeypatch: pytest.MonkeyPatch, mart_dir: Path, on: bool):
    monkeypatch.setenv("WORKBENCH_MARTS", "1" if on else "0")
    monkeypatch.setenv("WORKBENCH_MART_DIR", str(mart_dir))
    return load(path)


def test_a_mart_gives_the_same_numbers_as_the_in_memory_tables_and_is_reused(
        shops: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = _figures(_load(shops["full"], monkeypatch, tmp_path, on=False))
    first = _load(shops["full"], monkeypatch, tmp_path, on=True)
    assert first.mart["build"]["kind"] == "full"
    assert _figures(first) == plain
    again = _load(shops["full"], monkeypatch, tmp_path, on=True)
    assert again.mart["build"] == {"kind": "reused", "seconds": 0.0}
    assert _figures(again) == plain
    # the mart lives outside the data, so building it does not change the data's version
    assert not any(p.name.startswith(".") for p in shops["full"].iterdir())
    assert again.fingerprint() == first.fingerprint()


def test_appended_days_extend_the_previous_mart_and_match_a_full_build(
        shops: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "shop"
    shutil.copytree(shops["before"], work)
    old = _load(work, monkeypatch, tmp_path / "m", on=True)
    assert old.mart["build"]["kind"] == "full"
    del old
    for f in shops["full"].glob("*.parquet"):  # the next night's export: the same days, and more
        shutil.copyfile(f, work / f.name)
    new = _load(work, monkeypatch, tmp_path / "m", on=True)
    build = new.mart["build"]
    assert build["kind"] == "incremental", build
    assert build["appended"]["orders"] < CUTOFF
    fresh = _load(shops["full"], monkeypatch, tmp_path / "fresh", on=True)
    assert _figures(new) == _figures(fresh)
    import json

    manifest = json.loads((Path(new.mart["path"]) / "mart.json").read_text(encoding="utf-8"))
    parts = manifest["tables"]["orders"]["parts"]
    assert len(parts) == 2  # the old days' part, linked, and the appended days
    for cube in ("cube_orders", "cube_items"):  # the cubes too: old cells linked, the new days' cells added
        assert len(manifest["derived"][cube]) == 2, manifest["derived"][cube]
        cut = new.sql(f"SELECT min(order_date) AS lo FROM read_parquet('{Path(new.mart['path']) / manifest['derived'][cube][1]}')")
        assert str(cut["lo"].iloc[0])[:10] > build["appended"]["orders"]


def test_a_changed_old_day_rebuilds_that_table_in_full(
        shops: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "shop"
    shutil.copytree(shops["full"], work)
    _load(work, monkeypatch, tmp_path / "m", on=True)
    orders = pd.read_parquet(work / "orders.parquet")
    orders.loc[orders.index[0], "status"] = "refunded" if orders.loc[orders.index[0], "status"] != "refunded" \
        else "completed"
    orders.to_parquet(work / "orders.parquet", index=False)
    ds = _load(work, monkeypatch, tmp_path / "m", on=True)
    assert ds.mart["build"]["kind"] == "full"
    assert "orders" not in ds.mart["build"]["appended"]
    plain = _load(work, monkeypatch, tmp_path / "m", on=False)
    assert _figures(ds) == _figures(plain)


DIRECT = {
    "channel": "SELECT COALESCE(CAST(channel AS VARCHAR), 'unknown') AS k, sum(gmv_cny) AS gmv, count(*) AS n "
               "FROM orders_cny WHERE is_valid GROUP BY 1",
    "region": "SELECT COALESCE(CAST(region AS VARCHAR), 'unknown') AS k, sum(gmv_cny) AS gmv, count(*) AS n "
              "FROM orders_cny WHERE is_valid GROUP BY 1",
    "customer_type": "WITH fi AS (SELECT customer_id, min(order_date) AS first_date FROM orders_cny WHERE is_valid "
                     "GROUP BY 1) SELECT CASE WHEN o.order_date = fi.first_date THEN 'new' ELSE 'returning' END AS k, "
                     "sum(o.gmv_cny) AS gmv, count(*) AS n FROM orders_cny o JOIN fi USING (customer_id) "
                     "WHERE o.is_valid GROUP BY 1",
    "category": "SELECT COALESCE(p.category, 'unknown') AS k, sum(i.line_gmv_cny) AS gmv, count(DISTINCT i.order_id) "
                "AS n FROM items_cny i LEFT JOIN products p USING (product_id) WHERE i.is_valid GROUP BY 1",
}
CUBED = {"channel": ("cube_orders", "COALESCE(CAST(channel AS VARCHAR), 'unknown')", "TRUE"),
         "region": ("cube_orders", "region", "TRUE"),
         "customer_type": ("cube_orders", "customer_type", "customer_type IS NOT NULL"),
         "category": ("cube_items", "category", "TRUE")}


@pytest.mark.parametrize("on", [False, True], ids=["in-memory", "mart"])
def test_the_cubes_sum_to_the_orders_they_hold(shops: dict[str, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch, on: bool) -> None:
    ds = _load(shops["full"], monkeypatch, tmp_path, on=on)
    for by, sql in DIRECT.items():
        cube, label, keep = CUBED[by]
        direct = ds.sql(sql + " ORDER BY 1").set_index("k")
        cubed = ds.sql(f"SELECT {label} AS k, sum(gmv_cny) AS gmv, sum(orders) AS n FROM {cube} "
                       f"WHERE {keep} GROUP BY 1 ORDER BY 1").set_index("k")
        assert list(cubed.index) == list(direct.index), by
        assert (cubed["n"].astype(int) == direct["n"].astype(int)).all(), by
        assert cubed["gmv"].astype(float).values == pytest.approx(direct["gmv"].astype(float).values, rel=1e-12), by
        assert len(direct) >= 2, f"{by}: the shop should have several values"


def _relation(ds, name: str) -> pd.DataFrame:
    """Every row of a mart relation, in one order (by its non-float columns, then all)."""
    frame = ds.sql(f'SELECT * FROM "{name}"')
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    keys = [c for c in frame.columns if c not in floats] + floats
    return frame.sort_values(keys, kind="stable", na_position="first").reset_index(drop=True)


def test_an_extended_mart_holds_exactly_the_rows_of_a_full_build(
        shops: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every table, CNY fact, cube and the daily rates of a mart extended by appended days equal a mart
    built from scratch on the same data: the same columns, types and rows (floats to 1e-12 relative,
    a parallel sum's last digit depends on its order)."""
    import json

    work = tmp_path / "shop"
    shutil.copytree(shops["before"], work)
    _load(work, monkeypatch, tmp_path / "m", on=True)
    for f in shops["full"].glob("*.parquet"):
        shutil.copyfile(f, work / f.name)
    new = _load(work, monkeypatch, tmp_path / "m", on=True)
    assert new.mart["build"]["kind"] == "incremental", new.mart["build"]
    fresh = _load(shops["full"], monkeypatch, tmp_path / "fresh", on=True)
    assert fresh.mart["build"]["kind"] == "full"
    manifest = json.loads((Path(new.mart["path"]) / "mart.json").read_text(encoding="utf-8"))
    extended = [t for t, e in manifest["tables"].items() if len(e["parts"]) > 1]
    assert {"orders", "order_items", "customers", "shipments"} <= set(extended), extended
    names = [*manifest["tables"], *manifest["derived"]]
    assert {"orders_cny", "items_cny", "cube_orders", "cube_items"} <= set(names)
    for name in names:
        a, b = _relation(new, name), _relation(fresh, name)
        assert list(a.columns) == list(b.columns), name
        assert list(a.dtypes.astype(str)) == list(b.dtypes.astype(str)), name
        assert len(a) == len(b) > 0, name
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, obj=name)
    rates = [pd.read_parquet(Path(d.mart["path"]) / "fx_daily.parquet").sort_values(["currency", "date"])
             .reset_index(drop=True) for d in (new, fresh)]
    pd.testing.assert_frame_equal(*rates, check_exact=False, rtol=1e-12)


def test_the_order_facts_are_stored_by_order_date_so_a_period_reads_only_its_row_groups(
        shops: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "shuffled"  # the same shop, its orders and lines exported in no particular order
    shutil.copytree(shops["full"], work)
    for name in ("orders", "order_items"):
        frame = pd.read_parquet(work / f"{name}.parquet")
        frame.sample(frac=1.0, random_state=1).to_parquet(work / f"{name}.parquet", index=False)
    ds = _load(work, monkeypatch, tmp_path / "m", on=True)
    import json

    root = Path(ds.mart["path"])
    manifest = json.loads((root / "mart.json").read_text(encoding="utf-8"))
    for name in ("orders_cny", "items_cny"):
        for part in manifest["derived"][name]:
            days = pd.read_parquet(root / part, columns=["order_date"])["order_date"]
            assert len(days) > 100 and days.is_monotonic_increasing, (name, part)


@pytest.mark.parametrize("damage", ["older_layout", "no_manifest"])
def test_a_mart_of_an_older_layout_or_damaged_is_rebuilt_in_its_place(
        shops: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    """The same data under a new mart layout (an upgrade) or after a crash: rebuilt, never an error."""
    import json

    from workbench.data import marts

    first = _load(shops["full"], monkeypatch, tmp_path, on=True)
    root = Path(first.mart["path"])
    plain = _figures(first)
    del first
    manifest = root / "mart.json"
    if damage == "older_layout":
        old = json.loads(manifest.read_text(encoding="utf-8"))
        manifest.write_text(json.dumps({**old, "version": marts.VERSION - 1}), encoding="utf-8")
    else:
        manifest.unlink()
    again = _load(shops["full"], monkeypatch, tmp_path, on=True)
    assert again.mart["build"]["kind"] == "full" and Path(again.mart["path"]) == root
    assert json.loads(manifest.read_text(encoding="utf-8"))["version"] == marts.VERSION
    assert _figures(again) == plain
    assert not [p.name for p in root.parent.iterdir() if p.name.startswith((".tmp-", ".stale-"))]
