"""The period, comparison period and channels an analysis looks at, and the SQL conditions they imply."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Filters:
    """The period, the comparison period and the channels an analysis looks at."""

    start: dt.date
    end: dt.date
    channels: tuple[str, ...] = ()
    compare: str = "previous"
    compare_start: dt.date | None = None
    compare_end: dt.date | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def comparison(self) -> "Filters | None":
        """The same filters over the comparison period, or None when there is none."""
        if self.compare_start is None or self.compare_end is None:
            return None
        return replace(self, start=self.compare_start, end=self.compare_end,
                       compare_start=None, compare_end=None, compare="none")

    def bind(self, date_column: str = "order_date", channel_column: str | None = "channel",
             prefix: str = "") -> tuple[str, dict[str, object]]:
        """The period (and channel) condition with its values as bound parameters.

        Returns ``(sql, params)``: ``sql`` names ``$<prefix>start``, ``$<prefix>end`` and one
        ``$<prefix>c<i>`` per chosen channel; ``params`` holds their values. A ``prefix`` lets one
        statement hold the current and the comparison period side by side.
        """
        params: dict[str, object] = {f"{prefix}start": self.start, f"{prefix}end": self.end}
        cond = f"{date_column} BETWEEN ${prefix}start AND ${prefix}end"
        if channel_column and self.channels:
            names = [f"{prefix}c{i}" for i in range(len(self.channels))]
            params.update(dict(zip(names, self.channels)))
            cond += f" AND {channel_column} IN ({', '.join('$' + n for n in names)})"
        return cond, params



def compare_window(start: dt.date, end: dt.date, compare: str) -> tuple[dt.date | None, dt.date | None]:
    """The comparison window for a period: the same number of days before, or one year earlier."""
    if compare == "previous":
        n = (end - start).days + 1
        return start - dt.timedelta(days=n), start - dt.timedelta(days=1)
    if compare == "last_year":
        return start - dt.timedelta(days=364), end - dt.timedelta(days=364)  # same weekdays
    return None, None
