"""The shift calendar: zones and their covered hours, closures, and bookings of people on slots.

A slot is (zone, date): the zone's covered hours on that local date. It is not stored; a
booking puts one person on one slot with a role.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from people.models import Team


class Zone(models.Model):
    """A time zone of shifts (EU 08:00-16:00, NA 16:00-24:00 Geneva time, Monday-Friday)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="zones")
    code = models.CharField(
        max_length=8, validators=[RegexValidator(r"^[A-Z]{2,8}$", "2-8 capital letters")]
    )
    name = models.CharField(max_length=100)
    starts_at = models.TimeField(help_text="Local start, in the team's time zone.")
    duration_minutes = models.PositiveIntegerField(
        default=480,
        validators=[MinValueValidator(15), MaxValueValidator(24 * 60)],
        help_text="Real minutes covered, also across a daylight-saving change.",
    )
    weekdays = models.CharField(
        max_length=7,
        default="12345",
        validators=[RegexValidator(r"^[1-7]{1,7}$", "ISO weekdays, 1=Monday ... 7=Sunday")],
    )
    coordinator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="coordinated_zones",
    )

    class Meta:
        ordering = ["team", "starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["team", "code"], name="zone_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.team.ticket_prefix} {self.code}"

    def covers_weekday(self, day: date) -> bool:
        return str(day.isoweekday()) in self.weekdays

    @property
    def hours_label(self) -> str:
        """Local hours as people say them: "16:00-24:00", days "Mon-Fri"."""
        start = self.starts_at.hour * 60 + self.starts_at.minute
        end = start + self.duration_minutes
        end_text = "24:00" if end == 24 * 60 else f"{end // 60 % 24:02d}:{end % 60:02d}"
        names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        days = sorted(int(d) for d in self.weekdays)
        if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
            day_text = f"{names[days[0] - 1]}\u2013{names[days[-1] - 1]}"
        else:
            day_text = ", ".join(names[d - 1] for d in days)
        return f"{self.starts_at:%H:%M}\u2013{end_text} {day_text}"


class Closure(models.Model):
    """Days without shifts for a team (end-of-year shutdown, ...), both ends included."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="closures")
    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="closure_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reason} ({self.starts_on} to {self.ends_on})"


class ShiftRole(models.TextChoices):
    FIRST_LEVEL = "first_level", "First level"
    TRAINEE = "trainee", "Trainee"


class Booking(models.Model):
    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="bookings")
    day = models.DateField()
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shift_bookings"
    )
    role = models.CharField(max_length=16, choices=ShiftRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day", "zone"]
        constraints = [
            models.UniqueConstraint(fields=["zone", "day", "person"], name="booking_unique_person"),
        ]
        indexes = [models.Index(fields=["zone", "day"], name="booking_zone_day")]

    def __str__(self) -> str:
        return f"{self.person} {self.get_role_display()} {self.zone} {self.day}"


class SwapState(models.TextChoices):
    PENDING = "pending", "Waiting for an answer"
    APPROVAL = "approval", "Waiting for a coordinator"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    REFUSED = "refused", "Refused by a coordinator"
    CANCELLED = "cancelled", "Withdrawn"


# A swap in these states still holds its booking: no second request for it meanwhile.
SWAP_OPEN_STATES = (SwapState.PENDING, SwapState.APPROVAL)


class SwapRequest(models.Model):
    """A shifter asks another to take their booking, optionally taking one of theirs in
    return. The other accepts or declines; coordinators see every request. When the team's
    swaps need approval (``ShiftSettings``), an accepted request waits for a coordinator,
    and the bookings change hands only when one approves."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="swap_requests")
    offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="swaps_offered"
    )
    asked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="swaps_asked"
    )
    in_return = models.ForeignKey(
        Booking,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="swap_returns",
        help_text="The asked shifter's booking the asker takes; empty for a plain hand-over.",
    )
    note = models.CharField(max_length=300, blank=True)
    state = models.CharField(max_length=10, choices=SwapState.choices, default=SwapState.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the asked shifter accepted."
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="swaps_approved",
        help_text="The coordinator who approved or refused it, when the team asks for that.",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["booking"],
                condition=models.Q(state__in=["pending", "approval"]),
                name="swap_one_open_per_booking",
            )
        ]

    def __str__(self) -> str:
        return f"{self.offered_by} -> {self.asked}: {self.booking} ({self.state})"


class CoverageAlert(models.Model):
    """That the coordinator was told about an uncovered slot on a given day: at most once
    per slot a day, whatever the number of beat processes."""

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="coverage_alerts")
    day = models.DateField()
    alerted_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "day", "alerted_on"], name="coverage_alert_once_a_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.zone} {self.day} alerted {self.alerted_on}"


class CalendarFeed(models.Model):
    """The secret of a private iCal feed: one per person, one per zone. Replacing the token
    revokes every copy of the old URL."""

    token = models.CharField(max_length=64, unique=True)
    person = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="calendar_feed",
    )
    zone = models.OneToOneField(
        Zone, on_delete=models.CASCADE, null=True, blank=True, related_name="calendar_feed"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(person__isnull=True, zone__isnull=False)
                | models.Q(person__isnull=False, zone__isnull=True),
                name="feed_person_or_zone",
            )
        ]

    def __str__(self) -> str:
        return f"feed of {self.person or self.zone}"


class ShiftSettings(models.Model):
    """How a team runs its calendar; a team without a row has the defaults."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="shift_settings")
    swaps_need_approval = models.BooleanField(
        default=False,
        help_text="An accepted swap waits for a coordinator's approval before the bookings "
        "change hands.",
    )

    class Meta:
        verbose_name_plural = "shift settings"

    def __str__(self) -> str:
        return f"shift settings of {self.team}"


class RotationRule(models.Model):
    """A line of a zone's rotation: "Anna, first level, every Monday". A coordinator applies
    the rotation to a month; the rule itself books nothing."""

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="rotation_rules")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rotation_rules"
    )
    role = models.CharField(max_length=16, choices=ShiftRole.choices)
    weekdays = models.CharField(
        max_length=7,
        validators=[RegexValidator(r"^[1-7]{1,7}$", "ISO weekdays, 1=Monday ... 7=Sunday")],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["zone", "person__first_name", "person__username"]
        constraints = [
            models.UniqueConstraint(fields=["zone", "person"], name="rotation_one_rule_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.zone} {self.weekdays}"

    @property
    def weekday_set(self) -> frozenset[int]:
        return frozenset(int(d) for d in self.weekdays)

    @property
    def weekdays_label(self) -> str:
        names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        return ", ".join(names[int(d) - 1] for d in self.weekdays)
