"""Figures of time and the calendar: mail per week and per covered hour by zone, the busiest
hours of the week, coverage of the calendar and credits against the optimum. From
ReportData, no queries."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from django.conf import settings

from people.names import display_name
from reports.period import Period
from reports.selectors import ReportData
from reports.tables import Chart, Column, Table, ratio
from shifts.models import ShiftRole
from shifts.rota import Slot, is_closed, slot_on
from shifts.selectors import zone_hours
from tickets.models.events import EventKind

HOUR = timedelta(hours=1)
OUTSIDE = "none"  # mail outside every zone's covered hours
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
Link = Callable[..., str]


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _zone_of_hour(slots: list[Slot]) -> dict[datetime, str]:
    """Each covered hour (by its start, UTC) and its zone."""
    out = {}
    for slot in slots:
        at = slot.starts_at
        while at < slot.ends_at:
            out[at] = slot.zone
            at += HOUR
    return out


def _in(period: Period, day: date) -> bool:
    return period.first <= day <= period.last


def _zones(data: ReportData) -> list[str]:
    codes = [z.code for z in data.zones]
    return [data.filters.zone] if data.filters.zone in codes else codes


def _mail(data: ReportData) -> list[tuple[date, int, str, str, int]]:
    """(local day, local hour, zone, kind, count) of each counted mail hour."""
    if "mail" not in data.memo:
        data.memo["mail"] = _mail_hours(data)
    return data.memo["mail"]


def _mail_hours(data: ReportData) -> list[tuple[date, int, str, str, int]]:
    zone_of = _zone_of_hour(data.cal.slots)
    out = []
    for hour, kind, n in data.mail_hours:
        local = hour.astimezone(data.tz)
        zone = zone_of.get(hour.astimezone(UTC), OUTSIDE)
        out.append((local.date(), local.hour, zone, kind, n))
    return out


def _covered(data: ReportData, period: Period) -> defaultdict[tuple[date, str], float]:
    """Covered hours per (week's Monday, zone) in the period."""
    out: defaultdict[tuple[date, str], float] = defaultdict(float)
    for slot in data.cal.slots:
        if _in(period, slot.day):
            out[_monday(slot.day), slot.zone] += (slot.ends_at - slot.starts_at) / HOUR
    return out


def volume_weeks(data: ReportData, link: Link) -> Table:
    period = data.period
    mails: Counter[tuple[date, str, str]] = Counter()
    for day, _, zone, kind, n in _mail(data):
        if _in(period, day):
            mails[_monday(day), zone, kind] += n
    covered = _covered(data, period)
    table = Table(
        "volume",
        "Mail per week and per covered hour, by zone",
        "Mail in (new tickets and replies) by the zone whose shift hours it arrived in; "
        f"“{OUTSIDE}” is mail outside every zone's hours.",
        [
            Column("week", "Week of"),
            Column("zone", "Zone"),
            Column("mails_in", "Mails in", "mails"),
            Column("tickets_opened", "Tickets opened", "tickets"),
            Column("covered_hours", "Covered hours", "h"),
            Column("mails_per_covered_hour", "Mails per covered hour", "mails/h"),
        ],
        chart=Chart("bar", "week", ("mails_in",), "Mails in", group="zone"),
    )
    week = _monday(period.first)
    zones = [*_zones(data), *([] if data.filters.zone else [OUTSIDE])]
    while week <= period.last:
        for zone in zones:
            got = (
                mails[week, zone, EventKind.MESSAGE_RECEIVED] + mails[week, zone, EventKind.OPENED]
            )
            hours = round(covered[week, zone], 1)
            table.rows.append(
                {
                    "week": week.isoformat(),
                    "zone": zone,
                    "mails_in": got,
                    "tickets_opened": mails[week, zone, EventKind.OPENED],
                    "covered_hours": hours,
                    "mails_per_covered_hour": round(got / hours, 2) if hours else None,
                }
            )
            if zone != OUTSIDE:
                last = min(week + timedelta(days=6), period.last)
                table.links[len(table.rows) - 1, "tickets_opened"] = link(
                    zone=zone, opened_from=max(week, period.first), opened_to=last
                )
        week += timedelta(days=7)
    return table


def volume_zones(data: ReportData, link: Link) -> Table:
    """Totals per zone for the period, with the previous period's rate to compare."""
    sums: Counter[tuple[str, str, str]] = Counter()
    for day, _, zone, kind, n in _mail(data):
        which = "now" if _in(data.period, day) else "before"
        sums[which, zone, kind] += n
    hours: defaultdict[tuple[str, str], float] = defaultdict(float)
    for slot in data.cal.slots:
        for which, period in (("now", data.period), ("before", data.previous)):
            if _in(period, slot.day):
                hours[which, slot.zone] += (slot.ends_at - slot.starts_at) / HOUR
    table = Table(
        "volume_zones",
        "Mails per covered hour by zone",
        f"{data.period.label}, compared with {data.previous.label}.",
        [
            Column("zone", "Zone"),
            Column("mails_in", "Mails in", "mails"),
            Column("tickets_opened", "Tickets opened", "tickets"),
            Column("covered_hours", "Covered hours", "h"),
            Column("mails_per_covered_hour", "Mails per covered hour", "mails/h"),
            Column("previous_mails_per_covered_hour", "Previous period", "mails/h"),
        ],
        chart=Chart(
            "bar",
            "zone",
            ("mails_per_covered_hour", "previous_mails_per_covered_hour"),
            "Mails per covered hour",
        ),
    )
    for zone in [*_zones(data), *([] if data.filters.zone else [OUTSIDE])]:

        def got(which: str, zone: str = zone) -> int:
            return (
                sums[which, zone, EventKind.OPENED] + sums[which, zone, EventKind.MESSAGE_RECEIVED]
            )

        now_h, before_h = round(hours["now", zone], 1), round(hours["before", zone], 1)
        table.rows.append(
            {
                "zone": zone,
                "mails_in": got("now"),
                "tickets_opened": sums["now", zone, EventKind.OPENED],
                "covered_hours": now_h,
                "mails_per_covered_hour": round(got("now") / now_h, 2) if now_h else None,
                "previous_mails_per_covered_hour": (
                    round(got("before") / before_h, 2) if before_h else None
                ),
            }
        )
        if zone != OUTSIDE:
            table.links[len(table.rows) - 1, "tickets_opened"] = link(
                zone=zone, opened_from=data.period.first, opened_to=data.period.last
            )
    return table


def busiest_hours(data: ReportData) -> Table:
    counts: Counter[tuple[int, int]] = Counter()
    for day, hour, zone, _, n in _mail(data):
        if _in(data.period, day) and (not data.filters.zone or zone == data.filters.zone):
            counts[day.weekday(), hour] += n
    hours = [f"h{h:02d}" for h in range(24)]
    table = Table(
        "busiest_hours",
        "Busiest hours of the week",
        f"Mails in per weekday and hour ({data.team.time_zone}), {data.period.label}.",
        [Column("weekday", "Weekday"), *(Column(h, f"{h[1:]}:00", "mails") for h in hours)],
        chart=Chart("heat", "weekday", tuple(hours), "Mails in"),
    )
    for weekday, name in enumerate(DAYS):
        table.rows.append({"weekday": name, **{h: counts[weekday, n] for n, h in enumerate(hours)}})
    return table


def coverage(data: ReportData) -> Table:
    """Covered / scheduled slots per zone and month: a slot is covered when a first-level
    shifter is booked on it; red slots are the rest; closed days have no slots."""
    period = data.period
    booked = {(b.zone_id, b.day) for b in data.bookings if b.role == ShiftRole.FIRST_LEVEL}
    table = Table(
        "coverage",
        "Coverage of the shift calendar",
        "Scheduled slots, those with a first-level shifter booked, red slots without one, and "
        "days closed, per zone and month.",
        [
            Column("month", "Month"),
            Column("zone", "Zone"),
            Column("scheduled", "Scheduled slots", "slots"),
            Column("covered", "Covered slots", "slots"),
            Column("coverage_pct", "Coverage", "%"),
            Column("red", "Red slots", "slots"),
            Column("closed", "Closed days", "days"),
        ],
        chart=Chart("bar", "month", ("coverage_pct",), "Coverage (%)", group="zone"),
    )
    rows: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"scheduled": 0, "covered": 0, "closed": 0}
    )
    for zone in data.zones:
        if data.filters.zone and zone.code != data.filters.zone:
            continue
        hours = zone_hours(zone)
        day = period.first
        while day <= period.last:
            if day.isoweekday() in hours.weekdays:
                row = rows[f"{day:%Y-%m}", zone.code]
                if is_closed(day, data.cal.closures):
                    row["closed"] += 1
                else:
                    row["scheduled"] += 1
                    row["covered"] += (zone.pk, day) in booked
            day += timedelta(days=1)
    for (month, zone_code), row in sorted(rows.items()):
        table.rows.append(
            {
                "month": month,
                "zone": zone_code,
                "scheduled": row["scheduled"],
                "covered": row["covered"],
                "coverage_pct": ratio(row["covered"], row["scheduled"]),
                "red": row["scheduled"] - row["covered"],
                "closed": row["closed"],
            }
        )
    return table


