"""Who sees which ticket, and who may act: the team's desk people see and act on all of
its tickets; an expert with an account reads only the tickets escalated to their group and
may add notes; nobody else sees anything (404, as if it did not exist)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from escalation.models import Escalation, ExpertGroup
from escalation.services import escalation_create
from people.models import Role
from tests.factories import (
    MailboxFactory,
    MembershipFactory,
    MessageFactory,
    RequesterFactory,
    TeamFactory,
    TicketFactory,
    UserFactory,
)
from tickets.models import (
    ExternalRef,
    Message,
    MessageKind,
    ReplyDraft,
    RequesterSignIn,
    Status,
    Ticket,
    TicketLink,
)
from tickets.services.requester_access import token_hash

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    MailboxFactory(team=team)
    anna = MembershipFactory(team=team, role=Role.SHIFTER).user
    paul = UserFactory(username="paul")  # a PanDA expert with an account
    MembershipFactory(team=team, user=paul, role=Role.EXPERT)
    panda = ExpertGroup.objects.create(team=team, name="PanDA/JEDI", email="panda@cern.ch")
    panda.members.add(paul)
    escalated = TicketFactory(team=team, subject="JEDI retry limit", status=Status.OPEN)
    MessageFactory(ticket=escalated, body_text="Task 15934870 exhausted.")
    other = TicketFactory(team=team, subject="Grid certificate renewal", status=Status.OPEN)
    escalation_create(ticket=escalated, by=anna, note="Is the retry limit reached?", group=panda)
    return type(
        "World",
        (),
        {"team": team, "anna": anna, "paul": paul, "escalated": escalated, "other": other},
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_expert_sees_only_the_tickets_escalated_to_their_group(world):
    paul = signed_in(world.paul)
    page = paul.get("/tickets/?view=all").content.decode()
    assert "JEDI retry limit" in page
    assert "Grid certificate renewal" not in page
    assert paul.get(f"/tickets/{world.escalated.reference}/").status_code == 200
    assert paul.get(f"/tickets/{world.other.reference}/").status_code == 404


def test_an_expert_reads_and_notes_but_does_not_reply_assign_or_escalate(world):
    paul = signed_in(world.paul)
    ref = world.escalated.reference
    page = paul.get(f"/tickets/{ref}/").content.decode()
    assert "Send reply" not in page
    assert "Take it" not in page
    assert "Escalate…" not in page
    assert paul.post(f"/tickets/{ref}/reply/", {"body": "Retry it."}).status_code == 403
    assert paul.post(f"/tickets/{ref}/assign/", {"to": "me"}).status_code == 403
    assert paul.post(f"/tickets/{ref}/escalate/", {"note": "x"}).status_code == 403
    assert (
        paul.post(f"/tickets/{ref}/note/", {"body": "The limit is 8 attempts."}).status_code == 302
    )
    assert Message.objects.filter(kind=MessageKind.NOTE, author=world.paul).exists()
    assert not Message.objects.filter(kind=MessageKind.EMAIL_OUT).exists()


def test_the_api_applies_the_same_rules(world):
    api = APIClient()
    api.force_authenticate(world.paul)
    refs = [t["reference"] for t in api.get("/api/v1/tickets/").json()["results"]]
    assert refs == [world.escalated.reference]
    assert api.get(f"/api/v1/tickets/{world.other.reference}/").status_code == 404
    reply = api.post(f"/api/v1/tickets/{world.escalated.reference}/reply/", {"body": "x"})
    assert reply.status_code == 403
    patch = api.patch(f"/api/v1/tickets/{world.escalated.reference}/", {"status": "closed"})
    assert patch.status_code == 403


def test_a_desk_person_of_another_team_and_a_plain_account_see_nothing(world):
    for user in (
        MembershipFactory(team=TeamFactory(slug="biomed"), role=Role.SHIFTER).user,
        UserFactory(username="nobody"),
    ):
        client = signed_in(user)
        assert client.get(f"/tickets/{world.escalated.reference}/").status_code == 404
        assert "JEDI retry limit" not in client.get("/tickets/?view=all").content.decode()


def test_the_shifter_sees_and_acts_on_everything_of_the_team(world):
    anna = signed_in(world.anna)
    page = anna.get("/tickets/?view=all").content.decode()
    assert "JEDI retry limit" in page
    assert "Grid certificate renewal" in page
    assert anna.post(f"/tickets/{world.other.reference}/assign/", {"to": "me"}).status_code == 302


# --- every write, tried by everyone (issue 16: acting is checked like seeing) ---------------
#
# The ticket is DAST-1, escalated to DAST's PanDA group; DAST-2 is another DAST ticket. The
# "expert" is a biomed coordinator who is a member of DAST's PanDA group: she sees DAST-1
# (the tickets escalated to her group) and may add a note, nothing else. The requester signs
# in through their sign-in link: that session is no desk account.

OWN = ("shifter", "coordinator", "trainee")
OTHER = ("other_shifter", "other_coordinator", "other_trainee")
EVERYONE = (*OWN, *OTHER, "expert", "requester", "anonymous")


@dataclass(frozen=True)
class Write:
    name: str
    method: str
    url: str  # {t} the ticket, {o} the other ticket, {esc} the escalation
    data: dict[str, object]
    api: bool = False
    bulk: bool = False
    open_to_expert: bool = False


WRITES = [
    Write("page reply", "post", "/tickets/{t}/reply/", {"body": "Retry it, please."}),
    Write("page note", "post", "/tickets/{t}/note/", {"body": "Limit is 8."}, open_to_expert=True),
    Write("page update", "post", "/tickets/{t}/update/", {"category": "athena"}),
    Write("page assign", "post", "/tickets/{t}/assign/", {"to": "{anna}"}),
    Write("page merge", "post", "/tickets/{t}/merge/", {"into": "{o}"}),
    Write("page link", "post", "/tickets/{t}/link/", {"other": "{o}", "kind": "related"}),
    Write("page draft", "post", "/tickets/{t}/drafts/{draft}/", {"decision": "reject"}),
    Write("page escalate", "post", "/tickets/{t}/escalate/", {"group": "{group}", "note": "?"}),
    Write("page escalation cancel", "post", "/tickets/{t}/escalations/{esc}/cancel/", {}),
    Write("page reference", "post", "/tickets/{t}/refs/", {"ref": "ATLASPANDA-426"}),
    Write("bulk close", "post", "/tickets/bulk/", {"action": "close"}, bulk=True),
    Write(
        "bulk category",
        "post",
        "/tickets/bulk/",
        {"action": "category", "category": "athena"},
        bulk=True,
    ),
    Write(
        "bulk assign",
        "post",
        "/tickets/bulk/",
        {"action": "assign", "assignee": "{anna}"},
        bulk=True,
    ),
    Write("bulk merge", "post", "/tickets/bulk/", {"action": "merge"}, bulk=True),
    Write("api update", "patch", "/api/v1/tickets/{t}/", {"status": "resolved"}, api=True),
    Write("api reply", "post", "/api/v1/tickets/{t}/reply/", {"body": "Retry it."}, api=True),
    Write(
        "api note",
        "post",
        "/api/v1/tickets/{t}/note/",
        {"body": "8."},
        api=True,
        open_to_expert=True,
    ),
    Write(
        "api escalate",
        "post",
        "/api/v1/escalation/escalations/?team=dast",
        {"ticket": "{t}", "group": "{group}", "note": "?"},
        api=True,
    ),
    Write(
        "api escalation cancel",
        "post",
        "/api/v1/escalation/escalations/{esc}/cancel/?team=dast",
        {},
        api=True,
    ),
]


def expected(write: Write, role: str) -> str:
    """done: it happened; kept: the desk's own rules refused it (a trainee decides no
    drafts); 403/404; login: sent to sign in; ignored: the bulk action left out tickets the
    caller cannot see."""
    if role in OWN:
        return "kept" if (role, write.name) == ("trainee", "page draft") else "done"
    if role in ("requester", "anonymous"):
        return "403" if write.api else "login"
    if role in OTHER:
        return "ignored" if write.bulk else "404"
    # The expert sees the ticket but is in no DAST desk role: the escalation API's team is
    # one she does not work in (404); the rest is refused (403) but for notes.
    if write.open_to_expert:
        return "done"
    return "404" if write.name.startswith("api escalat") else "403"


@pytest.fixture
def matrix(freezer_at_noon):
    dast = TeamFactory(slug="dast", ticket_prefix="DAST", name="ATLAS DAST")
    MailboxFactory(team=dast)
    biomed = TeamFactory(slug="biomed", ticket_prefix="BIO", name="biomed")
    people = {}
    for prefix, team in (("", dast), ("other_", biomed)):
        for role in (Role.SHIFTER, Role.COORDINATOR, Role.TRAINEE):
            name = f"{prefix}{role.value}"
            people[name] = MembershipFactory(
                team=team, role=role, user=UserFactory(username=name)
            ).user
    claire = MembershipFactory(team=biomed, role=Role.COORDINATOR).user
    panda = ExpertGroup.objects.create(team=dast, name="PanDA/JEDI", email="panda@cern.ch")
    panda.members.add(claire)
    people["expert"] = claire
    alice = RequesterFactory(email="alice@cern.ch")
    ticket = TicketFactory(team=dast, number=1, requester=alice, status=Status.OPEN)
    MessageFactory(ticket=ticket, body_text="Task 15934870 exhausted.")
    other = TicketFactory(team=dast, number=2, requester=alice, status=Status.OPEN)
    MessageFactory(ticket=other, body_text="Same task, again.")
    esc = escalation_create(ticket=ticket, by=people["shifter"], note="Limit?", group=panda)
    draft = ReplyDraft.objects.create(
        ticket=ticket, author=people["trainee"], body_text="Retry?", created_at=timezone.now()
    )
    values = {
        "t": ticket.reference,
        "o": other.reference,
        "esc": esc.pk,
        "draft": draft.pk,
        "group": panda.pk,
        "anna": people["shifter"].pk,
    }
    return SimpleNamespace(people=people, ticket=ticket, other=other, values=values)


@pytest.fixture
def freezer_at_noon():
    with time_machine.travel(datetime(2026, 11, 18, 12, 0, tzinfo=UTC), tick=False):
        yield


def _state() -> tuple[object, ...]:
    """Everything a write on the tickets could change."""
    return (
        list(Ticket.objects.order_by("pk").values_list("status", "category", "assignee_id")),
        list(Ticket.objects.order_by("pk").values_list("merged_into_id", flat=True)),
        Message.objects.count(),
        list(ReplyDraft.objects.values_list("state", flat=True)),
        TicketLink.objects.count(),
        ExternalRef.objects.count(),
        list(Escalation.objects.order_by("pk").values_list("state", flat=True)),
    )


def _client(matrix, role: str, api: bool) -> Client | APIClient:
    client: Client | APIClient = APIClient() if api else Client()
    if role == "requester":
        # Signed in the way a requester signs in: their one-time link, then its button.
        token = secrets.token_urlsafe(32)
        RequesterSignIn.objects.create(
            requester=matrix.ticket.requester,
            token_hash=token_hash(token),
            created_at=timezone.now(),
            expires_at=timezone.now() + timedelta(minutes=30),
        )
        assert client.post(f"/my/signin/{token}/").status_code == 302
        assert client.get("/my/").status_code == 200
        assert b"Sign out" in client.get("/my/").content
    elif role != "anonymous":
        client.force_login(matrix.people[role])
    return client


def _fill(value: object, values: dict[str, object]) -> object:
    return str(value).format(**values) if isinstance(value, str) else value


@pytest.mark.parametrize("role", EVERYONE)
@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.name)
def test_every_write_is_done_only_by_the_teams_desk_people(matrix, write, role):
    client = _client(matrix, role, write.api)
    url = write.url.format(**matrix.values)
    data = {key: _fill(value, matrix.values) for key, value in write.data.items()}
    if write.bulk:
        data = {**data, "tickets": [str(matrix.ticket.pk), str(matrix.other.pk)]}
    before = _state()
    if write.api:
        response = getattr(client, write.method)(url, data, format="json")
    else:
        response = getattr(client, write.method)(url, data)
    changed = _state() != before
    want = expected(write, role)
    if want == "done":
        assert response.status_code in (200, 201, 202, 302), response.content[:300]
        if not write.api:
            assert "/login/" not in response.get("Location", "")
        assert changed
    elif want in ("kept", "ignored"):
        assert response.status_code == 302
        assert "/login/" not in response["Location"]
        assert not changed
    elif want == "login":
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")
        assert not changed
    else:
        assert response.status_code == int(want), response.content[:300]
        assert not changed
