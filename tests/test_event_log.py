"""The ticket event log: written with the change it records, consumed by a claiming sweep
that loses no reaction and doubles none, retries a failing consumer without holding up the
others, keeps a ticket's events in order, and shows its lag in /healthz."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from escalation.models import Timer, TimerKind
from people.models import Role
from shifts.models import Booking, ShiftRole
from tests import events
from tests.factories import MailboxFactory, shift_team
from tests.mailfactory import make_mail
from tickets import events as event_log
from tickets.mail.intake import intake_process, raw_store
from tickets.models import (
    ActorKind,
    DeliveryState,
    EventDelivery,
    EventKind,
    OutboundMail,
    Ticket,
    TicketEvent,
)
from tickets.models.mail import OutboundKind, RawSource
from tickets.services import Sender, ticket_open

GENEVA = ZoneInfo("Europe/Zurich")
WEDNESDAY = date(2026, 11, 18)
TEN = datetime.combine(WEDNESDAY, time(10), tzinfo=GENEVA)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen_at(TEN)]


@pytest.fixture(autouse=True)
def escalation_consumers_only(monkeypatch):
    """These tests follow dispatch's routing and the escalation app's consumers; other
    apps' consumers (grid, reports) have tests of their own."""
    mine = {"routing", "expert-replies", "first-answer", "status-timers"}
    kept = {name: c for name, c in event_log.CONSUMERS.items() if name in mine}
    monkeypatch.setattr(event_log, "CONSUMERS", kept)


@pytest.fixture
def team():
    team = shift_team({"anna": Role.SHIFTER, "elena": Role.COORDINATOR})
    Booking.objects.create(
        zone=team.eu, day=WEDNESDAY, person=team.people["anna"], role=ShiftRole.FIRST_LEVEL
    )
    MailboxFactory(team=team)
    return team


def _open(team, subject: str = "Jobs fail at BNL") -> Ticket:
    return ticket_open(
        team=team, sender=Sender("jane@cern.ch", "Jane Doe"), subject=subject, body_text="..."
    )


def _routed(ticket: Ticket) -> bool:
    ticket.refresh_from_db()
    return ticket.assignee_id is not None


def _acks(ticket: Ticket) -> int:
    return OutboundMail.objects.filter(ticket=ticket, kind=OutboundKind.ACKNOWLEDGEMENT).count()


# -- written with the change ---------------------------------------------------------------


def test_opening_a_ticket_records_it_with_its_requester_and_a_delivery_for_routing(team):
    ticket = _open(team)
    event = TicketEvent.objects.get(ticket=ticket)
    assert (event.kind, event.actor_kind, event.actor_label) == (
        EventKind.OPENED,
        ActorKind.REQUESTER,
        "jane@cern.ch",
    )
    assert event.at == TEN
    assert event.team_id == team.pk
    assert events.pending(ticket) == [("opened", "routing")]


def test_a_change_rolled_back_leaves_no_event_and_nothing_to_consume(team):
    def open_then_fail() -> None:
        with transaction.atomic():
            _open(team)
            raise RuntimeError("the request failed after opening the ticket")

    with pytest.raises(RuntimeError):
        open_then_fail()
    assert not TicketEvent.objects.exists()
    assert not EventDelivery.objects.exists()


def test_intake_records_a_batch_of_mail_in_two_inserts_whatever_its_size(
    team, django_assert_max_num_queries
):
    raws = [
        raw_store(team=team, raw=make_mail(subject=f"Problem {n}"), source=RawSource.IMAP)
        for n in range(20)
    ]
    intake_process(team, raws)
    assert TicketEvent.objects.filter(kind=EventKind.OPENED).count() == 20
    assert EventDelivery.objects.filter(consumer="routing").count() == 20
    raws = [
        raw_store(team=team, raw=make_mail(subject=f"Other {n}"), source=RawSource.IMAP)
        for n in range(2)
    ]
    # Filing two mails costs a bounded number of queries; the events add two of them.
    with django_assert_max_num_queries(40) as two:
        intake_process(team, raws)
    raws = [
        raw_store(team=team, raw=make_mail(subject=f"More {n}"), source=RawSource.IMAP)
        for n in range(10)
    ]
    with django_assert_max_num_queries(len(two)) as ten:  # no more for five times the mail
        intake_process(team, raws)
    inserts = [q["sql"] for q in ten.captured_queries if q["sql"].startswith("INSERT")]
    assert sum('"tickets_ticketevent"' in sql for sql in inserts) == 1
    assert sum('"tickets_eventdelivery"' in sql for sql in inserts) == 1


