"""The GGUS bridge (grid/ggus.py) against a fake GGUS (Zammad) on 127.0.0.1: an escalation
to a site opens a GGUS ticket through an outbox row that is retried with backoff and never
creates a second ticket; the ticket's state and articles come back as notes, once; solved
in GGUS answers the escalation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from escalation.models import EscalationState, ExpertGroup, GroupKind
from escalation.services import EscalationError, escalation_cancel, escalation_create
from grid import ggus
from grid.ggus import ggus_close, ggus_open, ggus_poll, ggus_sweep
from grid.models import GgusArticle, GgusState, GgusTicket
from grid.zammad import parse_ticket
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.gridfakes import Answer, fixture
from tickets.models import ExternalRef, MessageKind, Status, Ticket
from tickets.models.events import EventKind, TicketEvent
from tickets.services import Sender, ticket_open, ticket_set_status

pytestmark = pytest.mark.django_db

NOW = datetime(2024, 3, 12, 10, 0, tzinfo=UTC)
CREATE, SEARCH = "/api/v1/tickets", "/api/v1/tickets/search"
TICKET, ARTICLES = "/api/v1/tickets/4711", "/api/v1/ticket_articles/by_ticket/4711"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def desk(settings):
    settings.GGUS_RETRY_BASE_S = 60
    settings.GGUS_OPEN_MAX_ATTEMPTS = 3
    team = TeamFactory(slug="dast", ticket_prefix="DAST", name="ATLAS DAST")
    anna = MembershipFactory(team=team, user=UserFactory(username="anna")).user
    bnl = ExpertGroup.objects.create(
        team=team, kind=GroupKind.SITE, name="BNL-ATLAS", email="bnl-support@bnl.example.gov"
    )
    ticket = ticket_open(
        team=team,
        sender=Sender("jdoe@cern.ch", "Jane Doe"),
        subject="Transfers to BNL-ATLAS fail",
        body_text="Transfers of user.jdoe:user.jdoe.15934870.out to BNL-OSG2_SCRATCHDISK fail.",
        announce=False,
    )
    Ticket.objects.filter(pk=ticket.pk).update(assignee=anna, status=Status.OPEN)
    ticket.refresh_from_db()
    return type("Desk", (), {"team": team, "anna": anna, "bnl": bnl, "ticket": ticket})


def escalate(desk):
    return escalation_create(
        ticket=desk.ticket,
        by=desk.anna,
        note="Please check the transfers.",
        group=desk.bnl,
        also=["ggus"],
    )


def body(name: str, row: GgusTicket) -> bytes:
    """A fixture with the desk's reference in it, as GGUS would echo it."""
    return fixture(name).replace(b"dastdesk-REFERENCE", row.reference.encode())


def serve_create(fake, row: GgusTicket) -> None:
    fake.answer(CREATE, Answer(body("ggus_ticket_created.json", row), 201))
    fake.answer(SEARCH, Answer(b"[]"))


def notes(ticket: Ticket) -> list[str]:
    return list(
        ticket.messages.filter(kind=MessageKind.NOTE)
        .order_by("pk")
        .values_list("body_text", flat=True)
    )


def test_the_escalation_writes_the_outbox_row_and_the_worker_opens_the_ticket(desk, fake_grid):
    esc = escalate(desk)
    row = GgusTicket.objects.get(escalation=esc)
    assert row.state == GgusState.TO_OPEN
    assert row.next_attempt_at == NOW
    serve_create(fake_grid, row)
    ggus_open(pk=row.pk)
    row.refresh_from_db()
    assert (row.state, row.ggus_id, row.number, row.ggus_state) == (
        GgusState.OPEN,
        4711,
        "1000042",
        "new",
    )
    method, _, headers, sent = fake_grid.calls[-1]
    assert method == "POST"
    assert headers["Authorization"] == "Token token=ggus-test-token"
    payload = json.loads(sent)
    assert payload["group"] == "TPM"
    assert payload["site"] == "BNL-ATLAS"
    assert payload["vo_support"] == "atlas"
    assert row.reference in payload["title"]
    assert "Please check the transfers." in payload["article"]["body"]
    assert "DAST-" in payload["article"]["body"]  # the ticket's context
    assert fake_grid.asked(SEARCH) == 0  # a first try has nothing to look for
    assert ExternalRef.objects.get(ticket=desk.ticket, system="ggus").key == "1000042"
    assert any("GGUS ticket #1000042 opened" in n for n in notes(desk.ticket))
    assert TicketEvent.objects.filter(ticket=desk.ticket, kind=EventKind.NOTE_ADDED).exists()


