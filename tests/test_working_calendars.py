"""Working calendars: a team's, a group's or a cloud's own days, hours, time zone and
holidays decide when a target waiting on them passes."""

from __future__ import annotations

import importlib
from datetime import datetime, time
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.utils import timezone

from escalation.models import ExpertGroup, GroupKind, Timer
from escalation.services import escalation_create, status_timers
from escalation.timers import timer_sweep
from people.models import Team, WorkingCalendar
from tests.factories import MailboxFactory, MembershipFactory, TeamFactory, UserFactory
from tickets.models import OutboundMail, Status, Ticket
from tickets.models.mail import OutboundKind, OutboundState
from tickets.services import Sender, ticket_open

pytestmark = pytest.mark.django_db
GENEVA = ZoneInfo("Europe/Zurich")
TOKYO = ZoneInfo("Asia/Tokyo")
FRIDAY_10 = datetime(2026, 11, 20, 10, tzinfo=GENEVA)


@pytest.fixture
def desk():
    team = TeamFactory(slug="dast", ticket_prefix="DAST", name="ATLAS DAST")
    MailboxFactory(team=team)
    anna = MembershipFactory(team=team, user=UserFactory(username="anna")).user
    panda = ExpertGroup.objects.create(
        team=team, kind=GroupKind.EXPERT, name="PanDA/JEDI", email="panda@cern.ch"
    )
    return SimpleNamespace(team=team, anna=anna, panda=panda)


def escalate_on_friday(desk, group) -> Timer:
    with time_machine.travel(FRIDAY_10, tick=False):
        ticket = ticket_open(
            team=desk.team,
            sender=Sender("jdoe@cern.ch", "Jane Doe"),
            subject="Task failing",
            body_text="Task 15934870 fails.",
            announce=False,
        )
        Ticket.objects.filter(pk=ticket.pk).update(assignee=desk.anna, status=Status.OPEN)
        ticket.refresh_from_db()
        esc = escalation_create(ticket=ticket, by=desk.anna, note="Please look.", group=group)
    return Timer.objects.get(escalation=esc)


def calendar(team, **fields) -> WorkingCalendar:
    values = {"name": "Working days", "time_zone": "Europe/Zurich"} | fields
    return WorkingCalendar.objects.create(team=team, **values)


def test_a_target_over_a_weekend_passes_on_monday_for_a_team_working_monday_to_friday(desk):
    desk.team.calendar = calendar(desk.team, weekdays="12345")
    desk.team.save()
    timer = escalate_on_friday(desk, desk.panda)  # 8 working hours from Friday 10:00
    assert timer.due_at == datetime(2026, 11, 23, 10, tzinfo=GENEVA)


def test_a_target_over_a_weekend_passes_on_saturday_for_a_team_covering_weekends(desk):
    desk.team.calendar = calendar(desk.team, name="Every day", weekdays="1234567")
    desk.team.save()
    timer = escalate_on_friday(desk, desk.panda)
    assert timer.due_at == datetime(2026, 11, 21, 10, tzinfo=GENEVA)
    # The ticket's due time (the next level, 16 working hours) counts Sunday too.
    timer.ticket.refresh_from_db()
    assert timer.ticket.due_at == datetime(2026, 11, 22, 10, tzinfo=GENEVA)


def test_a_group_in_another_time_zone_counts_its_own_hours_and_skips_its_holidays(desk):
    desk.team.calendar = calendar(desk.team, weekdays="1234567")  # the team works weekends
    desk.team.save()
    desk.panda.calendar = calendar(
        desk.team,
        name="KEK",
        time_zone="Asia/Tokyo",
        starts_at=time(9),
        ends_at=time(17),
        holidays="2026-11-23  # Labour Thanksgiving Day\n2026-12-29..2027-01-03",
    )
    desk.panda.save()
    # Friday 10:00 in Geneva is 18:00 in Tokyo: the day there is over; Monday is a holiday;
    # 8 hours on Tuesday 09:00-17:00 Tokyo.
    timer = escalate_on_friday(desk, desk.panda)
    assert timer.due_at == datetime(2026, 11, 24, 17, tzinfo=TOKYO)
    timer.ticket.refresh_from_db()
    assert timer.ticket.due_at == datetime(2026, 11, 25, 17, tzinfo=TOKYO)
    mail = OutboundMail.objects.get(kind=OutboundKind.ESCALATION)
    assert "8 working hours (Mon\u2013Fri 09:00\u201317:00 Asia/Tokyo)" in mail.body_text
    # The reminder step counts in the same calendar when it fires.
    OutboundMail.objects.filter(pk=mail.pk).update(state=OutboundState.SENT, sent_at=FRIDAY_10)
    at = datetime(2026, 11, 24, 16, 59, tzinfo=TOKYO)
    with time_machine.travel(at, tick=False):
        assert timer_sweep(now=timezone.now()) == 0
    with time_machine.travel(timer.due_at, tick=False):
        assert timer_sweep(now=timezone.now()) == 1
    timer.refresh_from_db()
    assert timer.due_at == datetime(2026, 11, 25, 17, tzinfo=TOKYO)


