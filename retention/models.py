"""A team's data retention policy."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models

from people.models import Team


class RetentionPolicy(models.Model):
    """Tickets of ``team`` closed more than ``years`` ago lose what names a person: the texts
    of their messages, the requester's name and address (once all of that requester's
    tickets are that old), the raw mail, and the attachments' files; the team's notifications
    read before then, and those about these tickets, are deleted. The tickets, their
    dates, statuses and event log stay, and so do the figures computed from them. A new
    policy is not ``active``: ``manage.py retention --dry-run`` says what it would do, and
    the nightly run only acts on active policies."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="retention_policy")
    years = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)], default=5)
    anonymise_requesters = models.BooleanField(default=True)
    delete_attachments = models.BooleanField(default=True)
    active = models.BooleanField(
        default=False, help_text="Off: nothing is changed (run the dry run to see what would be)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return f"{self.team}: {self.years} years{'' if self.active else ' (not active)'}"
