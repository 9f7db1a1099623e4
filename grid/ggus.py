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


def _locked(pk: int) -> GgusTicket:
    """The row, locked for the rest of the caller's transaction, with its desk ticket."""
    return (
        GgusTicket.objects.select_for_update(of=("self",))
        .select_related("escalation__ticket", "escalation__group")
        .get(pk=pk)
    )


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
        row = _locked(row.pk)
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
        row = _locked(row.pk)
        closing = row.state == GgusState.TO_CLOSE and row.ggus_id is None
        if row.state != GgusState.TO_OPEN and not closing:
            return row
        ticket = row.escalation.ticket
        refs = external_refs_add(ticket=ticket, refs=[("ggus", found.number)])
        row.ggus_id, row.number, row.ggus_state = found.id, found.number, found.state
        row.opened_at, row.last_error = now, ""
        row.external_ref = refs[0] if refs else None
        if not closing:  # cancelled meanwhile: it stays to be closed, now with its id
            row.state = GgusState.OPEN
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


# --- closing --------------------------------------------------------------------------------


def ggus_stop(esc: Escalation, at: datetime, reason: str) -> GgusTicket | None:
    """In the transaction cancelling ``esc``: its GGUS ticket is to be closed, saying why.
    One never asked for is simply not opened; one that is solved, ended or failed is left."""
    row = GgusTicket.objects.select_for_update().filter(escalation=esc).first()
    if row is None:
        return None
    row.close_reason = reason[:1000]
    if row.state == GgusState.TO_OPEN and row.attempts == 0:
        # No try has begun (a try's claim would wait for this row's lock, then find it
        # ended): nothing exists in GGUS.
        row.state = GgusState.ENDED
        row.save(update_fields=["state", "close_reason"])
        _note(row, "The GGUS ticket was not opened: the escalation was cancelled.", at)
        return None
    if row.state not in (GgusState.TO_OPEN, GgusState.OPEN):
        return None
    # A try at opening that is under way owns the row until its next_attempt_at: the close
    # (which then searches for what it may have created) waits for it.
    row.next_attempt_at = max(row.next_attempt_at, at) if row.ggus_id is None else at
    row.state, row.attempts, row.last_error = GgusState.TO_CLOSE, 0, ""
    row.save(update_fields=["state", "attempts", "last_error", "next_attempt_at", "close_reason"])
    return row


def _close_marker(row: GgusTicket) -> str:
    return f"Desk reference: {row.reference} (closed by the desk)"


def _close_payload(row: GgusTicket, with_article: bool) -> dict[str, object]:
    payload: dict[str, object] = {"state": settings.GGUS_CANCEL_STATE}
    if with_article:
        ticket = row.escalation.ticket
        payload["article"] = {
            "subject": f"No longer needed: {row.title}"[:250],
            "body": (
                f"This ticket was opened from {ticket.team.name}'s support desk for "
                f"{ticket.reference}. It is no longer needed: {row.close_reason}. "
                f"The desk closes it; thank you.\n\n{_close_marker(row)}\n"
            ),
            "content_type": "text/plain",
            "type": "note",
            "internal": False,
        }
    return payload


def _close_written(row: GgusTicket) -> bool:
    """Whether an earlier try's article already reached GGUS (it died before storing)."""
    articles = fetch(
        Service.GGUS,
        f"/api/v1/ticket_articles/by_ticket/{row.ggus_id}",
        lambda r: parse_articles(r.content),
    )
    return any(_close_marker(row) in a.body for a in articles)


def ggus_close(*, pk: int, now: datetime | None = None) -> GgusTicket | None:
    """One try at closing the GGUS ticket of a cancelled escalation (when it is due). A try
    after the first looks before it writes: for the ticket, when an interrupted open may
    have created it, and for its own article, so GGUS never gets it twice."""
    now = now or timezone.now()
    if not ggus_configured() or not _claim(pk, GgusState.TO_CLOSE, now, None):
        return None
    row = GgusTicket.objects.select_related("escalation__ticket__team").get(pk=pk)
    try:
        if row.ggus_id is None:
            found = ggus_search(row.reference)
            if found is None:
                return _close_done(row, None, now)
            row = ggus_opened(row=row, found=found, now=now)
            if row.state != GgusState.TO_CLOSE:
                return row
        written = row.attempts > 1 and _close_written(row)
        closed = fetch(
            Service.GGUS,
            f"/api/v1/tickets/{row.ggus_id}",
            lambda r: parse_ticket(r.content),
            method="PUT",
            json=_close_payload(row, with_article=not written),
            params={"expand": "true"},
            retries=0,  # not blindly: the next try looks for its article first
        )
    except ServiceError as error:
        _close_failed(row, error.message, now)
        return row
    return _close_done(row, closed, now)


def _close_done(row: GgusTicket, found: ZammadTicket | None, now: datetime) -> GgusTicket:
    with transaction.atomic():
        row = _locked(row.pk)
        if row.state != GgusState.TO_CLOSE:
            return row
        row.closed_at, row.last_error = now, ""
        if found is None:  # the open never reached GGUS
            row.state = GgusState.ENDED
            text = "No GGUS ticket had been opened for the cancelled escalation: none to close."
        else:
            row.state, row.ggus_state = GgusState.CLOSED, found.state
            text = f"GGUS #{row.number} closed ({row.close_reason}): {ggus_url(row)}"
        row.save()
        _note(row, text, now)
    return row


def _close_failed(row: GgusTicket, message: str, now: datetime) -> None:
    with transaction.atomic():
        row = _locked(row.pk)
        if row.state != GgusState.TO_CLOSE:
            return
        row.last_error = message[:500]
        if row.attempts >= settings.GGUS_OPEN_MAX_ATTEMPTS:
            row.state = GgusState.ENDED
            where = f" by hand: {ggus_url(row)}" if row.ggus_id else ""
            _note(
                row,
                f"GGUS #{row.number or '?'} could not be closed after {row.attempts} tries "
                f"({row.last_error}); close it{where or ' by hand'}.",
                now,
            )
        row.save(update_fields=["last_error", "state"])


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
        row = _locked(pk)
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
    steps = {
        GgusState.TO_OPEN: ("opened", ggus_open),
        GgusState.OPEN: ("polled", ggus_poll),
        GgusState.TO_CLOSE: ("closed", ggus_close),
    }
    due = GgusTicket.objects.filter(state__in=list(steps), next_attempt_at__lte=now).order_by(
        "next_attempt_at"
    )[: settings.GGUS_SWEEP_BATCH]
    done = {"opened": 0, "polled": 0, "closed": 0}
    for pk, state in due.values_list("pk", "state"):
        name, step = steps[GgusState(state)]
        done[name] += step(pk=pk, now=now) is not None
    return done
