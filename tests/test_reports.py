"""Reports: a fixed data set with answers computed by hand (in the comments), the rollups'
idempotence and rebuild, the page's reach, and chart, table, CSV and API agreeing.

The team is shift_team's: Europe/Zurich, EU 08:00-16:00 and NA 16:00-24:00, Monday-Friday,
so a weekday has 16 covered hours; working hours (expert waits) are 08:00-16:00. Period:
Monday 16 March to Sunday 5 April 2026 (three weeks). Wednesday 25 March is closed; the
clocks go forward on Sunday 29 March (CET +01:00 before, CEST +02:00 after).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from escalation.models import Escalation, ExpertGroup, GroupKind
from people.models import Role
from reports.models import EscalationFigures, TicketFigures
from reports.services import figures_rebuild, ticket_figures_refresh
from shifts.models import Booking, Closure, ShiftRole
from tests.factories import MessageFactory, TicketFactory, shift_team
from tickets.events import (
    actor_group,
    actor_person,
    actor_requester,
    event_record,
    events_consume,
)
from tickets.models import Ticket
from tickets.models.events import EventKind

ZRH = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 4, 10, 12, 0, tzinfo=ZRH)
PERIOD = {"team": "dast", "period": "custom", "from": "2026-03-16", "to": "2026-04-05"}


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZRH)


def _ticket(team, opened: datetime, subject: str = "Task 15934870 exhausted", body: str = ""):
    ticket = TicketFactory(team=team, subject=subject, created_at=opened, last_message_at=opened)
    message = MessageFactory(ticket=ticket, created_at=opened, body_text=body or "jobs fail")
    who = actor_requester(ticket.requester.email)
    event_record(
        ticket=ticket,
        kind=EventKind.OPENED,
        actor=who,
        data={"message": message.pk, "channel": "email"},
        at=opened,
    )
    return ticket


def _reply(ticket, when: datetime, by) -> None:
    event_record(ticket=ticket, kind=EventKind.REPLY_SENT, actor=actor_person(by), at=when)


def _status(ticket, when: datetime, old: str, new: str) -> None:
    event_record(
        ticket=ticket, kind=EventKind.STATUS_CHANGED, data={"old": old, "new": new}, at=when
    )


def _escalation(
    ticket, pk: int, group: ExpertGroup, when: datetime, *, calendar_key: bool = False
) -> dict[str, object]:
    """An escalation as escalation_create leaves it: the row (the queue's "Escalated to"
    filter reads it) and its event (the reports read that; ``calendar_key``: the event names
    the calendar, as the events recorded since the reports count group calendars do)."""
    Escalation.objects.create(
        pk=pk,
        ticket=ticket,
        group=group,
        note="please look",
        token=f"token{pk}",
        target_hours=group.response_target_hours,
        remind_percent=group.remind_percent,
        next_level_percent=group.next_level_percent,
        calendar_id=group.calendar_in_force_id,
        created_at=when,
    )
    data = {
        "escalation": pk,
        "group": group.pk,
        "group_name": group.name,
        "group_kind": group.kind,
        "cloud": group.cloud_id,
    }
    if calendar_key:
        data["calendar"] = group.calendar_in_force_id
    event_record(ticket=ticket, kind=EventKind.ESCALATED, data=data, at=when)
    return data


@pytest.fixture
def desk(db):
    with time_machine.travel(NOW, tick=False):
        yield _data_set()


def _data_set():
    team = shift_team(
        {
            "elena": Role.COORDINATOR,
            "anna": Role.SHIFTER,
            "sofia": Role.SHIFTER,
            "tomas": Role.TRAINEE,
        }
    )
    anna, sofia, tomas = (team.people[n] for n in ("anna", "sofia", "tomas"))
    Closure.objects.create(
        team=team, starts_on=date(2026, 3, 25), ends_on=date(2026, 3, 25), reason="CERN closed"
    )
    panda = ExpertGroup.objects.create(
        team=team, kind=GroupKind.EXPERT, name="PanDA", email="panda@cern.ch"
    )
    cloud = ExpertGroup.objects.create(
        team=team, kind=GroupKind.CLOUD, name="US", email="us@bnl.gov"
    )
    bnl = ExpertGroup.objects.create(
        team=team, kind=GroupKind.SITE, name="BNL", email="bnl@bnl.gov", cloud=cloud
    )
    # T1, across a weekend: opened Friday 23:00 (NA), answered Monday 09:00: Fri 23-24 and
    # Mon 08-09 = 2 covered hours; resolved Monday 12:00: 1 + 4 = 5 h.
    t1 = _ticket(team, at(20, 23))
    _reply(t1, at(23, 9), anna)
    _status(t1, at(23, 12), "open", "resolved")
    # T2, across the change to summer time: opened Friday 27 15:00 CET (EU), answered Monday
    # 30 10:00 CEST: Fri 15-24 = 9 h + Mon 08-10 = 2 h = 11 h; resolved Tuesday 31 08:00:
    # 9 + 16 = 25 h.
    t2 = _ticket(team, at(27, 15))
    _reply(t2, at(30, 10), sofia)
    _status(t2, at(31, 8), "open", "resolved")
    # T3, across the closed Wednesday: opened Tuesday 24 20:00 (NA), answered Thursday 26
    # 09:00: Tue 20-24 = 4 h, Wed none, Thu 08-09 = 1 h = 5 h. Never resolved.
    t3 = _ticket(team, at(24, 20))
    _reply(t3, at(26, 9), sofia)
    # T4, reopened: Monday 16 10:00 (EU), answered 10:30 (0.5 h), resolved 11:00, reopened by
    # mail Tuesday 09:00, resolved again 10:00: Mon 10-24 = 14 h + Tue 08-10 = 2 h = 16 h.
    t4 = _ticket(team, at(16, 10))
    _reply(t4, at(16, 10, 30), anna)
    _status(t4, at(16, 11), "open", "resolved")
    event_record(ticket=t4, kind=EventKind.REOPENED, at=at(17, 9))
    event_record(ticket=t4, kind=EventKind.MESSAGE_RECEIVED, data={"message": 0}, at=at(17, 9))
    _status(t4, at(17, 10), "open", "resolved")
    # T5, merged into T4 half an hour after it came: left out of the times.
    t5 = _ticket(team, at(16, 11))
    event_record(
        ticket=t5,
        kind=EventKind.MERGED,
        data={"into": t4.pk, "reference": "x", "messages": 1},
        at=at(16, 11, 30),
    )
    _status(t5, at(16, 11, 30), "new", "closed")
    # T6, escalated twice: answered 09:15 (0.25 h). PanDA, asked Wednesday 18 10:00, reminded
    # Thursday 10:00, answered Thursday 14:00: Wed 10-16 + Thu 08-14 = 12 working hours. BNL
    # (cloud US), asked Wednesday 11:00, escalated to the next level, never answered.
    t6 = _ticket(team, at(18, 9), body="Transfers to BNL-OSG2_DATADISK fail since this morning.")
    _reply(t6, at(18, 9, 15), anna)
    first = _escalation(t6, 101, panda, at(18, 10))
    event_record(
        ticket=t6,
        kind=EventKind.TIMER_FIRED,
        data={"escalation": 101, "action": "reminded PanDA (100% of target)"},
        at=at(19, 10),
    )
    event_record(
        ticket=t6,
        kind=EventKind.ESCALATION_ANSWERED,
        actor=actor_group("PanDA"),
        data=first,
        at=at(19, 14),
    )
    _escalation(t6, 102, bnl, at(18, 11))
    event_record(
        ticket=t6,
        kind=EventKind.TIMER_FIRED,
        data={"escalation": 102, "action": "escalated to Elena Doe (200% of target); owner told"},
        at=at(20, 11),
    )
    # Bookings: anna first level EU Mon 16 and Tue 17, tomas trainee beside her on Monday,
    # sofia first level NA Monday.
    Booking.objects.create(
        zone=team.eu, day=date(2026, 3, 16), person=anna, role=ShiftRole.FIRST_LEVEL
    )
    Booking.objects.create(
        zone=team.eu, day=date(2026, 3, 17), person=anna, role=ShiftRole.FIRST_LEVEL
    )
    Booking.objects.create(
        zone=team.eu, day=date(2026, 3, 16), person=tomas, role=ShiftRole.TRAINEE
    )
    Booking.objects.create(
        zone=team.na, day=date(2026, 3, 16), person=sofia, role=ShiftRole.FIRST_LEVEL
    )
    events_consume()
    team.tickets_by_name = {"t1": t1, "t2": t2, "t3": t3, "t4": t4, "t5": t5, "t6": t6}
    return team


def _api(client: Client, figure: str, **extra: str) -> dict:
    with time_machine.travel(NOW, tick=False):
        response = client.get(f"/api/v1/reports/{figure}/", {**PERIOD, **extra})
    assert response.status_code == 200, response.content
    return response.json()


def _rows(client: Client, figure: str, **extra: str) -> list[dict]:
    return _api(client, figure, **extra)["rows"]


def _by(rows: list[dict], **match: object) -> dict:
    return next(r for r in rows if all(r[k] == v for k, v in match.items()))


@pytest.fixture
def coordinator(desk) -> Client:
    client = Client()
    client.force_login(desk.people["elena"])
    return client


def test_the_consumer_keeps_each_tickets_covered_hour_figures(desk):
    t = desk.tickets_by_name
    fig = {k: TicketFigures.objects.get(ticket=v) for k, v in t.items()}
    assert fig["t1"].zone == "NA"
    assert fig["t1"].first_response_s == 2 * 3600
    assert fig["t1"].resolution_s == 5 * 3600
    assert fig["t2"].zone == "EU"
    assert fig["t2"].first_response_s == 11 * 3600
    assert fig["t2"].resolution_s == 25 * 3600
    assert fig["t3"].first_response_s == 5 * 3600
    assert fig["t3"].resolved_at is None
    assert fig["t4"].reopen_count == 1
    assert fig["t4"].resolution_s == 16 * 3600
    assert fig["t5"].merged
    assert fig["t6"].sites == ["BNL-OSG2_DATADISK"]
    panda = EscalationFigures.objects.get(escalation_id=101)
    assert (panda.wait_s, panda.reminders, panda.next_levels) == (12 * 3600, 1, 0)
    bnl = EscalationFigures.objects.get(escalation_id=102)
    assert (bnl.answered_at, bnl.reminders, bnl.next_levels) == (None, 0, 1)


def test_running_the_rollup_again_changes_nothing_and_the_rebuild_agrees(desk):
    def snapshot():
        rows = TicketFigures.objects.order_by("ticket_id").values()
        return [{k: v for k, v in r.items() if k != "updated_at"} for r in rows], list(
            EscalationFigures.objects.order_by("escalation_id").values()
        )

    before = snapshot()
    with time_machine.travel(NOW, tick=False):
        ticket = Ticket.objects.select_related("team").get(pk=desk.tickets_by_name["t6"].pk)
        ticket_figures_refresh(ticket=ticket)
        assert snapshot() == before
        TicketFigures.objects.all().delete()
        EscalationFigures.objects.all().delete()
        assert figures_rebuild(team=desk) == 6
    assert snapshot() == before


def test_first_response_and_resolution_times_are_the_hand_computed_ones(desk, coordinator):
    rows = _rows(coordinator, "first_response")
    # 0.25, 0.5, 2, 5, 11 h (T5 merged, left out): nearest-rank p50 2, p90 11; within the
    # 2-hour target 3 of 5.
    assert _by(rows, by="all") | {} == _by(rows, by="all")
    everyone = _by(rows, by="all")
    assert (everyone["count"], everyone["p50_hours"], everyone["p90_hours"]) == (5, 2.0, 11.0)
    assert everyone["within_target_pct"] == 60.0
    # EU: T2 11, T4 0.5, T6 0.25 -> p50 0.5; NA: T1 2, T3 5 -> p50 2.
    assert _by(rows, by="zone", value="EU")["p50_hours"] == 0.5
    assert _by(rows, by="zone", value="NA")["p50_hours"] == 2.0
    resolved = _by(_rows(coordinator, "resolution"), by="all")
    # 5, 16, 25 h: p50 16, p90 25; T3 and T6 not resolved yet.
    assert (resolved["count"], resolved["p50_hours"], resolved["p90_hours"]) == (3, 16.0, 25.0)
    assert resolved["pending"] == 2


def test_mail_per_covered_hour_counts_each_zones_own_hours(desk, coordinator):
    rows = _rows(coordinator, "volume_zones")
    # 14 open weekdays (15 less the closure) x 8 h per zone. EU got T2, T4, T5, T6 and T4's
    # reply (5); NA got T1 and T3 (2).
    eu, na = _by(rows, zone="EU"), _by(rows, zone="NA")
    assert (eu["mails_in"], eu["covered_hours"], eu["mails_per_covered_hour"]) == (5, 112.0, 0.04)
    assert (na["mails_in"], na["covered_hours"], na["mails_per_covered_hour"]) == (2, 112.0, 0.02)
    assert _by(rows, zone="none")["mails_in"] == 0
    # Every mail over every zone's covered hours: 7 / 224 h.
    everyone = _by(rows, zone="all")
    assert (everyone["mails_in"], everyone["tickets_opened"], everyone["covered_hours"]) == (
        7,
        6,
        224.0,
    )
    assert everyone["mails_per_covered_hour"] == 0.03
    heat = _rows(coordinator, "busiest_hours")
    assert _by(heat, weekday="Fri")["h23"] == 1
    assert _by(heat, weekday="Mon")["h10"] == 1


def test_escalations_show_waits_reminders_next_levels_and_silence(desk, coordinator):
    rows = _rows(coordinator, "escalations")
    panda = _by(rows, name="PanDA")
    assert (panda["count"], panda["p50_hours"], panda["reminders"], panda["never_answered"]) == (
        1,
        12.0,
        1,
        0,
    )
    bnl = _by(rows, name="BNL")
    assert (bnl["cloud"], bnl["next_levels"], bnl["never_answered"], bnl["p50_hours"]) == (
        "US",
        1,
        1,
        None,
    )
    assert _by(rows, name="US (whole cloud)")["never_answered"] == 1
    incidents = _rows(coordinator, "incidents")
    assert _by(incidents, name="BNL")["escalated"] == 1
    assert _by(incidents, name="US")["escalated"] == 1
    assert _by(incidents, name="BNL-OSG2_DATADISK")["named"] == 1


def test_backlog_reopen_and_merge_rates(desk, coordinator):
    weeks = {r["week_end"]: r for r in _rows(coordinator, "backlog")}
    # 22 March: T1 new (2 days old), T6 open (4 days); 29 March: T2 new, T3 and T6 open (T6
    # 11 days old); 5 April: T3 and T6 open, both over a week old.
    assert (
        weeks["2026-03-22"]["total"],
        weeks["2026-03-22"]["new"],
        weeks["2026-03-22"]["d1_7"],
    ) == (2, 1, 2)
    assert (weeks["2026-03-29"]["total"], weeks["2026-03-29"]["d7_30"]) == (3, 1)
    assert (weeks["2026-04-05"]["total"], weeks["2026-04-05"]["d7_30"]) == (2, 2)
    rates = _rows(coordinator, "rates")[0]
    # 6 opened, 1 reopened, 1 merged.
    assert (rates["opened"], rates["reopen_rate_pct"], rates["merge_rate_pct"]) == (6, 16.7, 16.7)


def test_coverage_and_credits_against_the_optimum(desk, coordinator):
    rows = _rows(coordinator, "coverage")
    # March 16-31: 12 weekdays, the 25th closed: 11 slots a zone; EU covered 16 and 17.
    eu = _by(rows, month="2026-03", zone="EU")
    assert (eu["scheduled"], eu["covered"], eu["red"], eu["closed"], eu["coverage_pct"]) == (
        11,
        2,
        9,
        1,
        18.2,
    )
    assert _by(rows, month="2026-04", zone="NA")["scheduled"] == 3
    credits = _rows(coordinator, "credits")
    # 21 days of 12-14 shifts a year: 0.7-0.8.
    assert _by(credits, person="Anna Doe") | {} == _by(credits, person="Anna Doe")
    anna = _by(credits, person="Anna Doe")
    assert (anna["shifts"], anna["optimum_low"], anna["optimum_high"], anna["position"]) == (
        2.0,
        0.7,
        0.8,
        "above",
    )
    assert _by(credits, person="Tomas Doe")["position"] == "below"


def test_chart_table_csv_and_api_give_the_same_numbers(desk, coordinator):
    api = _by(_rows(coordinator, "first_response"), by="all")
    with time_machine.travel(NOW, tick=False):
        page = coordinator.get("/reports/", PERIOD).content.decode()
        raw = coordinator.get("/reports/", {**PERIOD, "figure": "first_response", "format": "csv"})
    csv_row = _by(list(csv.DictReader(io.StringIO(raw.content.decode()))), by="all")
    assert (csv_row["count"], csv_row["p50_hours"], csv_row["p90_hours"]) == ("5", "2.0", "11.0")
    assert (api["count"], api["p50_hours"], api["p90_hours"]) == (5, 2.0, 11.0)
    section = page[page.index('id="first_response"') :]
    section = section[: section.index("</section>")]
    assert "<title>all, Median (p50): 2 covered h</title>" in section
    assert "<title>all, p90: 11 covered h</title>" in section
    table_row = re.search(r'<th scope="row">all</th>(.*?)</tr>', section, re.S)
    assert table_row is not None
    cells = re.findall(r"<td>(?:<a [^>]*>)?([^<]*)", table_row.group(1))
    assert cells[:4] == ["all", "5", "2.0", "11.0"]


def test_a_shifter_sees_only_their_own_figures_and_another_team_nothing(desk):
    client = Client()
    client.force_login(desk.people["sofia"])
    with time_machine.travel(NOW, tick=False):
        page = client.get("/reports/", PERIOD)
        forbidden = client.get("/api/v1/reports/escalations/", PERIOD)
        other = client.get("/reports/", {**PERIOD, "team": "biomed"})
    assert page.status_code == 200
    assert 'id="escalations"' not in page.content.decode()
    assert forbidden.status_code == 403
    assert other.status_code == 404
    # Sofia answered T2 (11 h) and T3 (5 h).
    mine = _by(_rows(client, "first_response"), by="all")
    assert (mine["count"], mine["p50_hours"]) == (2, 5.0)
