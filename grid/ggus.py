"""The GGUS bridge: from an escalation to a site, open a GGUS ticket with the escalation's
context, keep its number as a reference on the desk's ticket, mirror its state and new
articles back as notes, and mark the escalation answered when GGUS solves it.

The call to GGUS goes through a row (GgusTicket), written in the escalation's transaction:
a worker claims it with a conditional UPDATE that also sets when it may be tried again, so
a failed or interrupted call is retried with backoff. The create itself is never repeated
blindly: every try after the first searches GGUS for the desk's reference (in the ticket's
title and first article) and takes the ticket it finds instead of creating a second one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from escalation.models import Escalation, EscalationState, ExpertGroup, GroupKind
from escalation.services import escalation_answer, escalation_context
from grid.http import ServiceError, fetch, service_config
from grid.models import GgusArticle, GgusState, GgusTicket, Service
from grid.zammad import (
    ZammadArticle,
    ZammadTicket,
    parse_articles,
    parse_ticket,
    parse_ticket_search,
)
from tickets.mail.html import html_to_text
from tickets.models import Message, MessageKind
from tickets.services import Sender, external_refs_add, ticket_add_message

log = logging.getLogger(__name__)


def ggus_configured() -> bool:
    config = service_config(Service.GGUS)
    return bool(config.url and config.token)


def ggus_accepts(group: ExpertGroup) -> bool:
    return group.kind in (GroupKind.SITE, GroupKind.CLOUD)


def ggus_url(row: GgusTicket) -> str:
    if row.ggus_id is None:
        return ""
    return settings.GGUS_TICKET_URL.format(id=row.ggus_id, number=row.number)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(settings.GGUS_RETRY_BASE_S * 2 ** max(attempts - 1, 0), 3600))


# --- opening --------------------------------------------------------------------------------


def ggus_start(esc: Escalation, at: datetime) -> GgusTicket:
    """The outbox row of the GGUS ticket to open for ``esc``, in its transaction."""
    ticket = esc.ticket
    reference = f"dastdesk-{esc.token}"
    row = GgusTicket.objects.create(
        escalation=esc,
        reference=reference,
        title=f"{ticket.subject[:180]} [{ticket.reference}, {reference}]",
        body=f"{escalation_context(esc)}\nDesk reference: {reference}\n",
        site=esc.group.name if esc.group else "",
        next_attempt_at=at,
        created_at=at,
    )
    return row


def _payload(row: GgusTicket) -> dict[str, object]:
    payload: dict[str, object] = {
        "title": row.title,
        "group": settings.GGUS_GROUP,
        "article": {
            "subject": row.title,
            "body": row.body,
            "content_type": "text/plain",
            "type": "web",
            "internal": False,
        },
    }
    payload.update(settings.GGUS_TICKET_FIELDS)
    if settings.GGUS_SITE_FIELD and row.site:
        payload[settings.GGUS_SITE_FIELD] = row.site
    return payload


def ggus_search(reference: str) -> ZammadTicket | None:
    """The GGUS ticket carrying ``reference`` in its title, if there is one."""
    found = fetch(
        Service.GGUS,
        "/api/v1/tickets/search",
        lambda r: parse_ticket_search(r.content),
        params={"query": f'"{reference}"', "expand": "true", "limit": "10"},
    )
    # The search is full-text and may be fuzzy: only the exact reference counts.
    return next((t for t in found if reference in t.title), None)


def _claim(pk: int, state: GgusState, now: datetime, retry_at: datetime | None) -> bool:
    """Take the row for one step; the UPDATE also says when it may be taken again, so a
    worker that dies mid-call leaves it to be retried then."""
    rows = GgusTicket.objects.filter(pk=pk, state=state, next_attempt_at__lte=now)
    if retry_at is None:
        row = rows.first()
        if row is None:
            return False
        retry_at = now + _backoff(row.attempts + 1)
        return (
            rows.filter(attempts=row.attempts).update(
                attempts=row.attempts + 1, next_attempt_at=retry_at
            )
            == 1
        )
    return rows.update(next_attempt_at=retry_at) == 1


def ggus_open(*, pk: int, now: datetime | None = None) -> GgusTicket | None:
    """One try at opening the GGUS ticket of row ``pk`` (when it is due)."""
    now = now or timezone.now()
    if not ggus_configured() or not _claim(pk, GgusState.TO_OPEN, now, None):
        return None
    row = GgusTicket.objects.select_related("escalation__ticket", "escalation__group").get(pk=pk)
    try:
        # A try before this one may have created it and died before storing the number.
        found = ggus_search(row.reference) if row.attempts > 1 else None
        if found is None:
            found = fetch(
                Service.GGUS,
                "/api/v1/tickets",
                lambda r: parse_ticket(r.content),
                method="POST",
                json=_payload(row),
                params={"expand": "true"},
                retries=0,  # not blindly: the next try searches first
            )
    except ServiceError as error:
        _failed(row, error.message, now)
        return row
    return ggus_opened(row=row, found=found, now=now)


def _failed(row: GgusTicket, message: str, now: datetime) -> None:
    with transaction.atomic():
        row = (
            GgusTicket.objects.select_for_update(of=("self",))
            .select_related("escalation__ticket")
            .get(pk=row.pk)
        )
        row.last_error = message[:500]
        if row.attempts >= settings.GGUS_OPEN_MAX_ATTEMPTS:
            row.state = GgusState.FAILED
            _note(
                row,
                f"The GGUS ticket for the escalation to {row.site or 'the site'} could not be "
                f"opened after {row.attempts} tries: {row.last_error}",
                now,
            )
        row.save(update_fields=["last_error", "state"])


def ggus_opened(*, row: GgusTicket, found: ZammadTicket, now: datetime) -> GgusTicket:
    """Store what GGUS answered: its id and number, the reference on the desk's ticket, and
    a note. A row stored already is left alone."""
    with transaction.atomic():
        row = (
            GgusTicket.objects.select_for_update(of=("self",))
            .select_related("escalation__ticket")
            .get(pk=row.pk)
        )
        if row.state != GgusState.TO_OPEN:
            return row
        ticket = row.escalation.ticket
        refs = external_refs_add(ticket=ticket, refs=[("ggus", found.number)])
        row.ggus_id, row.number, row.ggus_state = found.id, found.number, found.state
        row.state, row.opened_at, row.last_error = GgusState.OPEN, now, ""
        row.external_ref = refs[0] if refs else None
        row.next_attempt_at = now + timedelta(seconds=settings.GGUS_POLL_INTERVAL_S)
        row.save()
        _note(
            row,
            f"GGUS ticket #{row.number} opened for the escalation to {row.site}: {ggus_url(row)}",
            now,
        )
    return row


def _note(row: GgusTicket, text: str, now: datetime) -> Message:
    return ticket_add_message(
        ticket=row.escalation.ticket,
        kind=MessageKind.NOTE,
        body_text=text,
        sender=Sender("", f"GGUS #{row.number}" if row.number else "GGUS"),
        created_at=now,
        announce=False,
    )


# --- following ------------------------------------------------------------------------------


def ggus_poll(*, pk: int, now: datetime | None = None) -> GgusTicket | None:
    """Read the GGUS ticket's state and articles (when due) and mirror what is new."""
    now = now or timezone.now()
    every = timedelta(seconds=settings.GGUS_POLL_INTERVAL_S)
    if not ggus_configured() or not _claim(pk, GgusState.OPEN, now, now + every):
        return None
    row = GgusTicket.objects.get(pk=pk)
    try:
        found = fetch(
            Service.GGUS,
            f"/api/v1/tickets/{row.ggus_id}",
            lambda r: parse_ticket(r.content),
            params={"expand": "true"},
        )
        articles = fetch(
            Service.GGUS,
            f"/api/v1/ticket_articles/by_ticket/{row.ggus_id}",
            lambda r: parse_articles(r.content),
        )
    except ServiceError as error:
        GgusTicket.objects.filter(pk=pk).update(last_error=error.message[:500])
        return row
    return ggus_mirror(pk=pk, found=found, articles=articles, now=now)


