"""What the desk's people and requesters work with beside the thread: canned answers,
trainees' replies waiting for approval, and requesters' one-time sign-in links."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from people.models import Team
from tickets.models.core import Category, Message, Requester, Ticket


class CannedAnswer(models.Model):
    """A short answer to a known problem ("lost heartbeat", "dataset not found"), kept by the
    coordinators; a shifter inserts it into a reply and edits it before sending."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="canned_answers")
    title = models.CharField(max_length=120)
    category = models.CharField(max_length=16, choices=Category.choices, blank=True)
    body = models.TextField()
    uses = models.PositiveIntegerField(default=0, help_text="How often it was inserted.")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team", "category", "title"]
        constraints = [
            models.UniqueConstraint("team", Lower("title"), name="canned_answer_unique_title_ci")
        ]

    def __str__(self) -> str:
        return self.title


class DraftState(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    SENT = "sent", "Approved and sent"
    REJECTED = "rejected", "Sent back"


class ReplyDraft(models.Model):
    """A trainee's reply held for the shadowed shifter's approval; approving sends it as the
    trainee's reply (``message``)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="drafts")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reply_drafts"
    )
    body_text = models.TextField()
    state = models.CharField(max_length=10, choices=DraftState.choices, default=DraftState.PENDING)
    created_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True, help_text="Why it was sent back.")
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Draft by {self.author_id} on {self.ticket_id} ({self.state})"


class RequesterSignIn(models.Model):
    """A one-time sign-in link mailed to a requester. Only the SHA-256 of the token is
    stored, so a database read does not give anyone a working link."""

    requester = models.ForeignKey(Requester, on_delete=models.CASCADE, related_name="sign_ins")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["requester", "created_at"], name="signin_requester_time")]

    def __str__(self) -> str:
        return f"Sign-in link for {self.requester_id}"
