"""A team's retention policy: tickets closed more than N years ago lose their texts, raw
mail and attachment files, and their requesters their name and address (once all of their
tickets are that old); tickets, dates, statuses and events stay for the figures. A dry run
says what would go and changes nothing; every run is in the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.management import call_command

from accounts.models import AuditEntry, AuditKind
from retention.models import RetentionPolicy
from retention.services import REMOVED, retention_cutoff
from retention.tasks import retention_task
from tests.factories import MessageFactory, RequesterFactory, TeamFactory, TicketFactory
from tickets.models import Attachment, Message, RawMessage, Requester, Status, Ticket

NOW = datetime(2025, 6, 2, 3, 0, tzinfo=UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.frozen_at(NOW)]


def attach(message, content: bytes, name="log.txt"):
    import hashlib

    digest = hashlib.sha256(content).hexdigest()
    item = Attachment(message=message, filename=name, size=len(content), sha256=digest)
    item.file.save(name, ContentFile(content), save=True)
    return item


@pytest.fixture
def desk(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    policy = RetentionPolicy.objects.create(team=team, years=3, active=True)
    gone = RequesterFactory(email="gone@cern.ch", name="Gone Person")
    active = RequesterFactory(email="active@cern.ch", name="Still Here")
    old = TicketFactory(
        team=team,
        requester=gone,
        status=Status.CLOSED,
        created_at=datetime(2021, 1, 4, tzinfo=UTC),
        closed_at=datetime(2021, 2, 1, tzinfo=UTC),
    )
    raw = RawMessage.objects.create(team=team, sha256="0" * 64, size=5, raw=b"From: gone")
    question = MessageFactory(ticket=old, sender_name="Gone Person", body_text="my jobs", raw=raw)
    old_file = attach(question, b"private log")
    shared_old = attach(question, b"shared content", "shared.txt")
    # The active requester: an old closed ticket and a recent one.
    their_old = TicketFactory(
        team=team,
        requester=active,
        status=Status.CLOSED,
        created_at=datetime(2020, 1, 6, tzinfo=UTC),
        closed_at=datetime(2020, 3, 2, tzinfo=UTC),
    )
    MessageFactory(ticket=their_old, sender_name="Still Here", body_text="old question")
    recent = TicketFactory(team=team, requester=active, status=Status.OPEN)
    recent_message = MessageFactory(ticket=recent, body_text="new question")
    shared_recent = attach(recent_message, b"shared content", "shared.txt")
    # Closed, but not long enough ago.
    young = TicketFactory(
        team=team,
        status=Status.CLOSED,
        created_at=datetime(2023, 1, 2, tzinfo=UTC),
        closed_at=datetime(2023, 1, 9, tzinfo=UTC),
    )
    MessageFactory(ticket=young, body_text="young question")
    return type("Desk", (), locals())


def test_the_cutoff_is_n_years_back_even_from_a_leap_day():
    assert retention_cutoff(datetime(2024, 2, 29, tzinfo=UTC), 3) == datetime(
        2021, 2, 28, tzinfo=UTC
    )


def test_a_dry_run_reports_what_would_go_and_changes_nothing(desk):
    out = StringIO()
    call_command("retention", "--dry-run", stdout=out)
    assert out.getvalue().strip() == (
        "dast: tickets closed before 2022-06-02: 2; would remove the texts of 2 messages and "
        "1 raw mails, anonymise 1 requesters, delete 2 attachment files (25 bytes) and 0 "
        "notifications."
    )
    assert Message.objects.filter(body_text=REMOVED).count() == 0
    assert Requester.objects.get(pk=desk.gone.pk).email == "gone@cern.ch"
    assert desk.old_file.file.storage.exists(desk.old_file.file.name)
    [entry] = AuditEntry.objects.filter(kind=AuditKind.RETENTION)
    assert entry.data["dry_run"] is True
    assert entry.subject == "dast: dry run"


def test_the_nightly_run_anonymises_old_tickets_and_keeps_the_figures(
    desk, django_capture_on_commit_callbacks
):
    events_before = Ticket.objects.get(pk=desk.old.pk).events.count()
    with django_capture_on_commit_callbacks(execute=True):
        retention_task.apply()
    question = Message.objects.get(pk=desk.question.pk)
    assert (question.body_text, question.sender_name) == (REMOVED, "")
    assert question.sender_email == f"anonymised-{desk.gone.pk}@anonymised.invalid"
    assert bytes(RawMessage.objects.get(pk=desk.raw.pk).raw) == b""
    gone = Requester.objects.get(pk=desk.gone.pk)
    assert (gone.email, gone.name) == (f"anonymised-{desk.gone.pk}@anonymised.invalid", "")
    # Still writing in: their name stays, their old ticket's texts go.
    assert Requester.objects.get(pk=desk.active.pk).name == "Still Here"
    assert Message.objects.get(ticket=desk.their_old).body_text == REMOVED
    assert Message.objects.get(ticket=desk.recent).body_text == "new question"
    assert Message.objects.get(ticket=desk.young).body_text == "young question"
    # Attachments: the file goes, name and size stay; a file a younger ticket shares stays.
    old_file = Attachment.objects.get(pk=desk.old_file.pk)
    assert (old_file.file.name, old_file.filename, old_file.size) == ("", "log.txt", 11)
    assert not desk.old_file.file.storage.exists(desk.old_file.file.name)
    assert desk.shared_recent.file.storage.exists(desk.shared_recent.file.name)
    # The figures' material stays.
    old = Ticket.objects.get(pk=desk.old.pk)
    assert (old.status, old.closed_at) == (Status.CLOSED, datetime(2021, 2, 1, tzinfo=UTC))
    assert old.events.count() == events_before
    [entry] = AuditEntry.objects.filter(kind=AuditKind.RETENTION)
    assert (entry.data["dry_run"], entry.data["requesters"], entry.via) == (False, 1, "system")


def test_a_second_run_finds_nothing_more_to_do(desk):
    retention_task.apply()
    out = StringIO()
    call_command("retention", "--dry-run", stdout=out)
    assert "remove the texts of 0 messages and 0 raw mails, anonymise 0 requesters, delete 0" in (
        out.getvalue()
    )


def test_an_inactive_policy_changes_nothing_at_night(desk):
    RetentionPolicy.objects.filter(pk=desk.policy.pk).update(active=False)
    retention_task.apply()
    assert Message.objects.get(pk=desk.question.pk).body_text == "my jobs"
    assert not AuditEntry.objects.filter(kind=AuditKind.RETENTION).exists()


def test_the_beat_runs_retention_in_a_block_of_its_own():
    entry = django_settings.CELERY_BEAT_SCHEDULE["retention"]
    assert entry["task"] == "retention.tasks.retention_task"
    assert entry["schedule"] == float(django_settings.RETENTION_INTERVAL_S)


def test_read_notifications_older_than_the_period_go_with_those_of_expired_tickets(desk):
    from datetime import date, time

    from notifications.models import Kind, Notification, ShiftDigest
    from shifts.models import Zone
    from tests.factories import UserFactory
    from tickets.models.events import ActorKind, EventKind, TicketEvent

    anna = UserFactory(username="anna")

    def told(ticket, at: datetime, *, read: bool) -> Notification:
        event = TicketEvent.objects.create(
            ticket=ticket,
            team=ticket.team,
            kind=EventKind.OPENED,
            at=at,
            actor_kind=ActorKind.DESK,
        )
        return Notification.objects.create(
            user=anna,
            ticket=ticket,
            event=event,
            kind=Kind.NEW_TICKET,
            text=f"New ticket {ticket.reference} from Jane Doe",
            at=at,
            read_at=at if read else None,
        )

    old_read = told(desk.recent, datetime(2021, 5, 3, tzinfo=UTC), read=True)
    old_unread = told(desk.recent, datetime(2021, 5, 3, tzinfo=UTC), read=False)
    young_read = told(desk.recent, datetime(2024, 5, 6, tzinfo=UTC), read=True)
    expired_unread = told(desk.old, datetime(2021, 1, 4, tzinfo=UTC), read=False)
    zone = Zone.objects.create(team=desk.team, code="EU", name="Europe", starts_at=time(8))
    digest = ShiftDigest.objects.create(
        zone=zone,
        day=date(2021, 5, 3),
        done_at=datetime(2021, 5, 3, 6, tzinfo=UTC),
        gap_from=datetime(2021, 4, 30, 14, tzinfo=UTC),
    )
    old_digest = Notification.objects.create(
        user=anna,
        digest=digest,
        kind=Kind.SHIFT_DIGEST,
        text="Since the last shift: 1 new tickets",
        at=datetime(2021, 5, 3, 6, tzinfo=UTC),
        read_at=datetime(2021, 5, 3, 7, tzinfo=UTC),
    )
    other_team = TicketFactory(team=TeamFactory(slug="biomed", ticket_prefix="BIO"))
    elsewhere = told(other_team, datetime(2021, 5, 3, tzinfo=UTC), read=True)

    out = StringIO()
    call_command("retention", "--dry-run", stdout=out)
    assert out.getvalue().splitlines()[0].endswith("(25 bytes) and 3 notifications.")
    assert Notification.objects.count() == 6

    retention_task.apply()
    assert set(Notification.objects.values_list("pk", flat=True)) == {
        old_unread.pk,  # not read yet: its owner still has to see it
        young_read.pk,
        elsewhere.pk,  # biomed has no policy
    }
    assert {old_read.pk, expired_unread.pk, old_digest.pk}.isdisjoint(
        Notification.objects.values_list("pk", flat=True)
    )
    [entry] = AuditEntry.objects.filter(kind=AuditKind.RETENTION, subject="dast: applied")
    assert entry.data["notifications"] == 3
