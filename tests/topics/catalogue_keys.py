"""The catalogue keys a notebook source names (sections, titles, notes, findings), and those missing."""

from __future__ import annotations

import re
from pathlib import Path

from workbench.text import catalogue
from workbench.text.pages import namespace

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks" / "src"


def keys(stem: str) -> set[str]:
    """Every ``<page>.<key>`` a notebook's source names literally."""
    src = (NOTEBOOKS / f"{stem}.py").read_text(encoding="utf-8")
    page = namespace(stem)
    out = {f"{page}.section.{k}" for k in re.findall(r'@nb\.section\(\s*"([^"]+)"', src)}
    out |= {f"{page}.finding.{k}" for k in re.findall(r'nb\.finding\(\s*"([^"]+)"', src)}
    out |= {f"{page}.{k}" for k in re.findall(r'nb\.(?:text|say)\(\s*"([^"]+)"', src)}
    out |= {f"{page}.{k}" for k in re.findall(r'"((?:finding|note|title)\.[a-z0-9_]+)"', src)}
    for names, prefix in re.findall(r'for by in \(([^)]*)\):.*?f"(title\.[a-z_]+)\{by\}"', src, re.DOTALL):
        out |= {f"{page}.{prefix}{n}" for n in re.findall(r'"([a-z_]+)"', names)}
    return {k for k in out if "{" not in k}


def missing_keys(stem: str) -> list[str]:
    """The keys of :func:`keys` absent from either language's catalogue."""
    return sorted(f"{k} ({lang})" for k in keys(stem) for lang in catalogue.LANGUAGES if not catalogue.has(k, lang))
