"""Rollups of the ticket event log, kept by the ``reports`` consumer (reports/consumers.py)
and rebuilt from the log by ``manage.py reports_rebuild``: the reports read these rows, never
every message. And the claim that makes the weekly figures mail go out once per team and week.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from people.models import Team
from tickets.models import Requester, Ticket


class TicketFigures(models.Model):
    """One ticket's durations, in covered hours (the zones' shift hours)."""

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, primary_key=True, related_name="figures"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    requester = models.ForeignKey(Requester, on_delete=models.CASCADE, related_name="+")
    opened_at = models.DateTimeField()
    channel = models.CharField(max_length=16, blank=True)
    zone = models.CharField(max_length=8, blank=True)
    category = models.CharField(max_length=16)
    shifter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    first_response_at = models.DateTimeField(null=True, blank=True)
    first_response_s = models.PositiveIntegerField(
        null=True, blank=True, help_text="Covered seconds from opening to the first answer."
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_s = models.PositiveIntegerField(
        null=True, blank=True, help_text="Covered seconds from opening to the last resolution."
    )
    reopen_count = models.PositiveIntegerField(default=0)
    merged = models.BooleanField(default=False)
    sites = models.JSONField(default=list, blank=True, help_text="Sites the opening mail names.")
    timeline = models.JSONField(default=list, blank=True, help_text="[instant, status] changes.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "ticket figures"
        indexes = [
            models.Index(fields=["team", "opened_at"], name="figures_team_opened"),
            models.Index(fields=["team", "resolved_at"], name="figures_team_resolved"),
        ]

    def __str__(self) -> str:
        return f"figures of ticket {self.ticket_id}"


class EscalationFigures(models.Model):
    """One escalation's wait for an answer, in working hours, and the steps its timer ran."""

    escalation_id = models.BigIntegerField(primary_key=True)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    group_id = models.BigIntegerField(null=True, blank=True)
    group_name = models.CharField(max_length=200)
    group_kind = models.CharField(max_length=8, blank=True)
    cloud_id = models.BigIntegerField(null=True, blank=True)
    escalated_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    wait_s = models.PositiveIntegerField(null=True, blank=True)
    reminders = models.PositiveSmallIntegerField(default=0)
    next_levels = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name_plural = "escalation figures"
        indexes = [models.Index(fields=["team", "escalated_at"], name="escfigures_team_at")]

    def __str__(self) -> str:
        return f"figures of escalation {self.escalation_id}"


class WeeklyMail(models.Model):
    """The claim on one team's figures mail of one week: the unique row lets one beat (or
    worker) send it, once."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    week = models.DateField(help_text="The Monday (team time) the mail was due.")
    sent_at = models.DateTimeField()
    recipients = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "week"], name="weekly_mail_once"),
        ]

    def __str__(self) -> str:
        return f"{self.team} figures of {self.week}"
