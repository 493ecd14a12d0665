"""Read an executed notebook as a reader sees it and list what a reader should never see.

Usage: python tools/pagecheck.py OUT.ipynb [--lang zh|en] [--data data/sample]

Checks every visible text (HTML, Markdown, printed text, and each chart's title, axis and legend
titles, trace names, hover text, category labels and annotations):

* ``nan``, ``NaN``, ``None``, ``inf`` written as a value;
* snake_case keys (``worst_carrier``, ``gmv_low``) that are not part of a name from the data;
* on a Chinese page, English words that are neither names from the data nor known acronyms;
* charts: error bars without a lower arm (symmetric bars where an interval is asymmetric),
  and intervals of shares drawn outside 0–100%.

Prints one problem per line and exits 1 when there is any. The test suite calls :func:`problems`
on every page of a batch run.
"""

from __future__ import annotations

import argparse
import html as html_mod
import re
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator

#: Acronyms and method names a Chinese page may write in Latin letters.
ACRONYMS = {
    "GMV", "AOV", "ROAS", "ROI", "KOL", "SKU", "NPS", "CSAT", "HHI", "ABC", "STL", "BG", "NBD", "MBG", "BB", "CLV",
    "LTV", "AUC", "O2O", "RFM", "CNY", "USD", "EUR", "JPY", "HKD", "GBP", "KRW", "AUD", "SGD", "MYR", "THB",
    "VND", "IDR", "PHP", "SARIMAX", "ARIMA", "ETS", "MASE", "OLS", "GLM", "HC1", "HC3", "Wilson", "Erlang", "Poisson",
    "Gamma", "Pareto", "Croston", "SBA", "TSB", "Cox", "Kaplan", "Meier", "Logit", "Fourier", "Hessian", "Jieba",
    "jieba", "MAD", "IQR", "CTR", "CVR", "UV", "PV", "GSV", "DSR", "A", "B", "n", "k", "z", "p", "q", "r", "s", "x", "y",
    "CI", "SF", "JD", "ZTO", "YTO", "DHL", "EMS", "Tmall", "Douyin", "WeChat", "Pinduoduo", "ID", "vs", "Q1", "Q2",
    "Q3", "Q4", "H1", "H2", "P50", "P90", "P10", "MoM", "YoY", "Spring", "Festival", "Sale", "Double", "Day",
    "Women's", "Brand", "HTML", "PDF", "CSV", "JSON", "km", "ml", "g", "kg", "cm", "mm", "L",
}

_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*[A-Za-z]|[A-Za-z]")
_SNAKE = re.compile(r"(?<![\w@/.-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w/.-])")
_BAD_VALUE = re.compile(r"(?<![\w.])(nan|NaN|None|inf|-inf|NaT)(?![\w.])")
_TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)
_FILE_NAME = re.compile(r"[\w./-]+\.(?:ya?ml|csv|parquet|xlsx|json|md|ipynb|html)\b")  # a file a user names
_HOVER_VAR = re.compile(r"%\{[^}]*\}|<extra>.*?</extra>|<br>")


def names_from_data(data: str | Path) -> set[str]:
    """Tokens of names in the dataset (products, KOLs, stores, campaigns, carriers, warehouses, suppliers)."""
    import workbench

    ds = workbench.load(data)
    out: set[str] = set()
    for table, col in (("products", "name"), ("kols", "handle"), ("kols", "name"), ("stores", "name"),
                       ("campaigns", "name"), ("shipments", "carrier"), ("shipments", "warehouse"),
                       ("products", "supplier"), ("products", "product_id"), ("kols", "kol_id"),
                       ("stores", "store_id"), ("campaigns", "campaign_id"), ("livestreams", "livestream_id")):
        if ds.has(table, [col]):
            for v in ds.sql(f'SELECT DISTINCT "{col}" FROM "{table}"').iloc[:, 0].dropna().astype(str):
                out.add(v)
                out.update(_WORD.findall(v))
                out.update(v.lstrip("@").split())
    return out


def _html_text(s: str) -> str:
    return html_mod.unescape(_TAG.sub(" ", s))


