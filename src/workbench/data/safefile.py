"""Files a spreadsheet opens safely: every CSV or Excel file the workbench writes goes through here.

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(``=HYPERLINK(…)``, ``+cmd|' /C calc'!A0``, ``@SUM(…)``), and some also after a tab or a carriage
return. Data from a shop's platform (a buyer's nickname, a coupon code, a product title) can hold
such text. The OWASP rule for CSV injection: put a single quote before any such text cell, so the
spreadsheet shows it as text. Numbers stay numbers: numeric columns are written unchanged, and a
text cell that is a plain number (``-12.5``) is left as it is.

:func:`safe_cell` and :func:`safe_frame` neutralise; :func:`write_csv` and :func:`write_excel` write a
frame through them, into a temporary file renamed at the end (a full disk leaves no half file and
raises :class:`~workbench.errors.EnvironmentProblem` with the space needed).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["FORMULA_STARTS", "safe_cell", "safe_frame", "write_csv", "write_excel"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def safe_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula; else unchanged.

    Non-text values (numbers, dates, missing) and text that is a plain number are returned as they are.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell (and the header) passed through :func:`safe_cell`.

    Numeric, boolean and datetime columns are kept as they are, with their dtype; the caller's
    frame is not changed.
    """
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series) \
                or pd.api.types.is_bool_dtype(series):
            continue
        out[col] = series.map(safe_cell).astype(series.dtype if pd.api.types.is_string_dtype(series) else object)
    out.columns = [safe_cell(str(c)) for c in out.columns]
    return out


def _atomic(path: Path, write) -> Path:
    from workbench.errors import environment_problem

    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise environment_problem(exc, str(path.parent)) from None
    return path


def write_csv(frame: pd.DataFrame, path: str | os.PathLike, *, encoding: str = "utf-8-sig",
              index: bool = False) -> Path:
    """Write ``frame`` as a spreadsheet-safe CSV at ``path`` and return the path.

    ``encoding`` defaults to UTF-8 with a byte-order mark, so that Excel shows Chinese text right.
    """
    safe = safe_frame(frame)
    # CRLF line ends (RFC 4180) make the csv writer quote any cell holding a CR or LF
    return _atomic(Path(path), lambda tmp: safe.to_csv(tmp, index=index, encoding=encoding, lineterminator="\r\n"))


def write_excel(frame: pd.DataFrame, path: str | os.PathLike, *, sheet_name: str = "data",
                index: bool = False) -> Path:
    """Write ``frame`` as a spreadsheet-safe ``.xlsx`` at ``path`` (needs openpyxl) and return the path."""
    safe = safe_frame(frame)
    return _atomic(Path(path), lambda tmp: safe.to_excel(tmp, index=index, sheet_name=sheet_name,
                                                         engine="openpyxl"))
