"""Escalating a ticket to an expert group or a site, and taking the experts' replies in by
mail: threaded, verified by sender, closing only what they answer."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from escalation.addresses import escalation_address
from escalation.models import (
    Escalation,
    EscalationState,
    ExpertGroup,
    GroupKind,
    Timer,
    TimerKind,
    TimerState,
)
from escalation.services import (
    EscalationError,
    escalation_cancel,
    escalation_create,
)
from people.models import Role
from tests.factories import MailboxFactory, MembershipFactory, TeamFactory, UserFactory
from tests.mailfactory import make_mail
from tickets.mail.intake import raw_process, raw_store
from tickets.models import MessageKind, OutboundMail, Status, Ticket
from tickets.models.mail import OutboundKind, RawSource
from tickets.services import Sender, ticket_open

GENEVA = ZoneInfo("Europe/Zurich")
WEDNESDAY_10 = datetime(2026, 11, 18, 10, 0, tzinfo=GENEVA)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen_at(WEDNESDAY_10)]


@pytest.fixture
def desk():
    team = TeamFactory(slug="dast", ticket_prefix="DAST", name="ATLAS DAST")
    MailboxFactory(team=team)
    anna = MembershipFactory(
        team=team, user=UserFactory(username="anna", first_name="Anna", last_name="K")
    ).user
    MembershipFactory(team=team, user=UserFactory(username="elena"), role=Role.COORDINATOR)
    panda = ExpertGroup.objects.create(
        team=team,
        kind=GroupKind.EXPERT,
        name="PanDA/JEDI",
        email="panda-experts@cern.ch",
        reply_addresses="@cern.ch.invalid\nt.maeno@bnl.example.gov",
    )
    bnl = ExpertGroup.objects.create(
        team=team,
        kind=GroupKind.SITE,
        name="BNL-ATLAS",
        email="bnl-support@bnl.example.gov",
        response_target_hours=16,
    )
    ticket = ticket_open(
        team=team,
        sender=Sender("jdoe@cern.ch", "Jane Doe"),
        subject="Task 15934870 exhausted",
        body_text=(
            "All jobs of JEDI task 15934870 fail with lost heartbeat at ANALY_BNL_SHORT.\n"
            "Dataset user.jdoe:user.jdoe.15934870.out/ is incomplete."
        ),
        announce=False,
    )
    Ticket.objects.filter(pk=ticket.pk).update(assignee=anna, status=Status.OPEN)
    ticket.refresh_from_db()
    return type(
        "Desk", (), {"team": team, "anna": anna, "panda": panda, "bnl": bnl, "ticket": ticket}
    )


def deliver(desk, raw: bytes, capture):
    with capture(execute=True):
        stored = raw_store(team=desk.team, raw=raw, source=RawSource.IMAP)
        return raw_process(stored, received_at=timezone.now())


def escalate(desk, group=None, note="Please look at the pilot logs: lost heartbeat on BNL."):
    return escalation_create(ticket=desk.ticket, by=desk.anna, note=note, group=group or desk.panda)


def test_escalating_mails_the_group_the_essentials_and_a_reply_address_of_its_own(desk):
    esc = escalate(desk)
    mail = OutboundMail.objects.get(kind=OutboundKind.ESCALATION)
    assert mail.to == "panda-experts@cern.ch"
    assert mail.subject == "[DAST-1] Task 15934870 exhausted"
    body = mail.body_text
    assert "Please look at the pilot logs" in body
    assert "Jane Doe <jdoe@cern.ch>" in body
    assert "JEDI tasks: 15934870" in body
    assert "ANALY_BNL_SHORT" in body
    assert "> All jobs of JEDI task 15934870" in body  # the last user message, quoted
    assert "/tickets/DAST-1/" in body
    assert mail.reply_to == f"dast-desk+{desk.ticket.reply_token}.{esc.token}@cern.ch"
    assert mail.message_id == esc.message_id
    assert len(esc.token) == 20
    desk.ticket.refresh_from_db()
    assert desk.ticket.status == Status.WAITING_ON_EXPERT
    assert desk.ticket.messages.filter(kind=MessageKind.NOTE, body_text__contains="PanDA").exists()


def test_a_one_hour_target_is_one_working_hour_in_the_mail(desk):
    ExpertGroup.objects.filter(pk=desk.panda.pk).update(response_target_hours=1)
    desk.panda.refresh_from_db()
    escalate(desk)
    body = OutboundMail.objects.get(kind=OutboundKind.ESCALATION).body_text
    assert "within 1 working hour (" in body
    assert "working hours" not in body


def test_the_response_timer_is_armed_at_the_groups_target_in_working_hours(desk):
    esc = escalate(desk, group=desk.bnl)  # a site: two working days
    timer = Timer.objects.get(escalation=esc)
    assert timer.kind == TimerKind.EXPERT_RESPONSE
    assert timer.due_at == datetime(2026, 11, 20, 10, 0, tzinfo=GENEVA)  # Friday 10:00
    assert (esc.target_hours, esc.remind_percent, esc.next_level_percent) == (16, 100, 200)


def test_a_ticket_can_wait_on_several_escalations(desk):
    escalate(desk)
    escalate(desk, group=desk.bnl, note="Is ANALY_BNL_SHORT in trouble?")
    assert Escalation.objects.filter(state=EscalationState.WAITING).count() == 2
    assert Timer.objects.filter(state=TimerState.ARMED, kind=TimerKind.EXPERT_RESPONSE).count() == 2


def test_a_reply_to_the_escalation_address_files_an_answer_and_tells_the_shifter(
    desk, django_capture_on_commit_callbacks
):
    esc = escalate(desk)
    other = escalate(desk, group=desk.bnl, note="Site problem?")
    raw = make_mail(
        sender=("PanDA experts", "panda-experts@cern.ch"),
        to=escalation_address(esc),
        subject="Re: [DAST-1] Task 15934870 exhausted",
        body="The pilot was killed by the batch system; resubmit with --maxCpuCount.",
    )
    result = deliver(desk, raw, django_capture_on_commit_callbacks)
    assert result.outcome == "joined"
    esc.refresh_from_db()
    other.refresh_from_db()
    assert esc.state == EscalationState.ANSWERED
    assert esc.answer.kind == MessageKind.EXPERT
    assert not esc.answer.unverified
    assert other.state == EscalationState.WAITING  # one answer closes only its escalation
    assert Timer.objects.get(escalation=esc).state == TimerState.CANCELLED
    assert Timer.objects.get(escalation=other).state == TimerState.ARMED
    desk.ticket.refresh_from_db()
    assert desk.ticket.unseen_reply_at is not None
    assert desk.ticket.status == Status.WAITING_ON_EXPERT  # still waiting on BNL
    told = OutboundMail.objects.get(kind=OutboundKind.NOTIFICATION, to="anna@example.org")
    assert "PanDA/JEDI answered" in told.subject


def test_the_last_answer_gives_the_ticket_back_to_the_shifter(
    desk, django_capture_on_commit_callbacks
):
    esc = escalate(desk)
    raw = make_mail(
        sender=("Tadashi", "t.maeno@bnl.example.gov"),  # one of the group's reply addresses
        to="dast-desk@cern.ch",
        subject="Re: [DAST-1] Task 15934870 exhausted",
        body="Fixed on our side.",
        in_reply_to=esc.message_id,
        references=esc.message_id,
    )
    deliver(desk, raw, django_capture_on_commit_callbacks)
    esc.refresh_from_db()
    desk.ticket.refresh_from_db()
    assert esc.state == EscalationState.ANSWERED
    assert desk.ticket.status == Status.OPEN


def test_a_reply_from_another_address_is_kept_unverified_and_closes_nothing(
    desk, django_capture_on_commit_callbacks
):
    esc = escalate(desk)
    raw = make_mail(
        sender=("Someone", "someone@gmail.example.com"),
        to=escalation_address(esc),
        subject="Re: [DAST-1] Task 15934870 exhausted",
        body="I have the same problem!",
    )
    result = deliver(desk, raw, django_capture_on_commit_callbacks)
    message = result.message
    message.refresh_from_db()
    esc.refresh_from_db()
    assert message.ticket_id == desk.ticket.pk
    assert (message.kind, message.unverified) == (MessageKind.EXPERT, True)
    assert esc.state == EscalationState.WAITING
    assert Timer.objects.get(escalation=esc).state == TimerState.ARMED


def _spoofed_group_reply(desk, in_reply_to: str) -> bytes:
    """What the issue 16 probe sent: the group's From:, the desk's plain address (not the
    escalation's token address), and a Message-ID of the escalation in In-Reply-To."""
    return make_mail(
        sender=("PanDA experts", "panda-experts@cern.ch"),
        to="dast-desk@cern.ch",
        subject="Re: [DAST-1] Task 15934870 exhausted",
        body="Nothing wrong on our side, close it.",
        in_reply_to=in_reply_to,
        references=in_reply_to,
    )


def test_a_spoofed_group_reply_naming_an_unsigned_escalation_message_id_answers_nothing(
    desk, django_capture_on_commit_callbacks
):
    esc = escalate(desk)
    # An escalation mailed before Message-IDs were signed: <random.prefix@domain>.
    unsigned = "<3f2a9c1e0b7d4e55.dast@cern.ch>"
    OutboundMail.objects.filter(message_id=esc.message_id).update(message_id=unsigned)
    Escalation.objects.filter(pk=esc.pk).update(message_id=unsigned)
    raw = _spoofed_group_reply(desk, "<3f2a9c1e0b7d4e55.dast@cern.ch>")
    result = deliver(desk, raw, django_capture_on_commit_callbacks)
    message = result.message
    message.refresh_from_db()
    esc.refresh_from_db()
    assert message.ticket_id == desk.ticket.pk
    assert (message.kind, message.unverified) == (MessageKind.EXPERT, True)
    assert esc.state == EscalationState.WAITING
    assert esc.answer is None
    assert Timer.objects.get(escalation=esc).state == TimerState.ARMED


def test_a_message_id_signed_for_another_escalation_answers_nothing(
    desk, django_capture_on_commit_callbacks
):
    esc, other = escalate(desk), escalate(desk, group=desk.bnl, note="Site problem?")
    # The signature binds an id to its escalation: on another one it proves nothing.
    Escalation.objects.filter(pk=other.pk).update(message_id="<other@cern.ch>")
    Escalation.objects.filter(pk=esc.pk).update(message_id=other.message_id)
    raw = _spoofed_group_reply(desk, other.message_id)
    result = deliver(desk, raw, django_capture_on_commit_callbacks)
    result.message.refresh_from_db()
    esc.refresh_from_db()
    assert result.message.ticket_id == desk.ticket.pk
    assert (result.message.kind, result.message.unverified) == (MessageKind.EXPERT, True)
    assert esc.state == EscalationState.WAITING


def test_the_escalation_mail_carries_a_message_id_signed_for_that_escalation(desk):
    first, second = escalate(desk), escalate(desk, group=desk.bnl, note="Site problem?")
    assert first.message_id != second.message_id
    assert first.message_id.endswith(".dast@cern.ch>")
    assert OutboundMail.objects.filter(message_id=first.message_id).exists()


def test_a_tampered_escalation_token_keeps_the_mail_on_the_ticket_and_says_so(
    desk, django_capture_on_commit_callbacks
):
    esc = escalate(desk)
    forged = f"dast-desk+{desk.ticket.reply_token}.{'0' * 20}@cern.ch"
    raw = make_mail(
        sender=("PanDA experts", "panda-experts@cern.ch"),
        to=forged,
        subject="Re: something",
        body="Answer.",
    )
    result = deliver(desk, raw, django_capture_on_commit_callbacks)
    assert result.ticket == desk.ticket
    esc.refresh_from_db()
    assert esc.state == EscalationState.WAITING
    assert desk.ticket.messages.filter(
        kind=MessageKind.NOTE, body_text__contains="does not exist"
    ).exists()


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.CLOSED])
def test_a_closed_ticket_cannot_be_escalated(desk, status):
    Ticket.objects.filter(pk=desk.ticket.pk).update(status=status)
    desk.ticket.refresh_from_db()
    with pytest.raises(EscalationError, match="reopen it"):
        escalate(desk)
    assert not Escalation.objects.exists()
    assert not OutboundMail.objects.filter(kind=OutboundKind.ESCALATION).exists()


