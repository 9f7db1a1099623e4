"""Thin Celery tasks: load, call one service, return."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from tickets.events import events_consume
from tickets.mail.outbox import outbound_send, outbox_send_due

log = logging.getLogger(__name__)


@shared_task(name="tickets.tasks.outbound_send_task")
def outbound_send_task(outbound_id: int) -> bool:
    return outbound_send(outbound_id)


def outbound_send_later(outbound_id: int) -> None:
    """Queue the sending of one outbox row (tickets.mail.outbox, after commit)."""
    outbound_send_task.delay(outbound_id)


@shared_task(name="tickets.tasks.outbox_sweep_task")
def outbox_sweep_task() -> int:
    """Send every outbox row that is due: retries, and rows whose task was lost."""
    return outbox_send_due()


@shared_task(name="tickets.tasks.mail_poll_task")
def mail_poll_task() -> int:
    """The embedded set-up's fetcher: one pass per mailbox whose lease is free (a running
    ``fetch_mail`` process holds the lease, and then this does nothing)."""
    from tickets.mail.fetch import mailbox_poll, raw_process_pending
    from tickets.models import Mailbox

    for mailbox in Mailbox.objects.filter(active=True).select_related("team"):
        mailbox_poll(mailbox)
    return raw_process_pending()


@shared_task(name="tickets.tasks.events_sweep_task")
def events_sweep_task() -> int:
    """Run every due event delivery (routing, acknowledgements, timers…). Starting, it
    lets the next nudge or beat tick be sent (``dast.beat.OnePending``)."""
    try:
        cache.delete(settings.EVENT_SWEEP_MARKER)
    except Exception:  # the nudge's marker is a convenience; the sweep must run regardless
        log.exception("could not clear the event nudge marker")
    return events_consume()


def events_nudge_task() -> None:
    """Ask for a sweep now, unless one was asked for in the last few seconds and has not
    started yet: a burst of commits queues one sweep, not one per commit."""
    try:
        if cache.add(settings.EVENT_SWEEP_MARKER, 1, timeout=settings.EVENT_SWEEP_INTERVAL_S * 2):
            events_sweep_task.delay()
    except Exception:  # the beat sweep finds the deliveries; a hiccup must not fail a request
        log.exception("could not ask for an event sweep; the next beat sweep will run them")
