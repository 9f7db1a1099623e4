"""The digest at the first shift after a gap in the cover: when a slot starts and nobody
was on shift (first level) the instant before (the night, a weekend, a slot nobody
booked), its first-level shifters get one mail listing what came in since the last covered
shift ended: new tickets, requesters' replies, experts' answers, unverified replies, and
every trainee draft still waiting for approval; their bells get a line with the counts.
(A shift that follows a covered one gets the handover mail instead: ``dispatch.handover``.)

    digest_run(at)            every slot that started in the last LOOKBACK without a
                              ShiftDigest row yet
    slot_digest(zone, ...)    one slot, in one transaction; the row is the claim
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from common.links import site_url
from notifications.models import Kind, Notification, ShiftDigest
from people.access import may_act
from people.models import Team
from people.names import display_name
from shifts.models import Booking, Closure, ShiftRole, Zone
from shifts.rota import Slot, slots_in
from shifts.selectors import zone_hours
from tickets.mail.outbox import mail_send
from tickets.models import (
    OPEN_STATUSES,
    DraftState,
    Message,
    MessageKind,
    Noise,
    ReplyDraft,
    Ticket,
)
from tickets.models.mail import OutboundKind

log = logging.getLogger(__name__)

# A slot that started longer ago than this gets no digest any more (beat was down).
LOOKBACK = timedelta(hours=2)
# How far back the last covered shift is looked for (a long closure: a week is enough).
HORIZON = timedelta(days=7)


def _closures(team_ids: set[int], first: date, last: date) -> dict[int, list[tuple[date, date]]]:
    found: dict[int, list[tuple[date, date]]] = defaultdict(list)
    for team_id, starts_on, ends_on in Closure.objects.filter(
        team__in=team_ids, starts_on__lte=last, ends_on__gte=first
    ).values_list("team_id", "starts_on", "ends_on"):
        found[team_id].append((starts_on, ends_on))
    return found


def digest_run(*, at: datetime | None = None) -> int:
    """Digest every slot that started lately and was not looked at yet. Returns how many
    mails were written."""
    at = at or timezone.now()
    zones = list(Zone.objects.select_related("team"))
    if not zones:
        return 0
    first, last = (at - LOOKBACK).date() - timedelta(days=2), at.date() + timedelta(days=1)
    closures = _closures({z.team_id for z in zones}, first, last)
    done = set(ShiftDigest.objects.filter(day__gte=first).values_list("zone_id", "day"))
    mails = 0
    for zone in zones:
        tz = ZoneInfo(zone.team.time_zone)
        today = at.astimezone(tz).date()
        hours = zone_hours(zone)
        for slot in slots_in(hours, today - timedelta(days=1), today, tz, closures[zone.team_id]):
            if at - LOOKBACK < slot.starts_at <= at and (zone.pk, slot.day) not in done:
                mails += slot_digest(zone=zone, slot=slot, at=at)
    return mails


def gap_start(team: Team, before: datetime) -> datetime:
    """When the last shift with a first-level shifter ended, at or before ``before``
    (``before`` itself when a covered shift ends just then: no gap). Two queries."""
    tz = ZoneInfo(team.time_zone)
    first, last = (before - HORIZON).astimezone(tz).date(), before.astimezone(tz).date()
    zones = list(Zone.objects.filter(team=team))
    closures = _closures({team.pk}, first, last)[team.pk]
    booked = set(
        Booking.objects.filter(
            zone__team=team, day__range=(first, last), role=ShiftRole.FIRST_LEVEL
        ).values_list("zone__code", "day")
    )
    ends = [
        slot.ends_at
        for zone in zones
        for slot in slots_in(zone_hours(zone), first, last, tz, closures)
        if slot.ends_at <= before and (slot.zone, slot.day) in booked
    ]
    return max(ends, default=before - HORIZON)


def slot_digest(*, zone: Zone, slot: Slot, at: datetime) -> int:
    """Claim the slot's digest and write its mails in one transaction; 0 when another
    process has claimed it, when no gap came before it, or when nothing happened."""
    team = zone.team
    claimed = False
    try:
        with transaction.atomic():
            gap_from = gap_start(team, slot.starts_at)
            row = ShiftDigest.objects.create(zone=zone, day=slot.day, done_at=at, gap_from=gap_from)
            claimed = True
            if gap_from >= slot.starts_at:
                return 0
            incoming = [
                b.person
                for b in Booking.objects.filter(
                    zone=zone, day=slot.day, role=ShiftRole.FIRST_LEVEL
                ).select_related("person")
                if b.person.email and may_act(b.person, team.pk)
            ]
            if not incoming:
                return 0
            sections = _sections(team, gap_from, at)
            row.items = sum(len(lines) for _, lines in sections)
            row.save(update_fields=["items"])
            if not row.items:
                return 0
            for person in incoming:
                _mail(team, zone, slot, gap_from, person, sections)
                # The bell too: the mail may sit unread in a busy inbox.
                Notification.objects.create(
                    user=person,
                    digest=row,
                    kind=Kind.SHIFT_DIGEST,
                    text=f"Since the last shift: {_counts(sections)}"[:300],
                    at=at,
                )
            return len(incoming)
    except IntegrityError:
        if claimed:
            raise
        log.info("digest of %s %s: already made", zone, slot.day)
        return 0


def _sections(team: Team, since: datetime, until: datetime) -> list[tuple[str, list[str]]]:
    """(heading, lines) of what the incoming shift should look at. Three queries."""
    open_q = Q(ticket__team=team, ticket__status__in=OPEN_STATUSES)
    new = Ticket.objects.filter(
        team=team, status__in=OPEN_STATUSES, created_at__range=(since, until)
    ).select_related("team", "requester", "assignee")
    new_lines = [
        f"{t.reference}  {t.subject}\n    from {t.requester.email}, "
        f"{'with ' + display_name(t.assignee) if t.assignee else 'unassigned'}\n    {site_url(t)}"
        for t in new.order_by("created_at", "pk")
    ]
    new_ids = {t.pk for t in new}
    messages = (
        Message.objects.filter(
            open_q,
            Q(created_at__range=(since, until)) | Q(stored_at__range=(since, until)),
            kind__in=[MessageKind.EMAIL_IN, MessageKind.WEB, MessageKind.EXPERT],
            noise=Noise.NONE,
        )
        .exclude(ticket__in=new_ids, kind__in=[MessageKind.EMAIL_IN, MessageKind.WEB])
        .select_related("ticket__team")
        .order_by("created_at", "pk")
    )
    replies: list[str] = []
    answers: list[str] = []
    unverified: list[str] = []
    for m in messages:
        who = m.sender_name or m.sender_email or "someone"
        line = f"{m.ticket.reference}  {m.ticket.subject}\n    from {who}\n    {site_url(m.ticket)}"
        if m.kind != MessageKind.EXPERT:
            replies.append(line)
        else:
            (unverified if m.unverified else answers).append(line)
    drafts = (
        ReplyDraft.objects.filter(open_q, state=DraftState.PENDING)
        .select_related("ticket__team", "author")
        .order_by("created_at", "pk")
    )
    draft_lines = [
        f"{d.ticket.reference}  {d.ticket.subject}\n    by {display_name(d.author)}\n"
        f"    {site_url(d.ticket, f'd{d.pk}')}"
        for d in drafts
    ]
    sections = [
        ("New tickets", new_lines),
        ("Replies from requesters", replies),
        ("Answers from experts and sites", answers),
        (
            "Unverified replies (not from the group's address: they answer nothing until "
            "someone checks them)",
            unverified,
        ),
        ("Drafts waiting for approval", draft_lines),
    ]
    return [(heading, lines) for heading, lines in sections if lines]


def _counts(sections: list[tuple[str, list[str]]]) -> str:
    return ", ".join(f"{len(lines)} {head.split(' (')[0].lower()}" for head, lines in sections)


def _mail(
    team: Team,
    zone: Zone,
    slot: Slot,
    gap_from: datetime,
    person: User,
    sections: list[tuple[str, list[str]]],
) -> None:
    tz = ZoneInfo(team.time_zone)
    mail_send(
        "shift_digest",
        team=team,
        kind=OutboundKind.NOTIFICATION,
        to=[person.email],
        context={
            "team": team.name,
            "name": display_name(person),
            "gap_from": f"{gap_from.astimezone(tz):%a %d %b %H:%M}",
            "starts_at": f"{slot.starts_at.astimezone(tz):%a %d %b %H:%M}",
            "zone": zone.code,
            "time_zone": team.time_zone,
            "counts": _counts(sections),
            "sections": sections,
            "url": site_url(reverse("ticket-list")),
        },
        automatic=True,
    )
