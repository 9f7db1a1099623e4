"""The GGUS bridge as escalation sees it (escalation.bridges, registered in
GridConfig.ready()): the outbox row made with the escalation and a worker asked to open it
after commit, the same row set to close it when the escalation is cancelled, and the GGUS
line under each escalation on the ticket page."""

from __future__ import annotations

import logging
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from escalation.bridges import Bridge, BridgeLine
from escalation.models import Escalation
from grid.ggus import ggus_accepts, ggus_configured, ggus_start, ggus_stop, ggus_url
from grid.models import GgusState, GgusTicket
from grid.tasks import ggus_close_task, ggus_open_task

log = logging.getLogger(__name__)


def start(esc: Escalation, by: User | None, at: datetime) -> None:
    row = ggus_start(esc, at)

    def send() -> None:
        try:
            ggus_open_task.delay(row.pk)
        except Exception:  # the broker being away: the beat sweep opens it
            log.exception("could not ask for GGUS ticket %s", row.pk)

    transaction.on_commit(send)


def stop(esc: Escalation, at: datetime, reason: str) -> None:
    row = ggus_stop(esc, at, reason)
    if row is None or row.next_attempt_at > at:
        return  # nothing to close, or not before an open under way is over (the sweep)
    pk = row.pk

    def send() -> None:
        try:
            ggus_close_task.delay(pk)
        except Exception:  # the broker being away: the beat sweep closes it
            log.exception("could not ask to close GGUS ticket %s", pk)

    transaction.on_commit(send)


def panel_lines(escalations: list[Escalation]) -> dict[int, list[BridgeLine]]:
    found: dict[int, list[BridgeLine]] = {}
    for row in GgusTicket.objects.filter(escalation__in=escalations):
        if row.state == GgusState.TO_OPEN:
            text = "GGUS ticket: being opened" + (
                f" (tried {row.attempts}x: {row.last_error})" if row.last_error else ""
            )
        elif row.state == GgusState.FAILED:
            text = f"GGUS ticket could not be opened: {row.last_error}"
        elif row.state == GgusState.TO_CLOSE:
            text = f"GGUS #{row.number or '?'}: being closed" + (
                f" (tried {row.attempts}x: {row.last_error})" if row.last_error else ""
            )
        elif row.state == GgusState.CLOSED:
            text = f"GGUS #{row.number} (closed: escalation cancelled)"
        elif row.state == GgusState.ENDED and not row.number:
            text = "GGUS ticket: not opened (escalation cancelled)"
        else:
            text = f"GGUS #{row.number} ({row.ggus_state or 'open'})"
        found[row.escalation_id] = [BridgeLine(text, ggus_url(row))]
    return found


BRIDGE = Bridge(
    name="ggus",
    label="Also open a GGUS ticket",
    available=ggus_configured,
    accepts=ggus_accepts,
    start=start,
    lines=panel_lines,
    stop=stop,
)
