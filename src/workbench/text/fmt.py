"""Numbers written the way a reader writes them, in Chinese or English. The one place that formats numbers.

Every function takes a number and a language (``"zh"`` or ``"en"``) and returns text:

* a minus sign is the true minus (−), never a hyphen; a change always carries its sign;
* Chinese money and counts use 万 and 亿 ("−57.0 万元", "1.2 亿元"), English uses thousands and
  millions ("−¥570.0k", "¥1.20M");
* a range reads "−2.50 至 −2.19" in Chinese and "−2.50 to −2.19" in English;
* a missing or non-finite number is written "—" (a page never shows ``nan``).

:func:`value` dispatches on a *unit*, the vocabulary the results and the catalogue share:

=========  ==================================  ===================  =====================
unit       meaning                              zh                   en
=========  ==================================  ===================  =====================
share      a proportion 0–1                     93.1%                93.1%
change     a relative change (0.12 = +12%)      +12.0%               +12.0%
points     a difference of two shares           +1.2 个百分点         +1.2 points
money      CNY                                  −57.0 万元           −¥570.0k
count      a whole number                       12,345 / 1.2 万       12,345
number     a plain number (2 decimals)          2.50                 2.50
ratio      a ratio such as ROAS or odds ratio   1.85                 1.85
stars      a rating                             4.32 星              4.32 stars
days       a duration in days                   3.1 天               3.1 days
hours      a duration in hours                  5.2 小时             5.2 h
minutes    a duration in minutes                12.0 分钟            12.0 min
score      a score on −1..1 or similar          0.42                 0.42
=========  ==================================  ===================  =====================
"""

from __future__ import annotations

import math
from typing import Any

MINUS = "\u2212"
DASH = "—"

#: Units the formatter knows; results and catalogue placeholders use these names.
UNITS = ("share", "change", "points", "money", "count", "number", "ratio", "stars", "days", "hours", "minutes",
         "score")


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _signed(text: str, negative: bool, sign: bool, positive: bool) -> str:
    if negative:
        return MINUS + text
    if sign and positive:
        return "+" + text
    return text


def _num(x: float, digits: int, sign: bool = False, grouping: bool = True) -> str:
    body = f"{abs(x):,.{digits}f}" if grouping else f"{abs(x):.{digits}f}"
    rounded_zero = float(f"{abs(x):.{digits}f}") == 0
    return _signed(body, x < 0 and not rounded_zero, sign, x > 0 and not rounded_zero)


def percent(x: Any, lang: str = "zh", digits: int = 1, sign: bool = False) -> str:
    """A share or change as a percentage: ``0.931`` → "93.1%"; with ``sign`` "+12.0%"."""
    if not _finite(x):
        return DASH
    return _num(float(x) * 100, digits, sign) + "%"


def points(x: Any, lang: str = "zh", digits: int = 1) -> str:
    """A difference of two shares in percentage points: ``0.012`` → "+1.2 个百分点" / "+1.2 points"."""
    if not _finite(x):
        return DASH
    return _num(float(x) * 100, digits, sign=True) + (" 个百分点" if lang == "zh" else " points")


def count(x: Any, lang: str = "zh") -> str:
    """A whole number: "12,345"; from 100,000 up in Chinese "12.3 万", from 10^8 "1.23 亿"."""
    if not _finite(x):
        return DASH
    v = float(x)
    if lang == "zh" and abs(v) >= 1e8:
        return _num(v / 1e8, 2) + " 亿"
    if lang == "zh" and abs(v) >= 1e5:
        return _num(v / 1e4, 1) + " 万"
    return _num(round(v), 0)


def money(x: Any, lang: str = "zh", digits: int | None = None) -> str:
    """An amount in CNY: "−57.0 万元" / "−¥570.0k"; small amounts in full ("1,234 元" / "¥1,234")."""
    if not _finite(x):
        return DASH
    v = float(x)
    a = abs(v)
    if lang == "zh":
        if a >= 1e8:
            return _num(v / 1e8, 2 if digits is None else digits) + " 亿元"
        if a >= 1e4:
            return _num(v / 1e4, 1 if digits is None else digits) + " 万元"
        return _num(v, (0 if a >= 100 else 2) if digits is None else digits) + " 元"
    if a >= 1e6:
        body, unit = f"{a / 1e6:,.{2 if digits is None else digits}f}", "M"
    elif a >= 1e3:
        body, unit = f"{a / 1e3:,.{1 if digits is None else digits}f}", "k"
    else:
        body, unit = f"{a:,.{(0 if a >= 100 else 2) if digits is None else digits}f}", ""
    return (MINUS if v < 0 and float(body.replace(",", "")) != 0 else "") + "¥" + body + unit