def test_ggus_is_offered_only_for_sites_and_only_when_configured(desk, settings):
    expert = ExpertGroup.objects.create(
        team=desk.team, kind=GroupKind.EXPERT, name="PanDA", email="panda@cern.ch"
    )
    with pytest.raises(EscalationError, match="GGUS"):
        escalation_create(ticket=desk.ticket, by=desk.anna, note="x", group=expert, also=["ggus"])
    settings.GRID_SERVICES = {"ggus": {"url": "http://127.0.0.1:9", "token": ""}}
    with pytest.raises(EscalationError, match="GGUS"):
        escalate(desk)
    assert not GgusTicket.objects.exists()


@pytest.mark.parametrize(
    "answer",
    [
        Answer(b'{"error": "Not authorized"}', 401),
        Answer(b'{"error": "slow down"}', 429, headers={"Retry-After": "1"}),
        Answer(b"<html>Internal Server Error</html>", 500, "text/html"),
        Answer(b'{"id": 4711, "number": "10000', 201),  # truncated
        Answer(fixture("ggus_ticket_created.json"), 201, delay_s=1.0),  # slower than the timeout
    ],
    ids=["401", "429", "500", "truncated", "slow"],
)
def test_a_failed_create_is_asked_once_and_retried_later_with_backoff(desk, fake_grid, answer):
    row = GgusTicket.objects.get(escalation=escalate(desk))
    fake_grid.answer(CREATE, answer)
    ggus_open(pk=row.pk)
    row.refresh_from_db()
    assert fake_grid.asked(CREATE, "POST") == 1  # a create is never repeated blindly
    assert row.state == GgusState.TO_OPEN
    assert row.attempts == 1
    assert row.last_error
    assert row.next_attempt_at == NOW + timedelta(seconds=60)
    assert ggus_open(pk=row.pk) is None  # not due yet: nothing asked
    assert fake_grid.asked(CREATE, "POST") == 1


def test_a_crash_after_ggus_created_the_ticket_does_not_create_a_second(
    desk, fake_grid, frozen, monkeypatch
):
    row = GgusTicket.objects.get(escalation=escalate(desk))
    serve_create(fake_grid, row)

    def crash(**kwargs):
        raise SystemExit("worker killed after GGUS answered, before the number was stored")

    monkeypatch.setattr(ggus, "ggus_opened", crash)
    with pytest.raises(SystemExit):
        ggus_open(pk=row.pk)
    monkeypatch.undo()
    row.refresh_from_db()
    assert (row.state, row.attempts, row.number) == (GgusState.TO_OPEN, 1, "")
    assert fake_grid.asked(CREATE, "POST") == 1
    # GGUS has the ticket now: its search finds it by the desk's reference.
    fake_grid.answer(SEARCH, Answer(b"[" + body("ggus_ticket_created.json", row) + b"]"))
    frozen.shift(timedelta(seconds=61))
    ggus_sweep()
    row.refresh_from_db()
    assert (row.state, row.number) == (GgusState.OPEN, "1000042")
    assert fake_grid.asked(SEARCH) == 1
    query = next(q for p, q in fake_grid.requests if p == SEARCH)
    assert row.reference in query
    assert fake_grid.asked(CREATE, "POST") == 1  # no second ticket
    assert ExternalRef.objects.filter(ticket=desk.ticket, system="ggus").count() == 1


def test_a_retry_whose_search_finds_nothing_creates_the_ticket(desk, fake_grid, frozen):
    row = GgusTicket.objects.get(escalation=escalate(desk))
    fake_grid.answer(CREATE, Answer(b"oops", 503), Answer(body("ggus_ticket_created.json", row)))
    # A fuzzy hit with another reference is not ours.
    other = fixture("ggus_ticket_created.json").replace(b"dastdesk-REFERENCE", b"dastdesk-other")
    fake_grid.answer(SEARCH, Answer(b"[" + other + b"]"))
    ggus_open(pk=row.pk)
    frozen.shift(timedelta(seconds=61))
    ggus_open(pk=row.pk)
    row.refresh_from_db()
    assert row.state == GgusState.OPEN
    assert fake_grid.asked(SEARCH) == 1
    assert fake_grid.asked(CREATE, "POST") == 2


