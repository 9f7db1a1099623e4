"""The ticket page's actions: reply, note, fields, owner, merge, links, canned answers, a
trainee's reply held for approval, attachments as downloads, times in the viewer's zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from people.models import Role
from tests.factories import MembershipFactory, MessageFactory, TeamFactory, TicketFactory
from tickets.models import (
    Attachment,
    CannedAnswer,
    DraftState,
    Message,
    MessageKind,
    OutboundMail,
    ReplyDraft,
    Status,
    Ticket,
    TicketLink,
)

GENEVA = ZoneInfo("Europe/Zurich")
WEDNESDAY_10 = datetime(2026, 11, 18, 10, 0, tzinfo=GENEVA)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen_at(WEDNESDAY_10)]


@pytest.fixture
def desk(client):
    team = TeamFactory(slug="dast", ticket_prefix="DAST", support_address="hn-help@cern.ch")
    anna = MembershipFactory(team=team, role=Role.SHIFTER).user
    tomas = MembershipFactory(team=team, role=Role.TRAINEE).user
    ticket = TicketFactory(team=team, subject="Task 15934870 exhausted", status=Status.OPEN)
    MessageFactory(ticket=ticket, body_text="All jobs failed.")
    client.force_login(anna)
    return type("Desk", (), {"team": team, "anna": anna, "tomas": tomas, "ticket": ticket})


def act(client, ticket, name, data=None, follow=False):
    return client.post(reverse(name, args=[ticket.reference]), data or {}, follow=follow)


def page(client, ticket) -> str:
    return client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()


def test_a_reply_goes_out_as_threaded_mail_and_waits_on_the_user(client, desk):
    response = act(client, desk.ticket, "ticket-reply", {"body": "Please retry with --nFiles."})
    assert response.status_code == 302
    mail = OutboundMail.objects.get(ticket=desk.ticket)
    assert mail.to == desk.ticket.requester.email
    assert mail.subject == f"[{desk.ticket.reference}] Re: Task 15934870 exhausted"
    assert "Please retry with --nFiles." in mail.body_text
    desk.ticket.refresh_from_db()
    assert desk.ticket.status == Status.WAITING_ON_USER
    assert desk.ticket.first_response_at is not None


def test_an_empty_reply_is_refused_and_nothing_goes_out(client, desk):
    response = act(client, desk.ticket, "ticket-reply", {"body": "   "}, follow=True)
    assert "Write something first." in response.content.decode()
    assert not OutboundMail.objects.exists()


def test_a_note_stays_inside_and_mails_nobody(client, desk):
    act(client, desk.ticket, "ticket-note", {"body": "Looks like the BNL pilot issue."})
    note = Message.objects.get(kind=MessageKind.NOTE)
    assert note.author == desk.anna
    assert not OutboundMail.objects.exists()
    assert 'class="message kind-note' in page(client, desk.ticket)


def test_status_category_and_priority_change_and_bad_values_are_named(client, desk):
    act(client, desk.ticket, "ticket-update", {"status": "resolved", "category": "panda"})
    desk.ticket.refresh_from_db()
    assert (desk.ticket.status, desk.ticket.category) == (Status.RESOLVED, "panda")
    assert desk.ticket.resolved_at is not None
    response = act(client, desk.ticket, "ticket-update", {"category": "magic"}, follow=True)
    assert "“magic” is not a category." in response.content.decode()
    response = act(client, desk.ticket, "ticket-update", {"priority": "x"}, follow=True)
    assert "is not a priority" in response.content.decode()


def test_assign_to_a_team_member_take_it_and_unassign(client, desk):
    act(client, desk.ticket, "ticket-assign", {"to": str(desk.tomas.pk)})
    desk.ticket.refresh_from_db()
    assert desk.ticket.assignee == desk.tomas
    act(client, desk.ticket, "ticket-assign", {"to": "me"})
    desk.ticket.refresh_from_db()
    assert desk.ticket.assignee == desk.anna
    outsider = MembershipFactory(team=TeamFactory(slug="biomed")).user
    response = act(client, desk.ticket, "ticket-assign", {"to": str(outsider.pk)}, follow=True)
    assert "Choose someone of the team." in response.content.decode()
    act(client, desk.ticket, "ticket-assign", {"to": ""})
    desk.ticket.refresh_from_db()
    assert desk.ticket.assignee is None


def test_merging_moves_the_thread_closes_the_duplicate_and_later_mail_follows(client, desk):
    duplicate = TicketFactory(team=desk.team, subject="Same task again", status=Status.NEW)
    MessageFactory(ticket=duplicate, body_text="Sent twice via the list.")
    act(client, duplicate, "ticket-merge", {"into": desk.ticket.reference.lower()})
    duplicate.refresh_from_db()
    assert duplicate.merged_into == desk.ticket
    assert duplicate.status == Status.CLOSED
    bodies = list(desk.ticket.messages.values_list("body_text", flat=True))
    assert "Sent twice via the list." in bodies
    assert any("was merged into this ticket" in b for b in bodies)
    assert "Merged into" in page(client, duplicate)


@pytest.mark.parametrize(
    ("into", "reason"),
    [("SELF", "cannot be merged into itself"), ("DAST-9999", "No ticket “DAST-9999”")],
)
def test_a_bad_merge_says_why_and_moves_nothing(client, desk, into, reason):
    into = desk.ticket.reference if into == "SELF" else into
    response = act(client, desk.ticket, "ticket-merge", {"into": into}, follow=True)
    assert reason in response.content.decode()
    desk.ticket.refresh_from_db()
    assert desk.ticket.merged_into is None
    assert desk.ticket.messages.count() == 1


def test_another_teams_ticket_can_be_neither_merged_nor_linked(client, desk):
    other = TicketFactory(team=TeamFactory(slug="biomed", ticket_prefix="BIO"))
    response = act(client, desk.ticket, "ticket-link", {"other": other.reference}, follow=True)
    assert "No ticket" in response.content.decode()
    assert not TicketLink.objects.exists()


def test_linked_tickets_show_on_both_pages(client, desk):
    other = TicketFactory(team=desk.team, subject="Rucio rule stuck")
    act(client, desk.ticket, "ticket-link", {"other": other.reference, "kind": "related"})
    assert TicketLink.objects.filter(from_ticket=desk.ticket, to_ticket=other).exists()
    assert "Rucio rule stuck" in page(client, desk.ticket)
    assert "Linked from" in page(client, other)


def test_a_canned_answer_is_offered_first_for_the_category_and_counted_when_used(client, desk):
    Ticket.objects.filter(pk=desk.ticket.pk).update(category="panda")
    CannedAnswer.objects.create(team=desk.team, title="Dataset not found", body="Check did.")
    used = CannedAnswer.objects.create(
        team=desk.team, title="Lost heartbeat", category="panda", body="It is the site."
    )
    html = page(client, desk.ticket)
    assert html.index("Lost heartbeat") < html.index("Dataset not found")
    assert 'data-body="It is the site."' in html
    act(client, desk.ticket, "ticket-reply", {"body": "It is the site (BNL).", "canned": used.pk})
    used.refresh_from_db()
    assert used.uses == 1


def test_a_trainees_reply_waits_for_the_shifter_who_approves_it_edited(client, desk):
    trainee = Client()
    trainee.force_login(desk.tomas)
    act(trainee, desk.ticket, "ticket-reply", {"body": "Retry plz"})
    draft = ReplyDraft.objects.get()
    assert draft.state == DraftState.PENDING
    assert not OutboundMail.objects.exists()
    assert "Approve and send" not in page(trainee, desk.ticket)  # not their own draft
    assert "Approve and send" in page(client, desk.ticket)
    client.post(
        reverse("ticket-draft", args=[desk.ticket.reference, draft.pk]),
        {"decision": "approve", "body": "Please retry the failed jobs."},
    )
    draft.refresh_from_db()
    assert draft.state == DraftState.SENT
    assert draft.message.author == desk.tomas
    assert OutboundMail.objects.get().body_text.startswith("Please retry the failed jobs.")
    # A trainee cannot approve, and a decided draft stays decided.
    response = trainee.post(
        reverse("ticket-draft", args=[desk.ticket.reference, draft.pk]),
        {"decision": "approve"},
        follow=True,
    )
    assert "A trainee cannot approve replies." in response.content.decode()
    assert OutboundMail.objects.count() == 1


def test_attachments_download_never_render(client, desk, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    message = desk.ticket.messages.get()
    item = Attachment(message=message, filename="x.html", content_type="text/html", size=30)
    item.sha256 = "0" * 64
    item.file.save("x.html", ContentFile(b"<script>alert(1)</script>"), save=True)
    url = reverse("ticket-attachment", args=[desk.ticket.reference, item.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/octet-stream"
    stranger = Client()
    stranger.force_login(MembershipFactory(team=TeamFactory(slug="biomed")).user)
    assert stranger.get(url).status_code == 404


def test_actions_need_a_signed_in_desk_member_and_csrf(desk):
    anonymous = Client()
    response = act(anonymous, desk.ticket, "ticket-note", {"body": "x"})
    assert response.status_code == 302
    assert "/login/" in response.url
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(desk.anna)
    assert act(strict, desk.ticket, "ticket-note", {"body": "x"}).status_code == 403
    outsider = Client()
    outsider.force_login(MembershipFactory(team=TeamFactory(slug="biomed")).user)
    assert act(outsider, desk.ticket, "ticket-note", {"body": "x"}).status_code == 404
    assert not Message.objects.filter(kind=MessageKind.NOTE).exists()


def test_times_show_in_the_viewers_time_zone(client, desk):
    client.cookies["tz"] = "America/Chicago"
    html = page(client, desk.ticket)
    assert "03:00 CST" in html  # 10:00 in Geneva
    client.cookies["tz"] = "Not/AZone"
    assert "09:00 UTC" in page(client, desk.ticket)


@pytest.mark.parametrize("cookie", ["America%2FChicago", "America/Chicago"])
def test_the_time_zone_cookie_is_understood_percent_encoded_or_plain(client, desk, cookie):
    client.cookies["tz"] = cookie
    assert "03:00 CST" in page(client, desk.ticket)


def test_quoted_history_is_folded_and_mail_html_is_sanitised(client, desk):
    MessageFactory(
        ticket=desk.ticket,
        body_text="Still failing.\n> On Monday you wrote:\n> retry",
        body_html='<p>Still failing.</p><img src="x" onerror="alert(1)"><script>alert(2)</script>',
        quote_start=len("Still failing.\n"),
    )
    html = page(client, desk.ticket)
    assert '<details class="quoted"><summary>Quoted history</summary>' in html
    assert "onerror" not in html
    assert "<script>alert(2)" not in html
