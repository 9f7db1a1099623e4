"""Timers: each step runs once when due, re-arms or ends, sends its mail, and stops when the
ticket moves on. Time is frozen and moved by hand; the sweep is called as beat would."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from escalation.models import (
    EscalationState,
    ExpertGroup,
    GroupKind,
    Timer,
    TimerKind,
    TimerRun,
    TimerState,
)
from escalation.services import escalation_create, first_response_arm, status_timers
from escalation.timers import timer_step, timer_sweep, timers_due
from people.models import Role
from shifts.models import Zone
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tickets.models import OutboundMail, Status, Ticket
from tickets.models.mail import OutboundKind, OutboundState
from tickets.services import Sender, ticket_open, ticket_set_status
from tickets.services.replies import ticket_reply

pytestmark = pytest.mark.django_db
GENEVA = ZoneInfo("Europe/Zurich")


def geneva(*args: int) -> datetime:
    return datetime(*args, tzinfo=GENEVA)


@pytest.fixture
def desk():
    team = TeamFactory(slug="dast", ticket_prefix="DAST", name="ATLAS DAST")
    anna = MembershipFactory(team=team, user=UserFactory(username="anna")).user
    elena = MembershipFactory(
        team=team, user=UserFactory(username="elena"), role=Role.COORDINATOR
    ).user
    Zone.objects.create(team=team, code="EU", name="Europe", starts_at=time(8), coordinator=elena)
    Zone.objects.create(team=team, code="NA", name="North America", starts_at=time(16))
    group = ExpertGroup.objects.create(
        team=team, kind=GroupKind.EXPERT, name="Rucio/DDM", email="rucio@cern.ch"
    )
    return type("Desk", (), {"team": team, "anna": anna, "elena": elena, "group": group})


def open_ticket(desk, at: datetime, assignee=True) -> Ticket:
    with time_machine.travel(at, tick=False):
        ticket = ticket_open(
            team=desk.team,
            sender=Sender("jdoe@cern.ch", "Jane Doe"),
            subject="Rule stuck",
            body_text="My rule is stuck.",
            announce=False,
        )
        if assignee:
            Ticket.objects.filter(pk=ticket.pk).update(assignee=desk.anna, status=Status.OPEN)
            ticket.refresh_from_db()
    return ticket


def mail_went_out(esc, at: datetime) -> None:
    OutboundMail.objects.filter(pk=esc.outbound_id).update(state=OutboundState.SENT, sent_at=at)


def sweep(at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        return timer_sweep(now=timezone.now())


def sent(kind=None, **filters):
    mails = OutboundMail.objects.filter(**filters)
    return mails.filter(kind=kind) if kind else mails


def test_the_group_is_reminded_at_100_percent_and_the_next_level_told_at_200(desk):
    ticket = open_ticket(desk, geneva(2026, 11, 18, 10))
    with time_machine.travel(geneva(2026, 11, 18, 10), tick=False):
        esc = escalation_create(
            ticket=ticket, by=desk.anna, note="Rule stuck at BNL", group=desk.group
        )
    mail_went_out(esc, geneva(2026, 11, 18, 10, 0))
    assert sweep(geneva(2026, 11, 19, 9, 59)) == 0  # 8 working hours end Thursday 10:00
    assert sweep(geneva(2026, 11, 19, 10, 0)) == 1
    reminder = sent(OutboundKind.ESCALATION, subject__startswith="[DAST-1] Reminder")
    assert reminder.get().to == "rucio@cern.ch"
    assert reminder.get().in_reply_to == esc.message_id
    assert sweep(geneva(2026, 11, 19, 17, 0)) == 0  # nothing twice
    assert sweep(geneva(2026, 11, 20, 10, 0)) == 1  # 200 %: Friday 10:00
    escalated = sent(OutboundKind.ESCALATION, subject__contains="Escalated")
    assert escalated.get().to == "elena@example.org"  # the zone on shift's coordinator
    assert sent(OutboundKind.NOTIFICATION, to="anna@example.org").exists()
    timer = Timer.objects.get(escalation=esc)
    assert timer.state == TimerState.DONE
    assert list(timer.runs.values_list("step", flat=True)) == [0, 1]
    esc.refresh_from_db()
    assert (esc.level, esc.state) == (1, EscalationState.WAITING)
    assert sweep(geneva(2026, 11, 30, 10, 0)) == 0


def test_a_policy_change_applies_to_new_escalations_only(desk):
    ticket = open_ticket(desk, geneva(2026, 11, 18, 10))
    with time_machine.travel(geneva(2026, 11, 18, 10), tick=False):
        running = escalation_create(ticket=ticket, by=desk.anna, note="first", group=desk.group)
        ExpertGroup.objects.filter(pk=desk.group.pk).update(response_target_hours=2)
        desk.group.refresh_from_db()
        new = escalation_create(ticket=ticket, by=desk.anna, note="second", group=desk.group)
    assert running.target_hours == 8
    assert Timer.objects.get(escalation=running).due_at == geneva(2026, 11, 19, 10)
    assert Timer.objects.get(escalation=new).due_at == geneva(2026, 11, 18, 12)


def test_while_the_escalation_mail_is_stuck_in_the_outbox_the_group_is_not_silent(desk):
    ticket = open_ticket(desk, geneva(2026, 11, 18, 10))
    with time_machine.travel(geneva(2026, 11, 18, 10), tick=False):
        esc = escalation_create(ticket=ticket, by=desk.anna, note="SMTP is down", group=desk.group)
    # Thursday 10:00: due, but the mail never left. The step waits instead of reminding.
    assert sweep(geneva(2026, 11, 19, 10, 0)) == 0
    assert not sent(OutboundKind.ESCALATION, subject__contains="Reminder").exists()
    timer = Timer.objects.get(escalation=esc)
    assert timer.step == 0
    assert not timer.runs.exists()
    # SMTP came back at 14:00 Thursday: the target counts from then (Friday 14:00).
    OutboundMail.objects.filter(pk=esc.outbound_id).update(
        state=OutboundState.SENT, sent_at=geneva(2026, 11, 19, 14)
    )
    assert sweep(geneva(2026, 11, 19, 15)) == 0  # re-armed to the real due
    assert Timer.objects.get(escalation=esc).due_at == geneva(2026, 11, 20, 14)
    assert sweep(geneva(2026, 11, 20, 13, 59)) == 0
    assert sweep(geneva(2026, 11, 20, 14)) == 1
    assert sent(OutboundKind.ESCALATION, subject__contains="Reminder").count() == 1


def test_when_the_outbox_gives_up_on_the_escalation_mail_the_owner_is_told_once(desk):
    ticket = open_ticket(desk, geneva(2026, 11, 18, 10))
    with time_machine.travel(geneva(2026, 11, 18, 10), tick=False):
        esc = escalation_create(ticket=ticket, by=desk.anna, note="Bad address", group=desk.group)
    OutboundMail.objects.filter(pk=esc.outbound_id).update(
        state=OutboundState.FAILED, last_error="550 5.1.1 no such user"
    )
    assert sweep(geneva(2026, 11, 19, 10, 0)) == 1
    told = OutboundMail.objects.get(subject__contains="could not be sent")
    assert "550 5.1.1 no such user" in told.body_text
    assert told.to == desk.anna.email
    timer = Timer.objects.get(escalation=esc)
    assert timer.state == TimerState.DONE
    assert sweep(geneva(2026, 11, 25, 10, 0)) == 0  # once, not every recheck


def test_a_claimed_step_is_not_run_by_a_second_sweeper(desk):
    ticket = open_ticket(desk, geneva(2026, 11, 18, 10))
    with time_machine.travel(geneva(2026, 11, 18, 10), tick=False):
        esc = escalation_create(ticket=ticket, by=desk.anna, note="x", group=desk.group)
    OutboundMail.objects.update(state=OutboundState.SENT, sent_at=geneva(2026, 11, 18, 10))
    due = geneva(2026, 11, 19, 10, 5)
    ((pk, version),) = timers_due(due, 10)
    assert timer_step(pk, version, due) is True
    assert timer_step(pk, version, due) is False  # the same claim, replayed
    assert TimerRun.objects.filter(timer__escalation=esc).count() == 1
    assert sent(OutboundKind.ESCALATION, subject__contains="Reminder").count() == 1


def test_an_answer_or_closing_the_ticket_stops_the_timers(desk):
    ticket = open_ticket(desk, geneva(2026, 11, 18, 10))
    with time_machine.travel(geneva(2026, 11, 18, 10), tick=False):
        esc = escalation_create(ticket=ticket, by=desk.anna, note="x", group=desk.group)
        ticket_set_status(ticket=ticket, status=Status.CLOSED)
        status_timers(ticket=ticket, old=Status.WAITING_ON_EXPERT, new=Status.CLOSED)
    esc.refresh_from_db()
    assert esc.state == EscalationState.CANCELLED
    assert not Timer.objects.filter(state=TimerState.ARMED).exists()
    assert sweep(geneva(2026, 11, 25, 10)) == 0


def test_a_ticket_on_friday_at_23_is_not_late_before_monday_morning(desk):
    ticket = open_ticket(desk, geneva(2026, 11, 20, 23, 0))
    first_response_arm(ticket=ticket)
    timer = Timer.objects.get(kind=TimerKind.FIRST_RESPONSE)
    assert timer.due_at == geneva(2026, 11, 23, 9, 0)
    assert sweep(geneva(2026, 11, 21, 12)) == 0
    assert sweep(geneva(2026, 11, 23, 9, 0)) == 1
    ticket.refresh_from_db()
    assert ticket.overdue_since == geneva(2026, 11, 23, 9, 0)
    assert sent(OutboundKind.NOTIFICATION, to="anna@example.org").exists()


def test_a_first_answer_in_time_cancels_the_target_and_clears_overdue(
    desk, django_capture_on_commit_callbacks
):
    ticket = open_ticket(desk, geneva(2026, 11, 18, 9, 0))
    first_response_arm(ticket=ticket)
    with (
        time_machine.travel(geneva(2026, 11, 18, 9, 30), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        ticket_reply(ticket=ticket, author=desk.anna, body_text="Looking at it.")
    assert Timer.objects.get(kind=TimerKind.FIRST_RESPONSE).state == TimerState.CANCELLED
    assert sweep(geneva(2026, 11, 18, 12)) == 0
    ticket.refresh_from_db()
    assert ticket.overdue_since is None


def test_waiting_on_the_user_reminds_after_5_working_days_and_resolves_after_10(
    desk, django_capture_on_commit_callbacks
):
    ticket = open_ticket(desk, geneva(2026, 11, 18, 9, 0))
    with (
        time_machine.travel(geneva(2026, 11, 18, 11, 0), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        ticket_reply(ticket=ticket, author=desk.anna, body_text="Please send the log.")
    timer = Timer.objects.get(kind=TimerKind.WAITING_USER)
    assert timer.due_at == geneva(2026, 11, 25, 11, 0)
    assert sweep(geneva(2026, 11, 25, 11, 0)) == 1
    reminder = sent(OutboundKind.NOTIFICATION, to="jdoe@cern.ch").get()
    assert "waiting for your answer" in reminder.body_text
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_ON_USER
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(geneva(2026, 12, 2, 11, 0)) == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert sent(OutboundKind.NOTIFICATION, to="jdoe@cern.ch").count() == 2
    assert Timer.objects.get(kind=TimerKind.WAITING_USER).state == TimerState.DONE


def test_the_requesters_answer_stops_the_waiting_reminders(desk):
    ticket = open_ticket(desk, geneva(2026, 11, 18, 9, 0))
    with time_machine.travel(geneva(2026, 11, 18, 11, 0), tick=False):
        status_timers(ticket=ticket, old=Status.OPEN, new=Status.WAITING_ON_USER)
        Ticket.objects.filter(pk=ticket.pk).update(status=Status.WAITING_ON_USER)
        status_timers(ticket=ticket, old=Status.WAITING_ON_USER, new=Status.OPEN)
    assert not Timer.objects.filter(state=TimerState.ARMED).exists()
    assert sweep(geneva(2026, 12, 10)) == 0


def test_the_sweep_finds_due_timers_in_one_query(desk, django_assert_num_queries):
    ticket = open_ticket(desk, geneva(2026, 11, 18, 9, 0))
    Timer.objects.bulk_create(
        Timer(
            ticket=ticket,
            kind=TimerKind.FIRST_RESPONSE,
            state=TimerState.DONE,
            started_at=geneva(2026, 11, 18),
            due_at=geneva(2026, 11, 18) + timedelta(minutes=n),
        )
        for n in range(100)
    )
    with django_assert_num_queries(1):
        assert timers_due(geneva(2026, 11, 19), 500) == []


def test_a_broken_step_fails_alone_leaving_no_write_no_mail_and_no_event(desk, monkeypatch):
    from escalation import timers
    from tickets.models import TicketEvent

    broken, fine = (open_ticket(desk, geneva(2026, 11, 18, 9, n)) for n in (0, 1))
    for ticket in (broken, fine):
        first_response_arm(ticket=ticket)
    real = timers.STEPS[TimerKind.FIRST_RESPONSE]

    def step(timer, now):
        outcome = real(timer, now)  # writes and mail of its own first, then it breaks
        if timer.ticket_id == broken.pk:
            raise RuntimeError("a bug in the step")
        return outcome

    monkeypatch.setitem(timers.STEPS, TimerKind.FIRST_RESPONSE, step)
    assert sweep(geneva(2026, 11, 18, 12)) == 1
    assert TimerRun.objects.filter(timer__ticket=fine).count() == 1
    assert TimerRun.objects.filter(timer__ticket=broken).count() == 0
    assert Timer.objects.get(ticket=broken).state == TimerState.ARMED  # tried again later
    assert sent(OutboundKind.NOTIFICATION, ticket=fine).count() == 1
    assert not sent(ticket=broken).exclude(kind=OutboundKind.ACKNOWLEDGEMENT).exists()
    fired = TicketEvent.objects.filter(kind="timer_fired")
    assert list(fired.values_list("ticket_id", flat=True)) == [fine.pk]
    broken.refresh_from_db()
    assert broken.overdue_since is None


def test_a_sweep_of_fifty_due_first_answers_writes_a_chunks_steps_together(desk):
    tickets = [open_ticket(desk, geneva(2026, 11, 18, 9, n)) for n in range(50)]
    for ticket in tickets:
        first_response_arm(ticket=ticket)
    # Nobody is on shift on Saturday: anna keeps them, flagged after-hours already.
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(after_hours=True)
    with CaptureQueriesContext(connection) as queries:
        assert sweep(geneva(2026, 11, 21, 12)) == 50
    # Per chunk of 25: the claim, the calendar, the mailbox, an INSERT each for the mails,
    # the runs and the events, an UPDATE for the timers, the overdue marks and the due
    # times: not five statements a step (there were 6.4).
    assert len(queries) <= 40, "\n".join(q["sql"][:120] for q in queries.captured_queries)
    runs = TimerRun.objects.filter(timer__ticket__in=tickets).select_related("outbound")
    assert runs.count() == 50
    assert {r.outbound.ticket_id for r in runs} == {t.pk for t in tickets}
    assert all(r.told == "anna@example.org" for r in runs)
    assert sent(OutboundKind.NOTIFICATION, to="anna@example.org").count() == 50
    assert set(Timer.objects.values_list("state", "step")) == {(TimerState.DONE, 0)}
    overdue = Ticket.objects.filter(pk__in=[t.pk for t in tickets])
    assert set(overdue.values_list("overdue_since", flat=True)) == {geneva(2026, 11, 21, 12)}
    assert set(overdue.values_list("due_at", flat=True)) == set(
        Timer.objects.values_list("due_at", flat=True)
    )
    assert sweep(geneva(2026, 11, 21, 13)) == 0  # once
