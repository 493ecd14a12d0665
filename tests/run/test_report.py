"""Report files of a batch (workbench.present.report): offline pages and an index that escapes everything."""

from __future__ import annotations

import pytest

from workbench.present import report

pytestmark = pytest.mark.usefixtures("isolated_jupyter")


def test_make_offline_puts_plotly_first_and_drops_cdn_scripts() -> None:
    page = ('<!DOCTYPE html><html><head><meta charset="utf-8"/><title>t</title>'
            '<script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.1.10/require.min.js"></script>'
            '<script src="//cdn.example.org/mathjax.js"> </script><script>var local = 1;</script>'
            "</head><body><script>Plotly.newPlot('x', [], {})</script></body></html>")
    out = report.make_offline(page)
    assert out.startswith('<!DOCTYPE html><html><head><script src="assets/plotly.min.js"></script><meta')
    assert "require.min.js" not in out and "mathjax" not in out
    assert "var local = 1;" in out and "Plotly.newPlot" in out


def test_index_escapes_everything_it_shows() -> None:
    manifest = {
        "started": "2025-12-31T08:00:00+08:00", "seconds": 3.0,
        "params": {"channels": "<img src=x onerror=alert(1)>"},
        "effective_params": {"language": "en"},
        "data": {"path": "/data/<shop>", "fingerprint": "abc"},
        "versions": {"python": "3.11"},
        "notebooks": [{"name": "01_x", "title": "T<i>", "status": "failed", "seconds": 1.0,
                       "error": {"ename": "E", "evalue": "<bad>", "cell": "raise E('<x>')"},
                       "outputs": {}, "skipped_sections": [{"key": "k", "title": "<s>", "message": "m"}],
                       "headline_findings": [{"text": "{{rows}} & <u>", "status": "red"}], "period": None}],
    }
    page = report.render_index(manifest)
    assert "<img" not in page and "<bad>" not in page and "<i>" not in page and "<u>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "/data/&lt;shop&gt;" in page
    assert "{{rows}} &amp; &lt;u&gt;" in page  # substituted text is not treated as a placeholder
    assert "0 of 1 notebooks succeeded" in page and "(no page)" in page
