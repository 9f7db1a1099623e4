"""Writes of notifications: telling people (the bell, and mail as each prefers), marking
read, saving preferences."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from common.bulk import bulk_insert
from common.links import site_url
from common.mailtemplates import MailTemplate, mail_template
from notifications.models import Kind, Notification, Preference
from people.names import display_name
from tickets.mail.outbox import (
    mail_build,
    outbound_queue_many,
    team_sending_address,
)
from tickets.models import OutboundMail, Ticket, TicketEvent
from tickets.models.mail import OutboundKind


def preferences_of(user: User) -> Preference:
    """The person's preferences; the defaults (unsaved) when they never chose."""
    found = Preference.objects.filter(user=user).first()
    return found if found is not None else Preference(user=user)


@dataclass(frozen=True)
class News:
    """One thing to tell of ``event`` on ``ticket``: to ``people`` by the bell and mail, and
    to the team's chat webhooks that want its kind (``notifications.webhooks``)."""

    event: TicketEvent
    ticket: Ticket
    kind: Kind
    text: str
    people: list[User]


def people_notify(news: list[News]) -> list[Notification]:
    """Tell each person by the bell, and by mail if they want it (through the outbox, after
    commit). Once per person and event: run again, it adds nothing. A few queries for a
    whole batch: who was told already, the preferences, one INSERT each for the bell and
    the mails."""
    news = [n for n in news if n.people]
    if not news:
        return []
    already = set(
        Notification.objects.filter(event__in=[n.event for n in news]).values_list(
            "event_id", "user_id"
        )
    )
    prefs = {
        p.user_id: p
        for p in Preference.objects.filter(user__in={p.pk for n in news for p in n.people})
    }
    senders: dict[int, str] = {}
    templates: dict[int, MailTemplate] = {}
    made: list[Notification] = []
    mails: list[OutboundMail] = []
    for item in news:
        ticket, kind = item.ticket, item.kind
        for person in item.people:
            if (item.event.pk, person.pk) in already:
                continue
            made.append(
                Notification(
                    user=person,
                    ticket=ticket,
                    event=item.event,
                    kind=kind,
                    text=item.text[:300],
                    at=item.event.at,
                )
            )
            pref = prefs.get(person.pk) or Preference(user=person)
            if person.email and pref.wants_mail(kind):
                if ticket.team_id not in senders:  # once per team and batch
                    senders[ticket.team_id] = team_sending_address(ticket.team)
                    templates[ticket.team_id] = mail_template("notification", team=ticket.team)
                mails.append(
                    _mail(person, item, senders[ticket.team_id], templates[ticket.team_id])
                )
    with transaction.atomic():
        bulk_insert(made)
        outbound_queue_many(mails)
    return made


def _mail(person: User, news: News, sender: str, template: MailTemplate) -> OutboundMail:
    ticket = news.ticket
    return mail_build(
        template,
        team=ticket.team,
        ticket=ticket,
        kind=OutboundKind.NOTIFICATION,
        to=[person.email],
        context={
            "kind": news.kind.label,
            "subject": ticket.subject,
            "name": display_name(person),
            "text": news.text,
            "url": site_url(ticket),
            "settings_url": site_url(reverse("notification-preferences")),
        },
        automatic=True,
        sender=sender,
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