def test_a_group_of_another_team_or_an_empty_note_is_refused(desk):
    stranger = ExpertGroup.objects.create(
        team=TeamFactory(slug="biomed"), name="VIP", email="vip@example.org"
    )
    with pytest.raises(EscalationError, match="Unknown group") as refused:
        escalate(desk, group=stranger)
    assert refused.value.field == "group"
    with pytest.raises(EscalationError, match="Write a short note"):
        escalate(desk, note="   ")
    assert not Escalation.objects.exists()


def test_cancelling_stops_the_timer_and_the_ticket_is_the_shifters_again(desk):
    esc = escalate(desk)
    escalation_cancel(escalation=esc, by=desk.anna)
    esc.refresh_from_db()
    desk.ticket.refresh_from_db()
    assert esc.state == EscalationState.CANCELLED
    assert Timer.objects.get(escalation=esc).state == TimerState.CANCELLED
    assert desk.ticket.status == Status.OPEN
    with pytest.raises(EscalationError, match="already cancelled"):
        escalation_cancel(escalation=esc, by=desk.anna)


def test_jira_and_ggus_references_in_mail_are_stored_on_the_ticket(
    desk, django_capture_on_commit_callbacks
):
    raw = make_mail(
        sender=("Jane Doe", "jdoe@cern.ch"),
        to=f"dast-desk+{desk.ticket.reply_token}@cern.ch",
        subject="Re: [DAST-1] Task 15934870 exhausted",
        body="Is this ATLASPANDA-426? The site opened GGUS ticket #163245 too. UTF-8 is fine.",
    )
    deliver(desk, raw, django_capture_on_commit_callbacks)
    refs = {(r.system, r.key) for r in desk.ticket.external_refs.all()}
    assert refs == {("jira", "ATLASPANDA-426"), ("ggus", "163245")}
    ref = desk.ticket.external_refs.get(system="jira")
    assert ref.url == "https://its.cern.ch/jira/browse/ATLASPANDA-426"


def test_an_escalation_can_wait_on_a_jira_ticket_without_mailing_anyone(desk):
    from tickets.services import external_refs_add

    (ref,) = external_refs_add(ticket=desk.ticket, refs=[("jira", "ATLASPANDA-426")])
    esc = escalation_create(ticket=desk.ticket, by=desk.anna, note="Known bug", external_ref=ref)
    assert esc.target_name == "JIRA ATLASPANDA-426"
    assert not OutboundMail.objects.filter(kind=OutboundKind.ESCALATION).exists()
    assert Timer.objects.get(escalation=esc).state == TimerState.ARMED


def test_the_group_reply_addresses_decide_who_speaks_for_it(desk):
    assert desk.panda.speaks_for("PANDA-EXPERTS@cern.ch")
    assert desk.panda.speaks_for("t.maeno@bnl.example.gov")
    assert desk.panda.speaks_for("anyone@cern.ch.invalid")
    assert not desk.panda.speaks_for("t.maeno@bnl.example.gov.evil.org")
    assert not desk.panda.speaks_for("")
