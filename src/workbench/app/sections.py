"""What each notebook section needs, read from the notebooks themselves, and what a dataset can feed.

Each section declares its needs in its decorator, ``@nb.section(key, en=..., zh=..., needs=...)``.
:func:`notebook_needs` reads those declarations without running the notebook: it parses the
code cells, runs only their ``import`` statements, and evaluates each ``needs=`` expression
(a dict literal or a module constant such as ``sales.NEEDS``). :func:`coverage_report` tells,
for a loaded dataset, which notebooks and sections it can feed and what the others lack.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from workbench.data.loader import Dataset
from workbench.text import catalogue
from workbench.text.pages import namespace, topic


@dataclass(frozen=True)
class SectionNeeds:
    """One section of a notebook: its key, its question (English) and the tables/columns it needs."""

    notebook: str
    key: str
    title: str
    needs: dict[str, tuple[str, ...]]


def _is_section_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "section")


def notebook_needs(path: Path) -> list[SectionNeeds]:
    """The sections of the notebook at ``path`` with their declared needs, in order."""
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    tree = ast.parse(code)
    scope: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            exec(compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec"), scope)  # noqa: S102
    out: list[SectionNeeds] = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for deco in node.decorator_list:
            if not _is_section_call(deco):
                continue
            kw = {k.arg: k.value for k in deco.keywords}
            key = ast.literal_eval(deco.args[0]) if deco.args else node.name
            if isinstance(kw.get("en"), ast.Constant):
                title = ast.literal_eval(kw["en"])
            else:
                msg = f"{namespace(path.stem)}.section.{key}"
                title = catalogue.message(msg, "en") if catalogue.has(msg, "en") else str(key)
            needs: dict[str, tuple[str, ...]] = {}
            if "needs" in kw:
                value = eval(compile(ast.Expression(kw["needs"]), str(path), "eval"), scope)  # noqa: S307
                needs = {t: tuple(cols) for t, cols in dict(value or {}).items()}
            out.append(SectionNeeds(path.stem, str(key), str(title), needs))
    return sorted(out, key=lambda s: _line_of(tree, s.key))


def _line_of(tree: ast.AST, key: str) -> int:
    for node in ast.walk(tree):
        if _is_section_call(node) and node.args and isinstance(node.args[0], ast.Constant) \
                and node.args[0].value == key:
            return node.lineno
    return 0


def coverage(ds: Dataset, notebooks: list[Path]) -> list[dict[str, Any]]:
    """For each notebook section: whether ``ds`` can feed it and, if not, what is missing.

    Returns records ``{notebook, section, title, ok, missing}``.
    """
    rows = []
    for path in notebooks:
        for sec in notebook_needs(path):
            missing = ds.missing(sec.needs)
            rows.append({"notebook": path.stem, "section": sec.key, "title": sec.title,
                         "ok": not missing, "missing": missing})
    return rows


def coverage_report(ds: Dataset, notebooks: list[Path]) -> str:
    """A readable list of which notebooks and sections the dataset feeds, and what the rest lack."""
    rows = coverage(ds, notebooks)
    lines = ["", "What this data can feed:"]
    by_nb: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_nb.setdefault(r["notebook"], []).append(r)
    for name, secs in by_nb.items():
        ok = sum(r["ok"] for r in secs)
        lines.append(f"  {name:<22} {ok}/{len(secs)} sections  ({topic(name).title_en})")
        for r in secs:
            if not r["ok"]:
                lines.append(f"      skipped: {r['title']} — needs {', '.join(r['missing'])}")
    return "\n".join(lines)
