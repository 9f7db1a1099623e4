"""The core of the desk: requesters, tickets, messages, attachments (teams and their
people are the ``people`` app's).

``tickets`` knows nothing of shifts or escalation; it records what happened in the ticket
event log (``tickets.models.events``), which the other apps consume.
"""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from people.models import Team

_REFERENCE_RE = re.compile(r"^\[?([A-Za-z][A-Za-z0-9]{1,9})-(\d{1,9})\]?$")


def parse_reference(text: str) -> tuple[str, int] | None:
    """("DAST", 12) from "DAST-12", "dast-12" or "[DAST-12]"; None for anything else."""
    found = _REFERENCE_RE.match(text.strip())
    return (found.group(1).upper(), int(found.group(2))) if found else None


def new_reply_token() -> str:
    # 16 random bytes: unguessable, and short enough for the local part of an address.
    return secrets.token_hex(16)


class Requester(models.Model):
    """Someone who asks for help. Needs no account; known by their address."""

    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    bouncing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="requester_unique_email_ci"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    WAITING_ON_USER = "waiting_user", "Waiting on user"
    WAITING_ON_EXPERT = "waiting_expert", "Waiting on expert"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.WAITING_ON_USER, Status.WAITING_ON_EXPERT)


class Category(models.TextChoices):
    DATA_ACCESS = "data_access", "Rucio / data access"
    PANDA = "panda", "PanDA / JEDI"
    ATHENA = "athena", "Athena"
    SITE = "site", "Site / service"
    MONITORING = "monitoring", "Monitoring"
    ANALYSIS_TOOLS = "analysis_tools", "Analysis tools"
    AMI = "ami", "AMI"
    OTHER = "other", "Other"


class Priority(models.IntegerChoices):
    LOW = 1, "Low"
    NORMAL = 2, "Normal"
    HIGH = 3, "High"
    URGENT = 4, "Urgent"


class Tag(models.Model):
    """A free label on tickets, e.g. a Gmail label kept by the archive import."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="tag_unique_name")]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="tickets")
    number = models.PositiveIntegerField(editable=False)
    subject = models.CharField(max_length=500)
    requester = models.ForeignKey(Requester, on_delete=models.PROTECT, related_name="tickets")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.OTHER)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    # The code of the covering shift zone ("EU", "NA"); set by routing, which lives outside.
    zone = models.CharField(max_length=8, blank=True)
    after_hours = models.BooleanField(
        default=False, help_text="Arrived outside covered hours: waits for the next shift."
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    shadow = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shadowed_tickets",
        help_text="The trainee shadowing the assignee on this ticket.",
    )
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_tickets"
    )
    reply_token = models.CharField(
        max_length=32, unique=True, default=new_reply_token, editable=False
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    last_message_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveIntegerField(default=0)
    overdue_since = models.DateTimeField(
        null=True, blank=True, help_text="A response target passed without an answer."
    )
    due_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "When the desk's next target passes: the first answer while unanswered, or an "
            "escalation's next level. Kept by the escalation app's timers."
        ),
    )
    unseen_reply_at = models.DateTimeField(
        null=True, blank=True, help_text="A reply came that the owner has not opened yet."
    )
    # Kept by a PostgreSQL trigger (migration 0006); empty on SQLite, where search falls back
    # to substring matching.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["team", "number"], name="ticket_unique_number"),
            models.CheckConstraint(
                condition=~models.Q(merged_into=models.F("pk")), name="ticket_not_merged_into_self"
            ),
            models.CheckConstraint(
                condition=models.Q(first_response_at__isnull=True)
                | models.Q(first_response_at__gte=models.F("created_at")),
                name="ticket_first_response_after_creation",
            ),
        ]
        indexes = [
            models.Index(fields=["team", "status", "-created_at"], name="ticket_team_status"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
            models.Index(fields=["team", "-last_message_at"], name="ticket_team_activity"),
        ]

    def __str__(self) -> str:
        return f"[{self.reference}] {self.subject}"

    def get_absolute_url(self) -> str:
        """The ticket's page for the desk's people (relative: a mail's link is
        ``common.links.site_url(ticket)``). Needs ``team`` loaded."""
        return reverse("ticket-detail", args=[self.reference])

    def get_requester_url(self) -> str:
        """The ticket's page for its requester (/my/tickets/...)."""
        return reverse("requester-ticket", args=[self.reference])

    @property
    def reference(self) -> str:
        """The human ticket number, e.g. DAST-1234. Needs ``team`` loaded."""
        return f"{self.team.ticket_prefix}-{self.number}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class MessageKind(models.TextChoices):
    EMAIL_IN = "email_in", "Inbound email"
    EMAIL_OUT = "email_out", "Outbound email"
    WEB = "web", "Web form"
    NOTE = "note", "Internal note"
    EXPERT = "expert", "Expert reply"


