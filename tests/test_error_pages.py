"""A page that does not exist (or is not the viewer's: a ticket of another team answers the
same) is the desk's own page, with a way on, not the bare default."""

from __future__ import annotations

import pytest

from people.models import Role
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_a_missing_page_is_the_desks_own_with_a_way_on(client):
    answer = client.get("/no/such/<page>/")
    assert answer.status_code == 404
    html = answer.content.decode()
    assert "Nothing here" in html
    assert "/no/such/" in html
    assert "<page>" not in html  # the path is never markup
    assert 'href="/login/"' in html
    assert "desk.css" in html


def test_a_signed_in_shifter_is_led_back_to_the_tickets(client):
    anna = MembershipFactory(role=Role.SHIFTER).user
    client.force_login(anna)
    answer = client.get("/tickets/NOPE-1/")
    assert answer.status_code == 404
    html = answer.content.decode()
    assert "Nothing here" in html
    assert "Back to the tickets" in html
