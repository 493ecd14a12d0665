"""``workbench run --pdf``: every page printed by headless Chromium, Chinese text kept as text,
charts drawn, sections on new pages. Needs /usr/bin/chromium (installed by .ci/run)."""

from __future__ import annotations

import json
import shutil
import unicodedata
from pathlib import Path

import pytest
from batch_notebooks import jupyter_env
from deliver_kit import RED_TEXT, Mailbox, alert_notebook

from workbench import cli

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("isolated_jupyter"),
              pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Chromium")]


MAIL: list = []


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("pdf")
    (base / "data").mkdir()
    nbs = [alert_notebook(base / "notebooks", "01_sales"), alert_notebook(base / "notebooks", "00_overview")]
    out = base / "run"
    with Mailbox() as mailbox, pytest.MonkeyPatch.context() as mp:
        for var, value in jupyter_env(base).items():
            mp.setenv(var, value)
        mp.setenv("WORKBENCH_REPORTS", str(base / "reports"))
        mp.setenv("WORKBENCH_NOTIFY_FILE", str(base / "none.yaml"))
        mp.setenv("WORKBENCH_SMTP_HOST", "127.0.0.1")
        mp.setenv("WORKBENCH_SMTP_PORT", str(mailbox.port))
        mp.setenv("WORKBENCH_SMTP_SECURITY", "none")
        mp.setenv("WORKBENCH_SMTP_FROM", "workbench@example.com")
        code = cli.main(["run", *map(str, nbs), "--data", str(base / "data"), "--end", "2025-12-31", "--out",
                         str(out), "--timeout", "120", "--pdf", "--notify", "email:ops@example.com"])
        MAIL.extend(mailbox.messages)
    assert code == 0
    return out


def _text(pdf: Path) -> str:
    from pypdf import PdfReader

    # CJK glyphs can come back as their Kangxi-radical look-alikes (⽣ for 生): NFKC folds them
    return unicodedata.normalize("NFKC", "".join(p.extract_text() for p in PdfReader(str(pdf)).pages))


def test_every_page_and_the_index_have_a_pdf_recorded_in_run_json(printed: Path) -> None:
    assert (printed / "pdf" / "01_sales.pdf").is_file()
    assert (printed / "pdf" / "index.pdf").is_file()
    recorded = json.loads((printed / "run.json").read_text(encoding="utf-8"))["pdf"]
    assert {r["page"] for r in recorded} == {"index.html", "00_overview.html", "01_sales.html"}
    assert all(r["error"] is None for r in recorded)
    assert not list(printed.glob(".*print-*"))  # print copies removed


def test_the_pdf_holds_the_chinese_findings_as_text(printed: Path) -> None:
    wanted = unicodedata.normalize("NFKC", RED_TEXT).replace(" ", "")
    assert wanted in _text(printed / "pdf" / "01_sales.pdf").replace(" ", "")
    assert "运营分析报告" in _text(printed / "pdf" / "index.pdf")


def test_the_pdf_pages_show_the_chart_and_sections_start_new_pages(printed: Path, tmp_path: Path) -> None:
    import numpy as np
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(printed / "pdf" / "01_sales.pdf"))
    try:
        assert len(doc) >= 2  # the section heading starts a new page
        coloured = []
        for i in range(len(doc)):
            bitmap = doc[i].render(scale=1)
            pixels = bitmap.to_numpy()[..., :3].astype(int)
            spread = pixels.max(axis=2) - pixels.min(axis=2)  # grey and white have none
            coloured.append(int((spread > 60).sum()))
            bitmap.to_pil().save(tmp_path / f"page-{i}.png")
    finally:
        doc.close()
    # the bar chart's bars are the only large coloured area: thousands of pixels on some page
    assert max(coloured) > 3000, coloured


def test_the_email_carries_the_overview_pdf(printed: Path) -> None:
    [(_, msg)] = MAIL
    names = sorted(part.get_filename() for part in msg.iter_attachments())
    assert names == ["00_overview.pdf", "index.pdf"]
    attached = next(p for p in msg.iter_attachments() if p.get_filename() == "00_overview.pdf")
    assert attached.get_content() == (printed / "pdf" / "00_overview.pdf").read_bytes()
