"""The text forms of a working calendar: its days ("12345"), its holidays (one date or
range a line) and how people read it ("Mon-Fri 08:00-16:00 Europe/Zurich"). Pure: no ORM."""

from __future__ import annotations

from datetime import date, time, timedelta

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MIDNIGHT = time(0)


class CalendarTextError(ValueError):
    """Input a person typed that cannot be read; the message says which line and why."""


def day_length(starts_at: time, ends_at: time) -> timedelta:
    """Working time a day: an end of 00:00 is midnight, the end of the day."""
    start = timedelta(hours=starts_at.hour, minutes=starts_at.minute)
    end = (
        timedelta(days=1)
        if ends_at == MIDNIGHT
        else timedelta(hours=ends_at.hour, minutes=ends_at.minute)
    )
    return end - start


def parse_holidays(text: str) -> tuple[tuple[date, date], ...]:
    """``2026-12-24`` or ``2026-12-24..2027-01-02`` (both days included), one a line or
    separated by commas; ``#`` starts a comment."""
    found: list[tuple[date, date]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for item in line.split("#", 1)[0].split(","):
            item = item.strip()
            if not item:
                continue
            first_text, _, last_text = item.partition("..")
            try:
                first = date.fromisoformat(first_text.strip())
                last = date.fromisoformat(last_text.strip()) if last_text else first
            except ValueError:
                raise CalendarTextError(
                    f"line {number}: {item!r} is not a date (YYYY-MM-DD) or a range "
                    "(YYYY-MM-DD..YYYY-MM-DD)"
                ) from None
            if last < first:
                raise CalendarTextError(f"line {number}: {item!r} ends before it starts")
            found.append((first, last))
    return tuple(sorted(found))


def weekdays_label(weekdays: str) -> str:
    """ "12345" -> "Mon-Fri" (an en dash); "1357" -> "Mon, Wed, Fri, Sun"."""
    days = sorted({int(d) for d in weekdays})
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{DAY_NAMES[days[0] - 1]}\u2013{DAY_NAMES[days[-1] - 1]}"
    return ", ".join(DAY_NAMES[d - 1] for d in days)


def hours_label(starts_at: time, ends_at: time) -> str:
    end = "24:00" if ends_at == MIDNIGHT else f"{ends_at:%H:%M}"
    return f"{starts_at:%H:%M}\u2013{end}"
