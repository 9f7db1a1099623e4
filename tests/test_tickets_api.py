"""The tickets REST API: the queue with the page's filters, one ticket and its changes, the
thread (reply, a trainee's draft, notes, attachments), search, auth, and the OpenAPI schema
with its docs page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from people.models import Role, Team
from tests.factories import (
    MailboxFactory,
    MembershipFactory,
    MessageFactory,
    TeamFactory,
    TicketFactory,
    UserFactory,
)
from tickets.models import (
    Attachment,
    Category,
    DraftState,
    MessageKind,
    OutboundMail,
    ReplyDraft,
    Status,
    Ticket,
)
from tickets.models.mail import OutboundKind

API = "/api/v1/tickets"
GENEVA = ZoneInfo("Europe/Zurich")
WEDNESDAY_10 = datetime(2026, 11, 18, 10, 0, tzinfo=GENEVA)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen_at(WEDNESDAY_10)]


@pytest.fixture(autouse=True)
def own_cache(settings, request):
    # The API's throttle counts in the cache: each test gets an empty one of its own.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": request.node.nodeid,
        }
    }


@pytest.fixture
def desk():
    team = TeamFactory(slug="dast", ticket_prefix="DAST", name="ATLAS DAST")
    MailboxFactory(team=team)
    people = {
        name: MembershipFactory(team=team, user=UserFactory(username=name), role=role).user
        for name, role in (
            ("anna", Role.SHIFTER),
            ("tomas", Role.TRAINEE),
            ("elena", Role.COORDINATOR),
        )
    }
    ticket = TicketFactory(
        team=team,
        number=1,
        subject="Task 15934870 exhausted",
        status=Status.OPEN,
        assignee=people["anna"],
    )
    MessageFactory(ticket=ticket, body_text="All jobs of task 15934870 failed.")
    # The factory numbers tickets itself; new ones are numbered after these.
    Team.objects.filter(pk=team.pk).update(last_ticket_number=100)
    biomed = TeamFactory(slug="biomed", ticket_prefix="BIO", name="biomed")
    claire = MembershipFactory(team=biomed, user=UserFactory(username="claire")).user
    theirs = TicketFactory(team=biomed, subject="VO membership expired", status=Status.OPEN)
    MessageFactory(ticket=theirs)
    return type(
        "Desk",
        (),
        {"team": team, "people": people, "ticket": ticket, "claire": claire, "theirs": theirs},
    )


def client(user=None) -> APIClient:
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    return api


def references(answer) -> list[str]:
    return [t["reference"] for t in answer.json()["results"]]


# --- the queue ------------------------------------------------------------------------------


def test_the_queue_takes_the_queue_pages_filters_and_views(desk):
    anna = desk.people["anna"]
    rucio = TicketFactory(
        team=desk.team, number=2, subject="Rucio rule", category=Category.DATA_ACCESS
    ).reference
    old = TicketFactory(team=desk.team, number=3, status=Status.CLOSED, assignee=anna).reference
    mine = desk.ticket.reference
    api = client(anna)

    everything = api.get(f"{API}/")
    assert everything.status_code == 200
    assert sorted(references(everything)) == sorted([mine, rucio, old])  # never biomed's
    assert references(api.get(f"{API}/?category=data_access")) == [rucio]
    assert references(api.get(f"{API}/?assignee=none")) == [rucio]
    assert references(api.get(f"{API}/?view=mine")) == [mine]
    assert references(api.get(f"{API}/?status=closed&assignee={anna.pk}")) == [old]
    assert references(api.get(f"{API}/?sort=number")) == [old, rucio, mine]
    row = api.get(f"{API}/?view=mine").json()["results"][0]
    assert row["assignee"] == {"id": anna.pk, "name": anna.get_full_name()}
    assert row["message_count"] == 1
    assert row["created_at"].endswith("Z")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=lost", "status"),
        ("opened_from=yesterday", "opened_from"),
        ("opened_from=2026-11-18&opened_to=2026-11-01", "opened_to"),
        ("assignee=anna", "assignee"),
        ("sort=random", "sort"),
        ("view=everything", "view"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(desk, query, field):
    answer = client(desk.people["anna"]).get(f"{API}/?{query}")
    assert answer.status_code == 400
    assert list(answer.json()) == [field]
    assert answer.json()[field][0]


def test_the_queue_comes_in_pages_of_fifty(desk):
    TicketFactory.create_batch(54, team=desk.team)
    api = client(desk.people["anna"])
    first = api.get(f"{API}/").json()
    assert (first["count"], len(first["results"])) == (55, 50)
    second = api.get(first["next"]).json()
    assert (len(second["results"]), second["next"]) == (5, None)
    assert api.get(f"{API}/?page=9").status_code == 404


def test_the_queue_costs_the_same_queries_for_ten_tickets_as_for_fifty(desk):
    api = client(desk.people["anna"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(f"{API}/").status_code == 200
        return len(captured)

    for ticket in TicketFactory.create_batch(9, team=desk.team, assignee=desk.people["elena"]):
        MessageFactory(ticket=ticket)
    ten = queries()
    for ticket in TicketFactory.create_batch(40, team=desk.team, shadow=desk.people["tomas"]):
        MessageFactory(ticket=ticket)
    assert queries() == ten


# --- who sees what --------------------------------------------------------------------------


def test_another_teams_ticket_is_a_404_whatever_the_request(desk):
    api = client(desk.people["anna"])
    theirs = desk.theirs.reference
    assert api.get(f"{API}/{theirs}/").status_code == 404
    assert api.get(f"{API}/{theirs}/messages/").status_code == 404
    assert api.patch(f"{API}/{theirs}/", {"status": "closed"}, format="json").status_code == 404
    assert api.post(f"{API}/{theirs}/note/", {"body": "x"}, format="json").status_code == 404
    assert api.get(f"{API}/DAST-999/").status_code == 404
    assert api.get(f"{API}/?team=biomed").status_code == 404
    desk.theirs.refresh_from_db()
    assert desk.theirs.status == Status.OPEN


def test_someone_with_no_desk_role_sees_no_ticket_and_cannot_open_one(desk):
    requester_like = UserFactory(username="jdoe")
    MembershipFactory(team=desk.team, user=requester_like, role=Role.EXPERT)
    api = client(requester_like)
    assert api.get(f"{API}/").json()["count"] == 0
    assert api.get(f"{API}/{desk.ticket.reference}/").status_code == 404
    opened = api.post(f"{API}/", {"requester_email": "a@b.org", "subject": "s", "body": "b"})
    assert opened.status_code == 404


def test_without_credentials_nothing_is_answered(desk):
    answer = APIClient().get(f"{API}/")
    assert answer.status_code in (401, 403)
    assert "credentials" in answer.json()["detail"]
    assert APIClient().get(f"{API}/{desk.ticket.reference}/").status_code in (401, 403)


def test_a_token_made_in_the_admin_signs_a_script_in(desk):
    token = Token.objects.create(user=desk.people["anna"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert references(api.get(f"{API}/?view=mine")) == [desk.ticket.reference]
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    refused = api.get(f"{API}/")
    assert refused.status_code in (401, 403)
    assert refused.json()["detail"] == "Invalid token."


def test_a_script_in_a_loop_is_slowed_down_with_a_429(desk, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "2/min", "api_anonymous": "2/min"},
    }
    api = client(desk.people["anna"])
    answers = [api.get(f"{API}/") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert 1 <= int(answers[-1]["Retry-After"]) <= 60
    assert client(desk.people["elena"]).get(f"{API}/").status_code == 200  # per person


# --- opening and changing a ticket ----------------------------------------------------------


def test_a_shifter_opens_a_ticket_for_a_requester_who_phoned(desk):
    answer = client(desk.people["anna"]).post(
        f"{API}/",
        {
            "requester_email": "JDoe@cern.ch",
            "requester_name": "Jane Doe",
            "subject": "Cannot read dataset",
            "body": "She phoned: rucio download fails at BNL.",
            "category": "data_access",
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["requester"] == {"email": "jdoe@cern.ch", "name": "Jane Doe"}
    assert (body["category"], body["status"], body["message_count"]) == ("data_access", "new", 1)
    assert answer["Location"] == f"{API}/{body['reference']}/"
    ticket = Ticket.objects.get(team=desk.team, number=int(body["reference"].split("-")[1]))
    first = ticket.messages.get()
    assert (first.kind, first.body_text) == (
        MessageKind.WEB,
        "She phoned: rucio download fails at BNL.",
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"requester_email": "not an address"}, "requester_email"),
        ({"subject": "   "}, "subject"),
        ({"body": ""}, "body"),
        ({"category": "magic"}, "category"),
        ({"status": "closed"}, "status"),  # not a field of a new ticket
    ],
)
def test_a_bad_new_ticket_names_its_field_and_opens_nothing(desk, change, field):
    data = {"requester_email": "jdoe@cern.ch", "subject": "Help", "body": "Jobs fail.", **change}
    before = Ticket.objects.count()
    answer = client(desk.people["anna"]).post(f"{API}/", data, format="json")
    assert answer.status_code == 400
    assert field in answer.json(), answer.json()
    assert Ticket.objects.count() == before


def test_someone_in_two_teams_says_which_one_a_new_ticket_is_for(desk):
    MembershipFactory(team=TeamFactory(slug="biomed"), user=desk.people["elena"])
    data = {"requester_email": "jdoe@cern.ch", "subject": "Help", "body": "Jobs fail."}
    api = client(desk.people["elena"])
    assert "team" in api.post(f"{API}/", data, format="json").json()
    answer = api.post(f"{API}/?team=biomed", data, format="json")
    assert answer.status_code == 201
    assert answer.json()["team"] == "biomed"


def test_patch_changes_status_category_priority_and_owner(desk):
    elena = desk.people["elena"]
    answer = client(desk.people["anna"]).patch(
        f"{API}/{desk.ticket.reference}/",
        {"status": "waiting_expert", "category": "panda", "priority": 3, "assignee": elena.pk},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert (body["status"], body["category"], body["priority"]) == ("waiting_expert", "panda", 3)
    assert body["assignee"]["id"] == elena.pk
    desk.ticket.refresh_from_db()
    assert (desk.ticket.status, desk.ticket.assignee) == (Status.WAITING_ON_EXPERT, elena)
    unassigned = client(elena).patch(
        f"{API}/{desk.ticket.reference}/", {"assignee": None}, format="json"
    )
    assert unassigned.json()["assignee"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "solved"}, "status"),
        ({"priority": 9}, "priority"),
        ({"status": "closed", "assignee": "CLAIRE"}, "assignee"),  # another team's person
        ({"subject": "Renamed"}, "subject"),
        ({}, "non_field_errors"),
    ],
)
def test_a_bad_change_is_a_400_with_the_reason_and_changes_nothing(desk, change, field):
    if change.get("assignee") == "CLAIRE":
        change["assignee"] = desk.claire.pk
    answer = client(desk.people["anna"]).patch(
        f"{API}/{desk.ticket.reference}/", change, format="json"
    )
    assert answer.status_code == 400
    assert answer.json()[field][0], answer.json()
    desk.ticket.refresh_from_db()
    assert (desk.ticket.status, desk.ticket.subject) == (Status.OPEN, "Task 15934870 exhausted")


# --- the thread -----------------------------------------------------------------------------


def test_a_reply_goes_out_as_mail_and_the_ticket_waits_on_the_user(desk):
    answer = client(desk.people["anna"]).post(
        f"{API}/{desk.ticket.reference}/reply/", {"body": "Please retry with --nFiles."}
    )
    assert answer.status_code == 201, answer.json()
    assert (answer.json()["kind"], answer.json()["author"]["id"]) == (
        "email_out",
        desk.people["anna"].pk,
    )
    mail = OutboundMail.objects.get(ticket=desk.ticket)
    assert mail.to == desk.ticket.requester.email
    assert "Please retry with --nFiles." in mail.body_text
    desk.ticket.refresh_from_db()
    assert desk.ticket.status == Status.WAITING_ON_USER


def test_a_trainees_reply_is_a_202_draft_and_no_mail_leaves(desk):
    answer = client(desk.people["tomas"]).post(
        f"{API}/{desk.ticket.reference}/reply/", {"body": "Try again?"}, format="json"
    )
    assert answer.status_code == 202
    draft = ReplyDraft.objects.get(ticket=desk.ticket)
    assert answer.json()["id"] == draft.pk
    assert (answer.json()["state"], draft.state) == ("pending", DraftState.PENDING)
    # Nothing reaches the requester; at most the shadowed owner hears of the draft.
    assert not OutboundMail.objects.exclude(kind=OutboundKind.NOTIFICATION).exists()
    assert not OutboundMail.objects.filter(to=desk.ticket.requester.email).exists()


def test_a_reply_to_a_closed_ticket_is_refused_with_the_field(desk):
    Ticket.objects.filter(pk=desk.ticket.pk).update(status=Status.CLOSED)
    answer = client(desk.people["anna"]).post(
        f"{API}/{desk.ticket.reference}/reply/", {"body": "Hello"}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "detail": f"{desk.ticket.reference} is closed: reopen it to answer.",
        "field": "status",
        "code": "refused",
    }
    empty = client(desk.people["anna"]).post(
        f"{API}/{desk.ticket.reference}/reply/", {"body": "  "}, format="json"
    )
    assert "body" in empty.json()
    assert not OutboundMail.objects.exists()


def test_a_note_mails_nobody_and_the_thread_lists_it_last(desk):
    answer = client(desk.people["tomas"]).post(
        f"{API}/{desk.ticket.reference}/note/", {"body": "Looks like the BNL pilot issue."}
    )
    assert answer.status_code == 201
    assert answer.json()["kind"] == "note"
    assert not OutboundMail.objects.exists()
    thread = client(desk.people["anna"]).get(f"{API}/{desk.ticket.reference}/messages/").json()
    assert [m["kind"] for m in thread["results"]] == ["email_in", "note"]
    assert thread["results"][1]["author"]["id"] == desk.people["tomas"].pk


def test_attachments_are_listed_and_always_downloaded_never_rendered(desk, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    message = desk.ticket.messages.get()
    item = Attachment(message=message, filename="log.html", content_type="text/html", size=25)
    item.sha256 = "0" * 64
    item.file.save("log.html", ContentFile(b"<script>alert(1)</script>"), save=True)
    Attachment.objects.create(
        message=message, filename="huge.root", size=2**31, sha256="1" * 64, dropped="too large"
    )
    api = client(desk.people["anna"])
    listed = api.get(f"{API}/{desk.ticket.reference}/messages/").json()["results"][0]
    kept, dropped = listed["attachments"]
    assert (kept["filename"], kept["kept"], dropped["kept"]) == ("log.html", True, False)
    assert dropped["download"] is None

    response = api.get(kept["download"])
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"
    gone = api.get(f"{API}/{desk.ticket.reference}/attachments/{dropped['id']}/")
    assert gone.status_code == 404
    assert "too large" in gone.json()["detail"]
    assert client(desk.claire).get(kept["download"]).status_code == 404


def test_the_thread_comes_in_pages_with_the_same_queries_whatever_its_length(desk):
    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            body = api.get(f"{API}/{desk.ticket.reference}/messages/").json()
        return len(captured), body["count"]

    api = client(desk.people["anna"])
    for n in range(4):
        MessageFactory(ticket=desk.ticket, created_at=desk.ticket.created_at + timedelta(hours=n))
    few, count = queries()
    assert count == 5
    for n in range(60):
        MessageFactory(ticket=desk.ticket, created_at=desk.ticket.created_at + timedelta(days=n))
    assert queries() == (few, 65)


# --- search ---------------------------------------------------------------------------------


def test_search_finds_the_callers_tickets_by_their_words_and_by_reference(desk):
    api = client(desk.people["anna"])
    found = api.get(f"{API}/search/", {"q": "15934870"})
    assert found.status_code == 200
    assert references(found) == [desk.ticket.reference]
    assert references(api.get(f"{API}/search/", {"q": "DAST-1"})) == ["DAST-1"]
    assert references(api.get(f"{API}/search/", {"q": "membership"})) == []  # biomed's
    assert references(client(desk.claire).get(f"{API}/search/", {"q": "membership"})) == [
        desk.theirs.reference
    ]
    missing = api.get(f"{API}/search/")
    assert (missing.status_code, list(missing.json())) == (400, ["q"])


# --- the schema and its docs ----------------------------------------------------------------


def test_the_schema_describes_every_ticket_endpoint(desk):
    answer = client(desk.people["anna"]).get("/api/schema/?format=json")
    assert answer.status_code == 200
    paths = answer.json()["paths"]
    for endpoint in (
        "/api/v1/tickets/",
        "/api/v1/tickets/search/",
        "/api/v1/tickets/{reference}/",
        "/api/v1/tickets/{reference}/messages/",
        "/api/v1/tickets/{reference}/reply/",
        "/api/v1/tickets/{reference}/note/",
        "/api/v1/tickets/{reference}/attachments/{id}/",
    ):
        assert endpoint in paths
    queue = {p["name"] for p in paths["/api/v1/tickets/"]["get"]["parameters"]}
    assert {"status", "category", "zone", "assignee", "requester", "view", "page"} <= queue
    assert set(paths["/api/v1/tickets/{reference}/reply/"]["post"]["responses"]) >= {"201", "202"}
    assert APIClient().get("/api/schema/").status_code in (401, 403)


def test_the_docs_page_loads_nothing_from_another_host(desk):
    browser = Client()
    assert browser.get("/api/docs/").status_code == 302  # to the sign-in page
    browser.force_login(desk.people["anna"])
    page = browser.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+", html, re.IGNORECASE), html
    script = re.search(r'<script src="(/api/docs/\?script=?)"', html)
    assert script, html
    loader = browser.get(script.group(1))
    assert (loader.status_code, loader["Content-Type"]) == (200, "application/javascript")
    assert "/api/schema/" in loader.content.decode()


def test_the_docs_pages_static_files_are_served_locally(desk):
    browser = Client()
    browser.force_login(desk.people["anna"])
    html = browser.get("/api/docs/").content.decode()
    for src in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        response = browser.get(src)
        assert response.status_code == 200, src


def test_the_ticket_endpoints_describe_themselves_without_a_warning():
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/v1/tickets/", include("tickets.api_urls"))])
    with GENERATOR_STATS.silence():
        schema = generator.get_schema(request=None, public=True)
    problems = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    GENERATOR_STATS.reset()
    assert problems == []
    validate_schema(schema)
    assert len(schema["paths"]) == 7
