"""plotly's basic bundle: found only when its version matches, fetched through npm, refused otherwise."""

from __future__ import annotations

import io
import stat
import tarfile
from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.serve import plotly_bundle


@pytest.fixture
def assets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "assets"
    monkeypatch.setenv("WORKBENCH_ASSETS_DIR", str(folder))
    return folder


def _fake_npm(tmp: Path, header: str, fail: bool = False) -> str:
    """An ``npm`` that answers ``npm pack NAME --pack-destination DIR`` with a tarball holding ``header``."""
    body = (f"/**\n* {header}\n*/\n(function(){{}})();\n").encode()
    tgz = tmp / "pack.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        info = tarfile.TarInfo(plotly_bundle.MEMBER)
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    script = tmp / "npm"
    script.write_text("#!/bin/sh\n" + ("echo 'npm error 404 Not Found' >&2; exit 1\n" if fail else
                                       f'while [ "$1" != "--pack-destination" ]; do shift; done\ncp "{tgz}" "$2/"\n'))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_fetch_keeps_the_bundle_of_the_installed_version(assets: Path, tmp_path: Path) -> None:
    version = plotly_bundle.plotly_js_version()
    assert plotly_bundle.light_bundle() is None
    kept = plotly_bundle.fetch(npm=_fake_npm(tmp_path, f"plotly.js (basic - minified) v{version}"))
    assert kept == assets / f"plotly-basic-{version}.min.js" and kept.is_file()
    assert plotly_bundle.light_bundle() == kept
    assert plotly_bundle.fetch(npm="/nonexistent/npm") == kept  # already there: npm is not asked again


def test_a_bundle_of_another_version_is_refused_and_not_used(assets: Path, tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="holds plotly.js 0.0.1"):
        plotly_bundle.fetch(npm=_fake_npm(tmp_path, "plotly.js (basic - minified) v0.0.1"))
    assert not list(assets.glob("*.js"))
    # a file put there by hand with another version inside is not served either
    assets.mkdir(exist_ok=True)
    (assets / plotly_bundle.file_name()).write_text("/**\n* plotly.js (basic - minified) v0.0.1\n*/\n")
    assert plotly_bundle.light_bundle() is None


def test_npm_missing_or_failing_says_what_to_do(assets: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plotly_bundle.shutil, "which", lambda name: None)
    with pytest.raises(WorkbenchError, match="npm was not found.*workbench assets"):
        plotly_bundle.fetch()
    with pytest.raises(WorkbenchError, match="404 Not Found"):
        plotly_bundle.fetch(npm=_fake_npm(tmp_path, "", fail=True))
    assert plotly_bundle.light_bundle() is None


def test_the_dashboard_page_names_the_bundle_only_when_it_is_there(assets: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.serve import server

    monkeypatch.setattr(server, "_LIGHT_PLOTLY", None)
    assert server.page_config_hook({}, notebook_path="01_sales_traffic.ipynb")["workbench"]["plotly_light"] is None
    version = plotly_bundle.plotly_js_version()
    plotly_bundle.fetch(npm=_fake_npm(tmp_path, f"plotly.js (basic - minified) v{version}"))
    monkeypatch.setattr(server, "_LIGHT_PLOTLY", None)
    got = server.page_config_hook({}, notebook_path="01_sales_traffic.ipynb")["workbench"]["plotly_light"]
    assert got == f"plotly-basic-{version}.min.js"


def _batch_page(tmp: Path, *traces: str) -> Path:
    """A page with one chart per trace type, written as a batch report writes them (nb.show)."""
    import json

    charts = "".join(f"<div id='wb-{i}'></div><script>(function(){{var s={json.dumps({'data': [{'type': t, 'y': [1]}], 'layout': {'xaxis': {'type': 'date'}}})};"
                     f"Plotly.newPlot('wb-{i}', s.data, s.layout, {{}});}})();</script>" for i, t in enumerate(traces))
    page = tmp / f"page-{'-'.join(traces)}.html"
    page.write_text(f"<html><body>{charts}</body></html>", encoding="utf-8")
    return page


def test_a_snapshot_gets_the_basic_bundle_only_when_it_draws_every_chart(assets: Path, tmp_path: Path) -> None:
    bars = _batch_page(tmp_path, "bar", "scatter", "bar")
    heat = _batch_page(tmp_path, "bar", "heatmap")
    assert plotly_bundle.trace_types(bars.read_text()) == {"bar", "scatter"}   # the axis "type" is not a trace
    assert plotly_bundle.trace_types(heat.read_text()) == {"bar", "heatmap"}
    assert plotly_bundle.page_bundle(bars) == "plotly.min.js"                  # not fetched: the full bundle
    version = plotly_bundle.plotly_js_version()
    plotly_bundle.fetch(npm=_fake_npm(tmp_path, f"plotly.js (basic - minified) v{version}"))
    assert plotly_bundle.page_bundle(bars) == f"plotly-basic-{version}.min.js"
    assert plotly_bundle.page_bundle(heat) == "plotly.min.js"
    broken = tmp_path / "broken.html"
    broken.write_text("<script>var s={\"data\": [ ;Plotly.newPlot('wb-1')</script>")
    assert plotly_bundle.trace_types(broken.read_text()) is None and plotly_bundle.page_bundle(broken) == "plotly.min.js"
