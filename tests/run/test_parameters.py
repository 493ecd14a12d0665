"""Batch parameters (workbench.run.parameters): merging, checking, the as-of date, large data checked once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from batch_notebooks import PARAMS, make_notebook

from workbench.errors import ParameterError
from workbench.run import parameters

pytestmark = pytest.mark.usefixtures("isolated_jupyter")


def test_parameters_merge_yaml_then_assignments_then_options(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("period: last-90d\nchannels: [tmall, jd]\nend: 2025-03-31\nthreshold_pct: 3\n")
    values = parameters.collect_params(path, ["period=mtd", "threshold_pct=7.5", "note=a=b"],
                                   {"period": "ytd", "data": None, "start": "2025-01-01"})
    assert values["period"] == "ytd" and values["threshold_pct"] == 7.5 and values["note"] == "a=b"
    assert values["start"] == "2025-01-01" and "data" not in values
    nb = make_notebook(tmp_path / "01_x.ipynb", params=PARAMS + "\nnote = 'x'\nflag = False\nratio = 0.5")
    (tmp_path / "d").mkdir()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        checked = parameters.check_params([nb], {**values, "flag": "yes", "ratio": "2", "data": "d"})
    finally:
        os.chdir(cwd)
    assert checked.given["channels"] == "tmall,jd" and checked.given["end"] == "2025-03-31"
    assert checked.per_notebook["01_x"]["flag"] is True and checked.per_notebook["01_x"]["ratio"] == 2.0
    assert checked.per_notebook["01_x"]["data"] == str(tmp_path / "d")
    with pytest.raises(ParameterError, match="NAME=VALUE"):
        parameters.collect_params(None, ["period"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ParameterError, match="mapping"):
        parameters.collect_params(bad)


def test_run_label_prefers_end_then_as_of_then_data_then_today() -> None:
    import datetime as dt

    today = dt.date(2026, 1, 2)
    assert parameters.run_label({"end": "2025-12-31", "as_of": "2025-11-30"}, today) == "2025-12-31"
    assert parameters.run_label({"end": "", "as_of": "2025-11-30"}, today) == "2025-11-30"
    assert parameters.run_label({"end": "", "as_of": ""}, today) == "2026-01-02"
    # without either, the data's last day: the as-of date the notebooks use by default
    assert parameters.run_label({"end": "", "as_of": ""}, today, last_day=dt.date(2025, 12, 31)) == "2025-12-31"


# ----- large data is validated once per batch -------------------------------------------------------
def test_large_data_is_validated_once_and_bad_data_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           tiny_shop: Path) -> None:
    from workbench.data.loader import fingerprint, load
    from workbench.errors import DataError

    assert parameters.validate_large_data(str(tiny_shop)) is None  # small: each notebook checks it
    monkeypatch.setattr(parameters, "VALIDATE_ONCE_BYTES", 0)
    assert parameters.validate_large_data(str(tiny_shop)) == fingerprint(tiny_shop)
    # unchecked loading builds the same views without re-running the checks
    ds = load(tiny_shop, checks=False)
    assert ds.row_count("orders") == 4 and not ds.problems
    broken = tmp_path / "broken"
    shutil.copytree(tiny_shop, broken)
    (broken / "orders.csv").write_text((broken / "orders.csv").read_text().replace("o2,", "o1,"))
    with pytest.raises(DataError, match="duplicated key"):
        parameters.validate_large_data(str(broken))
