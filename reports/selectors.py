"""Reads for the reports: everything one page needs in a fixed handful of queries, whatever
the period (zones, closures, the mail counts per hour, the rollups, the groups, the bookings).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db.models import Count, Q
from django.db.models.functions import Trunc

from escalation.models import ExpertGroup
from people.models import Membership, Role, Team
from reports.calendars import TeamCalendar, team_calendar
from reports.models import EscalationFigures, TicketFigures
from reports.period import Period
from shifts.models import Booking, Zone
from tickets.models.events import EventKind, TicketEvent


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
    # (local hour start as UTC instant, kind, count) of mail arriving in both periods
    mail_hours: list[tuple[datetime, str, int]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    groups: dict[int, ExpertGroup] = field(default_factory=dict)
    bookings: list[Booking] = field(default_factory=list)
    people: dict[int, User] = field(default_factory=dict)
    # What several figures derive from the same rows, computed once (shared by the copy
    # that report_headline makes for the previous period).
    memo: dict[str, Any] = field(default_factory=dict)

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
    "ticket_id",
    "ticket__number",
    "opened_at",
    "zone",
    "category",
    "shifter_id",
    "first_response_s",
    "resolved_at",
    "resolution_s",
    "reopen_count",
    "merged",
    "sites",
    "timeline",
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
    sections: Sequence[str] = ("mail", "tickets", "escalations", "calendar"),
) -> ReportData:
    """What the figures of both periods are computed from. At most seven queries."""
    zones = list(Zone.objects.filter(team=team).order_by("starts_at"))
    cal = team_calendar(team, previous.first, period.last, zones)
    tz = cal.tz
    start, end = previous.start(tz), period.end(tz)
    data = ReportData(team, period, previous, filters, cal, zones, people=people)
    if "mail" in sections:
        data.mail_hours = [
            (row["hour"], row["kind"], row["n"])
            for row in TicketEvent.objects.filter(
                team=team,
                kind__in=[EventKind.OPENED, EventKind.MESSAGE_RECEIVED],
                at__gte=start,
                at__lt=end,
            )
            .annotate(hour=Trunc("at", "hour", tzinfo=tz))
            .values("hour", "kind")
            .annotate(n=Count("id"))
            .order_by()
        ]
    if "tickets" in sections:
        tickets = TicketFigures.objects.filter(team=team, opened_at__lt=end).filter(
            Q(resolved_at__isnull=True) | Q(resolved_at__gte=start)
        )
        if filters.zone:
            tickets = tickets.filter(zone=filters.zone)
        if filters.category:
            tickets = tickets.filter(category=filters.category)
        if filters.shifter:
            tickets = tickets.filter(shifter_id=filters.shifter)
        data.tickets = list(tickets.values(*TICKET_VALUES))
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
