"""Notifications: a new ticket, a requester's reply, an expert's answer are told to whoever
works the ticket now (its owner if on shift, else those on shift) by the bell and by mail
with the ticket's link, as each person prefers; the bell's count, the list, marking read."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine

from notifications.models import Kind, Notification, Preference
from people.models import Role
from shifts.models import Booking, ShiftRole
from tests.factories import MailboxFactory, MembershipFactory, TeamFactory, shift_team
from tests.mailfactory import make_mail
from tickets.models import OutboundMail, Ticket
from tickets.models.mail import OutboundKind, RawSource
from tickets.services import Sender, ticket_open
from tickets.services.intake import raw_process, raw_store

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
