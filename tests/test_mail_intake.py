"""Intake: a stored mail is threaded into the right ticket exactly once, and noise stays quiet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import MailboxFactory, MembershipFactory, TeamFactory
from tests.mailfactory import make_bounce, make_mail
from tickets.mail.intake import raw_process, raw_store
from tickets.models import (
    LinkKind,
    Noise,
    OutboundMail,
    RawMessage,
    RawState,
    Requester,
    Status,
    Ticket,
)
from tickets.models.mail import OutboundKind, RawSource
from tickets.services.tickets import ticket_set_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    team = TeamFactory(slug="dast", ticket_prefix="DAST", support_address="hn-help@cern.ch")
    MailboxFactory(team=team)
    return team


@pytest.fixture
def deliver(team, django_capture_on_commit_callbacks):
    """Store and process one mail as live intake does, running on-commit work."""

    def deliver(raw: bytes, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            stored = raw_store(team=team, raw=raw, source=RawSource.IMAP)
            if stored is None:
                return None
            return raw_process(stored, received_at=kwargs.get("at", timezone.now()))

    return deliver


def test_a_new_mail_opens_a_ticket_for_its_sender_and_queues_one_acknowledgement(deliver):
    result = deliver(make_mail(subject="Rucio download fails at BNL"))
    assert result.outcome == "new_ticket"
    ticket = result.ticket
    assert ticket.subject == "Rucio download fails at BNL"
    assert ticket.requester.email == "anna.kowalska@cern.ch"
    assert ticket.requester.name == "Anna Kowalska"
    acks = OutboundMail.objects.filter(ticket=ticket, kind=OutboundKind.ACKNOWLEDGEMENT)
    assert acks.count() == 1
    ack = acks.get()
    assert ack.automatic
    assert f"[{ticket.reference}]" in ack.subject
    assert ack.reply_to == f"dast-desk+{ticket.reply_token}@cern.ch"
    assert ack.in_reply_to == ticket.messages.get().message_id


def test_the_acknowledgement_is_not_a_re_re_and_links_the_requesters_ticket_page(deliver, settings):
    settings.SITE_URL = "https://desk.example.org"
    result = deliver(make_mail(subject="Re: RE: Fwd: Rucio download fails at BNL"))
    ticket = result.ticket
    ack = OutboundMail.objects.get(ticket=ticket, kind=OutboundKind.ACKNOWLEDGEMENT)
    assert ack.subject == f"[{ticket.reference}] Rucio download fails at BNL"
    page = "https://desk.example.org" + reverse("requester-ticket", args=[ticket.reference])
    assert page in ack.body_text


def test_the_same_mail_arriving_twice_is_filed_once_and_both_deliveries_kept(deliver):
    sent = timezone.now() - timedelta(hours=1)
    raw = make_mail(message_id="<same@cern.ch>", date=sent)
    assert deliver(raw).outcome == "new_ticket"
    copy = make_mail(
        message_id="<same@cern.ch>", subject="[list] Task 15934872 exhausted", date=sent
    )
    assert deliver(copy).outcome == "duplicate"
    assert RawMessage.objects.count() == 2
    assert RawMessage.objects.filter(state=RawState.DUPLICATE).count() == 1
    assert Ticket.objects.count() == 1


def test_a_reply_to_the_tokenised_address_joins_the_ticket_whatever_its_subject(deliver):
    ticket = deliver(make_mail()).ticket
    result = deliver(make_mail(to=f"dast-desk+{ticket.reply_token}@cern.ch", subject="thanks"))
    assert result.outcome == "joined"
    assert result.ticket == ticket
    assert ticket.messages.count() == 2


def test_a_reply_quoting_the_ticket_tag_joins_the_ticket(deliver):
    ticket = deliver(make_mail()).ticket
    result = deliver(make_mail(subject=f"Re: [{ticket.reference}] Task 15934872 exhausted"))
    assert result.outcome == "joined"
    assert result.ticket == ticket


def test_a_stranger_quoting_someone_elses_ticket_tag_gets_a_new_linked_ticket(deliver):
    ticket = deliver(make_mail()).ticket
    result = deliver(
        make_mail(sender=("Eve", "eve@example.com"), subject=f"Re: [{ticket.reference}] me too")
    )
    assert result.outcome == "new_ticket"
    assert result.ticket != ticket
    assert result.ticket.links.get().to_ticket == ticket
    assert ticket.messages.count() == 1


def test_a_colleague_in_copy_of_the_thread_may_reply_with_the_tag(deliver):
    ticket = deliver(make_mail(cc="bob@cern.ch")).ticket
    result = deliver(make_mail(sender=("Bob", "bob@cern.ch"), subject=f"[{ticket.reference}] +1"))
    assert result.outcome == "joined"


def test_a_reply_to_the_acknowledgement_joins_by_in_reply_to(deliver):
    ticket = deliver(make_mail()).ticket
    ack = OutboundMail.objects.get(ticket=ticket)
    result = deliver(make_mail(subject="more details", in_reply_to=ack.message_id))
    assert result.outcome == "joined"
    assert result.ticket == ticket


def test_a_reply_from_the_requester_puts_a_waiting_ticket_back_to_open(deliver):
    ticket = deliver(make_mail()).ticket
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.WAITING_ON_USER)
    assert ticket.unseen_reply_at is None
    deliver(make_mail(to=f"dast-desk+{ticket.reply_token}@cern.ch"))
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.unseen_reply_at is not None  # "new reply" in the owner's queue


def test_a_reply_to_a_recently_closed_ticket_reopens_it(deliver):
    ticket = deliver(make_mail()).ticket
    ticket_set_status(ticket=ticket, status=Status.CLOSED)
    result = deliver(make_mail(subject=f"Re: [{ticket.reference}] it fails again"))
    assert result.outcome == "reopened"
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.reopen_count == 1
    assert ticket.closed_at is None


def test_a_reply_to_a_ticket_closed_long_ago_opens_a_follow_up(deliver, settings):
    settings.REOPEN_WINDOW_DAYS = 30
    ticket = deliver(make_mail()).ticket
    ticket_set_status(ticket=ticket, status=Status.CLOSED, at=timezone.now() - timedelta(days=40))
    result = deliver(make_mail(subject=f"Re: [{ticket.reference}] again"))
    assert result.outcome == "follow_up"
    assert result.ticket.links.get().to_ticket == ticket
    assert result.ticket.links.get().kind == LinkKind.FOLLOW_UP
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_an_auto_reply_opens_no_ticket_and_gets_no_answer(deliver):
    result = deliver(
        make_mail(
            subject="Out of Office: back on Monday", headers={"Auto-Submitted": "auto-replied"}
        )
    )
    assert result.outcome == "ignored"
    assert result.raw.state == RawState.IGNORED
    assert Ticket.objects.count() == 0
    assert OutboundMail.objects.count() == 0


def test_an_auto_reply_to_a_ticket_is_kept_on_it_without_changing_it(deliver):
    ticket = deliver(make_mail()).ticket
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.WAITING_ON_USER)
    result = deliver(
        make_mail(
            to=f"dast-desk+{ticket.reply_token}@cern.ch",
            subject="Automatic reply: x",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    assert result.outcome == "attached"
    assert result.message.noise == Noise.AUTO_REPLY
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_ON_USER
    assert OutboundMail.objects.filter(ticket=ticket).count() == 1  # the first ack only


def test_a_bounce_of_our_mail_lands_on_its_ticket_and_marks_the_address_bouncing(deliver):
    ticket = deliver(make_mail(sender=("Ghost", "ghost@cern.ch"))).ticket
    ack = OutboundMail.objects.get(ticket=ticket)
    result = deliver(make_bounce(original_message_id=ack.message_id, recipient="ghost@cern.ch"))
    assert result.outcome == "attached"
    assert result.ticket == ticket
    assert result.message.noise == Noise.BOUNCE
    assert Requester.objects.get(email="ghost@cern.ch").bouncing_since is not None


def test_mail_from_the_desks_own_address_is_ignored(deliver):
    result = deliver(make_mail(sender=("ATLAS DAST", "dast-desk@cern.ch")))
    assert result.outcome == "ignored"
    assert Ticket.objects.count() == 0


def test_acknowledgements_to_one_address_are_rate_limited(deliver, settings):
    settings.ACK_LIMIT_PER_HOUR = 3
    for n in range(5):
        deliver(make_mail(subject=f"problem {n}"))
    assert Ticket.objects.count() == 5
    assert OutboundMail.objects.filter(kind=OutboundKind.ACKNOWLEDGEMENT).count() == 3


def test_attachments_are_stored_by_content_and_kept_with_their_names(deliver, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    log = b"2018-03-01 12:00:00 pilot: lost heartbeat\n" * 50
    result = deliver(make_mail(attachments=(("pilot log.txt", "text/plain", log),)))
    attachment = result.message.attachments.get()
    assert attachment.filename == "pilot log.txt"
    assert attachment.size == len(log)
    assert attachment.file.read() == log


def test_a_mail_that_cannot_be_parsed_is_kept_raw_flagged_and_shown_to_admins(deliver, client):
    result = deliver(b"\x00\x01\x02 this is not mail at all \xff\xfe")
    assert result.outcome == "failed"
    raw = RawMessage.objects.get()
    assert raw.state == RawState.FAILED
    assert bytes(raw.raw).startswith(b"\x00\x01\x02")
    admin = MembershipFactory().user
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    page = client.get(reverse("admin:tickets_rawmessage_changelist"), {"state__exact": "failed"})
    assert page.status_code == 200
    assert "1 raw message" in page.content.decode()


def test_processing_the_same_stored_mail_twice_does_nothing_the_second_time(deliver, team):
    raw = raw_store(team=team, raw=make_mail())
    assert raw_process(raw).outcome == "new_ticket"
    assert raw_process(raw).outcome == "ignored"
    assert Ticket.objects.count() == 1
