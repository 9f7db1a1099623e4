"""Marks that other apps put on the queue's rows (the grid app: "site in downtime").

``tickets`` knows nothing of those apps: each registers, in its AppConfig.ready(), a
function that gets the page's tickets at once and answers which of them carry a mark. It
must cost a bounded number of queries for the whole page, never one per row: the queue
shows 50 rows and refreshes itself every minute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tickets.models import Ticket


@dataclass(frozen=True)
class RowMark:
    """A small icon beside the subject. ``label`` is its title and aria-label (it is all a
    screen reader says of it); ``css`` its class; ``text`` what is shown (an icon and a word
    or two: a title alone is out of reach on a touch screen)."""

    css: str
    label: str
    text: str


RowMarks = Callable[[Sequence[Ticket], datetime], dict[int, list[RowMark]]]
_marks: dict[str, RowMarks] = {}


def register(name: str, marks: RowMarks) -> None:
    _marks[name] = marks


def with_row_marks(tickets: Sequence[Ticket], at: datetime) -> Sequence[Ticket]:
    """Set ``row_marks`` on each ticket of a page (an empty list when none)."""
    found: dict[int, list[RowMark]] = {}
    if tickets:
        for marks in _marks.values():
            for pk, more in marks(tickets, at).items():
                found.setdefault(pk, []).extend(more)
    for ticket in tickets:
        ticket.row_marks = found.get(ticket.pk, [])  # type: ignore[attr-defined]
    return tickets
