"""The teams' chat webhooks: a new or overdue ticket is a post row written by the
notifications consumer; the sweep posts it once, retries a 5xx after its backoff, and
gives up at once on a 4xx. The chat server is a small HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
import time_machine

from notifications.models import Flavour, Kind, PostState, TeamWebhook, WebhookPost
from notifications.webhooks import webhooks_send_due
from people.models import Role
from shifts.models import Booking, ShiftRole
from tests.factories import MailboxFactory, shift_team
from tickets.events import event_record
from tickets.models import Ticket
from tickets.models.events import EventKind
from tickets.services import Sender, ticket_open

pytestmark = pytest.mark.django_db
GENEVA = ZoneInfo("Europe/Zurich")
WEDNESDAY = date(2026, 11, 18)
TEN = datetime.combine(WEDNESDAY, time(10), tzinfo=GENEVA)


class FakeChat:
    """Answers each POST with the next status of ``statuses`` (the last one repeats) and
    keeps the JSON bodies it got."""

    def __init__(self) -> None:
        self.statuses = [200]
        self.bodies: list[dict] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with fake.lock:
                    fake.bodies.append(json.loads(body))
                    status = fake.statuses.pop(0) if len(fake.statuses) > 1 else fake.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/abc123"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chat(monkeypatch, loopback_only, settings) -> Iterator[FakeChat]:
    fake = FakeChat()
    monkeypatch.setenv("DAST_TEST_CHAT_URL", fake.url)
    settings.WEBHOOK_TIMEOUT_S = 2
    settings.WEBHOOK_RETRY_BASE_S = 30
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def team():
    team = shift_team({"anna": Role.SHIFTER})
    MailboxFactory(team=team)
    Booking.objects.create(
        zone=team.eu, day=WEDNESDAY, person=team.people["anna"], role=ShiftRole.FIRST_LEVEL
    )
    TeamWebhook.objects.create(team=team, name="shifters", url_env="DAST_TEST_CHAT_URL")
    return team


def _open(team, capture, subject: str = "Task 15934870 exhausted") -> Ticket:
    with capture(execute=True):
        return ticket_open(
            team=team, sender=Sender("jdoe@cern.ch", "Jane Doe"), subject=subject, body_text="."
        )


@pytest.mark.frozen_at(TEN)
def test_a_new_ticket_is_posted_to_the_teams_chat_once(
    team, chat, django_capture_on_commit_callbacks
):
    _open(team, django_capture_on_commit_callbacks)
    assert webhooks_send_due() == 1
    assert webhooks_send_due() == 0
    assert chat.bodies == [
        {
            "text": "[DAST-1](http://127.0.0.1:8000/tickets/DAST-1/) New ticket DAST-1 "
            "“Task 15934870 exhausted” from Jane Doe"
        }
    ]
    post = WebhookPost.objects.get()
    assert (post.state, post.attempts, post.sent_at) == (PostState.SENT, 1, TEN)


def test_a_500_is_retried_after_its_backoff_and_then_delivered(
    team, chat, django_capture_on_commit_callbacks, frozen_clock
):
    chat.statuses = [500, 200]
    with time_machine.travel(TEN, tick=False) as clock:
        _open(team, django_capture_on_commit_callbacks)
        assert webhooks_send_due() == 0
        post = WebhookPost.objects.get()
        assert (post.state, post.attempts) == (PostState.PENDING, 1)
        assert post.next_attempt_at == TEN + timedelta(seconds=30)
        assert "HTTP 500" in post.last_error
        assert webhooks_send_due() == 0  # not due before its backoff
        assert len(chat.bodies) == 1
        clock.move_to(TEN + timedelta(seconds=31))
        assert webhooks_send_due() == 1
    post.refresh_from_db()
    assert (post.state, post.attempts, post.last_error) == (PostState.SENT, 2, "")
    assert len(chat.bodies) == 2


@pytest.mark.frozen_at(TEN)
def test_a_webhook_that_answers_404_fails_at_once_and_says_why(
    team, chat, django_capture_on_commit_callbacks
):
    chat.statuses = [404]
    _open(team, django_capture_on_commit_callbacks)
    assert webhooks_send_due() == 0
    post = WebhookPost.objects.get()
    assert post.state == PostState.FAILED
    assert post.last_error.startswith("HTTP 404")


@pytest.mark.frozen_at(TEN)
def test_an_unset_url_variable_waits_for_its_retry(
    team, chat, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.delenv("DAST_TEST_CHAT_URL")
    _open(team, django_capture_on_commit_callbacks)
    assert webhooks_send_due() == 0
    post = WebhookPost.objects.get()
    assert (post.state, post.last_error) == (PostState.PENDING, "$DAST_TEST_CHAT_URL is not set")
    assert chat.bodies == []


@pytest.mark.frozen_at(TEN)
def test_a_ticket_turning_overdue_is_posted_once_per_time(
    team, chat, django_capture_on_commit_callbacks
):
    ticket = _open(team, django_capture_on_commit_callbacks)
    TeamWebhook.objects.update(new_tickets=False)
    WebhookPost.objects.all().delete()
    Ticket.objects.filter(pk=ticket.pk).update(overdue_since=TEN)
    for step in range(2):  # the late first answer, then a later step of the same lateness
        with django_capture_on_commit_callbacks(execute=True):
            event_record(ticket=ticket, kind=EventKind.TIMER_FIRED, data={"step": step})
    (post,) = WebhookPost.objects.all()
    assert post.kind == Kind.OVERDUE
    assert webhooks_send_due() == 1
    assert chat.bodies[0]["text"].endswith("DAST-1 “Task 15934870 exhausted” is overdue")


@pytest.mark.frozen_at(TEN)
def test_what_a_requester_wrote_cannot_ping_the_whole_channel(
    team, chat, django_capture_on_commit_callbacks
):
    TeamWebhook.objects.create(
        team=team, name="slack", flavour=Flavour.SLACK, url_env="DAST_TEST_CHAT_URL"
    )
    _open(team, django_capture_on_commit_callbacks, subject="@channel <!here> [x](http://evil)")
    texts = {p.hook.flavour: p.payload["text"] for p in WebhookPost.objects.all()}
    mattermost, slack = texts[Flavour.MATTERMOST], texts[Flavour.SLACK]
    assert "@channel" not in mattermost
    assert "[x](http" not in mattermost
    assert mattermost.startswith("[DAST-1](http://127.0.0.1:8000/tickets/DAST-1/) ")
    assert "<!here>" not in slack
    assert "&lt;!here&gt;" in slack
    assert slack.startswith("<http://127.0.0.1:8000/tickets/DAST-1/|DAST-1> ")
