import pytest
from django.db import IntegrityError, transaction

from tests.factories import MessageFactory, RequesterFactory, TeamFactory, TicketFactory
from tickets.models import Requester
from tickets.services import Sender, ticket_open

pytestmark = pytest.mark.django_db


def _open(team, subject="Task 15934872 exhausted"):
    return ticket_open(
        team=team,
        sender=Sender("Anna.Kowalska@cern.ch", "Anna Kowalska"),
        subject=subject,
        body_text="All jobs of my task fail with lost heartbeat.",
    )


def test_ticket_numbers_count_up_per_team_and_carry_its_prefix():
    dast = TeamFactory(slug="dast", ticket_prefix="DAST")
    biomed = TeamFactory(slug="biomed", ticket_prefix="BIOMED")
    first, second = _open(dast), _open(dast)
    other = _open(biomed)
    assert [first.reference, second.reference, other.reference] == [
        "DAST-1",
        "DAST-2",
        "BIOMED-1",
    ]


def test_opening_a_ticket_stores_its_first_message_and_the_requester_once():
    team = TeamFactory()
    ticket = _open(team)
    again = ticket_open(
        team=team, sender=Sender("anna.kowalska@CERN.ch"), subject="Another", body_text="..."
    )
    assert ticket.messages.count() == 1
    assert ticket.requester_id == again.requester_id
    assert Requester.objects.get().name == "Anna Kowalska"


def test_the_database_refuses_a_second_ticket_with_the_same_number():
    team = TeamFactory()
    TicketFactory(team=team, number=7)
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketFactory(team=team, number=7)


def test_a_message_id_is_unique_within_a_team_but_not_across_teams():
    first = MessageFactory(message_id="<abc@cern.ch>")
    MessageFactory(message_id="<abc@cern.ch>")  # another team: allowed
    with pytest.raises(IntegrityError), transaction.atomic():
        MessageFactory(ticket=TicketFactory(team=first.team), message_id="<abc@cern.ch>")


def test_messages_without_a_message_id_do_not_collide():
    ticket = TicketFactory()
    MessageFactory(ticket=ticket, message_id="")
    MessageFactory(ticket=ticket, message_id="")
    assert ticket.messages.count() == 2


def test_requester_addresses_are_unique_whatever_their_case():
    RequesterFactory(email="jdoe@cern.ch")
    with pytest.raises(IntegrityError), transaction.atomic():
        RequesterFactory(email="JDoe@CERN.ch")


def test_a_ticket_prefix_must_be_capitals():
    with pytest.raises(IntegrityError), transaction.atomic():
        TeamFactory(slug="bad", ticket_prefix="dast")
