"""Writes of notifications: telling people (the bell, and mail as each prefers), marking
read, saving preferences."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from common.links import site_url
from notifications.models import Kind, Notification, Preference
from people.names import display_name
from tickets.models import Ticket, TicketEvent
from tickets.models.mail import OutboundKind
from tickets.services.outbox import outbound_queue, tagged_subject


def preferences_of(user: User) -> Preference:
    """The person's preferences; the defaults (unsaved) when they never chose."""
    found = Preference.objects.filter(user=user).first()
    return found if found is not None else Preference(user=user)


def people_notify(
    *, people: Iterable[User], event: TicketEvent, ticket: Ticket, kind: Kind, text: str
) -> list[Notification]:
    """Tell each person by the bell, and by mail if they want it (through the outbox, after
    commit). Once per person and event: run again, it adds nothing."""
    people = list(people)
    if not people:
        return []
    already = set(
        Notification.objects.filter(event=event, user__in=people).values_list("user_id", flat=True)
    )
    prefs = {p.user_id: p for p in Preference.objects.filter(user__in=people)}
    made = []
    with transaction.atomic():
        for person in people:
            if person.pk in already:
                continue
            made.append(
                Notification.objects.create(
                    user=person, ticket=ticket, event=event, kind=kind, text=text[:300], at=event.at
                )
            )
            pref = prefs.get(person.pk) or Preference(user=person)
            if person.email and pref.wants_mail(kind):
                _mail(person, ticket, kind, text)
    return made


def _mail(person: User, ticket: Ticket, kind: Kind, text: str) -> None:
    settings_url = site_url(reverse("notification-preferences"))
    outbound_queue(
        team=ticket.team,
        ticket=ticket,
        kind=OutboundKind.NOTIFICATION,
        to=[person.email],
        subject=tagged_subject(ticket, f"{kind.label}: {ticket.subject}"),
        body_text=(
            f"Hello {display_name(person)},\n\n{text}\n\n{site_url(ticket)}\n\n"
            f"-- \nWhich of these mails you get: {settings_url}\n"
        ),
        automatic=True,
    )


def notifications_mark_read(
    *, user: User, ids: Iterable[int] | None = None, at: datetime | None = None
) -> int:
    """Mark the person's notifications read (all of them without ``ids``); returns how many
    changed. Nobody else's are touched."""
    unread = Notification.objects.filter(user=user, read_at=None)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=at or timezone.now())


def preferences_save(*, user: User, values: dict[str, bool]) -> Preference:
    pref, _ = Preference.objects.get_or_create(user=user)
    for field, value in values.items():
        setattr(pref, field, bool(value))
    pref.save()
    return pref
