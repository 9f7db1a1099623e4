"""The outbox sends each mail once, threaded, over real SMTP, and waits out an outage."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.factories import MembershipFactory, TeamFactory
from tests.mailfactory import make_mail
from tickets.mail.intake import raw_process, raw_store
from tickets.mail.outbox import outbound_due_ids, outbound_send, outbox_send_due
from tickets.models import Mailbox, OutboundMail, OutboundState, Status
from tickets.models.mail import RawSource
from tickets.services.replies import ticket_reply

WEDNESDAY_10 = datetime(2026, 11, 18, 10, 0, tzinfo=ZoneInfo("Europe/Zurich"))
pytestmark = [pytest.mark.django_db, pytest.mark.frozen_at(WEDNESDAY_10)]


@pytest.fixture
def smtp(settings, smtp_sink):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_sink.host
    settings.EMAIL_PORT = smtp_sink.port
    settings.EMAIL_TIMEOUT = 5
    return smtp_sink


@pytest.fixture
def ticket(django_capture_on_commit_callbacks):
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    Mailbox.objects.create(
        team=team,
        name="desk",
        host="127.0.0.1",
        security="none",
        username="support",
        password_env="PW",
        addresses="dast-desk@cern.ch",
    )
    raw = raw_store(team=team, raw=make_mail(message_id="<first@cern.ch>"), source=RawSource.IMAP)
    # The acknowledgement is written after commit; its send is what each test drives by hand.
    with django_capture_on_commit_callbacks(execute=True):
        return raw_process(raw, received_at=timezone.now()).ticket


def test_the_acknowledgement_goes_out_threaded_tagged_and_marked_automatic(smtp, ticket):
    ack = OutboundMail.objects.get(ticket=ticket)
    assert outbound_send(ack.pk) is True
    mail = smtp.wait_for(1)[0].message()
    assert mail["Message-ID"] == ack.message_id
    assert mail["In-Reply-To"] == "<first@cern.ch>"
    assert "<first@cern.ch>" in mail["References"]
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["Subject"] == f"[{ticket.reference}] {ticket.subject}"
    assert mail["Reply-To"] == f"dast-desk+{ticket.reply_token}@cern.ch"
    assert ticket.reference in mail.get_content()
    ack.refresh_from_db()
    assert ack.state == OutboundState.SENT


def test_a_mail_is_sent_once_even_when_asked_twice(smtp, ticket):
    ack = OutboundMail.objects.get(ticket=ticket)
    assert outbound_send(ack.pk) is True
    assert outbound_send(ack.pk) is False
    assert len(smtp.messages) == 1


def test_while_smtp_is_down_the_mail_waits_and_goes_once_smtp_is_back(smtp, ticket, frozen_clock):
    ack = OutboundMail.objects.get(ticket=ticket)
    smtp.stop()
    assert outbound_send(ack.pk) is False
    ack.refresh_from_db()
    assert ack.state == OutboundState.PENDING
    assert ack.attempts == 1
    assert "Connection" in ack.last_error or "refused" in ack.last_error.lower()
    assert ack.pk not in outbound_due_ids()  # backing off
    smtp.restart()
    frozen_clock.shift(timedelta(minutes=2))
    assert outbound_due_ids() == [ack.pk]
    assert outbound_send(ack.pk) is True
    assert len(smtp.messages) == 1


def test_a_temporary_refusal_is_retried(smtp, ticket, frozen_clock):
    ack = OutboundMail.objects.get(ticket=ticket)
    smtp.fail_next(1)
    assert outbound_send(ack.pk) is False
    assert outbound_send(ack.pk) is False  # not due yet: backing off
    frozen_clock.shift(timedelta(minutes=2))
    assert outbound_send(ack.pk) is True
    assert len(smtp.messages) == 1


def test_a_shifters_reply_is_stored_on_the_ticket_and_mailed_with_the_same_message_id(
    smtp, ticket, django_capture_on_commit_callbacks
):
    shifter = MembershipFactory(team=ticket.team).user
    with django_capture_on_commit_callbacks(execute=True):
        message = ticket_reply(
            ticket=ticket, author=shifter, body_text="Please retry with --nFilesPerJob 5."
        )
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_ON_USER
    assert ticket.first_response_at is not None
    reply = OutboundMail.objects.get(ticket=ticket, kind="reply")
    assert reply.message_id == message.message_id
    assert outbound_send(reply.pk) is True
    sent = smtp.wait_for(1)[0]
    assert sent.rcpt_tos == (ticket.requester.email,) or list(sent.rcpt_tos) == [
        ticket.requester.email
    ]
    assert "--nFilesPerJob 5" in sent.message().get_content()


def _requester_tickets(n: int):
    from tickets.services import Sender, ticket_open

    team = TeamFactory(slug="biomed", ticket_prefix="BIO")
    for i in range(n):
        ticket = ticket_open(
            team=team, sender=Sender(f"user{i}@cern.ch"), subject=f"Problem {i}", body_text="?"
        )
        ticket_reply(ticket=ticket, author=MembershipFactory(team=team).user, body_text="Looking.")


def test_after_an_outage_one_sweep_sends_what_is_due_itself_and_queues_nothing(
    smtp, ticket, frozen_clock, enqueued
):
    _requester_tickets(5)
    smtp.stop()
    outbox_send_due()
    assert OutboundMail.objects.filter(state=OutboundState.PENDING, attempts=1).count() == 6
    smtp.restart()
    frozen_clock.shift(timedelta(minutes=2))
    enqueued.clear()
    assert outbox_send_due() == 6
    assert enqueued == []  # no task per row: the sweep did the work
    assert len(smtp.messages) == 6
    assert outbox_send_due() == 0
    assert len(smtp.messages) == 6


def test_a_sweep_stops_when_its_time_is_up_and_the_next_one_goes_on(smtp, ticket):
    _requester_tickets(3)
    assert outbox_send_due(budget_s=0) == 1
    assert outbox_send_due() == 3
    assert len(smtp.messages) == 4


def test_sending_sweeping_timers_and_events_each_have_their_own_queue(settings):
    from dast.celery import app

    queues = {
        name: app.amqp.router.route({}, name)["queue"].name
        for name in (
            "tickets.tasks.outbound_send_task",
            "tickets.tasks.outbox_sweep_task",
            "escalation.tasks.timer_sweep_task",
            "tickets.tasks.events_sweep_task",
            "dast.tasks.heartbeat_task",
        )
    }
    assert queues == {
        "tickets.tasks.outbound_send_task": "outbox",
        "tickets.tasks.outbox_sweep_task": "outbox",
        "escalation.tasks.timer_sweep_task": "timers",
        "tickets.tasks.events_sweep_task": "events",
        "dast.tasks.heartbeat_task": "celery",
    }
    # A worker started without -Q (make run) consumes every one of them.
    assert {q.name for q in app.conf.task_queues} == {"celery", "outbox", "timers", "events"}
