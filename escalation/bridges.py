"""Other trackers an escalation can also open a ticket in (GGUS for a site): an app above
escalation (grid) registers a bridge in its AppConfig.ready(); escalation offers it on the
escalate form, calls it inside the escalation's transaction, and shows what it says on the
escalation panel. Escalation knows nothing of how the other tracker is reached."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User

from escalation.models import Escalation, ExpertGroup


@dataclass(frozen=True)
class BridgeLine:
    """One line on an escalation's log: "GGUS #1000123 (assigned)", linked."""

    text: str
    url: str = ""


@dataclass(frozen=True)
class Bridge:
    name: str  # the form field's value
    label: str  # "Also open a GGUS ticket"
    # Whether it can be offered now (configured) and for which groups.
    available: Callable[[], bool]
    accepts: Callable[[ExpertGroup], bool]
    # Called inside escalation_create's transaction: writes its own rows (an outbox row),
    # sends nothing before commit.
    start: Callable[[Escalation, User | None, datetime], None]
    # The lines to show under each escalation, by escalation pk (one query for them all).
    lines: Callable[[list[Escalation]], dict[int, list[BridgeLine]]]
    # Called inside the transaction that cancels the escalation (by a shifter, or because
    # the ticket was resolved or closed), with why: closes the other ticket the same way
    # ``start`` opened it (its own rows, nothing sent before commit).
    stop: Callable[[Escalation, datetime, str], None] | None = None


_bridges: dict[str, Bridge] = {}


def register(bridge: Bridge) -> None:
    _bridges[bridge.name] = bridge


def offered() -> list[Bridge]:
    return [b for b in _bridges.values() if b.available()]


def named(names: Iterable[str]) -> list[Bridge]:
    """The registered bridges among ``names`` (unknown names are ignored)."""
    return [_bridges[n] for n in dict.fromkeys(names) if n in _bridges]


def lines_for(escalations: list[Escalation]) -> dict[int, list[BridgeLine]]:
    found: dict[int, list[BridgeLine]] = {}
    if not escalations:
        return found
    for bridge in _bridges.values():
        for pk, lines in bridge.lines(escalations).items():
            found.setdefault(pk, []).extend(lines)
    return found


def stop_all(esc: Escalation, at: datetime, reason: str) -> None:
    """Every bridge that may have opened a ticket for ``esc`` closes it: ``reason`` says why."""
    for bridge in _bridges.values():
        if bridge.stop is not None:
            bridge.stop(esc, at, reason)
