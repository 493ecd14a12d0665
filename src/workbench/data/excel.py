"""Recognise identifiers that a spreadsheet program damaged when an export was opened and saved again.

Platform exports write long order numbers as text (Taobao and Tmall wrap them as ``="…"`` or
prefix ``'``) because a spreadsheet stores numbers as doubles with 15 significant digits. When an
export is opened in Excel (or WPS, LibreOffice) and saved again as CSV, those ids become numbers:

``scientific``     written as ``1.23457E+18`` -- thousands of orders collapse into a handful;
``truncated``      cut to 15 significant digits, the rest zeros (``4032781562839200000``): different
                   orders share an id, or one order's lines split over several;
``wrapper``        the ``="…"`` or leading ``'`` kept as part of the value (the file was read as
                   text by a program that does not know the convention);
``decimal``        ids saved as decimal numbers (``4200000000000012345.0``, ``123456.0``): they no
                   longer match the same ids in other files, and long ones have lost digits;
``leading_zeros``  ids of a fixed width that lost their leading zeros (``00123`` became ``123``)
                   while others kept them.

:func:`detect_damaged_ids` is the one detector: the loader calls it on native tables
(``orders.order_id`` and the ids that point at it) and the importers on platform exports (order,
buyer and product ids), so both refuse the same damage with the same advice. :func:`suspect_sql`
is the cheap DuckDB test both run over a whole column first: values are read into Python only
when some look damaged. The damage cannot be repaired (the lost digits are
gone); the only fix is to export again and not save the file from a spreadsheet.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["EXPORT_AGAIN", "SIGNIFICANT_DIGITS", "DamagedIds", "detect_damaged_ids", "suspect_sql"]

#: A spreadsheet keeps this many significant digits of a number (IEEE double, as Excel shows it).
SIGNIFICANT_DIGITS = 15

_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
_DIGITS = re.compile(r"^\d+$")
_DIGITS_DOT_ZERO = re.compile(r"^(\d+)\.0+$")
_WRAPPED = re.compile(r'^(?:="[^"]*"|\'.+)$')
_DECIMAL = re.compile(r"^\d{6,}\.0+$")

#: The advice every finding ends with (how to export without the damage).
EXPORT_AGAIN = ("download the export again from the platform and use that file as it is; do not open "
                "and save it in Excel or WPS (they turn long order numbers into rounded numbers). If you "
                "must edit it, import the CSV in Excel with Data > From Text/CSV and set the id columns to "
                "Text, or save from the spreadsheet as .xlsx and import that")


@dataclass(frozen=True)
class DamagedIds:
    """What :func:`detect_damaged_ids` found: the kind of damage, how many values, examples.

    ``kind`` is ``scientific``, ``truncated``, ``decimal``, ``wrapper`` or ``leading_zeros``; ``count`` damaged
    values out of ``total`` non-empty ones; ``examples`` up to five damaged values as found;
    ``positions`` their 0-based positions in the values given (the caller turns them into line
    numbers). :attr:`message` and :attr:`fix` are the sentences for a report or an error.
    """

    kind: str
    count: int
    total: int
    examples: tuple[str, ...]
    positions: tuple[int, ...]

    @property
    def message(self) -> str:
        what = {
            "scientific": "are written in scientific notation (such as 1.23457E+18), as a spreadsheet "
                          "saves long numbers; many different orders then share one id",
            "truncated": f"were cut to {SIGNIFICANT_DIGITS} significant digits (the digits after the "
                         f"{SIGNIFICANT_DIGITS}th are all 0), as a spreadsheet saves long numbers; "
                         "different orders then share one id",
            "decimal": "were saved as decimal numbers (a .0 added), as a spreadsheet saves numbers; they no "
                       "longer match the same ids in other files",
            "wrapper": "still carry the spreadsheet text marker (=\"…\" or a leading ')",
            "leading_zeros": "lost their leading zeros (others of the same kind kept them), as a "
                             "spreadsheet saves numbers",
        }[self.kind]
        shown = ", ".join(repr(e) for e in self.examples[:3])
        return f"{self.count:,} of {self.total:,} ids {what}; e.g. {shown}"

    @property
    def fix(self) -> str:
        return EXPORT_AGAIN


def _text(value: object) -> str | None:
    """A value as the text a file would hold; None for an empty or missing one."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return str(value)
        if value.is_integer():
            return str(int(value))
        return repr(value)
    text = str(value).strip()
    return text or None


