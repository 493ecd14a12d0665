"""Queries of the overview page: what the campaign calendar does not say (a campaign's kind)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.sql import dialect, engine

if TYPE_CHECKING:
    from workbench.data.loader import Dataset


def campaign_kinds(ds: "Dataset", campaign_ids: list[str]) -> dict[str, str]:
    """``{campaign_id: kind}`` for the given campaigns (``double_11``, ``618`` …); the id itself where the
    table has no ``kind`` column. Empty for no ids or without a ``campaigns`` table."""
    if not campaign_ids or not ds.has("campaigns", ["campaign_id"]):
        return {}
    kind = "CAST(kind AS VARCHAR)" if ds.has("campaigns", ["kind"]) else "campaign_id"
    listed, params = dialect.in_list("campaign_id", campaign_ids, "id")
    frame = engine.query(ds, f"SELECT campaign_id, {kind} AS kind FROM campaigns WHERE {listed}", params)
    return dict(zip(frame["campaign_id"], frame["kind"]))