def credits(data: ReportData, now: datetime) -> Table:
    """Shifts per person in the period against the optimum (REPORTS_SHIFTS_OPTIMUM a year,
    scaled to the period). Only slots that have ended count, none on a closed day."""
    low, high = settings.REPORTS_SHIFTS_OPTIMUM
    scale = data.period.days / 365
    weights = settings.SHIFT_CREDIT_WEIGHTS
    zones = {z.pk: z for z in data.zones}
    per: dict[int, Counter[str]] = defaultdict(Counter)
    for b in data.bookings:
        if is_closed(b.day, data.cal.closures):
            continue
        if slot_on(zone_hours(zones[b.zone_id]), b.day, data.tz).ends_at > now:
            continue
        per[b.person_id][b.role] += 1
        per[b.person_id]["credit"] += int(weights[b.role])
    table = Table(
        "credits",
        "Shifts per person against the optimum",
        f"Credited shifts (first level {weights['first_level']} %, trainee "
        f"{weights['trainee']} %) against {low}\u2013{high} shifts a year, scaled to the period.",
        [
            Column("person", "Person"),
            Column("first_level", "First-level slots", "slots"),
            Column("trainee", "Trainee slots", "slots"),
            Column("shifts", "Credited shifts", "shifts"),
            Column("optimum_low", "Optimum from", "shifts"),
            Column("optimum_high", "Optimum to", "shifts"),
            Column("position", "Against the optimum"),
        ],
        chart=Chart("bar", "person", ("shifts", "optimum_high"), "Shifts"),
    )
    lo, hi = round(low * scale, 1), round(high * scale, 1)
    for pk, counts in sorted(
        per.items(), key=lambda item: (-item[1]["credit"], _name(data, item[0]))
    ):
        shifts = counts["credit"] / 100
        table.rows.append(
            {
                "person": _name(data, pk),
                "first_level": counts[ShiftRole.FIRST_LEVEL],
                "trainee": counts[ShiftRole.TRAINEE],
                "shifts": shifts,
                "optimum_low": lo,
                "optimum_high": hi,
                "position": "above" if shifts > hi else "below" if shifts < lo else "within",
            }
        )
    return table


def _name(data: ReportData, pk: int) -> str:
    person = data.people.get(pk)
    return display_name(person) if person else f"#{pk}"