# -- consumed by the sweep -----------------------------------------------------------------


def test_a_ticket_whose_nudge_was_lost_is_routed_and_acknowledged_by_the_sweep(team):
    # The process died right after commit: the nudge never reached a worker.
    ticket = _open(team)
    assert not _routed(ticket)
    assert _acks(ticket) == 0
    assert event_log.events_consume() == 1
    assert _routed(ticket)
    assert ticket.assignee == team.people["anna"]
    assert _acks(ticket) == 1
    assert Timer.objects.filter(ticket=ticket, kind=TimerKind.FIRST_RESPONSE).count() == 1
    assert events.pending(ticket) == []


def test_a_sweep_run_twice_does_nothing_the_second_time(team):
    ticket = _open(team)
    event_log.events_consume()
    assert event_log.events_consume() == 0
    assert _acks(ticket) == 1
    assert Timer.objects.filter(ticket=ticket).count() == 1


def test_a_consumer_run_twice_on_one_event_changes_nothing_the_second_time(team):
    ticket = _open(team)
    event_log.events_consume()
    ticket.refresh_from_db()
    before = (ticket.assignee_id, ticket.zone, _acks(ticket), Timer.objects.count())
    # As if the delivery had been replayed (say, a restored backup).
    EventDelivery.objects.update(state=DeliveryState.PENDING)
    event_log.events_consume()
    ticket.refresh_from_db()
    assert (ticket.assignee_id, ticket.zone, _acks(ticket), Timer.objects.count()) == before


def test_a_failing_consumer_is_retried_with_backoff_and_holds_up_no_other_ticket(team, monkeypatch):
    broken = _open(team, "breaks the consumer")
    fine = _open(team, "fine")
    routing = event_log.CONSUMERS["routing"]

    def handle(event):
        if event.ticket_id == broken.pk:
            raise ValueError("the shift calendar could not be read")
        routing.handle(event)

    monkeypatch.setitem(
        event_log.CONSUMERS, "routing", event_log.Consumer("routing", routing.kinds, handle)
    )
    event_log.events_consume()
    assert _routed(fine)
    assert not _routed(broken)
    delivery = EventDelivery.objects.get(event__ticket=broken)
    assert delivery.state == DeliveryState.PENDING
    assert delivery.attempts == 1
    assert delivery.last_error == "ValueError: the shift calendar could not be read"
    assert delivery.due_at == TEN + timedelta(seconds=10)
    # Not before its backoff; then again, with a longer wait.
    assert event_log.events_consume() == 0
    event_log.events_consume(now=TEN + timedelta(seconds=11))
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.due_at) == (2, TEN + timedelta(seconds=31))
    assert event_log.events_lag(now=TEN + timedelta(seconds=60)) == {"routing": 60.0}


def test_a_batch_that_fails_is_run_again_one_event_at_a_time_so_one_bad_event_fails_alone(
    team, monkeypatch
):
    monkeypatch.setattr(event_log, "nudge", lambda: None)  # both wait for one sweep
    broken = _open(team, "breaks the consumer")
    fine = _open(team, "fine")
    routing = event_log.CONSUMERS["routing"]
    assert routing.handle_many is not None
    batches = []

    def handle_many(events):
        batches.append([e.ticket_id for e in events])
        routing.handle_many(events)  # its effects roll back with the batch's savepoint
        if any(e.ticket_id == broken.pk for e in events):
            raise ValueError("the shift calendar could not be read")

    def handle(event):
        handle_many([event])

    monkeypatch.setitem(
        event_log.CONSUMERS,
        "routing",
        event_log.Consumer("routing", routing.kinds, handle, handle_many=handle_many),
    )
    event_log.events_consume()
    assert batches == [[broken.pk, fine.pk], [broken.pk], [fine.pk]]
    assert _routed(fine)
    assert _acks(fine) == 1
    assert not _routed(broken)
    assert _acks(broken) == 0
    delivery = EventDelivery.objects.get(event__ticket=broken)
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)