def test_after_the_last_try_the_row_fails_and_the_ticket_says_so(desk, fake_grid, frozen):
    row = GgusTicket.objects.get(escalation=escalate(desk))
    fake_grid.answer(CREATE, Answer(b'{"error": "Not authorized"}', 401))
    fake_grid.answer(SEARCH, Answer(b'{"error": "Not authorized"}', 401))
    for _ in range(3):  # GGUS_OPEN_MAX_ATTEMPTS in the fixture
        ggus_open(pk=row.pk)
        frozen.shift(timedelta(hours=1))
        fake_grid.answer(SEARCH, Answer(b"[]"))
    row.refresh_from_db()
    assert row.state == GgusState.FAILED
    assert "HTTP 401" in row.last_error
    assert any("could not be opened after 3 tries" in n for n in notes(desk.ticket))
    assert ggus_open(pk=row.pk) is None


def opened(desk, fake_grid) -> GgusTicket:
    row = GgusTicket.objects.get(escalation=escalate(desk))
    serve_create(fake_grid, row)
    ggus_open(pk=row.pk)
    row.refresh_from_db()
    return row


def test_new_articles_come_back_as_notes_once(desk, fake_grid, frozen):
    row = opened(desk, fake_grid)
    fake_grid.answer(TICKET, Answer(body("ggus_ticket_assigned.json", row)))
    fake_grid.answer(ARTICLES, Answer(body("ggus_articles.json", row)))
    before = len(notes(desk.ticket))
    assert ggus_poll(pk=row.pk) is None  # not due: polled every GGUS_POLL_INTERVAL_S
    frozen.shift(timedelta(minutes=15))
    ggus_poll(pk=row.pk)
    added = notes(desk.ticket)[before:]
    assert len(added) == 2  # the site's answer and the new state; not ours, not internal
    assert "John Hover (BNL) wrote" in added[0]
    assert "dcdoor12.usatlas.bnl.gov was restarted; transfers & deletions" in added[0]
    assert "<script>" not in added[0]
    assert "internal remark" not in "".join(added)
    assert added[1] == "GGUS #1000042 is now “assigned”."
    assert GgusArticle.objects.filter(ggus_ticket=row).count() == 3
    frozen.shift(timedelta(minutes=15))
    ggus_poll(pk=row.pk)  # the same answer again: nothing new
    assert len(notes(desk.ticket)) == before + 2
    row.refresh_from_db()
    assert row.ggus_state == "assigned"
    assert row.escalation.state == EscalationState.WAITING


def test_a_failed_poll_is_recorded_and_changes_nothing(desk, fake_grid, frozen):
    row = opened(desk, fake_grid)
    fake_grid.answer(TICKET, Answer(b'{"id": 4711, "numb', 200))
    before = len(notes(desk.ticket))
    frozen.shift(timedelta(minutes=15))
    ggus_poll(pk=row.pk)
    row.refresh_from_db()
    assert "malformed" in row.last_error
    assert row.state == GgusState.OPEN
    assert len(notes(desk.ticket)) == before
    assert row.next_attempt_at == NOW + timedelta(minutes=30)


def test_solved_in_ggus_answers_the_escalation(desk, fake_grid, frozen):
    row = opened(desk, fake_grid)
    fake_grid.answer(TICKET, Answer(body("ggus_ticket_solved.json", row)))
    fake_grid.answer(ARTICLES, Answer(body("ggus_articles_more.json", row)))
    frozen.shift(timedelta(minutes=15))
    assert ggus_sweep() == {"opened": 0, "polled": 1, "closed": 0}
    row.refresh_from_db()
    assert row.state == GgusState.SOLVED
    esc = row.escalation
    esc.refresh_from_db()
    assert esc.state == EscalationState.ANSWERED
    assert esc.answered_at == NOW + timedelta(minutes=15)
    assert "is now “solved”" in esc.answer.body_text
    desk.ticket.refresh_from_db()
    assert desk.ticket.status == Status.OPEN  # the shifter's again
    assert (
        TicketEvent.objects.filter(ticket=desk.ticket, kind=EventKind.ESCALATION_ANSWERED).count()
        == 1
    )
    assert any("No more failures for two hours" in n for n in notes(desk.ticket))
    frozen.shift(timedelta(minutes=15))
    assert ggus_sweep() == {"opened": 0, "polled": 0, "closed": 0}  # solved: no longer polled


# --- cancelled: the GGUS ticket is closed ----------------------------------------------------


def closed_answer(row: GgusTicket) -> Answer:
    return Answer(body("ggus_ticket_solved.json", row).replace(b'"solved"', b'"closed"'))


def puts(fake) -> list[dict]:
    return [json.loads(b) for m, p, _, b in fake.calls if m == "PUT" and p == TICKET]


