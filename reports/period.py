"""The period a report covers, and the one before it to compare with. Pure.

Kinds: ``4weeks`` (default: the 28 days up to today, against the 28 before), ``week`` (ISO,
Monday first), ``month``, ``quarter``, ``year`` (the one holding ``anchor``) and ``custom``
(``first``..``last``, compared with as many days before)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

KINDS = ("4weeks", "week", "month", "quarter", "year", "custom")


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    kind: str
    first: date  # local dates, both included
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def start(self, tz: ZoneInfo) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=tz).astimezone(UTC)

    def end(self, tz: ZoneInfo) -> datetime:
        """The instant after the period: midnight ending its last day."""
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.first:%B %Y}"
        if self.kind == "year":
            return f"{self.first:%Y}"
        if self.kind == "quarter":
            return f"Q{(self.first.month - 1) // 3 + 1} {self.first:%Y}"
        return f"{self.first:%d %b %Y} \u2013 {self.last:%d %b %Y}"


def _month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def period_of(
    kind: str, anchor: date, first: date | None = None, last: date | None = None
) -> tuple[Period, Period]:
    """(period, previous) for ``kind`` around ``anchor`` (today by default, the caller's)."""
    if kind not in KINDS:
        raise PeriodError(f"“{kind}” is not a period ({', '.join(KINDS)}).")
    if kind == "custom":
        if first is None or last is None:
            raise PeriodError("A custom period needs “from” and “to”.")
        if first > last:
            raise PeriodError("“from” is after “to”.")
        if (last - first).days > 366 * 2:
            raise PeriodError("A custom period is at most two years.")
        span = last - first + timedelta(days=1)
        return Period(kind, first, last), Period(kind, first - span, first - timedelta(days=1))
    if kind == "4weeks":
        current = Period(kind, anchor - timedelta(days=27), anchor)
        return current, Period(
            kind, current.first - timedelta(days=28), current.first - timedelta(days=1)
        )
    if kind == "week":
        monday = anchor - timedelta(days=anchor.weekday())
        current = Period(kind, monday, monday + timedelta(days=6))
        return current, Period(kind, monday - timedelta(days=7), monday - timedelta(days=1))
    months = {"month": 1, "quarter": 3, "year": 12}[kind]
    start = _month_start(anchor)
    start = _month_start(start, (start.month - 1) % months)
    after = _month_start(start, -months)
    before = _month_start(start, months)
    return (
        Period(kind, start, after - timedelta(days=1)),
        Period(kind, before, start - timedelta(days=1)),
    )