def detect_damaged_ids(values: Iterable[object]) -> DamagedIds | None:
    """Check a column of identifiers for spreadsheet damage; return a :class:`DamagedIds` or None.

    ``values``: the ids as read (strings, or numbers when a reader parsed them; a pandas Series
    works), empty and missing values are skipped. Call it after removing a platform's own text
    wrappers (Taobao's ``="…"``): any that remain are reported as ``wrapper``. The rules:

    - ``scientific``: any value like ``1.23457E+18`` (ids are never written that way);
    - ``truncated``: all-digit ids longer than 15 digits of which at least half end in zeros from
      the 16th digit on (random ids do so once in ten thousand, damaged ones always), or a number
      of 16 digits or more passed as a float (its digits are already lost);
    - ``decimal``: all-digit ids of six digits or more followed by ``.0`` (as the file holds them);
    - ``wrapper``: values that are ``="…"`` or start with ``'``;
    - ``leading_zeros``: all-digit ids of which some start with 0 at a fixed width while others of
      the same scheme are shorter (only when at least a tenth are zero-led, so 1, 2, … 10 is fine).

    The first rule that applies is returned (long floats, scientific, truncated, decimal, wrapper,
    leading_zeros).
    """
    texts: list[tuple[int, str]] = []
    float_long: list[int] = []
    decimals: list[tuple[int, str]] = []
    for i, v in enumerate(values):
        if isinstance(v, float) and not math.isnan(v) and v.is_integer() and abs(v) >= 1e15:
            float_long.append(i)
        t = _text(v)
        if t is not None:
            if _DECIMAL.match(t):
                decimals.append((i, t))
            m = _DIGITS_DOT_ZERO.match(t)
            texts.append((i, m.group(1) if m and len(m.group(1)) > SIGNIFICANT_DIGITS else t))
    total = len(texts)
    if not total:
        return None

    def found(kind: str, hits: list[tuple[int, str]]) -> DamagedIds:
        return DamagedIds(kind, len(hits), total, tuple(t for _, t in hits[:5]), tuple(i for i, _ in hits[:5]))

    if float_long:  # a reader already made them doubles: the digits after the 15th are gone
        where = set(float_long)
        return found("truncated", [(i, t) for i, t in texts if i in where])
    sci = [(i, t) for i, t in texts if _SCIENTIFIC.match(t)]
    if sci:
        return found("scientific", sci)
    long_digits = [(i, t) for i, t in texts if _DIGITS.match(t) and len(t) > SIGNIFICANT_DIGITS]
    cut = [(i, t) for i, t in long_digits if set(t[SIGNIFICANT_DIGITS:]) == {"0"}]
    if cut and len(cut) * 2 >= len(long_digits):
        return found("truncated", cut)
    if decimals:
        return found("decimal", decimals)
    wrapped = [(i, t) for i, t in texts if _WRAPPED.match(t)]
    if wrapped:
        return found("wrapper", wrapped)
    digits = [(i, t) for i, t in texts if _DIGITS.match(t)]
    zero_led = [t for _, t in digits if len(t) > 1 and t.startswith("0")]
    if zero_led and len(zero_led) * 10 >= len(digits):
        width = Counter(len(t) for t in zero_led).most_common(1)[0][0]
        short = [(i, t) for i, t in digits if len(t) < width and not t.startswith("0")]
        if short:
            return found("leading_zeros", short)
    return None


def suspect_sql(text: str) -> str:
    """A DuckDB condition on the text expression ``text``: TRUE where a value may be spreadsheet damage
    (scientific notation, 16 digits or more, a ``.0`` after six digits or more, a ``="`` or ``'`` marker,
    a leading zero). Cheap over millions of rows; :func:`detect_damaged_ids` decides on the values."""
    return (f"(regexp_matches({text}, '^[+-]?[0-9]+([.,][0-9]+)?[eE][+-]?[0-9]+$') "
            f"OR regexp_matches({text}, '^[0-9]{{{SIGNIFICANT_DIGITS + 1},}}(\\.0+)?$') "
            f"OR regexp_matches({text}, '^[0-9]{{6,}}\\.0+$') "
            f"OR regexp_matches({text}, '^(=\"|'')') OR regexp_matches({text}, '^0[0-9]+$'))")
