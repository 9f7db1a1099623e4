"""One way to name a person (people.names.display_name and its template filter): the full
name, else the login (on a public page, "Unnamed shifter"), else the mail address."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.template import Context, Template

from people.names import display_name
from tests.factories import RequesterFactory

pytestmark = pytest.mark.django_db


def test_a_person_is_their_full_name_else_their_login():
    anna = User(username="anna", first_name="Anna", last_name="Keller", email="anna@cern.ch")
    assert display_name(anna) == "Anna Keller"
    assert display_name(User(username="pw42", email="pw@cern.ch")) == "pw42"


def test_a_public_page_does_not_show_a_login():
    assert display_name(User(username="pw42"), public=True) == "Unnamed shifter"
    assert display_name(User(username="x", first_name="Paul"), public=True) == "Paul"


def test_a_requester_is_their_name_else_their_address():
    assert display_name(RequesterFactory(name="Jane Doe", email="jdoe@cern.ch")) == "Jane Doe"
    assert display_name(RequesterFactory(name="", email="jd@cern.ch")) == "jd@cern.ch"


def test_the_template_filter_names_nobody_as_nothing():
    page = Template(
        "{% load people %}[{{ who|display_name }}][{{ shifter|display_name:'public' }}]"
        "[{{ nobody|display_name }}][{{ visitor|display_name }}]"
    )
    context = Context(
        {
            "who": RequesterFactory(name="", email="jdoe@cern.ch"),
            "shifter": User(username="pw42"),
            "nobody": None,
            "visitor": AnonymousUser(),
        }
    )
    assert page.render(context) == "[jdoe@cern.ch][Unnamed shifter][][]"
