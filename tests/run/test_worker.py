"""The worker process (workbench.run.worker): a kernel that dies at start is started again."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.run import worker

pytestmark = pytest.mark.usefixtures("isolated_jupyter")


def test_a_kernel_that_dies_at_start_is_started_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def flaky(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        Path(args[1]).write_text("{}")

    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    import nbformat

    from workbench.present import report as report_mod

    monkeypatch.setattr(report_mod, "export_html", lambda *a, **k: "<html></html>")
    task = {"input": "in.ipynb", "output": str(tmp_path / "out.ipynb"), "html": str(tmp_path / "out.html"),
            "cwd": str(tmp_path), "parameters": {}}
    monkeypatch.setattr(nbformat, "read", lambda *a, **k: nbformat.v4.new_notebook())
    answer = worker.execute_task(task)
    assert answer["status"] == "succeeded" and len(calls) == 2
    # any other failure is not retried
    calls.clear()

    def broken(*args: object, **kwargs: object) -> None:
        calls.append(1)
        raise RuntimeError("No such kernel named python9")

    monkeypatch.setattr(papermill, "execute_notebook", broken)
    answer = worker.execute_task(task)
    assert answer["status"] == "failed" and len(calls) == 1 and "python9" in answer["error"]["evalue"]
