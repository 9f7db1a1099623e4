"""Reads of the escalation app, with the joins the pages need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Prefetch, Q, QuerySet

from escalation.models import Escalation, ExpertGroup, Timer, TimerRun, TimerState
from tickets.models import ExternalRef, Team, Ticket


@dataclass
class TicketEscalations:
    escalations: Sequence[Escalation]
    timers: list[Timer]  # the ticket's own armed timers (first answer, waiting on user)
    refs: list[ExternalRef]


def ticket_escalations(ticket: Ticket) -> TicketEscalations:
    """Everything the ticket page shows about escalations and deadlines. Four queries."""
    runs = Prefetch("runs", queryset=TimerRun.objects.order_by("ran_at", "pk"))
    armed = Prefetch(
        "timers",
        queryset=Timer.objects.order_by("-pk").prefetch_related(runs),
        to_attr="all_timers",
    )
    escalations = list(
        Escalation.objects.filter(ticket=ticket)
        .select_related("group", "created_by", "outbound", "external_ref")
        .prefetch_related(armed)
    )
    timers = list(
        Timer.objects.filter(ticket=ticket, escalation__isnull=True)
        .filter(state=TimerState.ARMED)
        .order_by("due_at")
    )
    refs = list(ExternalRef.objects.filter(ticket=ticket))
    return TicketEscalations(escalations, timers, refs)


def groups_for_team(team: Team) -> QuerySet[ExpertGroup]:
    return (
        ExpertGroup.objects.filter(team=team, active=True)
        .select_related("cloud")
        .order_by("kind", "name")
    )


def escalated_to_groups_of(user: User) -> Q:
    """An expert with an account sees the tickets escalated to their groups (registered
    with tickets.access)."""
    return Q(pk__in=Escalation.objects.filter(group__members=user).values("ticket_id"))
