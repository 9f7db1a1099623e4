"""The ticket event log: one append-only row per thing that happened to a ticket, written in
the same transaction as the change, and one delivery row per event and interested consumer
(routing, acknowledgement, timers…), claimed by a sweep and marked done with its effects."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from people.models import Team
from tickets.models.core import Ticket


class EventKind(models.TextChoices):
    OPENED = "opened", "Opened"
    MESSAGE_RECEIVED = "message_received", "Mail received"
    REPLY_SENT = "reply_sent", "Reply sent"
    NOTE_ADDED = "note_added", "Note added"
    STATUS_CHANGED = "status_changed", "Status changed"
    CATEGORY_CHANGED = "category_changed", "Category changed"
    PRIORITY_CHANGED = "priority_changed", "Priority changed"
    ASSIGNED = "assigned", "Assigned"
    MERGED = "merged", "Merged"
    LINKED = "linked", "Linked"
    REOPENED = "reopened", "Reopened"
    ESCALATED = "escalated", "Escalated"
    ESCALATION_ANSWERED = "escalation_answered", "Escalation answered"
    ESCALATION_CANCELLED = "escalation_cancelled", "Escalation cancelled"
    HANDED_OVER = "handed_over", "Handed over"
    TIMER_FIRED = "timer_fired", "Timer step"
    REQUESTER_CHANGED = "requester_changed", "Requester changed"
    # An archive import ended with the ticket still open: it needs a shifter, not an answer.
    IMPORTED_OPEN = "imported_open", "Imported, still open"


class ActorKind(models.TextChoices):
    PERSON = "person", "Person"  # a signed-in member of the desk
    REQUESTER = "requester", "Requester"
    GROUP = "group", "Expert group"
    DESK = "desk", "The desk"  # the desk itself: routing, handover, timers


class TicketEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    # Copied from the ticket so the reports read one table by team and time.
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    at = models.DateTimeField()
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A requester's address or an expert group's name: who, when it is not a desk account.
    actor_label = models.CharField(max_length=254, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["ticket", "id"], name="event_ticket_order"),
            models.Index(fields=["team", "kind", "at"], name="event_team_kind_at"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on ticket {self.ticket_id} at {self.at:%Y-%m-%d %H:%M}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"  # gave up after EVENT_MAX_ATTEMPTS; shown to admins


class EventDelivery(models.Model):
    """One event for one consumer: created with the event, claimed by the sweep, done in the
    same transaction as the consumer's effects."""

    id = models.BigAutoField(primary_key=True)
    event = models.ForeignKey(TicketEvent, on_delete=models.CASCADE, related_name="deliveries")
    consumer = models.CharField(max_length=64)
    # Copied from the event: a ticket's deliveries run in event order, per consumer.
    ticket_pk = models.BigIntegerField()
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    due_at = models.DateTimeField()
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "consumer"], name="delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["due_at", "id"],
                name="delivery_due",
                condition=Q(state="pending"),
            ),
            models.Index(
                fields=["ticket_pk", "consumer", "event"],
                name="delivery_ticket_pending",
                condition=Q(state="pending"),
            ),
        ]
        verbose_name_plural = "event deliveries"

    def __str__(self) -> str:
        return f"event {self.event_id} → {self.consumer} ({self.state})"
