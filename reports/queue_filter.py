"""The queue's filters of the reports (registered in ReportsConfig.ready()): the tickets a
figure counts, read from the reports' own rollups, so that every number on /reports/ opens
the queue with as many tickets.

- "Names site": the tickets whose opening mail names a site, as the incident figures count
  them (the rollup's sites, each resolved through the site directories' aliases to one name).
- "Opened during": two instants (the period as the team's days bound it, whoever looks);
  "Opened in the shift of": the zone whose covered hour the first mail came in (as the mail
  figures count it: the team's calendar, closures left out; "none": outside every zone's
  hours); "Zone / Shifter as counted": the rollup's zone (the one that took the ticket) and
  shifter (the first answer's author, else the owner); "Counted as": answered, resolved,
  reopened, merged, ... as the time and rate figures count them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.db import connection
from django.db.models import Q, QuerySet

from people.models import Team
from reports.aggregates import HOUR, OUTSIDE, age_bucket, zone_of_hour
from reports.calendars import team_calendar
from reports.models import TicketFigures
from reports.rollup import DONE, OPEN, status_at
from tickets.forms import SpanField
from tickets.models import Ticket


def fields(teams: Sequence[Team]) -> dict[str, forms.Field]:
    return {
        "names_site": forms.CharField(
            required=False, max_length=120, label="Names site", help_text="As the reports name it."
        )
    }


def narrow(tickets: QuerySet[Ticket], data: dict[str, Any]) -> QuerySet[Ticket]:
    site = data["names_site"].strip()
    if connection.vendor == "postgresql":
        return tickets.filter(figures__sites__contains=[site])
    # SQLite (make run) has no JSON containment: the few rows naming it, read here.
    rows = TicketFigures.objects.filter(sites__icontains=site).values_list("ticket_id", "sites")
    return tickets.filter(pk__in=[pk for pk, sites in rows if site in (sites or [])])


# "Counted as" -> the rollups it keeps. The time figures leave merged tickets out.
COUNTED: dict[str, tuple[str, Q]] = {
    "timed": ("Timed (not merged)", Q(merged=False)),
    "answered": ("Answered", Q(merged=False, first_response_s__isnull=False)),
    "unanswered": ("Not answered yet", Q(merged=False, first_response_s__isnull=True)),
    "resolved": ("Resolved", Q(merged=False, resolution_s__isnull=False)),
    "unresolved": ("Not resolved yet", Q(merged=False, resolution_s__isnull=True)),
    "reopened": ("Reopened", Q(reopen_count__gt=0)),
    "merged": ("Merged", Q(merged=True)),
}


def _zone(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(required=False, max_length=8, label=label, help_text=help_text)


def counted_fields(teams: Sequence[Team]) -> dict[str, forms.Field]:
    return {
        "opened_during": SpanField(
            required=False,
            label="Opened during",
            help_text="Two instants, start/end (ISO 8601, UTC): as the reports count a period.",
        ),
        "opened_in_shift": _zone(
            "Opened in the shift of",
            "A zone (“none”: outside every zone's hours), as the reports count mail.",
        ),
        "counted_zone": _zone(
            "Zone as counted",
            "The zone that took the ticket when it opened, as the reports count it.",
        ),
        "counted_shifter": forms.IntegerField(
            required=False,
            min_value=1,
            label="Shifter as counted",
            help_text="A person's id: the first answer's author, else the owner.",
        ),
        "counted": forms.ChoiceField(
            required=False,
            label="Counted as",
            choices=[("", "Any"), *((k, label) for k, (label, _) in COUNTED.items())],
        ),
        "open_at": forms.DateTimeField(
            required=False,
            label="Open at",
            help_text="An instant (ISO 8601, UTC): the backlog then, as the reports count it.",
        ),
        "open_as": forms.ChoiceField(
            required=False,
            label="Open as",
            choices=[("", "Any status or age"), *OPEN_AS],
        ),
    }


# A backlog's status or age bucket then
OPEN_AS = [
    *((s, s.replace("_", " ").capitalize()) for s in OPEN),
    ("under_1d", "Open under a day"),
    ("d1_7", "Open 1\u20137 days"),
    ("d7_30", "Open 7\u201330 days"),
    ("d30_plus", "Open over 30 days"),
]


def counted_check(data: dict[str, Any]) -> dict[str, str]:
    out = {}
    if data.get("opened_in_shift") and not data.get("opened_during"):
        out["opened_in_shift"] = "Needs “Opened during”: the shifts of which days."
    if data.get("open_as") and not data.get("open_at"):
        out["open_as"] = "Needs “Open at”: open when."
    return out


def counted_narrow(tickets: QuerySet[Ticket], data: dict[str, Any]) -> QuerySet[Ticket]:
    """The tickets whose rollup matches every value given: one subquery."""
    rows = TicketFigures.objects.all()
    if data.get("opened_during"):
        start, end = data["opened_during"]
        rows = rows.filter(opened_at__gte=start, opened_at__lt=end)
        if data.get("opened_in_shift"):
            shift = data["opened_in_shift"].strip()
            shift = OUTSIDE if shift.lower() == OUTSIDE else shift.upper()
            rows = rows.filter(_in_shift(shift, start, end))
    if data.get("counted_zone"):
        rows = rows.filter(zone=data["counted_zone"].upper())
    if data.get("counted_shifter"):
        rows = rows.filter(shifter_id=data["counted_shifter"])
    if data.get("counted") in COUNTED:
        rows = rows.filter(COUNTED[data["counted"]][1])
    if data.get("open_at"):
        rows = rows.filter(pk__in=_open_at(rows, data["open_at"], data.get("open_as") or ""))
    return tickets.filter(pk__in=rows.values("ticket_id"))


def _open_at(rows: QuerySet[TicketFigures], at: datetime, which: str) -> list[int]:
    """The tickets (not merged) of ``rows`` open at ``at``, by the status of their last change
    before it (and of age bucket or status ``which``), as the backlog figure counts them. One
    query: the tickets opened before and not resolved by then."""
    alive = rows.filter(merged=False, opened_at__lt=at).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gte=at)
    )
    out = []
    for pk, opened_at, timeline in alive.values_list("ticket_id", "opened_at", "timeline"):
        status = status_at(timeline, at)
        if status is None or status in DONE:
            continue
        if not which or which in (status, age_bucket(at - opened_at)):
            out.append(pk)
    return out


def _in_shift(zone: str, start: datetime, end: datetime) -> Q:
    """The rollups opened in ``zone``'s covered hours (OUTSIDE: in none) between the two
    instants, per team with openings then: each opening counts for the zone of the hour it
    came in, as reports.aggregates.mail_counts counts it (an hour by its start, local time).
    Three queries a team (its teams, zones, closures)."""
    opened = TicketFigures.objects.filter(opened_at__gte=start, opened_at__lt=end)
    out = Q(pk__in=[])
    for team in Team.objects.filter(pk__in=opened.values("team_id")):
        tz = ZoneInfo(team.time_zone)
        last = (end - timedelta(microseconds=1)).astimezone(tz).date()
        cal = team_calendar(team, start.astimezone(tz).date(), last)
        hours = sorted(
            (at, code)
            for at, code in zone_of_hour(cal).items()
            if start <= at < end and _whole_hour(at.astimezone(cal.tz))
        )
        if zone == OUTSIDE:
            covered = _ranges([at for at, _ in hours])
            out |= Q(team_id=team.pk) & ~_during(covered)
        else:
            out |= Q(team_id=team.pk) & _during(_ranges([at for at, code in hours if code == zone]))
    return out


def _whole_hour(at: datetime) -> bool:
    return not (at.minute or at.second or at.microsecond)


def _ranges(hours: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Consecutive hour starts (sorted) as [start, end) ranges."""
    out: list[tuple[datetime, datetime]] = []
    for at in hours:
        if out and out[-1][1] == at:
            out[-1] = (out[-1][0], at + HOUR)
        else:
            out.append((at, at + HOUR))
    return out


def _during(ranges: list[tuple[datetime, datetime]]) -> Q:
    out = Q(pk__in=[])
    for first, after in ranges:
        out |= Q(opened_at__gte=first, opened_at__lt=after)
    return out
