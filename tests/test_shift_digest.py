"""The digest at the first shift after a gap in the cover: its shifters get one mail with
what came in while nobody was on shift (new tickets, replies, experts' answers, unverified
replies) and every draft still waiting for approval; a shift that follows a covered one gets
none (the handover mail is its digest)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from notifications.digest import digest_run
from notifications.models import ShiftDigest
from people.models import Role
from shifts.models import Booking, ShiftRole
from tests.factories import MessageFactory, TicketFactory, shift_team
from tickets.models import MessageKind, OutboundMail, ReplyDraft, Status
from tickets.models.mail import OutboundKind

pytestmark = pytest.mark.django_db
GENEVA = ZoneInfo("Europe/Zurich")
WEDNESDAY = date(2026, 11, 18)
THURSDAY = date(2026, 11, 19)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=GENEVA)


@pytest.fixture
def team():
    team = shift_team(
        {"anna": Role.SHIFTER, "pierre": Role.SHIFTER, "sofia": Role.SHIFTER, "tomas": Role.TRAINEE}
    )
    for zone, day, name, role in (
        (team.eu, WEDNESDAY, "anna", ShiftRole.FIRST_LEVEL),
        (team.na, WEDNESDAY, "sofia", ShiftRole.FIRST_LEVEL),
        (team.eu, THURSDAY, "pierre", ShiftRole.FIRST_LEVEL),
        (team.eu, THURSDAY, "tomas", ShiftRole.TRAINEE),
        (team.na, THURSDAY, "sofia", ShiftRole.FIRST_LEVEL),
    ):
        Booking.objects.create(zone=zone, day=day, person=team.people[name], role=role)
    return team


def _digests() -> list[OutboundMail]:
    return list(
        OutboundMail.objects.filter(kind=OutboundKind.NOTIFICATION, subject__contains="Since")
    )


def _night(team) -> dict[str, object]:
    """What happens on Wednesday's shifts and in the night after them."""
    with time_machine.travel(_at(WEDNESDAY, 14), tick=False):
        old = TicketFactory(team=team, subject="Old one", status=Status.OPEN)
        answered_before = MessageFactory(ticket=old, body_text="seen by anna")
        waiting = TicketFactory(team=team, subject="Rucio rule stuck", assignee=team.people["anna"])
        draft = ReplyDraft.objects.create(
            ticket=waiting,
            author=team.people["tomas"],
            body_text="Try again",
            created_at=_at(WEDNESDAY, 14),
        )
    with time_machine.travel(_at(THURSDAY, 2), tick=False):
        reply = MessageFactory(ticket=old, sender_name="Jane Doe", body_text="still failing")
    with time_machine.travel(_at(THURSDAY, 3), tick=False):
        new = TicketFactory(team=team, subject="Jobs killed at BNL", after_hours=True)
        MessageFactory(ticket=new)
    with time_machine.travel(_at(THURSDAY, 4), tick=False):
        unverified = MessageFactory(
            ticket=waiting,
            kind=MessageKind.EXPERT,
            unverified=True,
            sender_name="Someone Else",
            sender_email="someone@gmail.com",
        )
    return {
        "old": old,
        "waiting": waiting,
        "new": new,
        "draft": draft,
        "reply": reply,
        "unverified": unverified,
        "before": answered_before,
    }


