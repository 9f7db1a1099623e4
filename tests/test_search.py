"""Full-text search over subjects and every message body: ranked on PostgreSQL, exact on
ids, within the caller's teams; the substring fallback that SQLite uses."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from tests.factories import MembershipFactory, MessageFactory, TeamFactory
from tickets.models import Message, Ticket
from tickets.search import _substrings, search_words, ticket_search
from tickets.services import Sender, ticket_open

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    user = MembershipFactory(team=team).user

    def opened(subject, body):
        return ticket_open(
            team=team, sender=Sender("u@cern.ch"), subject=subject, body_text=body, announce=False
        )

    t = {
        "heartbeat": opened("Jobs die", "Pilots report lost heartbeat at ANALY_BNL_SHORT."),
        "subject": opened("Lost heartbeat again", "Same as last week."),
        "url": opened("Failed job", "See https://bigpanda.cern.ch/job?pandaid=6520941449 please"),
        "did": opened("Empty output", "user.jdoe:user.jdoe.15934870.out has no files"),
        "rucio": opened("Rucio rule stuck", "REPLICATING since Monday at BNL."),
    }
    other = TeamFactory(slug="biomed", ticket_prefix="BIO")
    ticket_open(team=other, sender=Sender("b@x.org"), subject="lost heartbeat", body_text="x")
    return type("Desk", (), {"team": team, "user": user, "t": t})


def refs(tickets) -> list[str]:
    return [t.reference for t in tickets]


def needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("ranked search is PostgreSQL's (make test runs on it)")


def test_the_index_is_kept_by_the_database_for_every_new_message(desk):
    needs_postgres()
    message = Message.objects.get(ticket=desk.t["rucio"])
    hit = Message.objects.filter(pk=message.pk, search_vector="replicating").exists()
    assert hit


def test_words_match_bodies_and_subjects_with_subject_hits_first(desk):
    needs_postgres()
    found = refs(ticket_search(desk.user, "lost heartbeat"))
    assert found[:2] == [desk.t["subject"].reference, desk.t["heartbeat"].reference]
    assert all(r.startswith("DAST-") for r in found)  # never another team's


def test_stemming_finds_other_forms_of_a_word(desk):
    needs_postgres()
    assert desk.t["rucio"].reference in refs(ticket_search(desk.user, "replicate"))


def test_ids_match_exactly_also_inside_urls_and_dataset_names(desk):
    needs_postgres()
    assert refs(ticket_search(desk.user, "6520941449")) == [desk.t["url"].reference]
    assert refs(ticket_search(desk.user, "652094144")) == []  # a prefix is another number
    did = "user.jdoe:user.jdoe.15934870.out"
    assert refs(ticket_search(desk.user, did)) == [desk.t["did"].reference]


def test_a_reference_goes_straight_to_its_ticket(desk):
    ticket = desk.t["rucio"]
    assert refs(ticket_search(desk.user, f"[{ticket.reference.lower()}]")) == [ticket.reference]


def test_websearch_syntax_excludes_words(desk):
    needs_postgres()
    found = refs(ticket_search(desk.user, "heartbeat -bnl"))
    assert desk.t["subject"].reference in found
    assert desk.t["heartbeat"].reference not in found


def test_the_substring_fallback_needs_every_word(desk):
    tickets = Ticket.objects.filter(team=desk.team)
    found = refs(_substrings(tickets, search_words("heartbeat bnl_short")))
    assert found == [desk.t["heartbeat"].reference]


def test_empty_or_punctuation_only_queries_find_nothing(desk):
    assert not ticket_search(desk.user, "  ").exists()
    assert not ticket_search(desk.user, "://?").exists()


def test_the_queue_searches_and_keeps_filters(client, desk):
    needs_postgres()
    MessageFactory(ticket=desk.t["rucio"], body_text="Still replicating.")
    client.force_login(desk.user)
    page = client.get(reverse("ticket-list"), {"q": "replicating"}).content.decode()
    assert "Rucio rule stuck" in page
    assert "Jobs die" not in page
    page = client.get(reverse("ticket-list"), {"q": "nothingmatchesthis"}).content.decode()
    assert "No ticket matches “nothingmatchesthis” here." in page
