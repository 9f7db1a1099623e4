"""The weekly figures mail: Monday 08:00 team time, to the coordinators, through the outbox,
once per team and week however many beats ask."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

from people.models import Role
from reports.models import WeeklyMail
from reports.weekly import weekly_mail_send
from tests.factories import TicketFactory, shift_team
from tickets.events import event_record
from tickets.models import OutboundMail
from tickets.models.events import EventKind

ZRH = ZoneInfo("Europe/Zurich")


def _team():
    team = shift_team({"elena": Role.COORDINATOR, "marcus": Role.COORDINATOR, "anna": Role.SHIFTER})
    opened = datetime(2026, 3, 10, 9, 0, tzinfo=ZRH)  # Tuesday of the week before
    ticket = TicketFactory(team=team, created_at=opened, last_message_at=opened)
    event_record(ticket=ticket, kind=EventKind.OPENED, data={"channel": "email"}, at=opened)
    return team


def test_nothing_goes_before_monday_eight_team_time(db):
    _team()
    with time_machine.travel(datetime(2026, 3, 16, 7, 59, tzinfo=ZRH), tick=False):
        assert weekly_mail_send(now=datetime(2026, 3, 16, 7, 59, tzinfo=ZRH)) == 0
    assert OutboundMail.objects.count() == 0


def test_the_coordinators_get_last_weeks_figures_once_however_many_beats_ask(db):
    team = _team()
    now = datetime(2026, 3, 16, 8, 5, tzinfo=ZRH)
    with time_machine.travel(now, tick=False):
        assert weekly_mail_send(now=now) == 1
        assert weekly_mail_send(now=now) == 0  # a second beat
        later = datetime(2026, 3, 18, 12, 0, tzinfo=ZRH)
        assert weekly_mail_send(now=later) == 0  # and later in the week
    mail = OutboundMail.objects.get()
    assert mail.to == "elena@example.org, marcus@example.org"
    assert "09 Mar 2026" in mail.subject
    assert "Tickets opened: 1 tickets (+1 on the week before)" in mail.body_text
    assert f"/reports/?team={team.slug}&period=week&from=2026-03-09" in mail.body_text
    assert WeeklyMail.objects.get().week.isoformat() == "2026-03-16"


def test_the_next_monday_sends_the_next_weeks_mail(db):
    _team()
    for day in (16, 23):
        now = datetime(2026, 3, day, 9, 0, tzinfo=ZRH)
        with time_machine.travel(now, tick=False):
            weekly_mail_send(now=now)
    assert OutboundMail.objects.count() == 2