def test_a_site_without_a_calendar_counts_in_its_clouds(desk):
    de = ExpertGroup.objects.create(
        team=desk.team,
        kind=GroupKind.CLOUD,
        name="DE",
        email="de@example.org",
        calendar=calendar(desk.team, name="DE cloud", weekdays="1234567"),
    )
    fzk = ExpertGroup.objects.create(
        team=desk.team,
        kind=GroupKind.SITE,
        name="FZK-LCG2",
        email="fzk@example.org",
        cloud=de,
        response_target_hours=8,
    )
    timer = escalate_on_friday(desk, fzk)
    assert timer.escalation.calendar_id == de.calendar_id
    assert timer.due_at == datetime(2026, 11, 21, 10, tzinfo=GENEVA)


def test_waiting_on_the_user_counts_the_teams_working_days(desk, settings):
    settings.WAITING_USER_REMIND_DAYS = [1]
    desk.team.calendar = calendar(
        desk.team, weekdays="1234567", starts_at=time(8), ends_at=time(12)
    )
    desk.team.save()
    with time_machine.travel(FRIDAY_10, tick=False):
        ticket = ticket_open(
            team=desk.team, sender=Sender("jdoe@cern.ch"), subject="x", body_text="y"
        )
        status_timers(ticket=ticket, old=Status.OPEN, new=Status.WAITING_ON_USER)
    # One working day is 4 hours here: Friday 10:00-12:00 and Saturday 08:00-10:00.
    assert Timer.objects.get(ticket=ticket).due_at == datetime(2026, 11, 21, 10, tzinfo=GENEVA)


def test_existing_teams_keep_monday_to_friday_with_the_workday_settings(desk, settings):
    settings.WORKDAY_START = time(9)
    settings.WORKDAY_HOURS = 7
    Team.objects.filter(pk=desk.team.pk).update(calendar=None, time_zone="America/Chicago")
    migration = importlib.import_module("people.migrations.0003_team_calendars")
    migration.forwards(django_apps, SimpleNamespace(connection=SimpleNamespace(alias="default")))
    desk.team.refresh_from_db()
    made = desk.team.calendar
    assert (made.weekdays, made.starts_at, made.ends_at) == ("12345", time(9), time(16))
    assert (made.time_zone, made.holidays) == ("America/Chicago", "")


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"starts_at": time(17), "ends_at": time(9)}, "ends_at", "ends before it starts"),
        ({"time_zone": "Europe/Genva"}, "time_zone", "not a known time zone"),
        ({"holidays": "2026-12-25\n25/12/2026"}, "holidays", "line 2"),
        ({"holidays": "2027-01-03..2026-12-29"}, "holidays", "ends before it starts"),
        ({"weekdays": "8"}, "weekdays", "ISO weekdays"),
    ],
)
def test_a_calendar_that_cannot_work_is_refused_with_a_clear_message(desk, fields, field, words):
    bad = WorkingCalendar(team=desk.team, name="Bad", **fields)
    with pytest.raises(ValidationError) as refused:
        bad.full_clean()
    assert words in " ".join(refused.value.message_dict[field])


def test_a_calendar_ending_at_midnight_is_a_full_evening(desk):
    late = WorkingCalendar(team=desk.team, name="Late", starts_at=time(16), ends_at=time(0))
    late.full_clean()
    assert late.label == "Mon\u2013Fri 16:00\u201324:00 Europe/Zurich"


def test_a_team_or_group_may_only_use_its_own_teams_calendars(desk):
    other = TeamFactory(slug="biomed", ticket_prefix="BIO")
    theirs = calendar(other)
    desk.team.calendar = theirs
    with pytest.raises(ValidationError):
        desk.team.full_clean()
    desk.panda.calendar = theirs
    with pytest.raises(ValidationError):
        desk.panda.full_clean()


def test_the_groups_api_sets_a_calendar_of_the_team_only(client, desk):
    from people.models import Role

    client.force_login(MembershipFactory(team=desk.team, role=Role.COORDINATOR).user)
    kek = calendar(desk.team, name="KEK", time_zone="Asia/Tokyo")
    theirs = calendar(TeamFactory(slug="biomed", ticket_prefix="BIO"), name="Theirs")
    url = f"/api/v1/escalation/groups/{desk.panda.pk}/?team=dast"
    refused = client.patch(url, {"calendar": theirs.pk}, content_type="application/json")
    assert refused.status_code == 400
    assert "calendar" in refused.json()
    done = client.patch(url, {"calendar": kek.pk}, content_type="application/json")
    assert done.status_code == 200
    assert done.json()["calendar_name"] == "KEK"
