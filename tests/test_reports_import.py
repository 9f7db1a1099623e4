"""An imported archive yields its historical figures: import_mail records events with the
mails' own dates, nobody reacts to them (no routing, no acknowledgement), and the reports'
rollups are kept all the same."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from people.models import Role
from reports.models import TicketFigures
from shifts.models import Zone
from tests.factories import MembershipFactory, TeamFactory
from tests.mailfactory import make_mail
from tickets.events import events_consume
from tickets.models import OutboundMail, Ticket
from tickets.models.events import DeliveryState, EventDelivery, TicketEvent


@pytest.fixture
def team(db):
    from datetime import time

    team = TeamFactory(slug="dast", ticket_prefix="DAST", time_zone="Europe/Zurich")
    Zone.objects.create(team=team, code="EU", name="Europe", starts_at=time(8))
    Zone.objects.create(team=team, code="NA", name="North America", starts_at=time(16))
    return team


def test_imported_mail_is_history_with_its_own_dates_and_keeps_the_rollups(team, tmp_path):
    # Tuesday 5 June 2012: asked 09:00 CEST (07:00Z), answered on the list 11:30 CEST.
    asked = datetime(2012, 6, 5, 7, 0, tzinfo=UTC)
    question = make_mail(message_id="<q@cern.ch>", subject="Rucio rule stuck", date=asked)
    answer = make_mail(
        sender=("Shifter", "shifter@cern.ch"),
        subject="Re: Rucio rule stuck",
        message_id="<a@cern.ch>",
        in_reply_to="<q@cern.ch>",
        references="<q@cern.ch>",
        date=datetime(2012, 6, 5, 9, 30, tzinfo=UTC),
    )
    box = mailbox.mbox(tmp_path / "export.mbox")
    box.add(question)
    box.add(answer)
    box.flush()
    call_command("import_mail", str(tmp_path / "export.mbox"), "--team", "dast", stdout=StringIO())
    events_consume()  # as a worker would after the import's commits
    ticket = Ticket.objects.get()
    events = list(TicketEvent.objects.filter(ticket=ticket).order_by("id"))
    assert [(e.kind, e.at) for e in events[:2]] == [
        ("opened", asked),
        ("reply_sent", datetime(2012, 6, 5, 9, 30, tzinfo=UTC)),
    ]
    assert events[2].kind == "status_changed"
    assert events[2].data["new"] == "closed"
    # Nobody reacted: no routing, no acknowledgement; only the rollups were told.
    consumers = set(EventDelivery.objects.values_list("consumer", flat=True))
    assert consumers == {"reports"}
    assert not EventDelivery.objects.exclude(state=DeliveryState.DONE).exists()
    assert OutboundMail.objects.count() == 0
    figures = TicketFigures.objects.get(ticket=ticket)
    assert figures.opened_at == asked
    assert figures.zone == "EU"
    assert figures.first_response_s == int(2.5 * 3600)
    assert figures.resolved_at == datetime(2012, 6, 5, 9, 30, tzinfo=UTC)
    # Mail in counts the answer posted on the list too: the list's traffic, as DAST's shift
    # reports count it. The week of 4 June 2012: 5 weekdays of 16 covered hours.
    coordinator = MembershipFactory(team=team, role=Role.COORDINATOR).user
    client = Client()
    client.force_login(coordinator)
    week = {"team": "dast", "period": "week", "from": "2012-06-04"}
    with time_machine.travel(datetime(2012, 7, 1, tzinfo=UTC), tick=False):
        rows = client.get("/api/v1/reports/volume_zones/", week).json()["rows"]
    by_zone = {r["zone"]: r for r in rows}
    assert (by_zone["EU"]["mails_in"], by_zone["EU"]["tickets_opened"]) == (2, 1)
    assert (by_zone["all"]["mails_in"], by_zone["all"]["covered_hours"]) == (2, 80.0)
    assert by_zone["all"]["mails_per_covered_hour"] == round(2 / 80, 2)
