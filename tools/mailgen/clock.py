"""Time arithmetic on integer UTC seconds: zones, shift hours, header date formats.

Zone rules are written out here rather than read from the system's tz database so that the same
seed gives the same bytes on every machine, whatever tzdata it has.
"""

from __future__ import annotations

import bisect
import datetime as dt
import time
from random import Random

DAY = 86_400
HOUR = 3_600
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# zone key -> (standard offset in minutes, daylight-saving rule)
ZONES: dict[str, tuple[int, str]] = {
    "eu": (60, "eu"),  # Geneva, Paris, Berlin, ...
    "uk": (0, "eu"),
    "eet": (120, "eu"),  # Athens, Tel Aviv (near enough)
    "tr": (120, "tr"),
    "msk": (180, "msk"),
    "us_east": (-300, "us"),
    "us_central": (-360, "us"),
    "us_pacific": (-480, "us"),
    "jst": (540, "none"),
    "cn": (480, "none"),
    "utc": (0, "none"),
    "brt": (-180, "none"),
}

_TR_PERMANENT_DST = 1_473_206_400  # 2016-09-07: Turkey stays on +03
_MSK_WINTER_2011 = 1_301_180_400  # 2011-03-27: Moscow moves to +04 all year
_MSK_BACK_2014 = 1_414_274_400  # 2014-10-26: back to +03 all year


def day_index(date: dt.date) -> int:
    return date.toordinal() - _EPOCH_ORDINAL


def _sunday_on_or_before(day: int) -> int:
    return day - (day + 4) % 7  # 1970-01-01 was a Thursday; (day + 4) % 7 == 0 on Sundays


_dst_cache: dict[tuple[str, int, int], tuple[int, int]] = {}


def _dst_interval(rule: str, std: int, year: int) -> tuple[int, int]:
    key = (rule, std, year)
    interval = _dst_cache.get(key)
    if interval is None:
        if rule == "us":  # second Sunday of March to first Sunday of November, 02:00 local
            march_8 = day_index(dt.date(year, 3, 8))
            begin_day = march_8 + (-(march_8 + 4)) % 7
            nov_1 = day_index(dt.date(year, 11, 1))
            end_day = nov_1 + (-(nov_1 + 4)) % 7
            interval = (begin_day * DAY + 2 * HOUR - std * 60, end_day * DAY + HOUR - std * 60)
        else:  # EU: last Sunday of March to last Sunday of October, 01:00 UTC
            begin_day = _sunday_on_or_before(day_index(dt.date(year, 3, 31)))
            end_day = _sunday_on_or_before(day_index(dt.date(year, 10, 31)))
            interval = (begin_day * DAY + HOUR, end_day * DAY + HOUR)
        _dst_cache[key] = interval
    return interval


_YEAR_STARTS = tuple(day_index(dt.date(year, 1, 1)) * DAY for year in range(1970, 2101))


def _year_of(ts: int) -> int:
    # A bisect on Jan 1 instants: several times cheaper than time.gmtime in this hot path.
    return 1969 + bisect.bisect_right(_YEAR_STARTS, ts)


def offset_minutes(zone: str, ts: int) -> int:
    """The UTC offset, in minutes, of `zone` at instant `ts`."""
    std, rule = ZONES[zone]
    if rule == "none":
        return std
    if rule == "tr" and ts >= _TR_PERMANENT_DST:
        return 180
    if rule == "msk":
        if _MSK_WINTER_2011 <= ts < _MSK_BACK_2014:
            return 240
        if ts >= _MSK_BACK_2014:
            return 180
    begin, end = _dst_interval("us" if rule == "us" else "eu", std, _year_of(ts))
    return std + 60 if begin <= ts < end else std


def local_to_utc(zone: str, local_seconds: int) -> int:
    """Naive local seconds since the epoch to UTC; off by an hour only inside DST changes."""
    guess = local_seconds - ZONES[zone][0] * 60
    return local_seconds - offset_minutes(zone, guess) * 60