def number(x: Any, lang: str = "zh", digits: int = 2, sign: bool = False) -> str:
    """A plain number with ``digits`` decimals and a true minus: "−2.50"."""
    if not _finite(x):
        return DASH
    return _num(float(x), digits, sign)


_SUFFIX = {
    "stars": (" 星", " stars", 2),
    "days": (" 天", " days", 1),
    "hours": (" 小时", " h", 1),
    "minutes": (" 分钟", " min", 1),
}


def value(x: Any, unit: str = "number", lang: str = "zh", digits: int | None = None, sign: bool = False) -> str:
    """``x`` written for its ``unit`` (see the table in the module's doc) in ``lang``."""
    if unit == "share":
        return percent(x, lang, 1 if digits is None else digits, sign)
    if unit == "change":
        return percent(x, lang, 1 if digits is None else digits, sign=True)
    if unit == "points":
        return points(x, lang, 1 if digits is None else digits)
    if unit == "money":
        return money(x, lang, digits)
    if unit == "count":
        return count(x, lang)
    if unit in _SUFFIX:
        zh, en, d = _SUFFIX[unit]
        text = number(x, lang, d if digits is None else digits, sign)
        return text if text == DASH else text + (zh if lang == "zh" else en)
    return number(x, lang, 2 if digits is None else digits, sign)


def bare(x: Any, unit: str = "number", lang: str = "zh", digits: int | None = None) -> str:
    """``x`` for its unit without a unit word (the bounds of a range carry it once, after the high end)."""
    if unit in ("share", "change"):
        return percent(x, lang, 1 if digits is None else digits, sign=unit == "change")
    if unit == "points":
        return number(float(x) * 100 if _finite(x) else x, lang, 1 if digits is None else digits, sign=True)
    if unit in _SUFFIX:
        return number(x, lang, _SUFFIX[unit][2] if digits is None else digits)
    if unit == "money":
        return money(x, lang, digits)
    if unit == "count":
        return count(x, lang)
    return number(x, lang, 2 if digits is None else digits)


def _money_span(low: float, high: float, lang: str, digits: int | None) -> str:
    """Both ends of a money range on one scale, the unit once: "95.98 至 179.00 元", "0.95 至 1.20 万元"."""
    a = max(abs(low), abs(high))
    if lang == "zh":
        scale, unit = (1e8, " 亿元") if a >= 1e8 else (1e4, " 万元") if a >= 1e4 else (1.0, " 元")
        d = digits if digits is not None else (2 if scale == 1e8 else 1 if scale == 1e4 else 0 if a >= 100 else 2)
        return f"{_num(low / scale, d)} 至 {_num(high / scale, d)}{unit}"
    scale, unit = (1e6, "M") if a >= 1e6 else (1e3, "k") if a >= 1e3 else (1.0, "")
    d = digits if digits is not None else (2 if scale == 1e6 else 1 if scale == 1e3 else 0 if a >= 100 else 2)

    def one(v: float) -> str:
        body = f"{abs(v) / scale:,.{d}f}"
        return (MINUS if v < 0 and float(body.replace(",", "")) != 0 else "") + "¥" + body + unit

    return f"{one(low)} to {one(high)}"


def span(low: Any, high: Any, unit: str = "number", lang: str = "zh", digits: int | None = None) -> str:
    """A range: "92.5% 至 93.7%" / "92.5% to 93.7%"; units such as 星 written once, after the high end;
    both ends of a money range on the scale of the larger ("0.95 至 1.20 万元")."""
    if not (_finite(low) and _finite(high)):
        return DASH
    if unit == "money":
        return _money_span(float(low), float(high), lang, digits)
    joiner = " 至 " if lang == "zh" else " to "
    tail = ""
    if unit in _SUFFIX:
        tail = _SUFFIX[unit][0] if lang == "zh" else _SUFFIX[unit][1]
    elif unit == "points":
        tail = " 个百分点" if lang == "zh" else " points"
    return bare(low, unit, lang, digits) + joiner + bare(high, unit, lang, digits) + tail


def level(level: float) -> str:
    """A confidence level as written in a sentence: 0.95 → "95%", 0.8 → "80%"."""
    return f"{level * 100:.0f}%" if abs(level * 100 - round(level * 100)) < 1e-9 else f"{level * 100:.1f}%"
