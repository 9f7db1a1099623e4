"""Who may see which tickets. The team's desk people (shifters, trainees, coordinators,
admins) see all of the team's tickets; other apps add what else a person may see (an
expert: the tickets escalated to their group) by registering a condition at start-up, so
``tickets`` needs to know nothing of them. Seeing is not acting: only desk people act.

Every write on a ticket (the ticket page's forms, the queue's bulk actions, the API, the
escalation panel) asks ``ticket_authorise`` or ``may_do``: one rule, so that a path added
later cannot check only what the user may see."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from tickets.models import DESK_ROLES, Membership, Role, Team, Ticket

AnyUser = User | AnonymousUser
Condition = Callable[[User], Q]
_extra: dict[str, Condition] = {}


def register(name: str, condition: Condition) -> None:
    _extra[name] = condition


def desk_teams_q(user: AnyUser) -> Q:
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    return Q(pk__in=Membership.objects.filter(user=user, role__in=DESK_ROLES).values("team_id"))


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


def may_act(user: AnyUser, team_id: int) -> bool:
    """Whether ``user`` works the team's desk (may reply, assign, escalate, ...). The answer
    is kept on the user object, as Django keeps permissions (``_perm_cache``): a request's
    page and its panels ask once. Load the user again to see a membership changed since."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    answers: dict[int, bool] = user.__dict__.setdefault("_desk_team_answers", {})
    if team_id not in answers:
        answers[team_id] = Membership.objects.filter(
            user=user, team_id=team_id, role__in=DESK_ROLES
        ).exists()
    return answers[team_id]


def desk_answer_known(user: User, team_id: int, works_desk: bool) -> None:
    """Keep what a query already found out for ``may_act`` (see ``ticket_get_for_user``)."""
    user.__dict__.setdefault("_desk_team_answers", {})[team_id] = works_desk


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


def is_coordinator(team: Team, person: AnyUser) -> bool:
    """Coordinators and team admins run the team (its calendar, its canned answers), and so
    does a superuser."""
    if not person.is_authenticated:
        return False
    if person.is_superuser:
        return True
    return Membership.objects.filter(
        team=team, user=person, role__in=(Role.COORDINATOR, Role.ADMIN)
    ).exists()
