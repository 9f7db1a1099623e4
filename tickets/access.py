"""Who may see which tickets. The team's desk people (shifters, trainees, coordinators,
admins) see all of the team's tickets; other apps add what else a person may see (an
expert: the tickets escalated to their group) by registering a condition at start-up, so
``tickets`` needs to know nothing of them. Seeing is not acting: only desk people act."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q
from django.http import HttpRequest

from tickets.models import DESK_ROLES, Membership, Role, Team

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
    """Whether ``user`` works the team's desk (may reply, assign, escalate, ...)."""
    if not user.is_authenticated:
        return False
    return (
        user.is_superuser
        or Membership.objects.filter(user=user, team_id=team_id, role__in=DESK_ROLES).exists()
    )


def may_act_here(request: HttpRequest, team_id: int) -> bool:
    """``may_act`` for the request's user, asked once per request (the page and its panels
    all want to know)."""
    answers: dict[int, bool] = request.__dict__.setdefault("_may_act", {})
    if team_id not in answers:
        answers[team_id] = may_act(request.user, team_id)
    return answers[team_id]


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
