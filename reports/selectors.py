"""Reads for the reports: everything one page needs in a fixed handful of queries, whatever
the period (zones, closures, the mail counts, the rollups' counts and percentiles, the
backlog's tickets and the sites named, the groups, the escalations, the bookings). The sums
are the database's (reports.aggregates), not Python's over every row.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db.models import Q

from escalation.models import ExpertGroup
from people.models import Membership, Role, Team
from reports.aggregates import (
    MailCounts,
    Scope,
    TicketCounts,
    backlog_and_sites,
    covered_hours,
    mail_counts,
    ticket_counts,
    week_ends,
)
from reports.calendars import TeamCalendar, team_calendar
from reports.models import EscalationFigures, TicketFigures
from reports.period import Period
from shifts.models import Booking, Zone


@dataclass(frozen=True)
class Filters:
    zone: str = ""
    category: str = ""
    group: int | None = None
    shifter: int | None = None

    def query(self) -> dict[str, str]:
        out = {"zone": self.zone, "category": self.category}
        out["group"] = str(self.group or "")
        out["shifter"] = str(self.shifter or "")
        return {k: v for k, v in out.items() if v}


@dataclass
class ReportData:
    team: Team
    period: Period
    previous: Period
    filters: Filters
    cal: TeamCalendar
    zones: list[Zone]
    # Mail in of both periods by week, zone and kind, and by weekday and hour
    mail: MailCounts = field(default_factory=MailCounts)
    # Covered hours per (which, week's Monday, zone) and per (which, zone)
    covered: defaultdict[Any, float] = field(default_factory=lambda: defaultdict(float))
    # Tickets opened in both periods: durations' counts and percentiles, reopen/merge counts
    counts: TicketCounts = field(default_factory=TicketCounts)
    # Open tickets at the period's week ends and the previous period's last: week's end ->
    # "total", per status, per age bucket
    backlog: dict[date, Counter[str]] = field(default_factory=dict)
    # Site -> tickets opened in the period whose first mail names it
    sites: Counter[str] = field(default_factory=Counter)
    # One row per ticket opened in the period (the CSV of tickets)
    ticket_rows: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    groups: dict[int, ExpertGroup] = field(default_factory=dict)
    bookings: list[Booking] = field(default_factory=list)
    people: dict[int, User] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return self.cal.tz


def team_people(team: Team) -> tuple[dict[int, set[str]], dict[int, User]]:
    """Roles by person id, and the people who take shifts. One query."""
    roles: dict[int, set[str]] = {}
    people: dict[int, User] = {}
    for row in Membership.objects.filter(team=team).select_related("user"):
        roles.setdefault(row.user_id, set()).add(row.role)
        if row.role in (Role.SHIFTER, Role.TRAINEE, Role.COORDINATOR):
            people[row.user_id] = row.user
    return roles, people


TICKET_VALUES = (
    "ticket__number",
    "opened_at",
    "zone",
    "category",
    "first_response_s",
    "resolution_s",
    "reopen_count",
    "merged",
)
ESCALATION_VALUES = (
    "escalation_id",
    "ticket_id",
    "group_id",
    "group_name",
    "group_kind",
    "cloud_id",
    "escalated_at",
    "answered_at",
    "cancelled_at",
    "wait_s",
    "reminders",
    "next_levels",
)


def report_data(
    team: Team,
    period: Period,
    previous: Period,
    filters: Filters,
    people: dict[int, User],
    *,
    sections: Sequence[str] = ("mail", "tickets", "backlog", "escalations", "calendar"),
) -> ReportData:
    """What the figures of both periods are computed from. At most eight queries (nine
    with ``ticket_rows``)."""
    zones = list(Zone.objects.filter(team=team).order_by("starts_at"))
    cal = team_calendar(team, previous.first, period.last, zones)
    tz = cal.tz
    start, end = previous.start(tz), period.end(tz)
    data = ReportData(team, period, previous, filters, cal, zones, people=people)
    scope = Scope(
        team,
        period,
        previous,
        cal,
        zone=filters.zone,
        category=filters.category,
        shifter=filters.shifter,
    )
    if "mail" in sections:
        data.mail = mail_counts(scope)
        data.covered = covered_hours(cal, (("now", period), ("before", previous)))
    if "tickets" in sections:
        data.counts = ticket_counts(scope)
    if "backlog" in sections:
        ends = week_ends(period) + week_ends(previous)[-1:]
        data.backlog, data.sites = backlog_and_sites(scope, ends)
    if "ticket_rows" in sections:
        rows = TicketFigures.objects.filter(
            team=team, opened_at__gte=period.start(tz), opened_at__lt=end
        )
        if filters.zone:
            rows = rows.filter(zone=filters.zone)
        if filters.category:
            rows = rows.filter(category=filters.category)
        if filters.shifter:
            rows = rows.filter(shifter_id=filters.shifter)
        data.ticket_rows = list(rows.order_by("opened_at", "ticket_id").values(*TICKET_VALUES))
    if "escalations" in sections:
        data.groups = {g.pk: g for g in ExpertGroup.objects.filter(team=team)}
        escalations = EscalationFigures.objects.filter(team=team, escalated_at__lt=end).filter(
            Q(answered_at__isnull=True) | Q(answered_at__gte=start)
        )
        if filters.group:
            escalations = escalations.filter(Q(group_id=filters.group) | Q(cloud_id=filters.group))
        data.escalations = list(escalations.values(*ESCALATION_VALUES))
    if "calendar" in sections:
        bookings = Booking.objects.filter(
            zone__team=team, day__gte=period.first, day__lte=period.last
        )
        if filters.shifter:
            bookings = bookings.filter(person_id=filters.shifter)
        data.bookings = list(bookings)
    return data
