"""Mail in and out: the mailboxes the desk reads, every raw message it received, the outbox."""

from __future__ import annotations

import os
import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, validate_email
from django.db import models

from people.models import Team
from tickets.models.core import Ticket

ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def _validate_addresses(value: str) -> None:
    for address in split_addresses(value):
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(f"{address!r} is not an e-mail address") from None


def split_addresses(value: str) -> list[str]:
    return [part.strip().lower() for part in value.replace(";", ",").split(",") if part.strip()]


class MailboxSecurity(models.TextChoices):
    TLS = "tls", "TLS (IMAPS, port 993)"
    STARTTLS = "starttls", "STARTTLS (port 143)"
    NONE = "none", "None (loopback and tests only)"


class Mailbox(models.Model):
    """An IMAP mailbox the desk reads for one team. The password stays in the environment."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="mailboxes")
    name = models.CharField(max_length=100)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    security = models.CharField(
        max_length=10, choices=MailboxSecurity.choices, default=MailboxSecurity.TLS
    )
    username = models.CharField(max_length=255)
    password_env = models.CharField(
        max_length=100,
        validators=[RegexValidator(ENV_NAME_RE, "an environment variable name, e.g. DAST_IMAP_PW")],
        help_text="Name of the environment variable that holds the password (never the password).",
    )
    folder = models.CharField(max_length=255, default="INBOX")
    processed_folder = models.CharField(
        max_length=255, blank=True, help_text="Move processed mail here; empty: only flag it."
    )
    addresses = models.TextField(
        validators=[_validate_addresses],
        help_text="The team's own addresses at this mailbox, comma-separated; the first one "
        "sends replies, plus-addressed with the ticket's token (support+TOKEN@...).",
    )
    active = models.BooleanField(default=True)
    # Fetch state: the folder's UIDVALIDITY and the highest UID stored under it.
    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)
    # A lease, so that two fetchers never work the same mailbox.
    lease_owner = models.CharField(max_length=100, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_fetch_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["team", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="mailbox_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.username}@{self.host})"

    @property
    def address_list(self) -> list[str]:
        return split_addresses(self.addresses)

    def password(self) -> str:
        value = os.environ.get(self.password_env)
        if value is None:
            raise LookupError(f"mailbox {self.name!r}: ${self.password_env} is not set")
        return value


class RawSource(models.TextChoices):
    IMAP = "imap", "IMAP"
    IMPORT = "import", "Archive import"
    API = "api", "API"


class RawState(models.TextChoices):
    NEW = "new", "Stored, not yet processed"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored (noise, own mail)"
    FAILED = "failed", "Failed: kept raw, needs a look"
    DUPLICATE = "duplicate", "Duplicate of an earlier delivery"


class RawMessage(models.Model):
    """A message exactly as it arrived, stored before anything else is done with it.

    Every delivery is a row (each IMAP UID, each file or mbox entry): a second copy of a mail
    is kept too, marked duplicate and pointing at the row it repeats. A mail is the same mail
    when its bytes are, or when its Message-ID and its content fingerprint (sender, date,
    subject and body, without what a list adds) are; a different mail that reuses a
    Message-ID is filed as a mail of its own."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="raw_messages")
    source = models.CharField(max_length=8, choices=RawSource.choices, default=RawSource.IMAP)
    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.PROTECT, null=True, blank=True, related_name="raw_messages"
    )
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    uid = models.BigIntegerField(null=True, blank=True)
    origin = models.CharField(
        max_length=500, blank=True, help_text="For imports: the file and position it came from."
    )
    message_id = models.CharField(max_length=998, blank=True)
    sha256 = models.CharField(max_length=64)
    fingerprint = models.CharField(
        max_length=64, blank=True, help_text="Digest of sender, date, subject and body."
    )
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="duplicates"
    )
    size = models.PositiveBigIntegerField()
    oversize = models.BooleanField(
        default=False, help_text="Larger than MAIL_MAX_RAW_BYTES: kept whole, read up to it."
    )
    raw = models.BinaryField()
    state = models.CharField(max_length=10, choices=RawState.choices, default=RawState.NEW)
    note = models.TextField(blank=True, help_text="Why it was ignored or failed.")
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "uidvalidity", "uid"],
                condition=models.Q(mailbox__isnull=False),
                name="raw_unique_mailbox_uid",
            ),
            # An import run again skips what it stored: the same bytes at the same place.
            models.UniqueConstraint(
                fields=["team", "origin", "sha256"],
                condition=models.Q(source="import"),
                name="raw_unique_import_position",
            ),
        ]
        indexes = [
            models.Index(
                fields=["team", "message_id"],
                name="raw_message_id",
                condition=~models.Q(message_id=""),
            ),
            models.Index(fields=["team", "sha256"], name="raw_sha256"),
            models.Index(
                fields=["team", "fingerprint"],
                name="raw_fingerprint",
                condition=~models.Q(fingerprint=""),
            ),
            models.Index(
                fields=["state", "received_at"],
                name="raw_pending",
                condition=models.Q(state__in=["new", "failed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.message_id or self.sha256[:12]} ({self.state})"


class OutboundKind(models.TextChoices):
    ACKNOWLEDGEMENT = "ack", "Acknowledgement"
    REPLY = "reply", "Reply"
    NOTIFICATION = "notification", "Notification"
    ESCALATION = "escalation", "Escalation to a group"
    SIGN_IN = "sign_in", "Sign-in link (body removed once sent)"


class OutboundState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Gave up"


class OutboundMail(models.Model):
    """The outbox: written in the same transaction as what it announces, sent after commit."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="outbound_mail")
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="outbound_mail"
    )
    kind = models.CharField(max_length=16, choices=OutboundKind.choices)
    from_address = models.CharField(max_length=500)
    reply_to = models.CharField(max_length=500, blank=True)
    to = models.TextField(help_text="Comma-separated.")
    cc = models.TextField(blank=True)
    subject = models.CharField(max_length=500)
    body_text = models.TextField()
    message_id = models.CharField(max_length=998, unique=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    automatic = models.BooleanField(
        default=False, help_text="Sent with Auto-Submitted: auto-replied."
    )
    state = models.CharField(
        max_length=8, choices=OutboundState.choices, default=OutboundState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outbound_due",
                condition=models.Q(state__in=["pending", "sending"]),
            ),
            models.Index(fields=["to", "kind", "created_at"], name="outbound_rate"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to}: {self.subject}"


class ThreadReference(models.Model):
    """A Message-ID that a ticket's mail answers or refers to (In-Reply-To, References) and
    the desk did not have when it filed that mail: when the mail it names arrives late (its
    reply came first), it joins this ticket instead of opening another."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=998)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "message_id"], name="thread_ref_once"),
        ]
        indexes = [models.Index(fields=["team", "message_id"], name="thread_ref_lookup")]

    def __str__(self) -> str:
        return f"{self.message_id} → ticket {self.ticket_id}"
