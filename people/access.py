"""Who works which team's desk, and who runs a team. The rules about tickets (who may see or
act on one) are built on these in ``tickets.access``."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q

from people.models import DESK_ROLES, Membership, Role, Team

AnyUser = User | AnonymousUser


def desk_teams_q(user: AnyUser) -> Q:
    """The condition on Team for the teams whose desk ``user`` works."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    return Q(pk__in=Membership.objects.filter(user=user, role__in=DESK_ROLES).values("team_id"))


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
