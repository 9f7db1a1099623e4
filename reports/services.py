"""Writes of the reports app: the rollups (one ticket after each of its events, or a whole
team from the log) and the weekly figures mail."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from itertools import groupby, islice
from typing import Any

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from escalation.models import Escalation
from people.models import Team
from reports.calendars import TeamCalendar, team_calendar
from reports.models import EscalationFigures, TicketFigures
from reports.rollup import Ev, escalation_rollups, ticket_rollup
from tickets.gridpanel import known_site_names, sites_resolved
from tickets.gridtext import GridIds, find_ids, find_known_names
from tickets.models import Message, Ticket
from tickets.models.events import DeliveryState, EventDelivery, TicketEvent

CONSUMER = "reports"
EVENT_FIELDS = ("ticket_id", "kind", "at", "actor_kind", "actor_id", "data")
TICKET_FIELDS = [
    "team",
    "requester",
    "opened_at",
    "channel",
    "zone",
    "category",
    "shifter",
    "first_response_at",
    "first_response_s",
    "resolved_at",
    "resolution_s",
    "reopen_count",
    "merged",
    "sites",
    "timeline",
]
ESCALATION_FIELDS = [
    "ticket",
    "team",
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
]


def _named(subject: str, body: str, known: Mapping[str, str]) -> GridIds:
    # The opening mail is what a requester says is broken; the rest of the thread quotes it.
    text = f"{subject}\n{body[:4000]}"
    found = find_ids(text, jira_projects=(), only=("queues", "sites"))
    return found.merged(find_known_names(text, known)) if known else found


def opening_sites(
    texts: Mapping[int, tuple[str, str]], known: Mapping[str, str]
) -> dict[int, list[str]]:
    """The sites each opening mail (message id -> subject, body) names, each under the one
    name the site directory resolves its aliases to (a PanDA queue, the ATLAS and the GOCDB
    name of a site are one site); a site it does not know as written, a queue it does not
    know not at all (a queue is not a site). One query for the whole batch."""
    named = {pk: _named(subject, body, known) for pk, (subject, body) in texts.items()}
    resolved = sites_resolved({n for ids in named.values() for n in (*ids.sites, *ids.queues)})
    out = {}
    for pk, ids in named.items():
        names = [resolved.get(n.upper(), n) for n in ids.sites]
        names += [resolved[n.upper()] for n in ids.queues if n.upper() in resolved]
        out[pk] = list(dict.fromkeys(names))[:10]
    return out


def _figures(
    ticket: Ticket,
    events: list[Ev],
    cal: TeamCalendar,
    opening: Mapping[int, list[str]],
    calendars: Mapping[int, int | None],
) -> tuple[TicketFigures, list[EscalationFigures]]:
    rollup = ticket_rollup(
        events,
        opened_at=ticket.created_at,
        category=ticket.category,
        covered=cal.covered,
        zone_at=cal.zone_at,
    )
    figures = TicketFigures(
        ticket_id=ticket.pk,
        team_id=ticket.team_id,
        requester_id=ticket.requester_id,
        opened_at=rollup.opened_at,
        channel=rollup.channel,
        zone=rollup.zone,
        category=rollup.category,
        shifter_id=rollup.shifter_id,
        first_response_at=rollup.first_response_at,
        first_response_s=rollup.first_response_s,
        resolved_at=rollup.resolved_at,
        resolution_s=rollup.resolution_s,
        reopen_count=rollup.reopen_count,
        merged=rollup.merged,
        sites=opening.get(rollup.opening_message_id or 0, []),
        timeline=rollup.timeline,
    )
    escalations = [
        EscalationFigures(
            escalation_id=row.escalation_id,
            ticket_id=ticket.pk,
            team_id=ticket.team_id,
            group_id=row.group_id,
            group_name=row.group_name[:200],
            group_kind=row.group_kind,
            cloud_id=row.cloud_id,
            escalated_at=row.escalated_at,
            answered_at=row.answered_at,
            cancelled_at=row.cancelled_at,
            wait_s=row.wait_s,
            reminders=row.reminders,
            next_levels=row.next_levels,
        )
        for row in escalation_rollups(events, working=cal.working_in, calendars=calendars)
    ]
    return figures, escalations


def _ev(row: dict[str, Any]) -> Ev:
    return Ev(row["kind"], row["at"], row["actor_kind"], row["actor_id"], row["data"] or {})


def _opening_texts(ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    return {
        pk: (subject, body)
        for pk, subject, body in Message.objects.filter(pk__in=list(ids)).values_list(
            "pk", "subject", "body_text"
        )
    }


def _openings_sites(teams: Mapping[int, Team], openings: Mapping[int, int]) -> dict[int, list[str]]:
    """The sites each opening mail names (``openings``: message id -> its team's id), each
    team's with the names its site directories know. A query for the texts, a few per team."""
    texts = _opening_texts(openings)
    out: dict[int, list[str]] = {}
    for pk, team in teams.items():
        mine = {m: text for m, text in texts.items() if openings[m] == pk}
        if mine:
            out |= opening_sites(mine, known_site_names(team)[1])
    return out


def _escalation_calendars(grouped: Mapping[int, list[Ev]]) -> dict[int, int | None]:
    """The working calendar of each escalation whose ESCALATED event is older than the event
    naming it (escalation id -> calendar id). One query, none when every event names it."""
    older = [
        int(e.data["escalation"])
        for events in grouped.values()
        for e in events
        if e.kind == "escalated" and "calendar" not in e.data and e.data.get("escalation")
    ]
    if not older:
        return {}
    return dict(Escalation.objects.filter(pk__in=older).values_list("pk", "calendar_id"))


def _save(figures: list[TicketFigures], escalations: list[EscalationFigures]) -> None:
    """Upserts: running the same rollup twice leaves the same rows."""
    TicketFigures.objects.bulk_create(
        figures, update_conflicts=True, unique_fields=["ticket"], update_fields=TICKET_FIELDS
    )
    if escalations:
        EscalationFigures.objects.bulk_create(
            escalations,
            update_conflicts=True,
            unique_fields=["escalation_id"],
            update_fields=ESCALATION_FIELDS,
        )


def ticket_figures_refresh(*, ticket: Ticket, now: datetime | None = None) -> TicketFigures:
    """Recompute one ticket's rollups from its whole history (the consumer's work)."""
    return tickets_figures_refresh(tickets=[ticket], now=now)[0]


def tickets_figures_refresh(
    *, tickets: list[Ticket], now: datetime | None = None
) -> list[TicketFigures]:
    """``ticket_figures_refresh`` for a batch (the consumer's): the events, opening texts and
    each team's calendar read once, the rollups written in one upsert."""
    if not tickets:
        return []
    rows = (
        TicketEvent.objects.filter(ticket_id__in=[t.pk for t in tickets])
        .order_by("ticket_id", "id")
        .values(*EVENT_FIELDS)
    )
    grouped = {pk: [_ev(r) for r in group] for pk, group in groupby(rows, lambda r: r["ticket_id"])}
    openings: dict[int, int] = {}  # opening message -> its ticket's team
    for ticket in tickets:
        opened = next((e for e in grouped.get(ticket.pk, []) if e.kind == "opened"), None)
        if opened and opened.data.get("message"):
            openings[int(opened.data["message"])] = ticket.team_id
    sites = _openings_sites({t.team_id: t.team for t in tickets}, openings)
    calendars = _escalation_calendars(grouped)
    today = (now or timezone.now()).date()
    spans: dict[int, tuple[date, date, Team]] = {}
    for ticket in tickets:
        events = grouped.get(ticket.pk, [])
        first = min([ticket.created_at, *(e.at for e in events)]).date()
        last = max([today, *(e.at.date() for e in events)])
        held = spans.get(ticket.team_id)
        if held is not None:
            first, last = min(first, held[0]), max(last, held[1])
        spans[ticket.team_id] = (first, last, ticket.team)
    cals = {
        pk: team_calendar(team, first, last, group_calendars=True)
        for pk, (first, last, team) in spans.items()
    }
    figures, escalations = [], []
    for ticket in tickets:
        events = grouped.get(ticket.pk, [])
        one, escs = _figures(ticket, events, cals[ticket.team_id], sites, calendars)
        figures.append(one)
        escalations.extend(escs)
    with transaction.atomic():
        _save(figures, escalations)
    return figures


def _chunks(items: Iterable[int], size: int) -> Iterator[list[int]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def figures_rebuild(
    *, team: Team, ticket_ids: Iterable[int] | None = None, chunk: int = 2000
) -> int:
    """Recompute the rollups of the team's tickets (or of ``ticket_ids``) from the event log,
    ``chunk`` tickets to a transaction; deliveries to the reports consumer that this read
    covers are marked done. Returns how many tickets were rebuilt."""
    tickets = Ticket.objects.filter(team=team)
    if ticket_ids is not None:
        tickets = tickets.filter(pk__in=list(ticket_ids))
    ids = list(tickets.order_by("pk").values_list("pk", flat=True))
    if not ids:
        return 0
    span = TicketEvent.objects.filter(team=team).aggregate(last=Max("id"), first=Min("at"))
    seen = span["last"] or 0
    first_ticket = tickets.aggregate(first=Min("created_at"))["first"]
    first = min(d for d in (span["first"], first_ticket) if d is not None)
    cal = team_calendar(
        team, first.date(), timezone.now().date() + timedelta(days=1), group_calendars=True
    )
    done = 0
    for part in _chunks(ids, chunk):
        rows = Ticket.objects.filter(pk__in=part).only(
            "pk", "team_id", "requester_id", "created_at", "category"
        )
        by_ticket = {t.pk: t for t in rows}
        events = (
            TicketEvent.objects.filter(ticket_id__in=part, id__lte=seen)
            .order_by("ticket_id", "id")
            .values(*EVENT_FIELDS)
        )
        grouped = {
            pk: [_ev(r) for r in group] for pk, group in groupby(events, lambda r: r["ticket_id"])
        }
        openings = {
            int(e.data["message"]): team.pk
            for evs in grouped.values()
            for e in evs
            if e.kind == "opened" and e.data.get("message")
        }
        sites = _openings_sites({team.pk: team}, openings)
        calendars = _escalation_calendars(grouped)
        figures, escalations = [], []
        for pk in part:
            one, escs = _figures(by_ticket[pk], grouped.get(pk, []), cal, sites, calendars)
            figures.append(one)
            escalations.extend(escs)
        with transaction.atomic():
            _save(figures, escalations)
            EventDelivery.objects.filter(
                consumer=CONSUMER,
                state=DeliveryState.PENDING,
                ticket_pk__in=part,
                event_id__lte=seen,
            ).update(state=DeliveryState.DONE, done_at=timezone.now())
        done += len(part)
    return done
