"""A lighter plotly.js for live dashboards: plotly's own "basic" partial bundle, fetched once.

The plotly Python package ships one plotly.js, the full bundle (4.8 MB, every trace type, maps and
WebGL included). On the 2-core machine this project is measured on, Chromium takes about 2.2 s to
compile and run it before the first chart can be drawn, with a warm cache too; plotly's "basic"
partial bundle (``plotly.js-basic-dist-min``: bar, pie and scatter traces, with the same core:
axes, legends, error bars, shapes, annotations) takes about 0.5 s, the "cartesian" one 1.1 s
(``benchmarks/plotly_bundles.py``: a page that only loads the script and draws one bar chart).
Most of our charts are bars and lines, so a live dashboard loads the basic bundle first and
fetches the full bundle only when a chart of another type (a heatmap) is to be drawn.

plotly publishes its partial bundles as npm packages only. :func:`fetch` takes the one whose
version matches the installed plotly's plotly.js (``workbench assets``; ``make setup`` calls it
when npm is there) and keeps it in ``$WORKBENCH_ASSETS_DIR``, else
``$XDG_CACHE_HOME/workbench/assets``. Without it the dashboards load the full bundle, as before:
nothing depends on it.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from workbench.data.cache import cache_folder
from workbench.errors import WorkbenchError

PACKAGE = "plotly.js-basic-dist-min"
MEMBER = "package/plotly-basic.min.js"
#: The trace types of the basic bundle (plotly.js's ``lib/index-basic.js``); the page loads the
#: full bundle for any other.
TRACES = ("bar", "pie", "scatter")
_VERSION = re.compile(rb"plotly\.js (?:\([^)]*\) )?v(\d+\.\d+\.\d+)")


def plotly_js_version() -> str:
    """The version of the plotly.js that the installed plotly package ships (and its figures expect)."""
    from plotly.offline import get_plotlyjs_version

    return str(get_plotlyjs_version())


def assets_dir() -> Path:
    """Where the fetched bundle is kept: ``$WORKBENCH_ASSETS_DIR``, else ``$XDG_CACHE_HOME/workbench/assets``."""
    return cache_folder("assets", "WORKBENCH_ASSETS_DIR")


def file_name(version: str | None = None) -> str:
    """The bundle's file name for plotly.js ``version`` (default: the installed one)."""
    return f"plotly-basic-{version or plotly_js_version()}.min.js"


def _version_of(head: bytes) -> str | None:
    found = _VERSION.search(head[:2000])
    return found.group(1).decode() if found else None


def light_bundle() -> Path | None:
    """The basic bundle matching the installed plotly.js, or None when it has not been fetched.

    A file whose header names another plotly.js version is not used: figures written by this plotly
    expect its own plotly.js.
    """
    version = plotly_js_version()
    path = assets_dir() / file_name(version)
    try:
        with open(path, "rb") as fh:
            head = fh.read(2000)
    except OSError:
        return None
    return path if _version_of(head) == version else None


def fetch(npm: str | None = None, timeout: float = 300.0) -> Path:
    """Fetch plotly's basic bundle for the installed plotly.js with ``npm pack``; the kept file.

    Already there: returned at once. Raises :class:`WorkbenchError` (saying what to do) when npm is
    missing or fails, or when the package holds another version than asked for.
    """
    have = light_bundle()
    if have is not None:
        return have
    version = plotly_js_version()
    npm = npm or shutil.which("npm")
    if npm is None:
        raise WorkbenchError("npm was not found: the dashboards keep loading the full plotly.js (slower first "
                             "chart). Install Node.js with npm, then run `workbench assets` again.")
    target = assets_dir() / file_name(version)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="workbench-assets-") as tmp:
        cmd = [npm, "pack", f"{PACKAGE}@{version}", "--pack-destination", tmp, "--silent"]
        try:
            done = subprocess.run(cmd, cwd=tmp, capture_output=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise WorkbenchError(f"`npm pack {PACKAGE}@{version}` did not finish: {exc}. "
                                 "The dashboards keep loading the full plotly.js.") from exc
        packed = sorted(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or not packed:
            said = (done.stderr or done.stdout).decode("utf-8", errors="replace").strip().splitlines()[-3:]
            raise WorkbenchError(f"`npm pack {PACKAGE}@{version}` failed ({' / '.join(said) or done.returncode}). "
                                 "Check that npm reaches its registry, then run `workbench assets` again.")
        with tarfile.open(packed[0], "r:gz") as tar:
            member = tar.extractfile(MEMBER)
            body = member.read() if member is not None else b""
    got = _version_of(body)
    if got != version:
        raise WorkbenchError(f"{PACKAGE}@{version} holds plotly.js {got or 'of no known version'}; not kept.")
    fd, name = tempfile.mkstemp(prefix=".plotly-basic-", suffix=".js", dir=target.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)
    os.chmod(name, 0o644)  # a public script, like the plotly package's own copy
    os.replace(name, target)
    return target


_SPEC = re.compile(r"var s=(?=\{)")


def trace_types(page_html: str) -> set[str] | None:
    """The trace types of every chart of a batch report page (its ``var s={…};Plotly.newPlot`` specs,
    :meth:`workbench.app.notebook.Notebook.show`); None when a spec cannot be read."""
    decoder = json.JSONDecoder()
    types: set[str] = set()
    for found in _SPEC.finditer(page_html):
        try:
            spec, _ = decoder.raw_decode(page_html, found.end())
        except ValueError:
            return None
        types |= {str(t.get("type") or "scatter") for t in spec.get("data", []) if isinstance(t, dict)}
    return types


@functools.lru_cache(maxsize=256)
def _page_fits(path: str, stamp: int) -> bool:
    types = trace_types(Path(path).read_text(encoding="utf-8"))
    return types is not None and types <= set(TRACES)


def page_bundle(page: Path) -> str:
    """The plotly.js file name under ``/workbench/assets/`` that draws every chart of batch page ``page``:
    the basic bundle when it has been fetched and the page's charts are all of its types, else the full
    ``plotly.min.js``."""
    light = light_bundle()
    if light is None:
        return "plotly.min.js"
    try:
        fits = _page_fits(str(page), page.stat().st_mtime_ns)
    except OSError:
        return "plotly.min.js"
    return light.name if fits else "plotly.min.js"
