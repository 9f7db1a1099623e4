"""The next level answers like an expert group: when a group stays silent to its next-level
point, the coordinators are asked by an escalation of their own, with a token reply address
and a timer; their answer is an escalation answer, not a requester's mail."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from escalation.addresses import escalation_address, signed_by_desk
from escalation.models import (
    Escalation,
    EscalationState,
    ExpertGroup,
    GroupKind,
    Timer,
    TimerState,
)
from escalation.services import escalation_create
from escalation.timers import timer_sweep
from people.models import Role
from shifts.models import Zone
from tests.factories import MailboxFactory, MembershipFactory, TeamFactory, UserFactory
from tests.mailfactory import make_mail
from tickets.history import history_lines
from tickets.mail.intake import raw_process, raw_store
from tickets.models import MessageKind, OutboundMail, Status, Ticket
from tickets.models.events import ActorKind, EventKind, TicketEvent
from tickets.models.mail import OutboundKind, OutboundState, RawSource
from tickets.services import Sender, ticket_open

pytestmark = pytest.mark.django_db
GENEVA = ZoneInfo("Europe/Zurich")


def geneva(*args: int) -> datetime:
    return datetime(*args, tzinfo=GENEVA)


@pytest.fixture
def desk():
    team = TeamFactory(slug="dast", ticket_prefix="DAST", name="ATLAS DAST")
    MailboxFactory(team=team)
    anna = MembershipFactory(team=team, user=UserFactory(username="anna")).user
    elena = MembershipFactory(
        team=team,
        user=UserFactory(username="elena", first_name="Elena", last_name="Rossi"),
        role=Role.COORDINATOR,
    ).user
    MembershipFactory(
        team=team,
        user=UserFactory(username="marcus", first_name="Marcus", last_name="Lee"),
        role=Role.COORDINATOR,
    )
    Zone.objects.create(team=team, code="EU", name="Europe", starts_at=time(8), coordinator=elena)
    group = ExpertGroup.objects.create(
        team=team, kind=GroupKind.EXPERT, name="Rucio/DDM", email="rucio@cern.ch"
    )
    with time_machine.travel(geneva(2026, 11, 18, 10), tick=False):
        ticket = ticket_open(
            team=team,
            sender=Sender("jdoe@cern.ch", "Jane Doe"),
            subject="Rule stuck",
            body_text="My rule is stuck.",
            announce=False,
        )
        Ticket.objects.filter(pk=ticket.pk).update(assignee=anna, status=Status.OPEN)
        ticket.refresh_from_db()
        esc = escalation_create(ticket=ticket, by=anna, note="Rule stuck at BNL", group=group)
    sent(esc, geneva(2026, 11, 18, 10))
    return type("Desk", (), {"team": team, "ticket": ticket, "esc": esc, "group": group})


def sent(esc: Escalation, at: datetime) -> None:
    OutboundMail.objects.filter(pk=esc.outbound_id).update(state=OutboundState.SENT, sent_at=at)


def sweep(at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        return timer_sweep(now=timezone.now())


def deliver(desk, raw: bytes, at: datetime, capture):
    with time_machine.travel(at, tick=False), capture(execute=True):
        stored = raw_store(team=desk.team, raw=raw, source=RawSource.IMAP)
        return raw_process(stored, received_at=timezone.now())


def silent_to_the_next_level(desk) -> Escalation:
    assert sweep(geneva(2026, 11, 19, 10)) == 1  # 100 %: the group is reminded
    assert sweep(geneva(2026, 11, 20, 10)) == 1  # 200 %: the next level is asked
    return Escalation.objects.get(parent=desk.esc)


def test_the_next_level_gets_a_reply_address_and_a_signed_message_id_of_its_own(desk):
    child = silent_to_the_next_level(desk)
    assert child.recipients == ["elena@example.org"]  # the zone on shift's coordinator
    assert (child.depth, child.state) == (1, EscalationState.WAITING)
    mail = OutboundMail.objects.get(pk=child.outbound_id)
    assert mail.kind == OutboundKind.ESCALATION
    assert mail.to == "elena@example.org"
    assert mail.subject == "[DAST-1] Escalated: no answer from Rucio/DDM"
    assert mail.reply_to == f"dast-desk+{desk.ticket.reply_token}.{child.token}@cern.ch"
    assert mail.reply_to != escalation_address(desk.esc)
    assert mail.message_id == child.message_id
    assert signed_by_desk(child, mail.message_id)
    assert "8 working hours (Mon\u2013Fri 08:00\u201316:00 Europe/Zurich)" in mail.body_text
    escalated = TicketEvent.objects.filter(kind=EventKind.ESCALATED).order_by("id").last()
    assert (escalated.data["escalation"], escalated.data["parent"]) == (child.pk, desk.esc.pk)
    # Its own timer: 8 working hours after Friday 10:00 is Monday 10:00.
    timer = Timer.objects.get(escalation=child)
    assert (timer.state, timer.due_at) == (TimerState.ARMED, geneva(2026, 11, 23, 10))
    assert Timer.objects.get(escalation=desk.esc).state == TimerState.DONE


def test_the_next_levels_reply_is_recorded_as_an_escalation_answer_not_a_user_mail(
    desk, django_capture_on_commit_callbacks
):
    child = silent_to_the_next_level(desk)
    raw = make_mail(
        sender=("Elena", "elena@example.org"),
        to=escalation_address(child),
        subject="Re: [DAST-1] Escalated: no answer from Rucio/DDM",
        body="Rucio's on-call is away; I asked the BNL admins to drop the rule.",
    )
    result = deliver(desk, raw, geneva(2026, 11, 20, 11), django_capture_on_commit_callbacks)
    assert result.outcome == "joined"
    child.refresh_from_db()
    assert child.state == EscalationState.ANSWERED
    assert child.answer_id == result.message.pk
    assert (child.answer.kind, child.answer.unverified) == (MessageKind.EXPERT, False)
    answered = TicketEvent.objects.get(kind=EventKind.ESCALATION_ANSWERED)
    assert answered.data["escalation"] == child.pk
    assert answered.actor_kind == ActorKind.GROUP
    assert answered.actor_label == "Coordinators (Elena Rossi)"
    assert answered.at == geneva(2026, 11, 20, 11)
    assert Timer.objects.get(escalation=child).state == TimerState.CANCELLED
    desk.ticket.refresh_from_db()
    assert desk.ticket.unseen_reply_at is not None


def test_a_stranger_replying_to_the_next_levels_address_answers_nothing(
    desk, django_capture_on_commit_callbacks
):
    child = silent_to_the_next_level(desk)
    raw = make_mail(
        sender=("Someone", "someone@example.com"),
        to=escalation_address(child),
        subject="Re: [DAST-1] Escalated: no answer from Rucio/DDM",
        body="Me too!",
    )
    deliver(desk, raw, geneva(2026, 11, 20, 11), django_capture_on_commit_callbacks)
    child.refresh_from_db()
    assert child.state == EscalationState.WAITING
    assert not TicketEvent.objects.filter(kind=EventKind.ESCALATION_ANSWERED).exists()


def test_a_silent_next_level_is_reminded_and_then_its_own_next_level_is_asked(desk):
    child = silent_to_the_next_level(desk)
    sent(child, geneva(2026, 11, 20, 10))
    assert sweep(geneva(2026, 11, 23, 9, 59)) == 0
    assert sweep(geneva(2026, 11, 23, 10)) == 1  # Monday 10:00: 8 working hours
    reminder = OutboundMail.objects.get(
        subject="[DAST-1] Reminder: Rule stuck", to__contains="elena"
    )
    assert reminder.in_reply_to == child.message_id
    assert reminder.reply_to == escalation_address(child)
    assert sweep(geneva(2026, 11, 24, 10)) == 1  # Tuesday 10:00: 16 working hours
    grandchild = Escalation.objects.get(parent=child)
    assert grandchild.recipients == ["marcus@example.org"]  # elena was asked already
    runs = Timer.objects.get(escalation=child).runs.values_list("action", flat=True)
    assert list(runs) == [
        "reminded Coordinators (Elena Rossi) (100% of target)",
        "escalated to Marcus Lee (200% of target); owner told",
    ]
    # Marcus stays silent too: everyone was asked, so the chain ends there.
    sent(grandchild, geneva(2026, 11, 24, 10))
    assert sweep(geneva(2026, 11, 25, 10)) == 1  # Wednesday 10:00: his reminder
    assert sweep(geneva(2026, 11, 26, 10)) == 1  # Thursday 10:00: his next level
    assert sweep(geneva(2026, 12, 10, 10)) == 0
    assert not Escalation.objects.filter(parent=grandchild).exists()
    assert "nobody new" in Timer.objects.get(escalation=grandchild).runs.last().action


def test_a_late_answer_of_the_silent_group_ends_the_next_levels_wait_and_tells_them(
    desk, django_capture_on_commit_callbacks
):
    child = silent_to_the_next_level(desk)
    sent(child, geneva(2026, 11, 20, 10))
    raw = make_mail(
        sender=("Rucio on-call", "rucio@cern.ch"),
        to=escalation_address(desk.esc),
        subject="Re: [DAST-1] Rule stuck",
        body="Sorry for the delay: the rule is dropped now.",
    )
    deliver(desk, raw, geneva(2026, 11, 20, 11), django_capture_on_commit_callbacks)

    desk.esc.refresh_from_db()
    child.refresh_from_db()
    assert desk.esc.state == EscalationState.ANSWERED
    assert (child.state, child.cancelled_at) == (
        EscalationState.CANCELLED,
        geneva(2026, 11, 20, 11),
    )
    assert Timer.objects.get(escalation=child).state == TimerState.CANCELLED
    told = OutboundMail.objects.get(to="elena@example.org", subject__startswith="[DAST-1] Answered")
    assert told.subject == "[DAST-1] Answered by Rucio/DDM: Rule stuck"
    assert (told.in_reply_to, told.reply_to) == (child.message_id, escalation_address(child))
    assert "Rucio/DDM answered DAST-1" in told.body_text
    cancelled = TicketEvent.objects.get(kind=EventKind.ESCALATION_CANCELLED)
    assert cancelled.data["escalation"] == child.pk
    assert cancelled.data["reason"] == "Rucio/DDM answered"
    assert history_lines([cancelled])[0].what == (
        "cancelled the escalation to Coordinators (Elena Rossi): Rucio/DDM answered"
    )
    assert desk.ticket.messages.filter(
        kind=MessageKind.NOTE,
        body_text="Escalation to Coordinators (Elena Rossi) ended: Rucio/DDM answered. "
        "Coordinators (Elena Rossi) was told by mail.",
    ).exists()
    # Nothing is due any more: no reminder reaches Elena on Monday.
    assert sweep(geneva(2026, 11, 23, 10)) == 0
