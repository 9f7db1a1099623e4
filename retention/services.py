"""Applying a retention policy. One function, ``retention_apply``, for the nightly task and
the management command (and its dry run); each run is written to the audit trail."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.audit import acting_as, audit_record
from accounts.models import AuditKind, AuditVia
from notifications.models import Notification
from retention.models import RetentionPolicy
from tickets.models import Attachment, Message, RawMessage, Requester, Status, Ticket
from tickets.models.desk import RequesterSignIn

REMOVED = "[Removed under the team's data retention policy.]"
ANONYMOUS_DOMAIN = "anonymised.invalid"


@dataclass(frozen=True)
class RetentionReport:
    team: str
    cutoff: str
    dry_run: bool
    tickets: int
    messages: int
    requesters: int
    attachments: int
    attachment_bytes: int
    raw_mails: int
    notifications: int


def retention_cutoff(now: datetime, years: int) -> datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def _expired(policy: RetentionPolicy, cutoff: datetime) -> QuerySet[Ticket]:
    return Ticket.objects.filter(team=policy.team, status=Status.CLOSED, closed_at__lt=cutoff)


def _requesters(tickets: QuerySet[Ticket], cutoff: datetime) -> QuerySet[Requester]:
    """Requesters of these tickets none of whose tickets (in any team) is younger: someone
    still writing in keeps their name on their tickets."""
    younger = Ticket.objects.filter(requester=OuterRef("pk")).exclude(
        status=Status.CLOSED, closed_at__lt=cutoff
    )
    return (
        Requester.objects.filter(pk__in=tickets.values("requester_id"))
        .exclude(email__iendswith=f"@{ANONYMOUS_DOMAIN}")
        .exclude(Exists(younger))
    )


def _notifications(
    policy: RetentionPolicy, tickets: QuerySet[Ticket], cutoff: datetime
) -> QuerySet[Notification]:
    """The team's notifications that go: those read before the cutoff (a ticket's, or a
    shift digest's), and any about a ticket the policy has expired (their text names the
    requester)."""
    team = policy.team
    of_team = Q(ticket__team=team) | Q(ticket=None, digest__zone__team=team)
    return Notification.objects.filter(
        (of_team & Q(read_at__lt=cutoff)) | Q(ticket__in=tickets.values("pk"))
    )


def retention_apply(*, policy: RetentionPolicy, now: datetime, dry_run: bool) -> RetentionReport:
    """What ``policy`` removes as of ``now`` (counted; changed unless ``dry_run``). Runs again
    change nothing: what was removed is not counted twice."""
    cutoff = retention_cutoff(now, policy.years)
    tickets = _expired(policy, cutoff)
    messages = Message.objects.filter(ticket__in=tickets).exclude(
        body_text=REMOVED, body_html="", sender_name="", recipients=""
    )
    raw = RawMessage.objects.filter(
        pk__in=Message.objects.filter(ticket__in=tickets, raw__isnull=False).values("raw_id")
    ).exclude(raw=b"")
    attachments = Attachment.objects.filter(message__ticket__in=tickets).exclude(file="")
    requesters = _requesters(tickets, cutoff)
    notifications = _notifications(policy, tickets, cutoff)
    anonymise = policy.anonymise_requesters
    with transaction.atomic():
        files = list(attachments.values_list("pk", "size")) if policy.delete_attachments else []
        report = RetentionReport(
            team=policy.team.slug,
            cutoff=cutoff.isoformat(),
            dry_run=dry_run,
            tickets=tickets.count(),
            messages=messages.count() if anonymise else 0,
            requesters=requesters.count() if anonymise else 0,
            attachments=len(files),
            attachment_bytes=sum(size for _, size in files),
            raw_mails=raw.count() if anonymise else 0,
            notifications=notifications.count(),
        )
        if not dry_run:
            notifications.delete()
            if anonymise:
                _anonymise(messages, raw, requesters)
            if policy.delete_attachments:
                _delete_files(Attachment.objects.filter(pk__in=[pk for pk, _ in files]))
        with acting_as(AuditVia.SYSTEM):
            audit_record(
                kind=AuditKind.RETENTION,
                subject=f"{policy.team.slug}: {'dry run' if dry_run else 'applied'}",
                data=asdict(report),
            )
    return report


def _anonymise(
    messages: QuerySet[Message], raw: QuerySet[RawMessage], requesters: QuerySet[Requester]
) -> None:
    messages.update(
        body_text=REMOVED,
        body_html="",
        sender_name="",
        recipients="",
        quote_start=None,
        signature_start=None,
    )
    # The raw mail row stays (it is what keeps a mail in the mailbox from being taken in
    # again); its bytes go.
    RawMessage.objects.filter(pk__in=list(raw.values_list("pk", flat=True))).update(raw=b"")
    for requester in list(requesters):
        anonymous = f"anonymised-{requester.pk}@{ANONYMOUS_DOMAIN}"
        Message.objects.filter(ticket__requester=requester).filter(
            Q(sender_email__iexact=requester.email)
        ).update(sender_email=anonymous)
        RequesterSignIn.objects.filter(requester=requester).delete()
        requester.email, requester.name, requester.bouncing_since = anonymous, "", None
        requester.save(update_fields=["email", "name", "bouncing_since"])


def _delete_files(attachments: QuerySet[Attachment]) -> None:
    ids = [a.pk for a in attachments]
    for attachment in attachments:
        name, storage = attachment.file.name, attachment.file.storage
        # Files are stored by digest: the same file attached to a younger ticket stays.
        if Attachment.objects.filter(file=name).exclude(pk__in=ids).exists():
            continue
        # Removed after commit: a rolled-back run leaves every file in place.
        transaction.on_commit(partial(storage.delete, name))
    Attachment.objects.filter(pk__in=ids).update(
        file="", dropped="Deleted under the team's data retention policy."
    )


def retention_run(
    *, now: datetime, dry_run: bool, team_slug: str | None = None
) -> list[RetentionReport]:
    """Every policy (or the team's): the nightly task acts on active ones only; a dry run
    looks at all."""
    policies = RetentionPolicy.objects.select_related("team").order_by("team__slug")
    if team_slug:
        policies = policies.filter(team__slug=team_slug)
    if not dry_run:
        policies = policies.filter(active=True)
    return [retention_apply(policy=p, now=now, dry_run=dry_run) for p in policies]
