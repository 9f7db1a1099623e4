"""Reads of notifications: only those about tickets the person may still see."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet

from notifications.models import Notification
from tickets.access import visible_tickets_q
from tickets.models import Ticket


def _visible(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(
        user=user, ticket__in=Ticket.objects.filter(visible_tickets_q(user)).values("pk")
    )


def unread_count(user: User) -> int:
    return _visible(user).filter(read_at=None).count()


def notifications_for(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    found = _visible(user).select_related("ticket__team")
    return found.filter(read_at=None) if unread_only else found
