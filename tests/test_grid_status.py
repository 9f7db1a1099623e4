"""Job and task status in the grid panel: fetched by a worker from BigPanDA's JSON views,
stored with a short TTL, loaded into the page by htmx; the page never waits for the monitor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from grid.models import GridStatus
from grid.services import statuses_fetch
from tests.factories import MembershipFactory, MessageFactory, TeamFactory, TicketFactory
from tests.gridfakes import Answer, fixture

pytestmark = pytest.mark.django_db

NOW = datetime(2024, 3, 12, 10, 0, tzinfo=UTC)
JOB, TASK = 6520941449, 15934870


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def asked(monkeypatch):
    calls: list[tuple[str, list[int]]] = []
    monkeypatch.setattr("grid.views._enqueue", lambda kind, numbers: calls.append((kind, numbers)))
    return calls


@pytest.fixture
def ticket(client):
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    client.force_login(MembershipFactory(team=team).user)
    ticket = TicketFactory(team=team, subject=f"JEDI task {TASK} exhausted")
    MessageFactory(ticket=ticket, body_text=f"Failed job: PandaID={JOB}")
    return ticket


def fragment(client, ticket, tries=0):
    url = reverse("grid-status", args=[ticket.reference])
    return client.get(url, {"try": tries}).content.decode()


def serve_monitor(fake):
    fake.answer("/job", Answer(fixture("bigpanda_job.json")))
    fake.answer(f"/task/{TASK}/", Answer(fixture("bigpanda_task.json")))


def test_the_page_holds_a_placeholder_that_htmx_fills_and_asks_nobody(client, ticket, fake_grid):
    serve_monitor(fake_grid)
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    url = reverse("grid-status", args=[ticket.reference])
    assert f'hx-get="{url}" hx-trigger="load" hx-target="this"' in page
    assert fake_grid.requests == []


def test_a_fragment_without_stored_status_asks_a_worker_and_polls(client, ticket, asked):
    html = fragment(client, ticket)
    assert asked == [("task", [TASK]), ("job", [JOB])]
    assert "asking…" in html
    assert 'hx-trigger="load delay:3s"' in html
    assert "?try=1" in html


def test_polling_stops_after_its_limit(client, ticket, asked, settings):
    settings.GRID_PANEL_POLLS = 2
    assert "hx-trigger" not in fragment(client, ticket, tries=2)


def test_stored_statuses_show_status_site_error_codes_and_dialog(client, ticket, fake_grid, asked):
    serve_monitor(fake_grid)
    assert statuses_fetch(kind="job", numbers=[JOB]) == 1
    assert statuses_fetch(kind="task", numbers=[TASK]) == 1
    html = fragment(client, ticket)
    assert asked == []  # all fresh: nobody is asked
    assert "hx-trigger" not in html
    assert '<span class="status status-failed">failed</span> at ANALY_FZK' in html
    assert "pilot 1305" in html
    assert "Failed to stage-in file: srm://atlassrm-fzk.gridka.de connection refused" in html
    assert "exhausted" in html
    assert "task exhausted its retries" in html


def test_a_fresh_status_is_not_fetched_again_a_stale_one_is(fake_grid):
    serve_monitor(fake_grid)
    statuses_fetch(kind="job", numbers=[JOB])
    assert statuses_fetch(kind="job", numbers=[JOB]) == 0
    with time_machine.travel(NOW + timedelta(seconds=301), tick=False):
        assert statuses_fetch(kind="job", numbers=[JOB]) == 1
    assert fake_grid.asked("/job") == 2


def test_a_monitor_that_is_down_leaves_the_last_answer_and_says_why(
    client, ticket, fake_grid, asked
):
    serve_monitor(fake_grid)
    statuses_fetch(kind="job", numbers=[JOB])
    fake_grid.answer("/job", Answer(b"Service Unavailable", 503, "text/html"))
    fake_grid.answer(f"/task/{TASK}/", Answer(b"Service Unavailable", 503, "text/html"))
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        statuses_fetch(kind="job", numbers=[JOB])
        statuses_fetch(kind="task", numbers=[TASK])
        html = fragment(client, ticket)
    job = GridStatus.objects.get(kind="job", number=JOB)
    assert job.status == "failed"  # what it said last is kept
    assert "HTTP 503" in job.error
    assert "BigPanDA is not answering" in html  # two failed calls opened the breaker
    assert "no answer yet: HTTP 503" in html  # the task never had an answer
    assert "failed</span> at ANALY_FZK" in html


def test_a_job_the_monitor_does_not_know_is_said_so(client, ticket, fake_grid, asked):
    statuses_fetch(kind="job", numbers=[JOB])  # nothing served: 404
    assert "not known to the monitor" in fragment(client, ticket)


def test_another_teams_ticket_is_a_404(client, ticket):
    other = TicketFactory(team=TeamFactory(slug="bio", ticket_prefix="BIO"), subject="task 1234567")
    assert client.get(reverse("grid-status", args=[other.reference])).status_code == 404