class Noise(models.TextChoices):
    """Why an inbound mail must not open a ticket or be answered (mirrors the parser's)."""

    NONE = "none", "—"
    AUTO_REPLY = "auto_reply", "Auto-reply"
    BOUNCE = "bounce", "Bounce"
    BULK = "bulk", "Bulk mail"


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="messages")
    # Repeats ticket.team so that the database can hold Message-IDs unique per team.
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=MessageKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        help_text="The desk user who wrote it; empty for mail from outside.",
    )
    sender_name = models.CharField(max_length=200, blank=True)
    sender_email = models.EmailField(max_length=254, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True, help_text="Sanitised HTML, safe to display.")
    recipients = models.TextField(blank=True, help_text="To and Cc addresses, comma-separated.")
    message_id = models.CharField(max_length=998, blank=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    noise = models.CharField(max_length=16, choices=Noise.choices, default=Noise.NONE)
    unverified = models.BooleanField(
        default=False,
        help_text="Claims to answer for someone (an expert group) from another address.",
    )
    # Where quoted history and the signature start in body_text, so the page can fold them.
    quote_start = models.PositiveIntegerField(null=True, blank=True)
    signature_start = models.PositiveIntegerField(null=True, blank=True)
    raw = models.ForeignKey(
        "tickets.RawMessage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
    )
    created_at = models.DateTimeField(help_text="When it was written (the Date header for mail).")
    stored_at = models.DateTimeField(auto_now_add=True)
    search_vector = SearchVectorField(null=True, editable=False)  # see Ticket.search_vector

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "message_id"],
                condition=~models.Q(message_id=""),
                name="message_unique_message_id_per_team",
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="message_ticket_time"),
            models.Index(fields=["message_id"], name="message_message_id"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()} from {self.sender_email or self.author} on {self.ticket_id}"
        )

    @property
    def is_internal(self) -> bool:
        return self.kind == MessageKind.NOTE


def _attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name is the digest: user-supplied names never reach the filesystem.
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_id = models.CharField(max_length=255, blank=True, help_text="For inline images.")
    file = models.FileField(upload_to=_attachment_path, max_length=200, blank=True)
    dropped = models.CharField(
        max_length=200, blank=True, help_text="Why the content was not kept (size caps)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.filename


class LinkKind(models.TextChoices):
    RELATED = "related", "Related"
    FOLLOW_UP = "follow_up", "Follow-up of"


class TicketLink(models.Model):
    """A link from one ticket to another: a follow-up of a closed ticket, a related one."""

    from_ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links")
    to_ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="backlinks")
    kind = models.CharField(max_length=16, choices=LinkKind.choices, default=LinkKind.RELATED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["from_ticket", "to_ticket"], name="ticketlink_unique"),
            models.CheckConstraint(
                condition=~models.Q(from_ticket=models.F("to_ticket")),
                name="ticketlink_not_to_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_ticket_id} {self.kind} {self.to_ticket_id}"


class RefSystem(models.TextChoices):
    JIRA = "jira", "JIRA"
    GGUS = "ggus", "GGUS"


class ExternalRef(models.Model):
    """A ticket in another tracker that this one relates to (ATLASPANDA-426, GGUS 123456)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="external_refs")
    system = models.CharField(max_length=8, choices=RefSystem.choices)
    key = models.CharField(max_length=64)
    found_in = models.ForeignKey(
        "Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "system", "key"], name="external_ref_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_system_display()} {self.key}"

    @property
    def url(self) -> str:
        return settings.EXTERNAL_REF_URLS[self.system].format(key=self.key)
