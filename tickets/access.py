"""Who may see which tickets, on ``people.access`` (who works which desk). The team's desk
people (shifters, trainees, coordinators, admins) see all of the team's tickets; other apps
add what else a person may see (an expert: the tickets escalated to their group) by
registering a condition at start-up, so ``tickets`` needs to know nothing of them. Seeing
is not acting: only desk people act.

Every write on a ticket (the ticket page's forms, the queue's bulk actions, the API, the
escalation panel) asks ``ticket_authorise`` or ``may_do``: one rule, so that a path added
later cannot check only what the user may see."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from people.access import AnyUser, desk_teams_q, may_act
from people.models import Team
from tickets.models import Ticket

Condition = Callable[[User], Q]
_extra: dict[str, Condition] = {}


def register(name: str, condition: Condition) -> None:
    _extra[name] = condition


def visible_tickets_q(user: AnyUser) -> Q:
    """The condition on Ticket for what ``user`` may see."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    q = Q(team__in=Team.objects.filter(desk_teams_q(user)))
    assert isinstance(user, User)
    for condition in _extra.values():
        q |= condition(user)
    return q


def may_see(user: AnyUser, ticket: Ticket) -> bool:
    """``visible_tickets_q`` for one ticket already loaded: the desk's people without another
    query (``may_act`` is asked anyway), the others by the registered conditions."""
    if may_act(user, ticket.team_id):
        return True
    if not user.is_authenticated or not _extra:
        return False
    return Ticket.objects.filter(visible_tickets_q(user), pk=ticket.pk).exists()


# What someone who may see a ticket but does not work its desk (an expert reading the
# tickets escalated to their group) may still do to it. Everything else is the desk's.
VIEWER_ACTIONS = frozenset({"note"})


def may_do(user: AnyUser, ticket: Ticket, action: str) -> bool:
    """Whether ``user`` may do ``action`` ("reply", "close", "merge", ...) to ``ticket``: the
    team's desk people may do anything; someone who only sees it, only VIEWER_ACTIONS."""
    if may_act(user, ticket.team_id):
        return True
    return action in VIEWER_ACTIONS and may_see(user, ticket)


def ticket_authorise(user: AnyUser, ticket: Ticket | None, action: str) -> Ticket:
    """The ticket when ``user`` may do ``action`` to it. Http404 when they may not see it
    (as for a ticket that does not exist: existence is not leaked), PermissionDenied (403)
    when they see it but may not act. Django and DRF both answer these two exceptions."""
    if ticket is None or not may_see(user, ticket):
        raise Http404("No such ticket")
    if not may_do(user, ticket, action):
        raise PermissionDenied("Only the team's desk people act on its tickets.")
    return ticket
