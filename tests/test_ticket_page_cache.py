"""The ticket page keeps what it can in the cache (each message's HTML, the grid ids found in
it, the team's people, canned answers and escalation targets) and never shows stale content
for it: a changed message, answer or directory shows on the next load, and a list kept for
display never decides an action."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from people.models import Membership, Role
from tests.factories import MembershipFactory, MessageFactory, TeamFactory, TicketFactory
from tickets import thread
from tickets.models import CannedAnswer, Message, Status, TicketLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(client):
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    anna = MembershipFactory(team=team, role=Role.SHIFTER).user
    ticket = TicketFactory(team=team, subject="Stage-in failure", status=Status.OPEN)
    MessageFactory(ticket=ticket, body_text="Task 15934870 fails at BNL.")
    client.force_login(anna)
    return type("Desk", (), {"team": team, "anna": anna, "ticket": ticket})


def articles(html: str) -> list[str]:
    return re.findall(r'<article class="message.*?</article>', html, re.S)


def page(client, ticket) -> str:
    response = client.get(reverse("ticket-detail", args=[ticket.reference]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def renders(monkeypatch) -> list[int]:
    """The messages rendered (not taken from the cache), by pk."""
    done: list[int] = []
    real = thread.render_to_string

    def counting(name, context):  # type: ignore[no-untyped-def]
        done.append(context["message"].pk)
        return real(name, context)

    monkeypatch.setattr(thread, "render_to_string", counting)
    return done


def test_each_message_is_rendered_once_then_served_from_the_cache(client, desk, renders):
    second = MessageFactory(ticket=desk.ticket, body_text="Any news?")
    first_html = page(client, desk.ticket)
    assert sorted(renders) == sorted(m.pk for m in desk.ticket.messages.all())
    renders.clear()
    assert articles(page(client, desk.ticket)) == articles(first_html)
    assert len(articles(first_html)) == 2
    assert renders == []
    # What changes in a message is part of its key: only that one is rendered again.
    Message.objects.filter(pk=second.pk).update(
        body_text="Any news? It is urgent.", unverified=True
    )
    html = page(client, desk.ticket)
    assert renders == [second.pk]
    assert "It is urgent." in html
    assert "unverified sender" in html


def test_each_viewer_zone_gets_its_own_rendering(client, desk, renders):
    client.cookies["tz"] = "America/Chicago"
    chicago = page(client, desk.ticket)
    client.cookies["tz"] = "Asia/Tokyo"
    tokyo = page(client, desk.ticket)
    assert len(renders) == 2
    assert "CST" in chicago
    assert "JST" in tokyo


def test_the_grid_panel_finds_ids_of_a_message_added_later(client, desk):
    assert "15934870" in page(client, desk.ticket)
    MessageFactory(ticket=desk.ticket, body_text="Now also task 15934999.")
    html = page(client, desk.ticket)
    assert "15934870" in html
    assert "15934999" in html


def test_the_page_costs_the_same_queries_for_2_or_20_messages(client, desk):
    page(client, desk.ticket)  # the team lists are cached from here on
    with CaptureQueriesContext(connection) as few:
        page(client, desk.ticket)
    for n in range(18):
        MessageFactory(ticket=desk.ticket, body_text=f"Retry {n} failed too.")
    page(client, desk.ticket)
    with CaptureQueriesContext(connection) as many:
        page(client, desk.ticket)
    assert len(many) == len(few), [q["sql"][:80] for q in many]


def test_an_edited_canned_answer_shows_on_the_next_page(client, desk):
    answer = CannedAnswer.objects.create(team=desk.team, title="Lost heartbeat", body="Site.")
    assert "Lost heartbeat" in page(client, desk.ticket)
    client.force_login(MembershipFactory(team=desk.team, role=Role.COORDINATOR).user)
    response = client.post(
        f"/canned/{answer.pk}/",
        {"team": "dast", "title": "Heartbeat lost", "body": "Site.", "active": "on"},
    )
    assert response.status_code == 302
    html = page(client, desk.ticket)
    assert "Heartbeat lost" in html
    assert "Lost heartbeat" not in html


def test_an_imported_group_is_offered_at_once(
    client, desk, tmp_path, django_capture_on_commit_callbacks
):
    assert "DE-cloud-support" not in page(client, desk.ticket)
    path = tmp_path / "groups.csv"
    path.write_text("kind,name,email\ncloud,DE-cloud-support,de@example.org\n", encoding="utf-8")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_groups", "--team", "dast", str(path), stdout=StringIO())
    assert "DE-cloud-support" in page(client, desk.ticket)


def test_someone_who_left_the_desk_cannot_be_given_a_ticket_while_still_listed(client, desk):
    gone = MembershipFactory(team=desk.team, role=Role.SHIFTER, user__first_name="Gone")
    assert "Gone" in page(client, desk.ticket)  # the owner list is now cached
    Membership.objects.filter(pk=gone.pk).delete()
    assert "Gone" in page(client, desk.ticket)  # shown for up to a minute, but
    response = client.post(
        reverse("ticket-assign", args=[desk.ticket.reference]), {"to": gone.user.pk}, follow=True
    )
    desk.ticket.refresh_from_db()
    assert desk.ticket.assignee_id is None
    assert "Gone" not in [m.message for m in response.context["messages"]]


def test_drafts_links_and_escalations_are_asked_for_only_when_the_ticket_has_some(client, desk):
    def main_tables() -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            page(client, desk.ticket)
        return [q["sql"].split(" FROM ", 1)[1].split()[0] for q in queries if " FROM " in q["sql"]]

    page(client, desk.ticket)
    asked = main_tables()
    for table in ("ticketlink", "replydraft", "externalref"):
        assert f'"tickets_{table}"' not in asked
    for table in ("escalation", "timer"):
        assert f'"escalation_{table}"' not in asked
    other = TicketFactory(team=desk.team, subject="Same site, same day")
    TicketLink.objects.create(from_ticket=desk.ticket, to_ticket=other, kind="related")
    assert '"tickets_ticketlink"' in main_tables()
    assert other.reference in page(client, desk.ticket)


def test_a_tightened_sanitiser_reaches_every_cached_message_at_once(
    client, desk, renders, monkeypatch
):
    """No version to bump: the cache key holds a digest of the sanitiser's configuration, so
    a deploy that drops a tag re-renders the messages cached before it."""
    from tickets.mail import html as sanitiser

    MessageFactory(ticket=desk.ticket, body_text="bold", body_html="<p>Really <b>bold</b></p>")
    assert "<b>bold</b>" in page(client, desk.ticket)
    renders.clear()
    page(client, desk.ticket)
    assert renders == []  # served from the cache

    # The deploy: the same module with <b> no longer allowed (what a process restart reads).
    monkeypatch.setattr(sanitiser, "_TAGS", sanitiser._TAGS - {"b"})
    monkeypatch.setattr(sanitiser, "_CLEANER", sanitiser._cleaner(with_sources=True))
    monkeypatch.setattr(sanitiser, "_NO_SOURCES", sanitiser._cleaner(with_sources=False))
    monkeypatch.setattr(sanitiser, "SANITISER_DIGEST", sanitiser._configuration_digest())
    thread.render_digest.cache_clear()
    try:
        html = page(client, desk.ticket)
    finally:
        thread.render_digest.cache_clear()
    assert len(renders) == 2  # every message of the ticket, not only the one with HTML
    assert "<b>bold</b>" not in html
    assert "Really bold" in html


def test_the_sanitiser_digest_follows_its_configuration_only(monkeypatch):
    from tickets.mail import html as sanitiser

    before = sanitiser._configuration_digest()
    assert sanitiser._configuration_digest() == before
    monkeypatch.setattr(sanitiser, "_SCHEMES", sanitiser._SCHEMES - {"ftp"})
    assert sanitiser._configuration_digest() != before
