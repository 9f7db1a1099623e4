"""Who hears of something that happened to a ticket: its owner when on shift (first level),
else the first-level shifters on shift now; with nobody on shift, nobody (the next shift's
digest lists it). Never the person who did it, and only people who may see the ticket."""

from __future__ import annotations

from django.contrib.auth.models import User

from shifts.selectors import OnDuty
from tickets.access import may_see
from tickets.models import Ticket


def people_to_tell(ticket: Ticket, duty: OnDuty, *, actor_id: int | None = None) -> list[User]:
    """``duty``: who is on shift in the ticket's team now (``shifts.selectors.on_duty``)."""
    on_shift = {b.person_id: b.person for b in duty.first_level}
    if ticket.assignee_id is not None and ticket.assignee_id in on_shift:
        people = [on_shift[ticket.assignee_id]]
    else:
        people = list(on_shift.values())
    return [
        person
        for person in people
        if person.pk != actor_id and person.is_active and may_see(person, ticket)
    ]