def test_cancelling_the_escalation_closes_its_ggus_ticket_with_an_article_saying_why(
    desk, fake_grid, frozen, monkeypatch, django_capture_on_commit_callbacks
):
    row = opened(desk, fake_grid)
    asked: list[int] = []
    monkeypatch.setattr("grid.tasks.ggus_close_task.delay", asked.append)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        escalation_cancel(escalation=row.escalation, by=desk.anna)
        row.refresh_from_db()
        assert (row.state, row.attempts, row.next_attempt_at) == (GgusState.TO_CLOSE, 0, NOW)
        assert asked == []  # not before commit
    assert callbacks
    assert asked == [row.pk]
    assert "cancelled the escalation" in row.close_reason
    fake_grid.answer(TICKET, closed_answer(row))
    assert ggus_sweep() == {"opened": 0, "polled": 0, "closed": 1}
    row.refresh_from_db()
    assert (row.state, row.ggus_state, row.closed_at) == (GgusState.CLOSED, "closed", NOW)
    (sent,) = puts(fake_grid)
    assert sent["state"] == "closed"
    article = sent["article"]
    assert article["internal"] is False
    assert "DAST-1" in article["body"]
    assert "cancelled the escalation" in article["body"]
    assert row.reference in article["body"]  # so the mirror never takes it for the site's
    assert any(
        n.startswith("GGUS #1000042 closed (") and "cancelled the escalation" in n
        for n in notes(desk.ticket)
    )
    frozen.shift(timedelta(hours=2))
    assert ggus_sweep() == {"opened": 0, "polled": 0, "closed": 0}  # closed: left alone
    assert len(puts(fake_grid)) == 1


def test_a_close_whose_answer_was_lost_is_retried_later_without_a_second_article(
    desk, fake_grid, frozen
):
    row = opened(desk, fake_grid)
    escalation_cancel(escalation=row.escalation, by=desk.anna)
    # GGUS takes the close but answers slower than the timeout.
    fake_grid.answer(TICKET, Answer(closed_answer(row).body, delay_s=1.0), closed_answer(row))
    ggus_close(pk=row.pk)
    row.refresh_from_db()
    assert (row.state, row.attempts) == (GgusState.TO_CLOSE, 1)
    assert row.last_error
    assert row.next_attempt_at == NOW + timedelta(seconds=60)
    assert ggus_close(pk=row.pk) is None  # not due yet: nothing asked
    assert len(puts(fake_grid)) == 1
    written = {
        "id": 90300,
        "sender": "Customer",
        "from": "ATLAS DAST Desk",
        "content_type": "text/plain",
        "body": puts(fake_grid)[0]["article"]["body"],
        "internal": False,
        "created_at": "2024-03-12T10:00:02.000Z",
    }
    fake_grid.answer(ARTICLES, Answer(json.dumps([written]).encode()))
    frozen.shift(timedelta(seconds=61))
    ggus_sweep()
    row.refresh_from_db()
    assert row.state == GgusState.CLOSED
    first, second = puts(fake_grid)
    assert "article" in first
    assert second == {"state": "closed"}  # the article is there already: not written twice
    assert fake_grid.asked(ARTICLES) == 1


def test_a_close_that_keeps_failing_ends_and_tells_the_shifter_to_close_it_by_hand(
    desk, fake_grid, frozen
):
    row = opened(desk, fake_grid)
    escalation_cancel(escalation=row.escalation, by=desk.anna)
    fake_grid.answer(TICKET, Answer(b'{"error": "Not authorized"}', 403))
    fake_grid.answer(ARTICLES, Answer(b"[]"))
    for _ in range(3):  # GGUS_OPEN_MAX_ATTEMPTS in the fixture
        ggus_close(pk=row.pk)
        frozen.shift(timedelta(hours=1))
    row.refresh_from_db()
    assert row.state == GgusState.ENDED
    assert len(puts(fake_grid)) == 3
    assert any(
        "GGUS #1000042 could not be closed after 3 tries" in n and "close it by hand" in n
        for n in notes(desk.ticket)
    )


def test_an_escalation_cancelled_before_any_try_opens_no_ggus_ticket(desk, fake_grid, frozen):
    esc = escalate(desk)
    escalation_cancel(escalation=esc, by=desk.anna)
    row = GgusTicket.objects.get(escalation=esc)
    assert row.state == GgusState.ENDED
    assert ggus_open(pk=row.pk) is None
    frozen.shift(timedelta(hours=1))
    assert ggus_sweep() == {"opened": 0, "polled": 0, "closed": 0}
    assert fake_grid.calls == []
    assert "The GGUS ticket was not opened: the escalation was cancelled." in notes(desk.ticket)


