"""Figures of time and the calendar: mail per week and per covered hour by zone, the busiest
hours of the week, coverage of the calendar and credits against the optimum. From
ReportData, no queries."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.conf import settings

from people.names import display_name
from reports.aggregates import OUTSIDE
from reports.period import Period
from reports.selectors import ReportData
from reports.tables import Chart, Column, Table, ratio
from shifts.models import ShiftRole
from shifts.rota import is_closed, slot_on
from shifts.selectors import zone_hours
from tickets.forms import span_value
from tickets.models.events import EventKind

ALL = "all"  # volume_zones' row of every zone and every hour
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
Link = Callable[..., str]


def tickets_link(
    data: ReportData, link: Link, period: Period | None, *, scoped: bool = True, **extra: object
) -> str:
    """The queue of the tickets opened in ``period`` (its team days, as two instants: the
    same tickets whatever the viewer's time zone; None: whenever) that a figure counts
    (reports.queue_filter): ``scoped``, narrowed by the page's filters as the rollups'
    figures are; ``extra``, the figure's own."""
    filters: dict[str, object] = {}
    if scoped:
        f = data.filters
        filters = {"counted_zone": f.zone, "category": f.category, "counted_shifter": f.shifter}
    if period is not None:
        filters["opened_during"] = span_value(period.start(data.tz), period.end(data.tz))
    return link(**{**filters, **extra})


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _zones(data: ReportData) -> list[str]:
    codes = [z.code for z in data.zones]
    return [data.filters.zone] if data.filters.zone in codes else codes


def volume_weeks(data: ReportData, link: Link) -> Table:
    period = data.period
    mails = data.mail.weeks
    table = Table(
        "volume",
        "Mail per week and per covered hour, by zone",
        "Mail in (new tickets, replies, and answers posted on the list rather than through "
        "the desk) by the zone whose shift hours it arrived in; "
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
            opened = mails["now", week, zone, EventKind.OPENED]
            got = mails["now", week, zone, EventKind.MESSAGE_RECEIVED] + opened
            hours = round(float(data.covered["now", week, zone]), 1)
            table.rows.append(
                {
                    "week": week.isoformat(),
                    "zone": zone,
                    "mails_in": got,
                    "tickets_opened": opened,
                    "covered_hours": hours,
                    "mails_per_covered_hour": round(got / hours, 2) if hours else None,
                }
            )
            # Mail counts every opening, whatever the page's filters: so does its link.
            days = Period(
                "custom", max(week, period.first), min(week + timedelta(days=6), period.last)
            )
            table.links[len(table.rows) - 1, "tickets_opened"] = tickets_link(
                data, link, days, scoped=False, opened_in_shift=zone
            )
        week += timedelta(days=7)
    return table


def volume_totals(data: ReportData, which: str) -> tuple[int, int, float | None, float]:
    """Mails in, tickets opened and mails per covered hour of the period (``now``) or the one
    before: volume_zones' "all" row (every mail, also those outside the zones' hours, over
    the zones' covered hours), or the filtered zone's row."""
    zones = [z.code for z in data.zones]
    if data.filters.zone in zones:
        zones = [data.filters.zone]
    shown = {*zones, *([] if data.filters.zone else [OUTSIDE])}
    mails = opened = 0
    for (when, _, zone, kind), n in data.mail.weeks.items():
        if when != which or zone not in shown:
            continue
        mails += n
        opened += n if kind == EventKind.OPENED else 0
    covered = round(sum(round(float(data.covered[which, zone]), 1) for zone in zones), 1)
    return mails, opened, round(mails / covered, 2) if covered else None, covered


def volume_zones(data: ReportData, link: Link) -> Table:
    """Totals per zone for the period, with the previous period's rate to compare."""
    sums: Counter[tuple[str, str, str]] = Counter()
    for (which, _, zone, kind), n in data.mail.weeks.items():
        sums[which, zone, kind] += n
    hours = data.covered
    table = Table(
        "volume_zones",
        "Mails per covered hour by zone",
        f"{data.period.label}, compared with {data.previous.label}. Each zone: the mail in "
        f"its own shift hours over them; “{OUTSIDE}”: mail outside every zone's hours; "
        f"“{ALL}”: every mail, whenever it came, over all the zones' covered hours.",
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

        now_h = round(float(hours["now", zone]), 1)
        before_h = round(float(hours["before", zone]), 1)
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
        table.links[len(table.rows) - 1, "tickets_opened"] = tickets_link(
            data, link, data.period, scoped=False, opened_in_shift=zone
        )
    if not data.filters.zone:
        # Every mail, whenever it came (mail at night waits for the next covered hour), over
        # the zones' covered hours: the load of a covered hour, as DAST's shift reports count.
        now, before = volume_totals(data, "now"), volume_totals(data, "before")
        table.rows.append(
            {
                "zone": ALL,
                "mails_in": now[0],
                "tickets_opened": now[1],
                "covered_hours": now[3],
                "mails_per_covered_hour": now[2],
                "previous_mails_per_covered_hour": before[2],
            }
        )
        table.links[len(table.rows) - 1, "tickets_opened"] = tickets_link(
            data, link, data.period, scoped=False
        )
    return table


def busiest_hours(data: ReportData) -> Table:
    counts: Counter[tuple[int, int]] = Counter()
    for (which, weekday, hour, zone), n in data.mail.hours.items():
        if which == "now" and (not data.filters.zone or zone == data.filters.zone):
            counts[weekday, hour] += n
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
