"""The public support request form: pre-filled by URL, validated field by field, opening a
routed and acknowledged web ticket; spam kept out by a honeypot and per-network and
per-address limits."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from people.models import Role
from shifts.models import Booking, ShiftRole
from tests.factories import MembershipFactory, TeamFactory, shift_team
from tickets.models import Attachment, Message, MessageKind, OutboundMail, Ticket
from tickets.models.mail import OutboundKind
from tickets.services.webform import client_network

pytestmark = pytest.mark.django_db
GENEVA = ZoneInfo("Europe/Zurich")
WEDNESDAY = date(2026, 11, 18)
URL = reverse("support-new")
LOG = b"2026-11-18 09:12:01 pilot: Payload failed: exit code 65\n"

# settings.RATE_LIMITS' support-ip and support-email, as the README states them.
PER_HOUR = 5


@pytest.fixture(autouse=True)
def fresh_counts():
    # The rate limits count in the cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def team():
    return TeamFactory(slug="dast", name="ATLAS DAST", ticket_prefix="DAST")


def _data(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Jane Doe",
        "email": "jane.doe@cern.ch",
        "subject": "Task 15934870: all jobs fail at BNL",
        "category": "panda",
        "description": "Since this morning every job of my task fails after a few minutes.",
        "task": "15934870",
        "job": "https://bigpanda.cern.ch/job/4567890123/",
        "dataset": "user.jdoe:user.jdoe.test1",
        "site": "ANALY_BNL",
        "release": "AnalysisBase,21.2.87",
        "command": "prun --exec 'run.sh %IN' --inDS data18_13TeV:data18_13TeV.periodB --outDS "
        "user.jdoe.test1",
        "error": "Payload failed: exit code 65",
        "homepage": "",
    }
    data.update(changes)
    return data


def _post(client: Client, team_slug: str = "dast", **changes: object):
    return client.post(f"{URL}?team={team_slug}", _data(**changes))


def _page(response) -> str:
    return response.content.decode()


def _value(page: str, name: str) -> str:
    """What an input or textarea of the page holds, unescaped."""
    found = re.search(rf'<input [^>]*name="{name}"[^>]*value="([^"]*)"', page)
    if found is None:
        found = re.search(rf'<textarea [^>]*name="{name}"[^>]*>\n?(.*?)</textarea>', page, re.S)
    assert found is not None, f"no value for {name}"
    return unescape(found.group(1))


# -- opening the form ----------------------------------------------------------------------


def test_a_monitoring_page_opens_the_form_pre_filled_by_url(client, team):
    response = client.get(
        URL,
        {
            "team": "dast",
            "task": "15934870",
            "site": "ANALY_BNL",
            "subject": "Task 15934870 is exhausted",
            "category": "panda",
            "error": "pilot:1305 Failed to stage-in file",
        },
    )
    page = _page(response)
    assert response.status_code == 200
    assert _value(page, "task") == "15934870"
    assert _value(page, "site") == "ANALY_BNL"
    assert _value(page, "subject") == "Task 15934870 is exhausted"
    assert _value(page, "error") == "pilot:1305 Failed to stage-in file"
    assert '<option value="panda" selected>' in page
    assert "Ask ATLAS DAST for help" in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_bigpanda_parameter_names_pre_fill_too_and_repeated_ids_are_joined(client, team):
    page = _page(client.get(URL, {"jeditaskid": ["15934870", "15934871"], "pandaid": "4567890123"}))
    assert _value(page, "task") == "15934870, 15934871"
    assert _value(page, "job") == "4567890123"


def test_an_error_code_pre_fills_the_error_field_escaped(client, team):
    response = client.get(
        URL,
        {
            "error_code": "1305",
            "task": "15934870",
            "subject": "Stage-in <fails>",
            "exeerrorcode": '65"><script>alert(1)</script>',
            "error": "Failed to stage-in file",
        },
    )
    page = _page(response)
    assert _value(page, "error") == (
        "Error code: 1305\n"
        'Executable error code: 65"><script>alert(1)</script>\n'
        "Failed to stage-in file"
    )
    assert _value(page, "task") == "15934870"
    assert _value(page, "subject") == "Stage-in <fails>"
    assert "<script>alert(1)" not in page


def test_each_field_is_explained_in_a_line(client, team):
    page = _page(client.get(URL))
    for line in (
        "Numbers or BigPanDA task links",
        "Rucio names as scope:name",
        "The PanDA queue or storage endpoint",
        "Copy it from your terminal",
        "up to 10 files, 10 MB each, 25 MB together",
    ):
        assert line in page


def test_an_unknown_team_is_not_found(client, team):
    assert client.get(URL, {"team": "nope"}).status_code == 404
    assert _post(client, team_slug="nope").status_code == 404
    assert not Ticket.objects.exists()


def test_with_several_teams_and_none_named_the_form_asks_which(client, team):
    biomed = TeamFactory(slug="biomed", name="biomed VO support", ticket_prefix="BIO")
    page = _page(client.get(URL))
    assert '<select name="team"' in page
    assert "biomed VO support" in page
    response = client.post(URL, _data())
    assert response.status_code == 400
    assert "Choose the team you are asking." in _page(response)
    assert client.post(URL, _data(team="biomed")).status_code == 302
    assert Ticket.objects.get().team == biomed


def test_with_one_team_the_form_needs_no_team_named(client, team):
    assert '<select name="team"' not in _page(client.get(URL))
    assert client.post(URL, _data()).status_code == 302
    assert Ticket.objects.get().team == team


# -- the happy path ------------------------------------------------------------------------


# Committed for real: routing and the acknowledgement run on commit, inside the request, as
# in production, so the thank-you page knows whether a shifter is on duty.
# The session made by the post lives two weeks: the thank-you page is read at the same frozen
# instant, not at today's date.
@pytest.mark.django_db(transaction=True)
@pytest.mark.frozen_at(datetime.combine(WEDNESDAY, time(10), tzinfo=GENEVA))
def test_a_request_opens_a_web_ticket_with_its_details_routed_and_acknowledged(client):
    team = shift_team({"anna": Role.SHIFTER})
    Booking.objects.create(
        zone=team.eu, day=WEDNESDAY, person=team.people["anna"], role=ShiftRole.FIRST_LEVEL
    )
    upload = SimpleUploadedFile("pilotlog.txt", LOG, content_type="text/plain")
    response = client.post(f"{URL}?team=dast", {**_data(), "attachments": [upload]})
    assert response.status_code == 302
    assert response.url == reverse("support-thanks")

    ticket = Ticket.objects.get()
    assert ticket.subject == "Task 15934870: all jobs fail at BNL"
    assert ticket.category == "panda"
    assert (ticket.requester.email, ticket.requester.name) == ("jane.doe@cern.ch", "Jane Doe")
    message = Message.objects.get(ticket=ticket)
    assert message.kind == MessageKind.WEB
    assert message.body_text == (
        "Since this morning every job of my task fails after a few minutes.\n\n"
        "JEDI task: 15934870\n"
        "PanDA job: 4567890123\n"
        "Site/queue: ANALY_BNL\n"
        "Release: AnalysisBase,21.2.87\n"
        "Dataset: user.jdoe:user.jdoe.test1\n\n"
        "Command:\n"
        "prun --exec 'run.sh %IN' --inDS data18_13TeV:data18_13TeV.periodB --outDS "
        "user.jdoe.test1\n\n"
        "Error message or log excerpt:\n"
        "Payload failed: exit code 65\n"
    )
    attachment = Attachment.objects.get(message=message)
    assert (attachment.filename, attachment.size, attachment.content_type) == (
        "pilotlog.txt",
        len(LOG),
        "text/plain",
    )
    with attachment.file.open("rb") as stored:
        assert stored.read() == LOG

    # Routed by the shift calendar and acknowledged, by the listener on ticket_opened.
    assert ticket.assignee == team.people["anna"]
    ack = OutboundMail.objects.get(ticket=ticket, kind=OutboundKind.ACKNOWLEDGEMENT)
    assert ack.to == "jane.doe@cern.ch"
    assert f"[{ticket.reference}]" in ack.subject
    assert "on duty now" in ack.body_text

    thanks = _page(client.get(response.url))
    assert ticket.reference in thanks
    assert "Task 15934870: all jobs fail at BNL" in thanks
    assert "jane.doe@cern.ch" in thanks
    assert "A shifter is on duty now" in thanks
    assert "Your 1 attachment is on the ticket." in thanks


@pytest.mark.django_db(transaction=True)
@pytest.mark.frozen_at(datetime.combine(WEDNESDAY + timedelta(days=3), time(11), tzinfo=GENEVA))
def test_outside_shift_hours_the_thank_you_page_says_the_next_shift_will_look(client):
    shift_team({"anna": Role.SHIFTER})  # the Saturday after the Wednesday they work
    response = _post(client)
    thanks = _page(client.get(response.url))
    ticket = Ticket.objects.get()
    assert ticket.after_hours
    assert OutboundMail.objects.filter(ticket=ticket, kind=OutboundKind.ACKNOWLEDGEMENT).exists()
    assert "outside the team's shift hours" in thanks


def test_a_bigpanda_link_is_read_as_its_id(client, team):
    _post(
        client,
        task="https://bigpanda.cern.ch/task/15934870/ "
        "https://bigpanda.cern.ch/tasks/?jeditaskid=15934871&display_limit=100",
        job="https://bigpanda.cern.ch/job?pandaid=4567890123, PandaID=4567890124",
        site="https://bigpanda.cern.ch/site/ANALY_BNL/",
    )
    body = Message.objects.get().body_text
    assert "JEDI tasks: 15934870, 15934871\n" in body
    assert "PanDA jobs: 4567890123, 4567890124\n" in body
    assert "Site/queue: ANALY_BNL\n" in body


def test_ids_may_come_with_words_around_them_and_repeats_are_dropped(client, team):
    _post(client, task="task 15934870 and 15934871, (15934870)", job="")
    assert "JEDI tasks: 15934870, 15934871\n" in Message.objects.get().body_text


def test_a_dataset_without_its_scope_gets_the_scope_from_its_name(client, team):
    _post(client, dataset="user.jdoe.test1\nmc16_13TeV.361107.PowhegPythia8.merge.AOD.e3601")
    assert (
        "Datasets:\n  user.jdoe:user.jdoe.test1\n"
        "  mc16_13TeV:mc16_13TeV.361107.PowhegPythia8.merge.AOD.e3601\n"
    ) in Message.objects.get().body_text


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "says"),
    [
        ("name", "Give your name"),
        ("email", "Give your e-mail address"),
        ("subject", "Give a subject"),
        ("description", "Say what happened"),
    ],
)
def test_a_missing_field_is_named_and_what_was_typed_is_kept(client, team, field, says):
    response = _post(client, **{field: ""})
    page = _page(response)
    assert response.status_code == 400
    assert says in page
    assert re.search(rf'<li><a href="#id_{field}">[^<]+</a>: {says}', page)
    assert _value(page, "task") == "15934870"
    assert _value(page, "command").startswith("prun --exec 'run.sh %IN'")
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("field", "typed", "says"),
    [
        ("email", "jane.doe@", "This is not an e-mail address"),
        ("task", "12345", "“12345” is not a JEDI task id: a number of 6 to 10 digits"),
        ("task", "15934870 abc", "“abc” is not a JEDI task id"),
        (
            "task",
            "https://bigpanda.cern.ch/job/4567890123/",
            "is a PanDA job link: put it in “PanDA job id(s)”.",
        ),
        ("job", "lost heartbeat", "“lost” is not a PanDA job id"),
        ("dataset", "user.jdoe.*", "“user.jdoe.*” is a pattern"),
        ("dataset", "mydata", "“mydata” is not a dataset name: write it as scope:name"),
        ("site", "ANALY_BNL!", "“ANALY_BNL!” is not a site or queue name"),
        ("release", "21.2.87; rm -rf", "is not a release"),
        ("description", "x" * 20_001, "at most 20000 characters"),
    ],
)
def test_a_malformed_field_says_which_and_why_and_keeps_the_text(client, team, field, typed, says):
    response = _post(client, **{field: typed})
    page = unescape(_page(response))
    assert response.status_code == 400
    assert says in page
    assert f'<a href="#id_{field}">' in page
    assert _value(_page(response), field) == typed
    assert _value(_page(response), "subject") == "Task 15934870: all jobs fail at BNL"
    assert not Ticket.objects.exists()


def test_line_breaks_never_reach_the_subject(client, team):
    _post(client, subject="Jobs fail\r\nBcc: everyone@example.org")
    assert Ticket.objects.get().subject == "Jobs fail Bcc: everyone@example.org"


def test_an_oversize_attachment_is_refused_naming_the_limit(client, team, settings):
    settings.MAIL_MAX_ATTACHMENT_BYTES = 1024 * 1024
    big = SimpleUploadedFile("full.log", b"x" * (1024 * 1024 + 1), content_type="text/plain")
    response = client.post(f"{URL}?team=dast", {**_data(), "attachments": [big]})
    page = unescape(_page(response))
    assert response.status_code == 400
    assert "“full.log” is 1.0 MB: the limit is 1 MB per file." in page
    assert "please choose your attachments again" in page
    assert _value(_page(response), "description").startswith("Since this morning")
    assert not Ticket.objects.exists()


def test_attachments_together_over_the_total_are_refused_naming_the_limit(client, team, settings):
    settings.MAIL_MAX_ATTACHMENT_BYTES = 1024 * 1024
    settings.MAIL_MAX_TOTAL_ATTACHMENT_BYTES = 2 * 1024 * 1024
    files = [SimpleUploadedFile(f"log{i}.txt", b"x" * 800_000) for i in range(3)]
    response = client.post(f"{URL}?team=dast", {**_data(), "attachments": files})
    assert response.status_code == 400
    assert "the limit is 2 MB for all attachments" in _page(response)
    assert not Ticket.objects.exists()


# -- spam ----------------------------------------------------------------------------------


def test_a_bot_filling_the_hidden_field_is_thanked_and_nothing_is_stored(client, team):
    response = _post(client, homepage="http://cheap-pills.example")
    assert response.status_code == 302
    assert response.url == reverse("support-thanks")
    page = _page(client.get(response.url))
    assert "Thank you" in page
    assert "DAST-" not in page
    assert not Ticket.objects.exists()
    assert not OutboundMail.objects.exists()


def test_the_hidden_field_is_out_of_sight_and_out_of_the_tab_order(client, team):
    page = _page(client.get(URL))
    assert '<div class="sf-hp" aria-hidden="true">' in page
    assert re.search(r'<input [^>]*name="homepage"[^>]*tabindex="-1"', page)


@pytest.mark.frozen_at(datetime(2026, 11, 18, 9, 0, tzinfo=GENEVA))
def test_one_network_may_send_five_requests_an_hour(client, team, frozen_clock):
    for n in range(PER_HOUR):
        assert _post(client, email=f"user{n}@cern.ch").status_code == 302
    response = _post(client, email="another@cern.ch", subject="One more")
    page = _page(response)
    assert response.status_code == 429
    assert "Too many requests from your network: the form takes at most 5 an hour." in page
    assert _value(page, "subject") == "One more"
    assert Ticket.objects.count() == PER_HOUR
    frozen_clock.shift(timedelta(minutes=61))
    assert _post(client, email="another@cern.ch").status_code == 302


def test_one_address_may_send_five_requests_an_hour_from_anywhere(client, team):
    for n in range(PER_HOUR):
        response = client.post(URL, _data(), REMOTE_ADDR=f"192.0.2.{n + 1}")
        assert response.status_code == 302
    response = client.post(URL, _data(), REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429
    assert "Too many requests from this e-mail address" in _page(response)
    # A refused request does not count against the network it came from.
    assert client.post(URL, _data(email="x@cern.ch"), REMOTE_ADDR="198.51.100.7").status_code == 302


def test_an_ipv6_client_is_counted_by_its_64_network():
    assert client_network("2001:db8:1:2:aaaa::1") == client_network("2001:db8:1:2:bbbb::9")
    assert client_network("2001:db8:1:3::1") != client_network("2001:db8:1:2::1")
    assert client_network("::ffff:192.0.2.1") == "192.0.2.1"


def test_the_form_is_refused_without_its_csrf_token(team):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(URL, _data()).status_code == 403
    assert not Ticket.objects.exists()
    page = _page(strict.get(URL))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    response = strict.post(URL, {**_data(), "csrfmiddlewaretoken": token.group(1)})
    assert response.status_code == 302
    assert Ticket.objects.count() == 1


# -- what is shown -------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"


def test_a_script_typed_in_is_stored_as_typed_and_shown_inert(client, team):
    _post(client, subject=f"Broken {SCRIPT}", description=f"It says {SCRIPT}")
    ticket = Ticket.objects.get()
    assert ticket.subject == f"Broken {SCRIPT}"
    assert Message.objects.get().body_text.startswith(f"It says {SCRIPT}")

    thanks = _page(client.get(reverse("support-thanks")))
    assert "Broken &lt;script&gt;alert(1)&lt;/script&gt;" in thanks
    assert SCRIPT not in thanks

    refused = _page(_post(client, email="bad", description=f"Again {SCRIPT}"))
    assert SCRIPT not in refused
    assert _value(refused, "description") == f"Again {SCRIPT}"

    shifter = MembershipFactory(team=team, role=Role.SHIFTER).user
    desk = Client()
    desk.force_login(shifter)
    page = _page(desk.get(reverse("ticket-detail", args=[ticket.reference])))
    assert "It says &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert SCRIPT not in page


def test_the_thank_you_page_shows_another_browser_nothing(client, team):
    _post(client)
    reference = Ticket.objects.get().reference
    assert reference in _page(client.get(reverse("support-thanks")))
    stranger = _page(Client().get(reverse("support-thanks")))
    assert reference not in stranger
    assert "jane.doe@cern.ch" not in stranger