def test_the_first_shift_after_the_night_gets_a_digest_of_the_night(
    team, django_capture_on_commit_callbacks, enqueued
):
    night = _night(team)
    assert digest_run(at=_at(THURSDAY, 7, 59)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert digest_run(at=_at(THURSDAY, 8)) == 1
    (mail,) = _digests()
    assert mail.to == "pierre@example.org"  # first level; not the trainee
    assert len(enqueued) == 1
    body = mail.body_text
    assert (
        "nobody was on shift from Thu 19 Nov 00:00 until your EU shift began at Thu 19 Nov 08:00"
        in body
    )
    new, old, waiting, draft = night["new"], night["old"], night["waiting"], night["draft"]
    sections = body.split("\n\n")
    assert f"New tickets (1):\n\n{new.reference}  Jobs killed at BNL" in body
    assert f"Replies from requesters (1):\n\n{old.reference}  Old one\n    from Jane Doe" in body
    assert "Unverified replies" in body
    assert "from Someone Else" in body
    assert (
        f"Drafts waiting for approval (1):\n\n{waiting.reference}  Rucio rule stuck\n"
        "    by Tomas Doe" in body
    )
    assert f"http://127.0.0.1:8000/tickets/{waiting.reference}/#d{draft.pk}" in body
    assert f"http://127.0.0.1:8000/tickets/{new.reference}/" in body
    assert "seen by anna" not in body
    assert len(sections) > 4
    assert mail.subject == (
        "[ATLAS DAST shifts] Since the last shift: 1 new tickets, 1 replies from requesters, "
        "1 unverified replies, 1 drafts waiting for approval"
    )
    row = ShiftDigest.objects.get()
    assert (row.zone, row.day, row.gap_from, row.items) == (team.eu, THURSDAY, _at(THURSDAY, 0), 4)


def test_the_digest_is_made_once(team):
    _night(team)
    assert digest_run(at=_at(THURSDAY, 8)) == 1
    assert digest_run(at=_at(THURSDAY, 8, 1)) == 0
    assert len(_digests()) == 1


def test_a_shift_that_follows_a_covered_one_gets_no_digest(team):
    _night(team)
    assert digest_run(at=_at(WEDNESDAY, 16)) == 0  # NA after anna's EU shift
    assert digest_run(at=_at(THURSDAY, 16)) == 0  # NA after pierre's EU shift
    assert _digests() == []
    assert ShiftDigest.objects.filter(day=WEDNESDAY, zone=team.na, items=0).exists()


def test_after_an_uncovered_slot_the_gap_reaches_back_to_the_last_covered_shift(team):
    Booking.objects.filter(zone=team.na, day=WEDNESDAY).delete()
    with time_machine.travel(_at(WEDNESDAY, 18), tick=False):
        evening = TicketFactory(team=team, subject="Came in the evening")
    assert digest_run(at=_at(THURSDAY, 8)) == 1
    (mail,) = _digests()
    assert "nobody was on shift from Wed 18 Nov 16:00" in mail.body_text
    assert evening.reference in mail.body_text


def test_a_quiet_night_sends_nothing(team):
    assert digest_run(at=_at(THURSDAY, 8)) == 0
    assert ShiftDigest.objects.get(zone=team.eu, day=THURSDAY).items == 0


def test_a_slot_long_started_is_not_digested_any_more(team):
    _night(team)
    assert digest_run(at=_at(THURSDAY, 8) + timedelta(hours=3)) == 0
    assert _digests() == []


def test_the_digest_rings_the_bell_of_the_incoming_shifter_and_opens_the_open_queue(team, client):
    from notifications.models import Kind, Notification
    from notifications.selectors import unread_count

    _night(team)
    with time_machine.travel(_at(THURSDAY, 8), tick=False):
        assert digest_run(at=_at(THURSDAY, 8)) == 1
        assert digest_run(at=_at(THURSDAY, 8, 1)) == 0  # once
    (told,) = Notification.objects.all()
    pierre = team.people["pierre"]
    assert (told.user, told.kind, told.ticket, told.at) == (
        pierre,
        Kind.SHIFT_DIGEST,
        None,
        _at(THURSDAY, 8),
    )
    assert told.text == (
        "Since the last shift: 1 new tickets, 1 replies from requesters, "
        "1 unverified replies, 1 drafts waiting for approval"
    )
    assert unread_count(pierre) == 1
    assert unread_count(team.people["sofia"]) == 0
    client.force_login(pierre)
    listed = client.get("/notifications/").content.decode()
    assert "Since the last shift: 1 new tickets" in listed
    opened = client.get(f"/notifications/{told.pk}/")
    assert opened.status_code == 302
    assert opened["Location"] == "/tickets/?view=open"
    assert unread_count(pierre) == 0
    # Someone no longer on the team's desk sees it no more.
    pierre.memberships.all().delete()
    assert client.get(f"/notifications/{told.pk}/").status_code == 404