def weekday_hour(zone: str, ts: int) -> tuple[int, int]:
    """(weekday with Monday 0, hour) of instant `ts` on the wall clocks of `zone`."""
    local = ts + offset_minutes(zone, ts) * 60
    return (local // DAY + 3) % 7, local // HOUR % 24


_tz_cache: dict[int, dt.timezone] = {}


def aware(ts: int, zone: str) -> dt.datetime:
    minutes = offset_minutes(zone, ts)
    tz = _tz_cache.get(minutes)
    if tz is None:
        tz = _tz_cache[minutes] = dt.timezone(dt.timedelta(minutes=minutes))
    return dt.datetime.fromtimestamp(ts, tz)


_TWO = tuple(f"{i:02d}" for i in range(100))  # table lookups beat :02d format specs


def numeric_zone(minutes: int) -> str:
    hours, mins = divmod(abs(minutes), 60)
    return f"{'+' if minutes >= 0 else '-'}{hours:02d}{mins:02d}"


_ZONE_NAMES = {m: numeric_zone(m) for m in range(-720, 841, 30)}


def rfc5322_date(ts: int, minutes: int) -> str:
    """'Mon, 27 Oct 2008 10:12:33 +0100', built by hand: strftime depends on the locale."""
    t = time.gmtime(ts + minutes * 60)
    two = _TWO
    zone = _ZONE_NAMES.get(minutes) or numeric_zone(minutes)
    return (
        f"{_WEEKDAYS[t.tm_wday]}, {t.tm_mday} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{two[t.tm_hour]}:{two[t.tm_min]}:{two[t.tm_sec]} {zone}"
    )


def asctime(ts: int) -> str:
    """C asctime() of a UTC instant, as mbox 'From ' lines carry it."""
    t = time.gmtime(ts)
    two = _TWO
    return (
        f"{_WEEKDAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} "
        f"{two[t.tm_hour]}:{two[t.tm_min]}:{two[t.tm_sec]} {t.tm_year}"
    )


def attribution_date(ts: int, minutes: int, style: str) -> str:
    """The date in a quote's 'On ..., X wrote:' line, the way each mail client spells it."""
    t = time.gmtime(ts + minutes * 60)
    wd, mon = _WEEKDAYS[t.tm_wday], _MONTHS[t.tm_mon - 1]
    if style == "gmail":
        hour12 = t.tm_hour % 12 or 12
        ampm = "AM" if t.tm_hour < 12 else "PM"
        return f"{wd}, {mon} {t.tm_mday}, {t.tm_year} at {hour12}:{t.tm_min:02d} {ampm}"
    if style == "apple":
        return f"{t.tm_mday} {mon} {t.tm_year}, at {t.tm_hour:02d}:{t.tm_min:02d}"
    if style == "mutt":
        sign = "+" if minutes >= 0 else "-"
        hours, mins = divmod(abs(minutes), 60)
        return (
            f"{wd}, {mon} {t.tm_mday:02d}, {t.tm_year} at {t.tm_hour:02d}:{t.tm_min:02d}:"
            f"{t.tm_sec:02d}{sign}{hours:02d}{mins:02d}"
        )
    if style == "outlook":
        return f"{wd} {t.tm_mday} {mon} {t.tm_year} {t.tm_hour:02d}:{t.tm_min:02d}"
    return f"{t.tm_mday:02d}/{t.tm_mon:02d}/{t.tm_year} {t.tm_hour:02d}:{t.tm_min:02d}"


_LONG_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def human_date(ts: int) -> str:
    """'12 March 2014', for out-of-office notes."""
    t = time.gmtime(ts)
    return f"{t.tm_mday} {_LONG_MONTHS[t.tm_mon - 1]} {t.tm_year}"


# Relative weight of each local hour for mail written by people at work.
_WORK_HOURS = (1, 1, 0, 0, 0, 0, 1, 3, 8, 12, 14, 14, 10, 11, 14, 14, 13, 10, 7, 5, 4, 4, 3, 2)
_WORK_CUMULATIVE = tuple(sum(_WORK_HOURS[: i + 1]) for i in range(24))


def working_hour(rng: Random) -> int:
    """A local hour drawn from office-day habits: busy 9-17, some evenings, rare nights."""
    x = rng.random() * _WORK_CUMULATIVE[-1]
    for hour, limit in enumerate(_WORK_CUMULATIVE):
        if x < limit:
            return hour
    return 23


def nudge_into_day(
    ts: int, zone: str, rng: Random, weekend_ok: float, first: int, last: int
) -> int:
    """Move `ts` to the next local day-time window [first, last) unless it is already in it.

    People answer in their waking hours; on weekends only with probability `weekend_ok`.
    """
    weekday, hour = weekday_hour(zone, ts)
    if first <= hour < last and (weekday < 5 or rng.random() < weekend_ok):
        return ts
    offset = offset_minutes(zone, ts) * 60
    day = (ts + offset) // DAY
    if hour >= first:
        day += 1
    while (day + 3) % 7 >= 5 and rng.random() >= weekend_ok:
        day += 1
    local = day * DAY + first * HOUR + int(rng.random() * 2.5 * HOUR)
    return max(ts, local - offset)


def next_covered(ts: int, rng: Random) -> int:
    """The first instant at or after `ts` in DAST shift hours: 08:00-24:00 Geneva, Mon-Fri."""
    weekday, hour = weekday_hour("eu", ts)
    if weekday < 5 and hour >= 8:
        return ts
    offset = offset_minutes("eu", ts) * 60
    day = (ts + offset) // DAY
    if weekday >= 5:
        day += 1
    while (day + 3) % 7 >= 5:
        day += 1
    # Shifters open the queue some minutes into their shift, not on the stroke of eight.
    return max(ts, day * DAY + 8 * HOUR - offset + int(rng.random() * 100 * 60))


def shift_zone(ts: int) -> str:
    """'EU' during the 08-16 Geneva shift, 'NA' during 16-24, 'EU' otherwise (keen shifters)."""
    _, hour = weekday_hour("eu", ts)
    return "NA" if 16 <= hour < 24 else "EU"
