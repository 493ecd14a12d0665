"""Five-field cron expressions, evaluated in an explicit time zone.

``minute hour day-of-month month day-of-week``, each ``*``, a number, a range ``a-b``, a step
``*/n`` or ``a-b/n``, or a comma-separated list of those; months and weekdays also by English
three-letter names (``jan``, ``mon``); day of week 0 or 7 is Sunday. As in Vixie cron, when both
day-of-month and day-of-week are restricted, a day matches if either does. The shortcuts
``@hourly``, ``@daily``/``@midnight``, ``@weekly``, ``@monthly`` and ``@yearly`` are accepted.

:func:`previous` answers the question a catch-up scheduler asks: the latest fire time at or
before a moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workbench.errors import ParameterError

MONTHS = {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}
DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
SHORTCUTS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
             "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *"}
FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}), ("month", 1, 12, MONTHS),
          ("day of week", 0, 7, DAYS))
LOOKBACK_DAYS = 400


@dataclass(frozen=True)
class Cron:
    """A parsed expression: the allowed values of each field (day of week 0-6, Sunday 0)."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    def day_matches(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return dow
        if self.any_weekday:
            return dom
        return dom or dow


def _value(token: str, lo: int, hi: int, names: dict[str, int], field: str, text: str) -> int:
    token = token.strip().lower()
    if token in names:
        return names[token]
    if not token.isdigit():
        raise ParameterError(f"cron {text!r}: {field} value {token!r} is not a number")
    v = int(token)
    if not lo <= v <= hi:
        raise ParameterError(f"cron {text!r}: {field} value {v} is outside {lo}-{hi}")
    return v


def _field(part: str, lo: int, hi: int, names: dict[str, int], field: str, text: str) -> set[int]:
    out: set[int] = set()
    for item in part.split(","):
        rng, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ParameterError(f"cron {text!r}: step {step_text!r} in the {field} field must be a positive number")
            step = int(step_text)
        if rng == "*":
            a, b = lo, hi
        elif "-" in rng:
            first, _, last = rng.partition("-")
            a, b = _value(first, lo, hi, names, field, text), _value(last, lo, hi, names, field, text)
            if a > b:
                raise ParameterError(f"cron {text!r}: range {rng!r} in the {field} field runs backwards")
        else:
            a = _value(rng, lo, hi, names, field, text)
            b = hi if step_text else a
        out.update(range(a, b + 1, step))
    return out


def parse(text: str) -> Cron:
    """The :class:`Cron` of ``text``; :class:`~workbench.errors.ParameterError` naming the bad field."""
    expr = SHORTCUTS.get(str(text).strip().lower(), str(text).strip())
    parts = expr.split()
    if len(parts) != 5:
        raise ParameterError(f"cron {text!r} must have five fields: minute hour day-of-month month day-of-week "
                             "(e.g. \"30 2 * * *\" for 02:30 every day)")
    sets = [_field(p, lo, hi, names, name, str(text)) for p, (name, lo, hi, names) in zip(parts, FIELDS)]
    weekdays = frozenset(d % 7 for d in sets[4])
    return Cron(str(text), frozenset(sets[0]), frozenset(sets[1]), frozenset(sets[2]), frozenset(sets[3]), weekdays,
                any_day=parts[2] == "*", any_weekday=parts[4] == "*")


def zone(name: str) -> ZoneInfo:
    """The time zone ``name`` (IANA, e.g. ``Asia/Shanghai``); ParameterError when unknown."""
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ParameterError(f"unknown time zone {name!r}: use an IANA name such as Asia/Shanghai") from None


def previous(cron: Cron, at: dt.datetime, tz: ZoneInfo) -> dt.datetime | None:
    """The latest fire time of ``cron`` at or before ``at`` (aware), in ``tz``; None within 400 days.

    Local times that do not exist (skipped by a daylight-saving change) are not fire times; an
    ambiguous local time fires once, at its first occurrence.
    """
    local = at.astimezone(tz)
    day = local.date()
    for _ in range(LOOKBACK_DAYS):
        if cron.day_matches(day):
            for hour in sorted(cron.hours, reverse=True):
                for minute in sorted(cron.minutes, reverse=True):
                    naive = dt.datetime.combine(day, dt.time(hour, minute))
                    cand = naive.replace(tzinfo=tz, fold=0)
                    # a skipped local time does not round-trip through UTC
                    if cand.astimezone(dt.timezone.utc).astimezone(tz).replace(tzinfo=None) != naive:
                        continue
                    if cand <= local:
                        return cand
        day -= dt.timedelta(days=1)
    return None


def following(cron: Cron, after: dt.datetime, tz: ZoneInfo) -> dt.datetime | None:
    """The first fire time of ``cron`` strictly after ``after`` (aware), in ``tz``; None within 400 days."""
    local = after.astimezone(tz)
    day = local.date()
    for _ in range(LOOKBACK_DAYS):
        if cron.day_matches(day):
            for hour in sorted(cron.hours):
                for minute in sorted(cron.minutes):
                    naive = dt.datetime.combine(day, dt.time(hour, minute))
                    cand = naive.replace(tzinfo=tz, fold=0)
                    if cand.astimezone(dt.timezone.utc).astimezone(tz).replace(tzinfo=None) != naive:
                        continue
                    if cand > local:
                        return cand
        day += dt.timedelta(days=1)
    return None
