"""Rucio DIDs in the grid panel: existence and replica count fetched by a worker from a
(fake, local) Rucio when a token is configured, shown by the status fragment, never asked
while a page renders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from grid.models import DidStatus
from grid.rucio import did_fetch, did_split, dids_fetch
from tests.factories import MembershipFactory, MessageFactory, TeamFactory, TicketFactory
from tests.gridfakes import Answer, fixture

pytestmark = pytest.mark.django_db

NOW = datetime(2024, 3, 12, 10, 0, tzinfo=UTC)
SCOPE, NAME = "user.jdoe", "user.jdoe.15934870.out"
DID = f"/dids/{SCOPE}/{NAME}"
REPLICAS = f"/replicas/{SCOPE}/{NAME}/datasets"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def serve_rucio(fake) -> None:
    fake.answer(DID, Answer(fixture("rucio_did_dataset.json")))
    fake.answer(
        REPLICAS,
        Answer(fixture("rucio_dataset_replicas.jsonl"), content_type="application/x-json-stream"),
    )


@pytest.mark.parametrize(
    ("did", "split"),
    [
        ("user.jdoe:user.jdoe.out/", ("user.jdoe", "user.jdoe.out")),
        ("user.jdoe.15934870.out/", ("user.jdoe", "user.jdoe.15934870.out")),
        (
            "mc16_13TeV.361107.PowhegPythia8.AOD.e3601",
            ("mc16_13TeV", "mc16_13TeV.361107.PowhegPythia8.AOD.e3601"),
        ),
    ],
)
def test_a_did_is_split_into_scope_and_name_as_rucio_does(did, split):
    assert did_split(did) == split


def test_a_dataset_is_found_with_its_replica_count_using_the_token(fake_grid):
    serve_rucio(fake_grid)
    row = did_fetch(scope=SCOPE, name=NAME)
    assert (row.found, row.did_type, row.replicas, row.fetched_at) == (True, "DATASET", 2, NOW)
    _, _, headers, _ = fake_grid.calls[0]
    assert headers["X-Rucio-Auth-Token"] == "rucio-test-token"
    assert "Authorization" not in headers


def test_an_unknown_did_is_stored_as_not_found(fake_grid):
    row = did_fetch(scope=SCOPE, name="user.jdoe.typo")  # the fake answers 404
    assert (row.found, row.fetched_at, row.error) == (False, NOW, "")


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Answer(b'{"ExceptionClass": "CannotAuthenticate"}', 401), "HTTP 401"),
        (Answer(b'{"scope": "user.jdoe", "na', 200), "malformed"),
        (Answer(b"busy", 500), "HTTP 500"),
        (Answer(fixture("rucio_did_dataset.json"), delay_s=1.0), "timed out"),
    ],
    ids=["401", "truncated", "500", "slow"],
)
def test_a_failed_call_keeps_the_last_answer_and_says_why(fake_grid, frozen, answer, error):
    serve_rucio(fake_grid)
    did_fetch(scope=SCOPE, name=NAME)
    fake_grid.answer(DID, answer)
    frozen.shift(timedelta(hours=1))
    row = did_fetch(scope=SCOPE, name=NAME)
    assert error in row.error
    assert (row.found, row.replicas, row.fetched_at) == (True, 2, NOW)


def test_a_fresh_answer_is_not_asked_again(fake_grid, frozen):
    serve_rucio(fake_grid)
    assert dids_fetch(dids=[f"{SCOPE}:{NAME}"]) == 1
    assert dids_fetch(dids=[f"{SCOPE}:{NAME}"]) == 0
    frozen.shift(timedelta(seconds=1801))  # RUCIO_DID_TTL_S
    assert dids_fetch(dids=[f"{SCOPE}:{NAME}"]) == 1
    assert fake_grid.asked(DID) == 2


@pytest.fixture
def ticket(client):
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    client.force_login(MembershipFactory(team=team).user)
    ticket = TicketFactory(team=team, subject="Dataset incomplete")
    MessageFactory(ticket=ticket, body_text=f"Please look at {SCOPE}:{NAME} thanks")
    return ticket


def test_the_fragment_asks_a_worker_and_shows_the_stored_answer(
    client, ticket, fake_grid, monkeypatch
):
    asked: list[tuple[str, list[str]]] = []
    monkeypatch.setattr("grid.views._enqueue", lambda kind, items: asked.append((kind, items)))
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert reverse("grid-status", args=[ticket.reference]) in page
    url = reverse("grid-status", args=[ticket.reference])
    html = client.get(url).content.decode()
    assert "asking…" in html
    assert asked == [("did", [f"{SCOPE}:{NAME}"])]
    assert fake_grid.requests == []  # no page calls Rucio
    DidStatus.objects.create(
        scope=SCOPE, name=NAME, found=True, did_type="DATASET", replicas=2, fetched_at=NOW
    )
    html = client.get(url).content.decode()
    assert "dataset</span>, 2 replicas" in html


def test_without_a_token_datasets_are_not_looked_up(client, ticket, settings, monkeypatch):
    settings.GRID_SERVICES = {"rucio": {"url": "http://127.0.0.1:9", "token": ""}}
    asked: list[object] = []
    monkeypatch.setattr("grid.views._enqueue", lambda kind, items: asked.append(kind))
    page = client.get(reverse("ticket-detail", args=[ticket.reference])).content.decode()
    assert reverse("grid-status", args=[ticket.reference]) not in page
    assert asked == []
