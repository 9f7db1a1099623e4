"""Notifications: a new ticket, a requester's reply, an expert's answer are told to whoever
works the ticket now (its owner if on shift, else those on shift) by the bell and by mail
with the ticket's link, as each person prefers; the bell's count, the list, marking read."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.consumers import on_event
from notifications.models import Kind, Notification, Preference, TeamWebhook, WebhookPost
from people.models import Role
from shifts.models import Booking, ShiftRole
from tests.factories import MailboxFactory, MembershipFactory, TeamFactory, shift_team
from tests.mailfactory import make_mail
from tickets.events import events_consume, events_consume_batch
from tickets.mail.intake import raw_process, raw_store
from tickets.models import EventDelivery, OutboundMail, Ticket, TicketEvent
from tickets.models.events import DeliveryState
from tickets.models.mail import OutboundKind, RawSource
from tickets.services import Sender, ticket_open

pytestmark = pytest.mark.django_db
GENEVA = ZoneInfo("Europe/Zurich")
WEDNESDAY = date(2026, 11, 18)
THURSDAY = date(2026, 11, 19)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=GENEVA)


@pytest.fixture
def team():
    team = shift_team({"anna": Role.SHIFTER, "pierre": Role.SHIFTER, "sofia": Role.SHIFTER})
    MailboxFactory(team=team)
    for zone, day, name in (
        (team.eu, WEDNESDAY, "anna"),
        (team.na, WEDNESDAY, "sofia"),
        (team.eu, THURSDAY, "pierre"),
    ):
        Booking.objects.create(
            zone=zone, day=day, person=team.people[name], role=ShiftRole.FIRST_LEVEL
        )
    return team


def _open(team, capture, at: datetime) -> Ticket:
    with time_machine.travel(at, tick=False), capture(execute=True):
        ticket = ticket_open(
            team=team,
            sender=Sender("jdoe@cern.ch", "Jane Doe"),
            subject="Task 15934870 exhausted",
            body_text="All jobs of JEDI task 15934870 fail with lost heartbeat.",
        )
    ticket.refresh_from_db()
    return ticket


def _reply(team, ticket: Ticket, capture, at: datetime) -> None:
    raw = make_mail(
        sender=("Jane Doe", "jdoe@cern.ch"),
        subject=f"Re: [{ticket.reference}] more logs",
        body="Here are more logs.",
    )
    with time_machine.travel(at, tick=False), capture(execute=True):
        raw_process(raw_store(team=team, raw=raw, source=RawSource.IMAP))


def _told(kind: Kind) -> dict[str, Notification]:
    return {n.user.username: n for n in Notification.objects.filter(kind=kind)}


def _mails_to(address: str) -> list[OutboundMail]:
    return list(OutboundMail.objects.filter(kind=OutboundKind.NOTIFICATION, to=address))


def test_a_new_ticket_is_told_to_the_shifter_on_shift_by_bell_and_by_mail_with_its_link(
    team, django_capture_on_commit_callbacks
):
    ticket = _open(team, django_capture_on_commit_callbacks, _at(WEDNESDAY, 10))
    assert ticket.assignee == team.people["anna"]
    told = _told(Kind.NEW_TICKET)
    assert list(told) == ["anna"]  # pierre and sofia are not on shift
    assert told["anna"].ticket == ticket
    assert told["anna"].read_at is None
    assert told["anna"].text == "New ticket DAST-1 “Task 15934870 exhausted” from Jane Doe"
    (mail,) = _mails_to("anna@example.org")
    assert mail.subject == "[DAST-1] New ticket: Task 15934870 exhausted"
    assert "http://127.0.0.1:8000/tickets/DAST-1/" in mail.body_text
    assert "http://127.0.0.1:8000/notifications/settings/" in mail.body_text
    assert not _mails_to("pierre@example.org")


def test_with_nobody_on_shift_a_new_ticket_is_told_to_nobody(
    team, django_capture_on_commit_callbacks
):
    ticket = _open(team, django_capture_on_commit_callbacks, _at(WEDNESDAY, 3))
    assert ticket.assignee is None
    assert not Notification.objects.exists()


def test_a_requesters_reply_is_told_to_the_owner_on_shift(team, django_capture_on_commit_callbacks):
    ticket = _open(team, django_capture_on_commit_callbacks, _at(WEDNESDAY, 10))
    _reply(team, ticket, django_capture_on_commit_callbacks, _at(WEDNESDAY, 11))
    told = _told(Kind.REQUESTER_REPLY)
    assert list(told) == ["anna"]
    assert told["anna"].text == "Jane Doe replied on DAST-1 “Task 15934870 exhausted”"
    subjects = [m.subject for m in _mails_to("anna@example.org")]
    assert "[DAST-1] Requester's reply: Task 15934870 exhausted" in subjects


def test_a_reply_after_the_owners_shift_is_told_to_who_took_the_ticket_not_the_owner(
    team, django_capture_on_commit_callbacks
):
    ticket = _open(team, django_capture_on_commit_callbacks, _at(WEDNESDAY, 10))
    _reply(team, ticket, django_capture_on_commit_callbacks, _at(WEDNESDAY, 19))
    ticket.refresh_from_db()
    assert ticket.assignee == team.people["sofia"]
    assert list(_told(Kind.REQUESTER_REPLY)) == ["sofia"]


def test_preferences_turn_a_kind_of_mail_off_but_the_bell_still_rings(
    team, django_capture_on_commit_callbacks
):
    Preference.objects.create(user=team.people["anna"], mail_requester_reply=False)
    ticket = _open(team, django_capture_on_commit_callbacks, _at(WEDNESDAY, 10))
    _reply(team, ticket, django_capture_on_commit_callbacks, _at(WEDNESDAY, 11))
    assert list(_told(Kind.REQUESTER_REPLY)) == ["anna"]
    subjects = [m.subject for m in _mails_to("anna@example.org")]
    assert subjects == ["[DAST-1] New ticket: Task 15934870 exhausted"]


def test_someone_who_may_not_see_the_ticket_is_not_told(team, django_capture_on_commit_callbacks):
    # Booked on DAST's calendar but no longer a member of its desk.
    from people.models import Membership

    Membership.objects.filter(user=team.people["anna"], team=team).delete()
    _open(team, django_capture_on_commit_callbacks, _at(WEDNESDAY, 10))
    assert not Notification.objects.filter(user=team.people["anna"]).exists()


def test_the_preferences_page_saves_each_choice(client, team):
    client.force_login(team.people["anna"])
    page = client.get("/notifications/settings/")
    assert page.status_code == 200
    assert b'name="mail_new_ticket" checked' in page.content
    client.post("/notifications/settings/", {"mail_overdue": "on", "browser": "on"})
    pref = Preference.objects.get(user=team.people["anna"])
    assert (pref.mail_new_ticket, pref.mail_overdue, pref.browser) == (False, True, True)


@pytest.mark.frozen_at(datetime(2026, 11, 18, 10, tzinfo=GENEVA))
def test_the_bell_counts_unread_the_list_shows_them_and_opening_one_marks_it_read(
    client, team, django_capture_on_commit_callbacks
):
    ticket = _open(team, django_capture_on_commit_callbacks, _at(WEDNESDAY, 10))
    _reply(team, ticket, django_capture_on_commit_callbacks, _at(WEDNESDAY, 10))
    client.force_login(team.people["anna"])
    bell = client.get("/notifications/bell/").content.decode()
    assert '<span class="bell-count">2</span>' in bell
    assert "Notifications: 2 unread" in bell
    listed = client.get("/notifications/").content.decode()
    assert "New ticket DAST-1" in listed
    assert "Jane Doe replied on DAST-1" in listed
    first = Notification.objects.get(kind=Kind.NEW_TICKET)
    opened = client.get(f"/notifications/{first.pk}/")
    assert opened.status_code == 302
    assert opened["Location"] == "/tickets/DAST-1/"
    first.refresh_from_db()
    assert first.read_at is not None
    bell = client.get("/notifications/bell/").content.decode()
    assert '<span class="bell-count">1</span>' in bell
    client.post("/notifications/read/", {"all": "1"})
    assert "bell-count" not in client.get("/notifications/bell/").content.decode()


def test_nobody_opens_or_marks_read_anyone_elses_notifications(
    client, team, django_capture_on_commit_callbacks
):
    _open(team, django_capture_on_commit_callbacks, _at(WEDNESDAY, 10))
    annas = Notification.objects.get(user=team.people["anna"])
    client.force_login(team.people["pierre"])
    assert client.get(f"/notifications/{annas.pk}/").status_code == 404
    client.post("/notifications/read/", {"ids": [str(annas.pk)]})
    client.post("/notifications/read/", {"all": "1"})
    annas.refresh_from_db()
    assert annas.read_at is None
    # Someone of another team never sees it listed.
    other = MembershipFactory(team=TeamFactory(slug="biomed"), role=Role.SHIFTER).user
    client.force_login(other)
    assert "DAST-1" not in client.get("/notifications/").content.decode()


def test_the_bell_needs_a_signed_in_person(client):
    assert client.get("/notifications/bell/").status_code == 302


def _told_of(events) -> tuple[list, list, list]:
    """What the consumer did for ``events``: the bell's rows, the mails, the webhook posts,
    without their keys."""
    notes = Notification.objects.filter(event__in=events)
    mails = OutboundMail.objects.filter(
        kind=OutboundKind.NOTIFICATION, ticket__in={e.ticket_id for e in events}
    ).exclude(subject__contains="New ticket", ticket__number__lte=50)  # the old tickets' news
    posts = WebhookPost.objects.filter(event__in=events)
    return (
        sorted(notes.values_list("user__username", "event_id", "kind", "text", "at")),
        sorted(mails.values_list("to", "ticket_id", "subject", "body_text")),
        sorted(
            (h, e, k, json.dumps(p))
            for h, e, k, p in posts.values_list("hook", "event", "kind", "payload")
        ),
    )


def _tickets_open(team, numbers: range) -> list[Ticket]:
    return [
        ticket_open(
            team=team,
            sender=Sender(f"user{n}@cern.ch", f"User {n}"),
            subject=f"Task {15_934_800 + n} exhausted",
            body_text="All jobs fail with lost heartbeat.",
        )
        for n in numbers
    ]


def test_fifty_new_tickets_and_fifty_replies_are_told_in_one_batch_as_one_by_one(
    team,
):
    Booking.objects.create(
        zone=team.eu, day=WEDNESDAY, person=team.people["pierre"], role=ShiftRole.FIRST_LEVEL
    )
    Preference.objects.create(user=team.people["pierre"], mail_new_ticket=False)
    TeamWebhook.objects.create(team=team, name="chat", url_env="DAST_TEST_CHAT_URL")
    with time_machine.travel(_at(WEDNESDAY, 10), tick=False):
        old = _tickets_open(team, range(50))
        events_consume()
        _tickets_open(team, range(50, 100))
        for n, ticket in enumerate(old):
            raw = make_mail(
                sender=(f"User {n}", f"user{n}@cern.ch"),
                subject=f"Re: [{ticket.reference}] more logs",
                body="Here are more logs.",
            )
            raw_process(raw_store(team=team, raw=raw, source=RawSource.IMAP))
        # Routing and the expert answers first (the consumer runs after them), then the
        # notifications' deliveries, all due at once.
        ours = EventDelivery.objects.filter(consumer="notifications", state=DeliveryState.PENDING)
        ours.update(due_at=timezone.now() + timedelta(hours=1))
        events_consume()
        events = list(TicketEvent.objects.filter(pk__in=ours.values("event_id")).order_by("pk"))
        assert Counter(e.kind for e in events) == {"opened": 50, "message_received": 50}
        ours.update(due_at=timezone.now())
        with CaptureQueriesContext(connection) as queries:
            assert events_consume_batch(limit=100) == 100
        # The claim and its bookkeeping, the tickets, the messages, the shift and its
        # people's desks, what was told, the preferences, the webhooks, an INSERT each: not
        # a few per event (one by one it is over 800).
        assert len(queries) <= 40, "\n".join(q["sql"][:120] for q in queries.captured_queries)
        assert not ours.exists()
        batched = _told_of(events)
        notes, mails, posts = batched
        assert Counter((n[0], n[2]) for n in notes) == {
            ("anna", Kind.NEW_TICKET): 25,
            ("pierre", Kind.NEW_TICKET): 25,
            ("anna", Kind.REQUESTER_REPLY): 25,
            ("pierre", Kind.REQUESTER_REPLY): 25,
        }
        # pierre wants no mail of new tickets; each mail has its ticket's link.
        assert Counter(m[0] for m in mails) == {"anna@example.org": 50, "pierre@example.org": 25}
        assert all(
            f"http://127.0.0.1:8000/tickets/DAST-{n}/" in body
            for _, pk, _, body in mails
            for n in Ticket.objects.filter(pk=pk).values_list("number", flat=True)
        )
        assert len(posts) == 50  # the new tickets only

        # The same events told one by one, as before the batch handler, tell the same.
        Notification.objects.filter(event__in=events).delete()
        WebhookPost.objects.filter(event__in=events).delete()
        OutboundMail.objects.filter(
            kind=OutboundKind.NOTIFICATION, ticket__in={e.ticket_id for e in events}
        ).exclude(subject__contains="New ticket", ticket__number__lte=50).delete()
        for event in events:
            on_event(event)
        assert _told_of(events) == batched
        for event in events:  # and again: nothing new
            on_event(event)
        assert _told_of(events) == batched
