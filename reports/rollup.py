"""What a ticket's history says about it, for the reports. Pure: events in, figures out.

The same function serves the event consumer (one ticket, after each of its events) and the
rebuild (every ticket of a team from the log), so a rollup is always what the log says:
running it again on the same events gives the same row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

OPEN = ("new", "open", "waiting_user", "waiting_expert")
DONE = ("resolved", "closed")


@dataclass(frozen=True)
class Ev:
    """The parts of a TicketEvent a rollup reads."""

    kind: str
    at: datetime
    actor_kind: str = "desk"
    actor_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class TicketRollup:
    opened_at: datetime
    zone: str = ""
    category: str = "other"
    channel: str = ""
    first_response_at: datetime | None = None
    first_response_s: int | None = None  # covered seconds
    resolved_at: datetime | None = None
    resolution_s: int | None = None  # covered seconds
    reopen_count: int = 0
    merged: bool = False
    shifter_id: int | None = None
    opening_message_id: int | None = None
    # (ISO instant, status) at each change, oldest first: the backlog at any week's end.
    timeline: list[list[str]] = field(default_factory=list)


@dataclass
class EscalationRollup:
    escalation_id: int
    group_id: int | None
    group_name: str
    group_kind: str
    cloud_id: int | None
    escalated_at: datetime
    calendar_id: int | None = None  # the working calendar its wait counts in; None: the team's
    answered_at: datetime | None = None
    cancelled_at: datetime | None = None
    wait_s: int | None = None  # working seconds until the answer
    reminders: int = 0
    next_levels: int = 0


# Seconds of open time (covered or working hours) between two instants.
Between = Callable[[datetime, datetime], timedelta]
# The zone that covers (or will next cover) an instant.
ZoneAt = Callable[[datetime], str]


def _sorted(events: Iterable[Ev]) -> list[Ev]:
    return sorted(events, key=lambda e: e.at)  # stable: recording order within an instant


def ticket_rollup(
    events: Sequence[Ev],
    *,
    opened_at: datetime,
    category: str,
    covered: Between,
    zone_at: ZoneAt,
) -> TicketRollup:
    """A ticket's figures from its events (``opened_at``: the ticket's own creation, used
    when the log lacks the opening, e.g. for a ticket older than the log; ``category``: the
    one it has now, by which it is counted)."""
    events = _sorted(events)
    opened = next((e for e in events if e.kind == "opened"), None)
    start = opened.at if opened else opened_at
    out = TicketRollup(opened_at=start, category=category)
    if opened is not None:
        out.channel = str(opened.data.get("channel", ""))
        message = opened.data.get("message")
        out.opening_message_id = int(message) if message else None
    status = "new"
    out.timeline.append([start.isoformat(), status])
    last_mail = start
    owner: int | None = None
    imported_close = False

    def move(at: datetime, new: str) -> None:
        nonlocal status
        if new != status:
            status = new
            out.timeline.append([at.isoformat(), new])

    for e in events:
        if e.kind in ("message_received", "reply_sent"):
            last_mail = max(last_mail, e.at)
        if e.kind == "reply_sent":
            if out.first_response_at is None:
                out.first_response_at = max(e.at, start)
                if e.actor_kind == "person" and e.actor_id is not None:
                    out.shifter_id = e.actor_id
            if status == "new":
                move(e.at, "open")
        elif e.kind == "message_received" and status == "waiting_user":
            move(e.at, "open")
        elif e.kind == "status_changed":
            new = str(e.data.get("new", status))
            if status in DONE and new in OPEN and not _reopened_at(events, e.at):
                out.reopen_count += 1
            imported_close = bool(e.data.get("imported")) and new in DONE
            move(e.at, new)
        elif e.kind == "reopened":
            out.reopen_count += 1
            move(e.at, "open")
        elif e.kind in ("assigned", "handed_over"):
            if e.data.get("zone") and not out.zone:
                out.zone = str(e.data["zone"])
            if e.data.get("to"):
                owner = int(e.data["to"])
        elif e.kind == "merged" and "into" in e.data:
            out.merged = True
    if not out.zone:
        out.zone = zone_at(start)
    if out.shifter_id is None:
        out.shifter_id = owner
    if status in DONE:
        # The instant of the last move into resolved/closed.
        done_at = datetime.fromisoformat(out.timeline[-1][0])
        if imported_close:
            done_at = max(done_at, last_mail)  # an import closes a ticket at its last mail
        out.resolved_at = done_at
        out.resolution_s = int(covered(start, done_at).total_seconds())
    if out.first_response_at is not None:
        out.first_response_s = int(covered(start, out.first_response_at).total_seconds())
    return out


def status_at(timeline: Sequence[Sequence[str]], at: datetime) -> str | None:
    """A rollup's status just before ``at`` (its timeline's last change before; None: not
    opened yet)."""
    changes = ((datetime.fromisoformat(when), status) for when, status in timeline)
    return next((status for when, status in reversed(list(changes)) if when < at), None)


def _reopened_at(events: Sequence[Ev], at: datetime) -> bool:
    """A REOPENED event at the same instant speaks for this status change."""
    return any(e.kind == "reopened" and e.at == at for e in events)


def escalation_rollups(
    events: Sequence[Ev],
    *,
    working: Callable[[int | None], Between],
    calendars: Mapping[int, int | None] | None = None,
) -> list[EscalationRollup]:
    """One row per escalation the ticket's events name; each wait counted in the working
    calendar of whoever was asked (``working``: a calendar's id, None for the team's -> its
    open time): the one its ESCALATED event names, else ``calendars`` (escalation id -> the
    calendar it was made with; for events older than the key)."""
    rows: dict[int, EscalationRollup] = {}
    for e in _sorted(events):
        pk = e.data.get("escalation")
        if pk is None:
            continue
        pk = int(pk)
        if e.kind == "escalated":
            calendar = e.data.get("calendar") if "calendar" in e.data else None
            if "calendar" not in e.data and calendars is not None:
                calendar = calendars.get(pk)
            rows[pk] = EscalationRollup(
                escalation_id=pk,
                group_id=e.data.get("group"),
                group_name=str(e.data.get("group_name", "")),
                group_kind=str(e.data.get("group_kind", "")),
                cloud_id=e.data.get("cloud"),
                escalated_at=e.at,
                calendar_id=int(calendar) if calendar else None,
            )
            continue
        row = rows.get(pk)
        if row is None:
            continue
        if e.kind == "escalation_answered" and row.answered_at is None:
            row.answered_at = e.at
            row.wait_s = int(working(row.calendar_id)(row.escalated_at, e.at).total_seconds())
        elif e.kind == "escalation_cancelled" and row.cancelled_at is None:
            row.cancelled_at = e.at
        elif e.kind == "timer_fired":
            action = str(e.data.get("action", ""))
            if action.startswith("reminded"):
                row.reminders += 1
            elif action.startswith("escalated"):
                row.next_levels += 1
    return list(rows.values())
