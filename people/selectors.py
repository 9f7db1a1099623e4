"""Reads about teams and their people."""

from __future__ import annotations

from django.db.models import QuerySet

from people.access import AnyUser, desk_teams_q
from people.models import Team


def teams_for_desk_user(user: AnyUser) -> QuerySet[Team]:
    """The teams whose queue this person works (all teams for a superuser)."""
    return Team.objects.filter(desk_teams_q(user))
