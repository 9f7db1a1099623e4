"""Reads on tickets, with the joins each page needs."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Prefetch, QuerySet
from django.db.models.functions import Lower

from tickets.models import DESK_ROLES, Attachment, Message, Requester, Team, Ticket

AnyUser = User | AnonymousUser


def teams_for_desk_user(user: AnyUser) -> QuerySet[Team]:
    """The teams whose queue this person works (all teams for a superuser)."""
    if not user.is_authenticated:
        return Team.objects.none()
    if user.is_superuser:
        return Team.objects.all()
    return Team.objects.filter(memberships__user=user, memberships__role__in=DESK_ROLES).distinct()


def ticket_list_for_user(user: AnyUser) -> QuerySet[Ticket]:
    """Tickets this person may see, newest activity first, ready for a list page."""
    return (
        Ticket.objects.filter(team__in=teams_for_desk_user(user))
        .select_related("team", "requester", "assignee", "shadow")
        .annotate(message_count=Count("messages"))
        .order_by("-last_message_at", "-pk")
    )


def ticket_get_for_user(user: AnyUser, *, prefix: str, number: int) -> Ticket | None:
    """One ticket with its thread, or None when it does not exist or is not the user's to see."""
    return (
        Ticket.objects.filter(
            team__in=teams_for_desk_user(user), team__ticket_prefix=prefix.upper(), number=number
        )
        .select_related("team", "requester", "assignee", "shadow", "merged_into__team")
        .prefetch_related(
            Prefetch(
                "messages",
                queryset=Message.objects.select_related("author").prefetch_related(
                    Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
                ),
            )
        )
        .first()
    )


def requester_by_email(email: str) -> Requester | None:
    """The requester with this address in any case; uses the unique index on lower(email)
    (``email__iexact`` compiles to UPPER() on PostgreSQL, which no index serves)."""
    return (
        Requester.objects.alias(email_lower=Lower("email"))
        .filter(email_lower=email.strip().lower())
        .first()
    )