@pytest.mark.parametrize("created", [True, False], ids=["created", "not-created"])
def test_cancelled_while_an_open_was_under_way_the_close_waits_then_finds_what_it_made(
    desk, fake_grid, frozen, created
):
    row = GgusTicket.objects.get(escalation=escalate(desk))
    # A worker claimed the open and is calling GGUS (or died doing so) when the shifter
    # cancels.
    assert ggus._claim(row.pk, GgusState.TO_OPEN, NOW, None)
    escalation_cancel(escalation=row.escalation, by=desk.anna)
    row.refresh_from_db()
    assert row.state == GgusState.TO_CLOSE
    assert row.next_attempt_at == NOW + timedelta(seconds=60)  # the open's window
    assert ggus_sweep() == {"opened": 0, "polled": 0, "closed": 0}
    found = b"[" + body("ggus_ticket_created.json", row) + b"]" if created else b"[]"
    fake_grid.answer(SEARCH, Answer(found))
    fake_grid.answer(TICKET, closed_answer(row))
    frozen.shift(timedelta(seconds=61))
    ggus_sweep()
    row.refresh_from_db()
    assert fake_grid.asked(SEARCH) == 1
    assert fake_grid.asked(CREATE, "POST") == 0  # never created by the close
    if created:
        assert (row.state, row.number) == (GgusState.CLOSED, "1000042")
        assert len(puts(fake_grid)) == 1
        assert ExternalRef.objects.get(ticket=desk.ticket, system="ggus").key == "1000042"
    else:
        assert row.state == GgusState.ENDED
        assert puts(fake_grid) == []
        assert any("none to close" in n for n in notes(desk.ticket))


def test_the_open_under_way_finishing_after_the_cancel_leaves_it_to_be_closed(desk, fake_grid):
    row = GgusTicket.objects.get(escalation=escalate(desk))
    assert ggus._claim(row.pk, GgusState.TO_OPEN, NOW, None)
    escalation_cancel(escalation=row.escalation, by=desk.anna)
    ggus.ggus_opened(row=row, found=parse_ticket(body("ggus_ticket_created.json", row)), now=NOW)
    row.refresh_from_db()
    assert (row.state, row.ggus_id, row.number) == (GgusState.TO_CLOSE, 4711, "1000042")


def test_resolving_the_ticket_closes_the_ggus_ticket_too(
    desk, fake_grid, monkeypatch, django_capture_on_commit_callbacks
):
    row = opened(desk, fake_grid)
    asked: list[int] = []
    monkeypatch.setattr("grid.tasks.ggus_close_task.delay", asked.append)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_set_status(ticket=desk.ticket, status=Status.RESOLVED, by=desk.anna)
    assert asked == [row.pk]  # a worker is asked after commit
    row.refresh_from_db()
    assert row.state == GgusState.TO_CLOSE
    assert row.close_reason == "the ATLAS DAST shifters have resolved DAST-1"
    fake_grid.answer(TICKET, closed_answer(row))
    ggus_close(pk=row.pk)
    (sent,) = puts(fake_grid)
    assert (
        "It is no longer needed: the ATLAS DAST shifters have resolved DAST-1."
        in (sent["article"]["body"])
    )


def test_a_cancelled_escalation_whose_ggus_ticket_is_solved_is_left_alone(desk, fake_grid, frozen):
    row = opened(desk, fake_grid)
    GgusTicket.objects.filter(pk=row.pk).update(state=GgusState.SOLVED)
    escalation_cancel(escalation=row.escalation, by=desk.anna)
    row.refresh_from_db()
    assert row.state == GgusState.SOLVED
    assert ggus_sweep() == {"opened": 0, "polled": 0, "closed": 0}


def test_the_escalation_panel_shows_the_ggus_number_and_the_form_offers_it(client, desk, fake_grid):
    client.force_login(desk.anna)
    page = client.get(reverse("ticket-detail", args=[desk.ticket.reference])).content.decode()
    assert 'name="also" value="ggus"' in page
    row = opened(desk, fake_grid)
    page = client.get(reverse("ticket-detail", args=[desk.ticket.reference])).content.decode()
    assert "GGUS #1000042 (new)" in page
    assert f"{fake_grid.url}/#ticket/zoom/4711" not in page  # the configured public URL...
    assert "https://helpdesk.ggus.eu/#ticket/zoom/4711" in page  # ...is GGUS_TICKET_URL
    assert row.reference


def test_escalating_from_the_page_with_ggus_ticked_writes_the_row(client, desk, fake_grid):
    client.force_login(desk.anna)
    url = reverse("ticket-escalate", args=[desk.ticket.reference])
    client.post(url, {"group": desk.bnl.pk, "note": "Please check", "also": "ggus"})
    row = GgusTicket.objects.get(escalation__ticket=desk.ticket)
    assert row.site == "BNL-ATLAS"
