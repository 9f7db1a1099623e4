"""The requester's page (issue #6): sign-in by a mailed one-time link, their own tickets and
threads only, replies that land like mail, attachments as downloads, CSRF, rate limits."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

import pytest
from django.core import mail as django_mail
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from tests import events
from tests.factories import MessageFactory, RequesterFactory, TeamFactory, TicketFactory
from tickets.mail.outbox import SIGN_IN_SENT, outbound_send
from tickets.models import (
    Attachment,
    LinkKind,
    MessageKind,
    Noise,
    OutboundMail,
    RequesterSignIn,
    Status,
    TicketLink,
)
from tickets.models.events import TicketEvent
from tickets.models.mail import OutboundKind
from tickets.services import requester_access
from tickets.services.requester_access import token_hash

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https?://\S+/my/signin/([A-Za-z0-9_-]+)/")


@pytest.fixture(autouse=True)
def own_cache(settings, request):
    # Rate limits count in the cache: each test gets an empty one of its own.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"requester-{request.node.name}",
        }
    }


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def team():
    return TeamFactory(slug="dast", ticket_prefix="DAST", name="ATLAS DAST")


@pytest.fixture
def alice():
    return RequesterFactory(email="alice@cern.ch", name="Alice Adams")


@pytest.fixture
def bob():
    return RequesterFactory(email="bob@uni-bonn.de", name="Bob Braun")


@pytest.fixture
def alices(team, alice):
    ticket = TicketFactory(team=team, number=12, requester=alice, subject="Rucio rule stuck")
    MessageFactory(ticket=ticket, body_text="My rule is stuck in REPLICATING.")
    return ticket


@pytest.fixture
def bobs(team, bob):
    ticket = TicketFactory(team=team, number=13, requester=bob, subject="Bob's secret task")
    MessageFactory(ticket=ticket, body_text="Bob's private details.")
    return ticket


def new_link(requester, *, minutes: int = 30) -> str:
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    RequesterSignIn.objects.create(
        requester=requester,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    return token


def signed_in(requester, client: Client | None = None) -> Client:
    client = client or Client()
    response = client.post(f"/my/signin/{new_link(requester)}/")
    assert response.status_code == 302
    return client


def test_a_link_is_mailed_only_to_a_known_address_and_both_get_the_same_answer(alices):
    known = Client().post("/my/signin/", {"email": "ALICE@cern.ch"})
    unknown = Client().post("/my/signin/", {"email": "nobody@cern.ch"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert known["Location"] == "/my/link-sent/"
    mail = OutboundMail.objects.get()
    assert mail.kind == OutboundKind.SIGN_IN
    assert mail.to == "alice@cern.ch"
    assert mail.automatic
    token = LINK.search(mail.body_text).group(1)  # type: ignore[union-attr]
    # Only the token's SHA-256 is stored.
    link = RequesterSignIn.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in link.token_hash


def test_once_sent_the_link_is_not_kept_in_the_outbox(alices, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Client().post("/my/signin/", {"email": "alice@cern.ch"})
    mail = OutboundMail.objects.get()
    assert "/my/signin/" in mail.body_text
    assert outbound_send(mail.pk) is True
    mail.refresh_from_db()
    assert "/my/signin/" not in mail.body_text
    assert mail.body_text == SIGN_IN_SENT
    assert "/my/signin/" in django_mail.outbox[0].body  # what the requester got has it


def test_opening_the_link_only_shows_a_button_and_the_post_signs_in(alices):
    token = new_link(alices.requester)
    client = Client()
    page = client.get(f"/my/signin/{token}/")
    assert page.status_code == 200
    assert b"Sign in" in page.content
    assert RequesterSignIn.objects.get().used_at is None  # a mail scanner's GET uses nothing
    before = client.session.session_key
    response = client.post(f"/my/signin/{token}/")
    assert response["Location"] == "/my/"
    assert client.session["requester_id"] == alices.requester.pk
    assert client.session.session_key != before
    assert "_auth_user_id" not in client.session  # not a desk login
    assert b"Rucio rule stuck" in client.get("/my/").content


def test_a_link_signs_in_once_only(alices):
    token = new_link(alices.requester)
    assert Client().post(f"/my/signin/{token}/").status_code == 302
    second = Client()
    response = second.post(f"/my/signin/{token}/")
    assert response.status_code == 400
    assert b"expired or was used" in response.content
    assert "requester_id" not in second.session


def test_an_expired_link_signs_nobody_in(alices):
    token = new_link(alices.requester, minutes=-1)
    response = Client().post(f"/my/signin/{token}/")
    assert response.status_code == 400
    assert RequesterSignIn.objects.get().used_at is None


def test_two_uses_of_one_token_let_exactly_one_in(alices):
    token = new_link(alices.requester)
    now = timezone.now()
    first = requester_access.signin_link_use(token=token, at=now)
    second = requester_access.signin_link_use(token=token, at=now)
    assert first == alices.requester
    assert second is None
    assert requester_access.signin_link_use(token="made-up", at=now) is None


def test_requester_a_gets_404_for_bs_ticket_as_for_one_that_does_not_exist(alices, bobs):
    client = signed_in(alices.requester)
    assert client.get("/my/tickets/DAST-12/").status_code == 200
    theirs = client.get("/my/tickets/DAST-13/")
    missing = client.get("/my/tickets/DAST-999/")
    assert theirs.status_code == missing.status_code == 404
    assert b"Bob" not in theirs.content
    assert b"Bob" not in client.get("/my/").content
    # Nor can A write on it.
    assert client.post("/my/tickets/DAST-13/", {"body": "hello"}).status_code == 404
    assert bobs.messages.count() == 1


def test_an_attachment_downloads_for_its_requester_only_and_never_inline(alices, bobs):
    def attach(ticket, name: str) -> Attachment:
        message = ticket.messages.get()
        found = Attachment(message=message, filename=name, content_type="text/html", size=27)
        found.sha256 = hashlib.sha256(name.encode()).hexdigest()
        found.file.save(name, ContentFile(b"<script>alert(1)</script>"), save=True)
        return found

    mine, theirs = attach(alices, "log.html"), attach(bobs, "bob.html")
    client = signed_in(alices.requester)
    response = client.get(f"/my/attachments/{mine.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="log.html"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"  # type: ignore[attr-defined]
    assert client.get(f"/my/attachments/{theirs.pk}/").status_code == 404
    assert Client().get(f"/my/attachments/{mine.pk}/")["Location"] == "/my/"


def test_notes_expert_answers_noise_and_other_peoples_mail_are_never_shown(alices):
    shown = [
        MessageFactory(ticket=alices, kind=MessageKind.EMAIL_OUT, body_text="DESK-REPLY"),
        MessageFactory(ticket=alices, kind=MessageKind.WEB, body_text="MY-WEB-REPLY"),
    ]
    hidden = [
        MessageFactory(ticket=alices, kind=MessageKind.NOTE, body_text="INTERNAL-NOTE"),
        MessageFactory(ticket=alices, kind=MessageKind.EXPERT, body_text="EXPERT-ANSWER"),
        MessageFactory(
            ticket=alices, kind=MessageKind.EXPERT, unverified=True, body_text="UNVERIFIED"
        ),
        MessageFactory(ticket=alices, noise=Noise.AUTO_REPLY, body_text="OUT-OF-OFFICE"),
        MessageFactory(ticket=alices, sender_email="eve@x.org", body_text="SOMEONE-ELSE"),
        MessageFactory(
            ticket=alices,
            kind=MessageKind.EMAIL_OUT,
            recipients="site-admin@grid.org",
            body_text="MAIL-TO-A-SITE",
        ),
    ]
    page = signed_in(alices.requester).get("/my/tickets/DAST-12/").content.decode()
    for message in shown:
        assert message.body_text in page
    for message in hidden:
        assert message.body_text not in page


def test_a_reply_lands_on_the_ticket_like_a_mailed_one(alices, django_capture_on_commit_callbacks):
    alices.status = Status.WAITING_ON_USER
    alices.save()
    client = signed_in(alices.requester)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/my/tickets/DAST-12/", {"body": "It works now, thanks!"})
    message = alices.messages.latest("pk")
    assert response.status_code == 302
    assert response["Location"] == f"/my/tickets/DAST-12/#m{message.pk}"
    assert message.kind == MessageKind.WEB
    assert message.sender_email == "alice@cern.ch"
    assert message.body_text == "It works now, thanks!"
    assert message.message_id
    assert events.kinds(alices, "message_received", "reopened") == ["message_received"]
    assert TicketEvent.objects.get(ticket=alices, kind="message_received").data == {
        "message": message.pk
    }
    alices.refresh_from_db()
    assert alices.status == Status.OPEN
    assert alices.unseen_reply_at is not None
    assert b"It works now, thanks!" in client.get("/my/tickets/DAST-12/").content


def test_a_reply_reopens_a_resolved_ticket(alices, django_capture_on_commit_callbacks):
    alices.status, alices.resolved_at = Status.RESOLVED, timezone.now() - timedelta(days=2)
    alices.save()
    client = signed_in(alices.requester)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/my/tickets/DAST-12/", {"body": "It broke again."})
    alices.refresh_from_db()
    assert (alices.status, alices.resolved_at, alices.reopen_count) == (Status.OPEN, None, 1)
    message = alices.messages.latest("pk")
    # Reopened first, then the message: as intake records a mailed reply.
    assert events.kinds(alices, "message_received", "reopened") == [
        "reopened",
        "message_received",
    ]
    assert TicketEvent.objects.get(ticket=alices, kind="message_received").data == {
        "message": message.pk
    }


def test_a_reply_long_after_closing_opens_a_linked_follow_up(alices):
    alices.status, alices.closed_at = Status.CLOSED, timezone.now() - timedelta(days=90)
    alices.save()
    client = signed_in(alices.requester)
    response = client.post("/my/tickets/DAST-12/", {"body": "Same problem, new task."})
    link = TicketLink.objects.get(to_ticket=alices)
    follow_up = link.from_ticket
    assert link.kind == LinkKind.FOLLOW_UP
    assert follow_up.requester == alices.requester
    assert response["Location"].startswith(f"/my/tickets/{follow_up.reference}/")
    alices.refresh_from_db()
    assert alices.status == Status.CLOSED


def test_every_form_needs_its_csrf_token(alices):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/my/signin/", {"email": "alice@cern.ch"}).status_code == 403
    token = new_link(alices.requester)
    assert strict.post(f"/my/signin/{token}/").status_code == 403
    assert RequesterSignIn.objects.get().used_at is None
    strict.cookies = signed_in(alices.requester).cookies  # signed in, still checking CSRF
    assert strict.post("/my/tickets/DAST-12/", {"body": "hi"}).status_code == 403
    assert strict.post("/my/signout/").status_code == 403
    assert alices.messages.count() == 1
    # With the token from the page it goes through.
    page = strict.get("/my/tickets/DAST-12/").content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    reply = strict.post("/my/tickets/DAST-12/", {"body": "hi", "csrfmiddlewaretoken": csrf})
    assert reply.status_code == 302


def test_sign_in_links_are_rate_limited_per_address_known_or_not(alices):
    limit = 5  # settings.RATE_LIMITS["requester-signin-email"], per hour
    for email in ("alice@cern.ch", "nobody@cern.ch"):
        answers = [
            Client(REMOTE_ADDR=f"10.0.0.{i}").post("/my/signin/", {"email": email}).status_code
            for i in range(limit + 1)
        ]
        assert answers == [302] * limit + [429]
    assert OutboundMail.objects.count() == limit


def test_sign_in_links_are_rate_limited_per_client_address(alices):
    limit = 20  # settings.RATE_LIMITS["requester-signin-ip"]
    client = Client(REMOTE_ADDR="192.0.2.7")
    answers = [
        client.post("/my/signin/", {"email": f"user{i}@cern.ch"}).status_code
        for i in range(limit + 1)
    ]
    assert answers == [302] * limit + [429]
    assert (
        Client(REMOTE_ADDR="192.0.2.8").post("/my/signin/", {"email": "x@cern.ch"}).status_code
        == 302
    )


def test_replies_are_rate_limited_per_requester(alices):
    client = signed_in(alices.requester)
    limit = 20  # settings.RATE_LIMITS["requester-reply"]
    answers = [
        client.post("/my/tickets/DAST-12/", {"body": f"reply {i}"}).status_code
        for i in range(limit + 1)
    ]
    assert answers == [302] * limit + [429]


def test_script_and_onerror_in_a_message_render_inert(alices):
    MessageFactory(
        ticket=alices,
        body_text="",
        body_html='<p>Log attached</p><script>alert("x")</script>'
        '<img src="x" onerror="alert(1)"><a href="javascript:alert(2)">click</a>',
    )
    MessageFactory(ticket=alices, body_text="<script>alert(3)</script><img src=x onerror=y>")
    response = signed_in(alices.requester).get("/my/tickets/DAST-12/")
    page = response.content.decode()
    assert "Log attached" in page
    assert "<script" not in page
    assert "<img src=x onerror" not in page
    assert 'onerror="alert(1)"' not in page
    assert "javascript:" not in page
    assert "&lt;script&gt;alert(3)&lt;/script&gt;&lt;img src=x onerror=y&gt;" in page
    assert "script-src" not in response["Content-Security-Policy"]  # so: default-src 'none'
    assert "default-src 'none'" in response["Content-Security-Policy"]


def test_signing_out_forgets_the_requester(alices):
    client = signed_in(alices.requester)
    assert client.post("/my/signout/")["Location"] == "/my/"
    assert client.get("/my/tickets/DAST-12/")["Location"] == "/my/"
    assert b"E-mail me a sign-in link" in client.get("/my/").content


def test_a_requester_sign_in_opens_no_desk_page(alices):
    client = signed_in(alices.requester)
    assert "/login/" in client.get("/tickets/")["Location"]


def test_a_ticket_merged_into_another_of_theirs_leads_there(team, alices):
    duplicate = TicketFactory(team=team, number=20, requester=alices.requester)
    duplicate.merged_into = alices
    duplicate.save()
    response = signed_in(alices.requester).get("/my/tickets/DAST-20/")
    assert response["Location"] == "/my/tickets/DAST-12/"