def _figure_texts(fig: dict[str, Any]) -> Iterator[str]:
    layout = fig.get("layout", {})

    def title(obj: Any) -> str:
        if isinstance(obj, dict):
            t = obj.get("title")
            return t.get("text", "") if isinstance(t, dict) else (t or "")
        return ""

    yield title(layout)
    for k, v in layout.items():
        if re.match(r"[xy]axis\d*$|legend\d*$|coloraxis\d*$", k) and isinstance(v, dict):
            yield title(v)
            if isinstance(v.get("ticktext"), list):
                yield from map(str, v["ticktext"])
            cb = v.get("colorbar")
            if isinstance(cb, dict):
                yield title(cb)
    for a in layout.get("annotations", []) or []:
        yield str(a.get("text", ""))
    for tr in fig.get("data", []):
        yield str(tr.get("name", "") or "")
        yield _HOVER_VAR.sub(" ", str(tr.get("hovertemplate", "") or ""))
        for axis in ("x", "y"):
            vals = tr.get(axis)
            if isinstance(vals, list) and vals and all(isinstance(v, str) for v in vals):
                if not all(re.match(r"\d{4}-\d{2}-\d{2}", v) for v in vals):
                    yield from vals
        for key in ("text", "hovertext"):
            vals = tr.get(key)
            if isinstance(vals, list):
                yield from (str(v) for v in vals if isinstance(v, str))
            elif isinstance(vals, str):
                yield vals
        hdr = tr.get("header", {})
        if isinstance(hdr, dict) and isinstance(hdr.get("values"), list):
            yield from (str(v) for v in hdr["values"])


def _figure_problems(fig: dict[str, Any], where: str) -> Iterator[str]:
    layout = fig.get("layout", {})
    for tr in fig.get("data", []):
        for axis in ("x", "y"):
            err = tr.get(f"error_{axis}")
            if not isinstance(err, dict) or err.get("visible") is False:
                continue
            if err.get("array") is not None and err.get("arrayminus") is None and err.get("symmetric") is not False:
                yield f"{where}: symmetric error bars (give low and high, not a half-width)"
            vals = tr.get(axis)
            fmt = (layout.get(f"{axis}axis", {}) or {}).get("tickformat", "") or ""
            if "%" in fmt and isinstance(vals, list) and vals and isinstance(err.get("array"), list):
                nums = [v for v in vals if isinstance(v, (int, float))]
                if nums and all(0 <= v <= 1 for v in nums):
                    plus = err.get("array") or []
                    minus = err.get("arrayminus") or plus
                    for v, p, m in zip(vals, plus, minus):
                        if isinstance(v, (int, float)) and p is not None and m is not None:
                            if v + p > 1 + 1e-9 or v - m < -1e-9:
                                yield f"{where}: a share's interval drawn outside 0–100% ({v:.3f} +{p:.3f} −{m:.3f})"
                                break


def page_texts(nb_path: str | Path) -> Iterator[tuple[str, str]]:
    """``(where, text)`` for every visible text of an executed notebook, charts included."""
    import json

    nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    for i, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []):
            where = f"cell {i}"
            if out.get("output_type") == "stream":
                yield where, "".join(out.get("text", ""))
                continue
            data = out.get("data", {})
            if "application/vnd.plotly.v1+json" in data:
                fig = data["application/vnd.plotly.v1+json"]
                t = fig.get("layout", {}).get("title", {})
                where += " chart " + repr((t.get("text") if isinstance(t, dict) else t) or "")[:60]
                for s in _figure_texts(fig):
                    yield where, s
            elif "text/html" in data:
                yield where, _html_text("".join(data["text/html"]))
            elif "text/markdown" in data:
                yield where, "".join(data["text/markdown"])
            elif "text/plain" in data and out.get("output_type") == "error":
                yield where, "".join(data["text/plain"])


def problems(nb_path: str | Path, lang: str, names: Iterable[str] = ()) -> list[str]:
    """Everything a reader should not see on the executed page ``nb_path`` in ``lang``."""
    import json

    allowed = set(names) | ACRONYMS
    name_text = " ".join(allowed)
    found: list[str] = []
    for where, text in page_texts(nb_path):
        text = _FILE_NAME.sub(" ", text)
        for m in _BAD_VALUE.finditer(text):
            found.append(f"{where}: {m.group(0)!r} in {text[max(0, m.start() - 30):m.end() + 30]!r}")
        for m in _SNAKE.finditer(text):
            if m.group(0) not in name_text:
                found.append(f"{where}: raw key {m.group(0)!r} in {text[max(0, m.start() - 30):m.end() + 30]!r}")
        if lang == "zh":
            for m in _WORD.finditer(text):
                w = m.group(0)
                if w not in allowed and w.upper() not in ACRONYMS and not _SNAKE.fullmatch(w):
                    found.append(f"{where}: English word {w!r} in {text[max(0, m.start() - 30):m.end() + 30]!r}")
    nb = json.loads(Path(nb_path).read_text(encoding="utf-8"))
    for i, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []):
            fig = out.get("data", {}).get("application/vnd.plotly.v1+json")
            if fig:
                found.extend(_figure_problems(fig, f"cell {i}"))
    return list(dict.fromkeys(found))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebook")
    ap.add_argument("--lang", default="zh")
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "data" / "sample"))
    args = ap.parse_args(argv)
    found = problems(args.notebook, args.lang, names_from_data(args.data))
    print("\n".join(found) or "no problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