def test_a_consumer_that_keeps_failing_is_parked_for_an_admin_who_can_send_it_round_again(
    team, monkeypatch, settings
):
    settings.EVENT_MAX_ATTEMPTS = 2
    ticket = _open(team)
    routing = event_log.CONSUMERS["routing"]

    def handle(event):
        raise ValueError("still broken")

    monkeypatch.setitem(
        event_log.CONSUMERS, "routing", event_log.Consumer("routing", routing.kinds, handle)
    )
    event_log.events_consume(now=TEN)
    event_log.events_consume(now=TEN + timedelta(hours=1))
    delivery = EventDelivery.objects.get(event__ticket=ticket)
    assert delivery.state == DeliveryState.FAILED
    assert event_log.events_failed_count() == 1
    assert event_log.events_lag(now=TEN + timedelta(hours=2)) == {}

    monkeypatch.setitem(event_log.CONSUMERS, "routing", routing)
    event_log.delivery_retry(delivery=delivery)
    event_log.events_consume()
    assert _routed(ticket)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DONE


def test_a_tickets_later_events_wait_for_its_earlier_ones(team, monkeypatch):
    ticket = _open(team)
    event_log.event_record(ticket=ticket, kind=EventKind.REOPENED)
    seen: list[str] = []
    routing = event_log.CONSUMERS["routing"]

    def handle(event):
        seen.append(event.kind)
        if event.kind == EventKind.OPENED and seen.count("opened") == 1:
            raise ValueError("once")
        routing.handle(event)

    monkeypatch.setitem(
        event_log.CONSUMERS, "routing", event_log.Consumer("routing", routing.kinds, handle)
    )
    event_log.events_consume()
    # The reopening was not run while the opening waits for its retry.
    assert seen == ["opened"]
    event_log.events_consume(now=TEN + timedelta(minutes=1))
    assert seen == ["opened", "opened", "reopened"]


def test_a_consumer_waits_for_the_consumers_it_runs_after(team, monkeypatch):
    ticket = _open(team)
    event_log.event_record(
        ticket=ticket, kind=EventKind.STATUS_CHANGED, data={"old": "new", "new": "open"}
    )
    routing = event_log.CONSUMERS["routing"]
    monkeypatch.setitem(
        event_log.CONSUMERS,
        "routing",
        event_log.Consumer("routing", routing.kinds, lambda e: 1 / 0),
    )
    event_log.events_consume()
    assert events.pending(ticket) == [("opened", "routing"), ("status_changed", "status-timers")]


def test_a_consumer_of_the_same_event_waits_for_the_consumers_it_runs_after(team, monkeypatch):
    ran: list[bool] = []
    monkeypatch.setitem(
        event_log.CONSUMERS,
        "watcher",
        event_log.Consumer(
            "watcher",
            frozenset({EventKind.OPENED}),
            lambda e: ran.append(_routed(e.ticket)),
            after=("routing",),
        ),
    )
    routing = event_log.CONSUMERS["routing"]
    failing = event_log.Consumer("routing", routing.kinds, lambda e: 1 / 0)
    monkeypatch.setitem(event_log.CONSUMERS, "routing", failing)
    ticket = _open(team)
    event_log.events_consume()
    assert ran == []  # the opening is not routed yet: the watcher waits
    assert events.pending(ticket) == [("opened", "routing"), ("opened", "watcher")]
    monkeypatch.setitem(event_log.CONSUMERS, "routing", routing)
    event_log.events_consume(now=TEN + timedelta(minutes=1))
    assert ran == [True]  # it saw the ticket routed


