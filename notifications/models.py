"""What the desk tells its people, and how: the bell's notifications, each person's
preferences, the teams' chat webhooks and their outbox, and the claim of each shift-start
digest."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from people.models import Team
from shifts.models import Zone
from tickets.models import Ticket, TicketEvent


class Kind(models.TextChoices):
    NEW_TICKET = "new_ticket", "New ticket"
    REQUESTER_REPLY = "requester_reply", "Requester's reply"
    EXPERT_REPLY = "expert_reply", "Expert's or site's answer"
    OVERDUE = "overdue", "Overdue ticket"
    SHIFT_DIGEST = "shift_digest", "Shift digest"


class Notification(models.Model):
    """One thing a person is told about a ticket, or a shift-start digest: shown by the
    bell until read."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    # The event it tells of: one notification per person and event, however often the
    # consumer runs.
    event = models.ForeignKey(
        TicketEvent, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    # Or the digest at the start of the person's shift after a gap (no ticket, no event).
    digest = models.ForeignKey(
        "ShiftDigest", on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    text = models.CharField(max_length=300)
    at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="notification_once"),
            models.UniqueConstraint(fields=["user", "digest"], name="notification_digest_once"),
            models.CheckConstraint(
                condition=Q(ticket__isnull=False, event__isnull=False)
                | Q(ticket=None, event=None, digest__isnull=False),
                name="notification_of_an_event_or_a_digest",
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "-at"], name="notification_unread", condition=Q(read_at=None)
            ),
            models.Index(fields=["user", "-at"], name="notification_user_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.user_id}: {self.text}"


class Preference(models.Model):
    """How a person wants to be told. Without a row, the defaults of the fields apply. The
    bell always shows everything."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_pref"
    )
    mail_new_ticket = models.BooleanField("Mail me about a new ticket", default=True)
    mail_requester_reply = models.BooleanField("Mail me about a requester's reply", default=True)
    # An escalation's answer and the timer that marks a ticket overdue mail the owner
    # already: these two mails would come twice.
    mail_expert_reply = models.BooleanField(
        "Mail me about an expert's or site's answer (besides the escalation's own mail)",
        default=False,
    )
    mail_overdue = models.BooleanField(
        "Mail me about an overdue ticket (besides the reminder's own mail)", default=False
    )
    browser = models.BooleanField("Show browser notifications while the desk is open", default=True)

    def __str__(self) -> str:
        return f"notification preferences of {self.user_id}"

    def wants_mail(self, kind: str) -> bool:
        return bool(getattr(self, f"mail_{kind}"))


class Flavour(models.TextChoices):
    MATTERMOST = "mattermost", "Mattermost"
    SLACK = "slack", "Slack"


class TeamWebhook(models.Model):
    """A team's chat channel (a Mattermost or Slack incoming webhook) told of new and
    overdue tickets. The webhook's address holds its secret key: like a mailbox password it
    lives in the environment, and the row names the variable."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=100)
    flavour = models.CharField(max_length=12, choices=Flavour.choices, default=Flavour.MATTERMOST)
    url_env = models.CharField(
        "URL environment variable",
        max_length=100,
        help_text="Name of the environment variable that holds the incoming webhook's URL.",
    )
    new_tickets = models.BooleanField(default=True)
    overdue = models.BooleanField(default=True)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="webhook_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.team} · {self.name}"


class PostState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class WebhookPost(models.Model):
    """One message to a team's chat webhook: written with the notification, posted by a
    sweep that claims it, retried with backoff until it is taken (the outbox's way)."""

    hook = models.ForeignKey(TeamWebhook, on_delete=models.CASCADE, related_name="posts")
    event = models.ForeignKey(TicketEvent, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    payload = models.JSONField()
    state = models.CharField(max_length=8, choices=PostState.choices, default=PostState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["hook", "event"], name="webhook_post_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_post_due",
                condition=Q(state__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.hook} ({self.state})"


class ShiftDigest(models.Model):
    """That the start of a slot (zone, day) after a gap in the cover was digested. The row
    is the claim: its unique constraint lets one process make each digest, once."""

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(help_text="The slot's local date.")
    done_at = models.DateTimeField()
    gap_from = models.DateTimeField(help_text="When the last covered shift before it ended.")
    items = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day", "zone"]
        constraints = [
            models.UniqueConstraint(fields=["zone", "day"], name="shift_digest_once_per_slot")
        ]

    def __str__(self) -> str:
        return f"{self.zone} {self.day} digest"
