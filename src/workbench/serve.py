"""Dashboards: Voila over the notebooks (placeholder until the serve work lands)."""

from __future__ import annotations


def url_parameters() -> dict[str, str]:
    """Notebook parameters from the dashboard URL's query string; empty outside Voila."""
    return {}