def ggus_mirror(
    *, pk: int, found: ZammadTicket, articles: list[ZammadArticle], now: datetime
) -> GgusTicket:
    """New articles become notes (each once), a new state a note; solved answers the
    escalation. One transaction: the notes and what was seen are stored together."""
    with transaction.atomic():
        row = (
            GgusTicket.objects.select_for_update(of=("self",))
            .select_related("escalation__ticket", "escalation__group")
            .get(pk=pk)
        )
        if row.state != GgusState.OPEN:
            return row
        seen = set(row.articles.values_list("article_id", flat=True))
        last: Message | None = None
        for article in articles:
            if article.id in seen:
                continue
            note = None
            if not article.internal and row.reference not in article.body:  # not our own
                note = last = _note(row, _article_text(row, article), now)
            GgusArticle.objects.create(
                ggus_ticket=row, article_id=article.id, note=note, created_at=now
            )
        row.polled_at, row.last_error = now, ""
        if found.state != row.ggus_state:
            last = _note(row, f"GGUS #{row.number} is now “{found.state}”.", now)
            row.ggus_state = found.state
        if found.state in settings.GGUS_SOLVED_STATES:
            row.state, row.solved_at = GgusState.SOLVED, now
        elif row.escalation.state == EscalationState.CANCELLED:
            row.state = GgusState.ENDED  # nobody waits for it any more
        row.save()
        if row.state == GgusState.SOLVED:
            escalation_answer(
                escalation=row.escalation, message=last, who=f"GGUS #{row.number}", at=now
            )
    return row


def _article_text(row: GgusTicket, article: ZammadArticle) -> str:
    body = html_to_text(article.body)[0] if article.html else article.body
    when = f" on {article.created_at:%a %d %b %H:%M} UTC" if article.created_at else ""
    who = article.author or article.sender or "GGUS"
    return f"GGUS #{row.number}: {who} wrote{when}:\n\n{body.strip()}"


def ggus_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The beat task's work: every row due to be opened or polled, one step each."""
    now = now or timezone.now()
    if not ggus_configured():
        return {}
    due = GgusTicket.objects.filter(
        state__in=[GgusState.TO_OPEN, GgusState.OPEN], next_attempt_at__lte=now
    ).order_by("next_attempt_at")[: settings.GGUS_SWEEP_BATCH]
    done = {"opened": 0, "polled": 0}
    for pk, state in due.values_list("pk", "state"):
        if state == GgusState.TO_OPEN:
            done["opened"] += ggus_open(pk=pk, now=now) is not None
        else:
            done["polled"] += ggus_poll(pk=pk, now=now) is not None
    return done
