"""Teams and their people: the bottom layer. Every app may use it; it uses no app.

A person is Django's ``User``; what they are in a team is a ``Membership`` row per role.
The tables keep the names they had when these models lived in ``tickets``.
"""

from __future__ import annotations

import re
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

TICKET_PREFIX_RE = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")


def _validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/Zurich)") from None


class Team(models.Model):
    """One support team (ATLAS DAST, biomed, ...). Everything else belongs to exactly one team."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    ticket_prefix = models.CharField(
        max_length=10,
        unique=True,
        validators=[
            RegexValidator(TICKET_PREFIX_RE, "2-10 capitals or digits, starting with a letter")
        ],
        help_text="Ticket numbers read PREFIX-1234.",
    )
    support_address = models.EmailField(help_text="The address users write to, e.g. the list.")
    time_zone = models.CharField(
        max_length=64, default="Europe/Zurich", validators=[_validate_time_zone]
    )
    last_ticket_number = models.PositiveIntegerField(
        default=0, editable=False, help_text="Counter behind ticket numbers; only services move it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "tickets_team"  # made when teams lived in tickets; kept, not copied
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ticket_prefix__regex=TICKET_PREFIX_RE.pattern),
                name="team_ticket_prefix_format",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    SHIFTER = "shifter", "First-level shifter"
    TRAINEE = "trainee", "Trainee shifter"
    COORDINATOR = "coordinator", "Coordinator"
    EXPERT = "expert", "Expert"
    ADMIN = "admin", "Team admin"


# Roles whose holders work the team's queue and so see all of its tickets.
DESK_ROLES = (Role.SHIFTER, Role.TRAINEE, Role.COORDINATOR, Role.ADMIN)


class Membership(models.Model):
    """A person's role in a team. One row per role: a coordinator may also be a shifter."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "tickets_membership"  # made when teams lived in tickets; kept, not copied
        constraints = [
            models.UniqueConstraint(fields=["team", "user", "role"], name="membership_unique_role")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} in {self.team}"
