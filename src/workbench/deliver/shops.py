"""Several shops in one run: one batch per shop, each into its own folder, and a roll-up page.

Shops come from ``--data`` given more than once (each named after its folder) or from the
``shops`` list of the ``--params`` YAML (``[{name: tmall, data: shops/tmall}, ...]``). Each shop's
run goes to ``<reports>/<shop>/<as-of>/`` with its own ``latest``; the shops run side by side,
sharing ``--jobs`` between them, and one shop's failure (bad data, a failing notebook) never
stops the others. The roll-up, ``<reports>/shops/<as-of>/index.html`` (and ``shops/latest``),
puts the shops' headline KPIs side by side, with a total for the KPIs that add up (money and
counts; the data model holds every amount in CNY, so shops' amounts are comparable).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.deliver.summary import RunSummary, summarise
from workbench.errors import ParameterError, WorkbenchError
from workbench.present.report import esc as _esc
from workbench.text import catalogue, fmt

ADDITIVE_UNITS = ("money", "count")


@dataclass
class Shop:
    """A shop to run: a folder-safe ``name`` and its ``data`` folder."""

    name: str
    data: str


@dataclass
class ShopRun:
    """What became of one shop: its run folder and summary, or the error that stopped it."""

    shop: Shop
    exit_code: int
    run_dir: Path | None = None
    summary: RunSummary | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _safe_name(text: str) -> str:
    name = re.sub(r"[^\w.-]+", "-", str(text).strip(), flags=re.UNICODE).strip("-.")
    return name or "shop"


def shops_from(data: Sequence[str] | None, yaml_shops: Any = None) -> list[Shop]:
    """The shops named by repeated ``--data`` values and/or the YAML ``shops`` list; names unique."""
    out: list[Shop] = []
    if yaml_shops:
        if not isinstance(yaml_shops, list):
            raise ParameterError("'shops' in the parameters file must be a list of {name, data}")
        for item in yaml_shops:
            if isinstance(item, str):
                out.append(Shop(_safe_name(Path(item).name), item))
            elif isinstance(item, dict) and item.get("data"):
                out.append(Shop(_safe_name(item.get("name") or Path(str(item["data"])).name), str(item["data"])))
            else:
                raise ParameterError(f"each entry of 'shops' needs a data folder, got {item!r}")
    for d in data or []:
        out.append(Shop(_safe_name(Path(str(d)).resolve().name), str(d)))
    names = [s.name for s in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ParameterError(f"two shops would share the report folder {', '.join(dupes)}: give each a name "
                             "in the 'shops' list of the parameters file")
    return out


def run_shops(shops: Sequence[Shop], one: Callable[[Shop, int], ShopRun], jobs: int | None = None) -> list[ShopRun]:
    """Run ``one(shop, jobs_for_it)`` for every shop, side by side within ``jobs`` notebooks at once.

    ``one`` returns the shop's :class:`ShopRun`; an exception from it is caught and recorded, so the
    other shops finish.
    """
    total = max(1, jobs or os.cpu_count() or 1)
    side_by_side = max(1, min(len(shops), total))
    per_shop = max(1, total // side_by_side)

    def guarded(shop: Shop) -> ShopRun:
        try:
            return one(shop, per_shop)
        except WorkbenchError as exc:
            return ShopRun(shop, 2, error=str(exc).splitlines()[0][:300])
        except Exception as exc:  # noqa: BLE001 -- one shop's crash must not stop the others
            return ShopRun(shop, 1, error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}")

    with ThreadPoolExecutor(max_workers=side_by_side, thread_name_prefix="workbench-shop") as pool:
        return list(pool.map(guarded, shops))


def _t(key: str, lang: str, **values: Any) -> str:
    return catalogue.message(f"deliver.shops.{key}", lang, **values)




def combined(runs: Sequence[ShopRun], key: str) -> float | None:
    """The total of KPI ``key`` over the shops that have it, when its unit adds up; else None."""
    values = []
    for r in runs:
        kpi = (r.summary.kpis if r.summary else {}).get(key)
        if not kpi:  # a shop without the KPI (or without a report) adds nothing
            continue
        if (kpi.get("unit") or "") not in ADDITIVE_UNITS:
            return None
        v = (kpi.get("value") or {}).get("estimate")
        if v is not None:
            values.append(float(v))
    return sum(values) if values else None


def render_rollup(runs: Sequence[ShopRun], lang: str, root: Path, out_dir: Path) -> str:
    """The roll-up page: one column per shop, one row per headline KPI, a total column."""
    from workbench.deliver.archive import HEADLINE_KPIS

    keys = [k for k in HEADLINE_KPIS if any(r.summary and k in r.summary.kpis for r in runs)]
    head = "".join(f"<th>{_esc(r.shop.name)}</th>" for r in runs) + f"<th>{_esc(_t('total', lang))}</th>"
    status_cells = []
    for r in runs:
        if r.run_dir is not None:
            rel = os.path.relpath(r.run_dir / "index.html", out_dir)
            word = catalogue.message("report." + ("succeeded" if r.summary and r.summary.ok else "failed"), lang)
            status_cells.append(f"<td><a href='{_esc(rel)}'>{_esc(word)}</a></td>")
        else:
            status_cells.append(f"<td class='failed'>{_esc(_t('failed', lang))}: {_esc(r.error)}</td>")
    rows = [f"<tr><th>{_esc(_t('status', lang))}</th>{''.join(status_cells)}<td></td></tr>"]
    for k in keys:
        cells = []
        unit = "number"
        for r in runs:
            kpi = (r.summary.kpis if r.summary else {}).get(k) or {}
            v = kpi.get("value") or {}
            unit = kpi.get("unit") or unit
            if v.get("estimate") is None:
                cells.append(f"<td class='num muted'>{_esc(_t('missing', lang))}</td>")
                continue
            span = fmt.span(v.get("low"), v.get("high"), unit, lang) if v.get("low") is not None else ""
            cells.append(f"<td class='num'>{_esc(fmt.value(v['estimate'], unit, lang))}"
                         f"<div class='muted small'>{_esc(span)}</div></td>")
        total = combined(runs, k)
        cells.append(f"<td class='num'><strong>{_esc(fmt.value(total, unit, lang))}</strong></td>" if total is not None
                     else f"<td class='num muted small'>{_esc(_t('not_combined', lang))}</td>")
        rows.append(f"<tr><th>{_esc(catalogue.message('kpi.name.' + k, lang))}</th>{''.join(cells)}</tr>")
    from workbench.deliver.archive import STYLE

    return (f"<!doctype html><html lang='{_esc(lang)}'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{_esc(_t('title', lang))}</title>"
            f"<style>{STYLE} .failed{{color:#b42318}}</style></head><body><h1>{_esc(_t('title', lang))}</h1>"
            f"<p>{_esc(_t('intro', lang))}</p><table><thead><tr><th>{_esc(_t('shop', lang))}</th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></body></html>")


def write_rollup(runs: Sequence[ShopRun], root: Path, lang: str) -> Path:
    """Write ``root/shops/<as-of>/index.html`` and ``rollup.json``, point ``root/shops/latest`` at it."""
    from workbench.present.report import write_text_atomic
    from workbench.run.folder import point_latest

    as_of = next((r.summary.as_of for r in runs if r.summary and r.summary.as_of), None) \
        or dt.date.today().isoformat()
    base = root / "shops"
    out_dir = base / as_of
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "rollup.json", json.dumps([
        {"shop": r.shop.name, "data": r.shop.data, "exit_code": r.exit_code, "error": r.error,
         "run_dir": str(r.run_dir) if r.run_dir else None,
         "kpis": r.summary.kpis if r.summary else {}} for r in runs], ensure_ascii=False, indent=2, default=str))
    page = out_dir / "index.html"
    write_text_atomic(page, render_rollup(runs, lang, root, out_dir))
    point_latest(base, out_dir)
    return page


def summary_of(run_dir: Path | None) -> RunSummary | None:
    if run_dir is None:
        return None
    try:
        return summarise(run_dir)
    except FileNotFoundError:
        return None


def shop_params(values: Mapping[str, Any], shop: Shop) -> dict[str, Any]:
    return {**values, "data": shop.data}