def test_a_delivery_for_a_consumer_no_longer_registered_fails_visibly(team):
    ticket = _open(team)
    EventDelivery.objects.update(consumer="gone")
    event_log.events_consume()
    delivery = EventDelivery.objects.get(event__ticket=ticket)
    assert delivery.last_error == "LookupError: no consumer named 'gone' is registered"


# -- what the log says ---------------------------------------------------------------------


def test_a_ticket_answered_and_closed_by_a_shifter_has_its_whole_story_in_order(team, client):
    from tickets.services.desk import ticket_note, ticket_update
    from tickets.services.replies import ticket_reply

    anna = team.people["anna"]
    ticket = _open(team)
    event_log.events_consume()
    ticket.refresh_from_db()
    ticket_note(ticket=ticket, author=anna, body_text="Looks like the BNL outage.")
    ticket_reply(ticket=ticket, author=anna, body_text="BNL is back; please resubmit.")
    ticket_update(ticket=ticket, category="site", priority=3, status="closed", by=anna)
    assert events.kinds(ticket) == [
        "opened",
        "assigned",
        "note_added",
        "reply_sent",
        "status_changed",
        "category_changed",
        "priority_changed",
        "status_changed",
    ]
    by_kind = {e.kind: e for e in TicketEvent.objects.filter(ticket=ticket)}
    assert by_kind["assigned"].actor_kind == ActorKind.DESK
    assert by_kind["assigned"].data["to"] == anna.pk
    assert by_kind["category_changed"].data == {"old": "other", "new": "site"}
    assert (by_kind["reply_sent"].actor_kind, by_kind["reply_sent"].actor) == (
        ActorKind.PERSON,
        anna,
    )
    closed = TicketEvent.objects.filter(ticket=ticket, kind="status_changed").last()
    assert closed.data == {"old": "waiting_user", "new": "closed"}


# -- watched -------------------------------------------------------------------------------


def test_healthz_shows_each_consumers_lag_and_turns_503_past_the_limit(
    team, client, settings, frozen_clock
):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": "/"}
    settings.EVENT_LAG_LIMIT_S = 300
    _open(team)  # nobody consumes it: the worker is down
    frozen_clock.move_to(TEN + timedelta(seconds=120))
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["event_consumers"] == {"lag_s": {"routing": 120.0}, "failed": 0}
    frozen_clock.move_to(TEN + timedelta(seconds=301))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["events"] == "consumer routing is 301 s behind (limit 300 s)"
    event_log.events_consume()
    frozen_clock.move_to(TEN + timedelta(seconds=302))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["event_consumers"] == {"lag_s": {}, "failed": 0}


# -- the ticket's history --------------------------------------------------------------------


def test_the_history_page_tells_the_story_in_words_to_the_desk_and_nobody_else(team, client):
    from tests.factories import MembershipFactory, TeamFactory
    from tickets.services.desk import ticket_update

    anna = team.people["anna"]
    ticket = _open(team)
    event_log.events_consume()
    ticket.refresh_from_db()
    ticket_update(ticket=ticket, status="closed", category="site", by=anna)
    client.force_login(anna)
    page = client.get(f"/tickets/{ticket.reference}/history/").content.decode()
    history = page.split('<ol class="history-list">', 1)[1].split("</ol>", 1)[0]
    lines = [line.split("</time>", 1)[1].strip() for line in history.split("<li")[1:]]
    assert lines == [
        "<strong>jane@cern.ch</strong> opened it on the web</li>",
        "<strong>The desk</strong> gave it to anna (EU)</li>",
        "<strong>Anna Doe</strong> changed the category from Other to Site / service</li>",
        "<strong>Anna Doe</strong> changed the status from New to Closed</li>",
    ]
    stranger = MembershipFactory(team=TeamFactory(slug="biomed"), role=Role.SHIFTER).user
    client.force_login(stranger)
    assert client.get(f"/tickets/{ticket.reference}/history/").status_code == 404
    client.logout()
    assert client.get(f"/tickets/{ticket.reference}/history/").status_code == 302
