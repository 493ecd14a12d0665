"""What a batch reports: one :class:`NotebookResult` per notebook, the :class:`RunResult` of the
whole batch, and :class:`Progress`, the plain-text lines written while it runs."""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO


#: What an error of a notebook says when the machine, not the notebook, failed it.
ENVIRONMENT_MARKS = ("No space left on device", "Disk quota exceeded", "Read-only file system", "[Errno 28]")


@dataclass
class NotebookResult:
    """What became of one notebook in a batch.

    ``status`` is ``succeeded``, ``failed`` or ``timeout``; ``error`` (None on success) holds
    ``ename``, ``evalue`` and, when a cell failed, ``cell`` (its first lines) and ``cell_index``;
    ``outputs`` maps ``notebook``/``html``/``findings`` to file names inside the run folder
    (only those written) and ``files`` to other files the notebook wrote there named
    ``<stem>_*``/``<stem>.*`` (e.g. a table to download); ``findings`` is the notebook's findings
    record, if it wrote one; ``seconds`` is the wall time from handing the notebook to a ready
    worker until done (execution and export), ``timings`` splits it (``execute``, ``export``).
    """

    name: str
    source: Path
    title: str
    status: str = "pending"
    seconds: float = 0.0
    error: dict[str, Any] | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    findings: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": str(self.source), "title": self.title, "status": self.status,
                "seconds": self.seconds, "error": self.error, "outputs": dict(self.outputs),
                "findings": self.findings, "timings": dict(self.timings)}


@dataclass
class RunResult:
    """A finished batch: its folder (final name), notebooks in run order and the manifest written."""

    run_dir: Path
    notebooks: list[NotebookResult]
    manifest: dict[str, Any]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(nb.ok for nb in self.notebooks)

    @property
    def exit_code(self) -> int:
        """0 when every notebook succeeded; 3 when one failed because of the machine (a full or
        read-only disk: :attr:`environment_failure`); otherwise 1."""
        if self.ok:
            return 0
        return 3 if self.environment_failure else 1

    @property
    def environment_failure(self) -> str | None:
        """``"<notebook>: <error>"`` when a notebook failed because of the machine (full disk, read-only
        file system), else None."""
        for nb in self.failed:
            text = json.dumps(nb.error or {})
            if any(mark in text for mark in ENVIRONMENT_MARKS):
                return f"{nb.name}: {str((nb.error or {}).get('evalue', ''))[:300]}"
        return None

    @property
    def failed(self) -> list[NotebookResult]:
        return [nb for nb in self.notebooks if not nb.ok]


class Progress:
    """One plain-text line per notebook start and finish, ``[finished/total]`` first (cron-safe)."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self._lock = threading.Lock()

    def _line(self, text: str) -> None:
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def started(self, name: str) -> None:
        with self._lock:
            self._line(f"[{self.done}/{self.total}] started   {name}")

    def finished(self, result: NotebookResult) -> None:
        with self._lock:
            self.done += 1
            extra = ""
            if result.error:
                extra = f"  {result.error.get('ename', '')}: {result.error.get('evalue', '')!s}".splitlines()[0]
                extra = extra[:160]
            self._line(f"[{self.done}/{self.total}] {result.status:<9} {result.name} ({result.seconds:.1f} s){extra}")
