"""A trainee's draft reply does not wait unseen: the shadowed shifter gets a mail and a
badge, and the queue's "To approve" view lists the tickets with drafts waiting."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from people.models import Role
from tests.factories import TicketFactory, shift_team
from tickets.models import OutboundMail, ReplyDraft, Status
from tickets.models.mail import OutboundKind
from tickets.services.desk import reply_draft_decide, ticket_answer

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=ZoneInfo("Europe/Zurich"))


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def desk():
    team = shift_team({"anna": Role.SHIFTER, "tomas": Role.TRAINEE})
    people = team.people
    team.ticket = TicketFactory(
        team=team,
        subject="Lost heartbeat",
        status=Status.OPEN,
        assignee=people["anna"],
        shadow=people["tomas"],
    )
    team.other = TicketFactory(team=team, subject="Nothing drafted", status=Status.OPEN)
    return team


def _queue(client, user, **params) -> str:
    client.force_login(user)
    return client.get(reverse("ticket-list"), params).content.decode()


def test_a_trainees_draft_mails_the_shadowed_shifter_a_link_to_approve_it(desk):
    draft = ticket_answer(
        ticket=desk.ticket, author=desk.people["tomas"], body_text="Please retry the jobs."
    )
    assert isinstance(draft, ReplyDraft)
    mail = OutboundMail.objects.get(kind=OutboundKind.NOTIFICATION)
    assert mail.to == "anna@example.org"
    assert mail.subject == f"[{desk.ticket.reference}] Draft reply to approve from Tomas Doe"
    assert f"/tickets/{desk.ticket.reference}/#d{draft.pk}" in mail.body_text
    assert not OutboundMail.objects.filter(kind=OutboundKind.REPLY).exists()


def test_a_shifters_own_reply_mails_nobody_about_drafts(desk):
    ticket_answer(ticket=desk.ticket, author=desk.people["anna"], body_text="Retry, please.")
    assert not OutboundMail.objects.filter(kind=OutboundKind.NOTIFICATION).exists()


def test_the_to_approve_view_lists_tickets_with_pending_drafts_with_a_badge(client, desk):
    draft = ticket_answer(
        ticket=desk.ticket, author=desk.people["tomas"], body_text="Please retry the jobs."
    )
    page = _queue(client, desk.people["anna"], view="to_approve")
    assert "Lost heartbeat" in page
    assert "Nothing drafted" not in page
    assert "draft to approve</span>" in page
    assert 'To approve <span class="n">1</span>' in page
    assert "draft to approve</span>" in _queue(client, desk.people["anna"], view="mine")

    reply_draft_decide(draft=draft, by=desk.people["anna"], approve=True)
    page = _queue(client, desk.people["anna"], view="to_approve")
    assert "Lost heartbeat" not in page
    assert "draft to approve</span>" not in page


def test_the_draft_badge_costs_no_query_per_row(client, desk):
    client.force_login(desk.people["anna"])
    client.get(reverse("ticket-list"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("ticket-list"), {"view": "all"})
    for n in range(12):
        ticket = TicketFactory(team=desk, subject=f"Bulk {n}", status=Status.OPEN)
        ReplyDraft.objects.create(
            ticket=ticket, author=desk.people["tomas"], body_text="x", created_at=NOW
        )
    with CaptureQueriesContext(connection) as many:
        page = client.get(reverse("ticket-list"), {"view": "all"}).content.decode()
    assert page.count("draft to approve</span>") == 12
    assert len(many) == len(few)


def _approved_by(page: str, body: str) -> list[str]:
    """The "approved by" labels of the thread's messages, for the message that says ``body``."""
    articles = page.split('<article class="message')[1:]
    return [
        a.split("approved by ")[1].split("<")[0]
        for a in articles
        if body in a and "approved by " in a
    ]


def test_a_reply_sent_from_a_trainees_draft_says_who_approved_it(client, desk):
    draft = ticket_answer(
        ticket=desk.ticket, author=desk.people["tomas"], body_text="Please retry the jobs."
    )
    ticket_answer(ticket=desk.ticket, author=desk.people["anna"], body_text="Anna writes too.")
    reply_draft_decide(draft=draft, by=desk.people["anna"], approve=True)
    client.force_login(desk.people["anna"])
    url = desk.ticket.get_absolute_url()
    page = client.get(url).content.decode()
    assert _approved_by(page, "Please retry the jobs.") == ["Anna Doe"]
    assert _approved_by(page, "Anna writes too.") == []  # her own reply needed no approval
    # From the cache, the same; and a hit asks nothing about drafts.
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url).content.decode()
    assert _approved_by(again, "Please retry the jobs.") == ["Anna Doe"]
    assert not [q for q in queries if "tickets_replydraft" in q["sql"] and "message_id" in q["sql"]]


def test_a_sent_back_draft_approves_nothing_in_the_thread(client, desk):
    draft = ticket_answer(ticket=desk.ticket, author=desk.people["tomas"], body_text="Wrong one.")
    reply_draft_decide(draft=draft, by=desk.people["anna"], approve=False, comment="No.")
    ticket_answer(ticket=desk.ticket, author=desk.people["anna"], body_text="The right one.")
    client.force_login(desk.people["anna"])
    page = client.get(desk.ticket.get_absolute_url()).content.decode()
    assert "The right one." in page
    assert "approved by" not in page
