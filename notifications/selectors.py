"""Reads of notifications: only those about tickets the person may still see, and digests
of the teams whose desk they still work."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from notifications.models import Notification
from people.access import desk_teams_q
from people.models import Team
from tickets.access import visible_tickets_q
from tickets.models import Ticket


def _visible(user: User) -> QuerySet[Notification]:
    tickets = Ticket.objects.filter(visible_tickets_q(user)).values("pk")
    teams = Team.objects.filter(desk_teams_q(user)).values("pk")
    return Notification.objects.filter(
        Q(ticket__in=tickets) | Q(ticket=None, digest__zone__team__in=teams), user=user
    )


def unread_count(user: User) -> int:
    return _visible(user).filter(read_at=None).count()


def notifications_for(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    found = _visible(user).select_related("ticket__team")
    return found.filter(read_at=None) if unread_only else found
