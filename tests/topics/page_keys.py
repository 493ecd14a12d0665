"""The catalogue keys a notebook names (``@nb.section``, ``nb.text``, ``nb.say``, ``nb.finding``), read from its source."""

from __future__ import annotations

import ast
from pathlib import Path

from workbench.text import catalogue
from workbench.text.pages import namespace

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks" / "src"


def page_keys(stem: str) -> set[str]:
    """Every literal message key the notebook ``stem`` asks for, relative to its page (``section.volume``)."""
    keys: set[str] = set()
    for node in ast.walk(ast.parse((NOTEBOOKS / f"{stem}.py").read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "nb"):
            continue
        first = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
        message = next((k.value.value for k in node.keywords
                        if k.arg == "message" and isinstance(k.value, ast.Constant) and k.value.value), None)
        if node.func.attr == "section" and first:
            keys.add(f"section.{first}")
        elif node.func.attr in ("text", "say") and first:
            keys.add(first)
        elif node.func.attr == "finding" and first:
            keys.add(message or f"finding.{first}")
    return keys


def missing_keys(stem: str) -> list[str]:
    """The keys of :func:`page_keys` that either language lacks (as ``lang:page.key``)."""
    page = namespace(stem)
    return sorted(f"{lang}:{page}.{k}" for k in page_keys(stem) for lang in catalogue.LANGUAGES
                  if not (catalogue.has(f"{page}.{k}", lang) or catalogue.has(k, lang)))
