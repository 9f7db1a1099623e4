"""Reads of the escalation app, with the joins the pages need."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import (
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    prefetch_related_objects,
)
from django.db.models.expressions import BaseExpression

from escalation.bridges import lines_for
from escalation.models import Escalation, ExpertGroup, GroupKind, Timer, TimerRun, TimerState
from people.models import Team
from people.teamcache import team_cached
from tickets.models import ExternalRef, Ticket

GROUPS_CACHED = "escalation-groups"


@dataclass
class TicketEscalations:
    escalations: Sequence[Escalation]
    timers: list[Timer]  # the ticket's own armed timers (first answer, waiting on user)
    refs: list[ExternalRef]


def page_annotations() -> dict[str, BaseExpression]:
    """Whether the ticket has escalations, timers and references at all: annotated on the
    ticket page's ticket (tickets.panels), so that a ticket with none costs no query."""
    return {
        "has_escalations": Exists(Escalation.objects.filter(ticket=OuterRef("pk"))),
        "has_timers": Exists(Timer.objects.filter(ticket=OuterRef("pk"))),
        "has_refs": Exists(ExternalRef.objects.filter(ticket=OuterRef("pk"))),
    }


def ticket_escalations(ticket: Ticket) -> TicketEscalations:
    """Everything the ticket page shows about escalations and deadlines: one query each for
    escalations, timers and references, skipped when a ticket loaded for its page says it
    has none (page_annotations), and up to six prefetches for escalations. The related rows
    are prefetched rather than joined: most tickets have no escalation, and the joined query
    costs more to build and plan than the small ones cost to run."""
    # A ticket loaded for its page says whether there is anything (page_annotations).
    escalations = (
        list(
            Escalation.objects.filter(ticket=ticket).prefetch_related(
                "group", "created_by", "outbound", "external_ref", "answer"
            )
        )
        if getattr(ticket, "has_escalations", True)
        else []
    )
    timers = (
        list(Timer.objects.filter(ticket=ticket).order_by("-pk"))
        if getattr(ticket, "has_timers", True)
        else []
    )
    escalation_timers = [t for t in timers if t.escalation_id is not None]
    bridged = lines_for(escalations)  # GGUS tickets opened with them (escalation.bridges)
    for escalation in escalations:
        escalation.bridge_lines = bridged.get(escalation.pk, [])  # type: ignore[attr-defined]
        escalation.all_timers = [  # type: ignore[attr-defined]
            t for t in escalation_timers if t.escalation_id == escalation.pk
        ]
    prefetch_related_objects(
        escalation_timers, Prefetch("runs", queryset=TimerRun.objects.order_by("ran_at", "pk"))
    )
    own = sorted(
        (t for t in timers if t.escalation_id is None and t.state == TimerState.ARMED),
        key=lambda t: t.due_at,
    )
    refs = (
        list(ExternalRef.objects.filter(ticket=ticket)) if getattr(ticket, "has_refs", True) else []
    )
    return TicketEscalations(escalations, own, refs)


def groups_for_team(team: Team) -> QuerySet[ExpertGroup]:
    return (
        ExpertGroup.objects.filter(team=team, active=True)
        .select_related("cloud")
        .order_by("kind", "name")
    )


def group_choices(team: Team) -> list[ExpertGroup]:
    """The escalation targets the ticket page offers, kept a minute in the cache (the
    directory import and the API forget them when they change the groups)."""
    return team_cached(team.pk, GROUPS_CACHED, lambda: list(groups_for_team(team)))


def site_contact_names(team: Team) -> tuple[str, dict[str, str]]:
    """The sites the team has a contact for, by the name of the contact's group ("FZK-LCG2"):
    for linking them where a thread names them. From the cached group list."""
    names = sorted(
        group.name.upper()
        for group in group_choices(team)
        if group.kind == GroupKind.SITE and " " not in group.name.strip()
    )
    version = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
    return version, dict.fromkeys(names, "site")


def escalated_to_groups_of(user: User) -> Q:
    """An expert with an account sees the tickets escalated to their groups (registered
    with tickets.access)."""
    return Q(pk__in=Escalation.objects.filter(group__members=user).values("ticket_id"))
