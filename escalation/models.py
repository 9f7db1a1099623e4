"""Who the desk escalates to (expert groups and cloud/site support contacts), and the record
of shift handovers."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from people.models import Team, WorkingCalendar
from tickets.models import ExternalRef, Message, OutboundMail, Ticket


class GroupKind(models.TextChoices):
    EXPERT = "expert", "Expert group"
    CLOUD = "cloud", "Cloud support"
    SITE = "site", "Site support"


def default_target_hours(kind: str) -> int:
    """The response target of a new group: experts one working day, clouds and sites two."""
    if kind == GroupKind.EXPERT:
        return int(settings.EXPERT_TARGET_HOURS)
    return int(settings.SITE_TARGET_HOURS)


class NextLevel(models.TextChoices):
    GROUP = "group", "The next-level group"
    ZONE = "zone", "The zone's coordinator"
    TEAM = "team", "The team's coordinators"
    NONE = "none", "Nobody"


class ExpertGroup(models.Model):
    """An expert group (PanDA/JEDI, Rucio/DDM, ...) or a cloud or site support contact."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="expert_groups")
    kind = models.CharField(max_length=8, choices=GroupKind.choices, default=GroupKind.EXPERT)
    name = models.CharField(max_length=100)
    email = models.EmailField()
    cloud = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sites",
        limit_choices_to={"kind": GroupKind.CLOUD},
        help_text="For a site: the cloud it belongs to.",
    )
    response_target_hours = models.PositiveIntegerField(
        default=8, help_text="Working hours before a reminder (experts 8 = 1 day, sites 16)."
    )
    next_level = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who hears when this group stays silent.",
    )
    next_level_kind = models.CharField(
        max_length=16,
        choices=NextLevel.choices,
        default=NextLevel.ZONE,
        help_text="Who hears when this group stays silent past the next-level threshold.",
    )
    remind_percent = models.PositiveSmallIntegerField(
        default=100, help_text="Remind the group at this percent of the target."
    )
    next_level_percent = models.PositiveSmallIntegerField(
        default=200, help_text="Escalate to the next level at this percent of the target."
    )
    reply_addresses = models.TextField(
        blank=True,
        help_text="Other addresses (or @domains) whose replies count as the group's, one a line.",
    )
    calendar = models.ForeignKey(
        WorkingCalendar,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=(
            "The group's own working days and hours; empty: a site uses its cloud's, "
            "everyone else the team's."
        ),
    )
    active = models.BooleanField(default=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="expert_groups",
        help_text="Experts with an account: they may read the tickets escalated to the group.",
    )

    class Meta:
        ordering = ["team", "kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "kind", "name"], name="expertgroup_unique_name"
            ),
            models.CheckConstraint(
                condition=models.Q(cloud__isnull=True) | models.Q(kind="site"),
                name="expertgroup_only_sites_have_a_cloud",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def clean(self) -> None:
        super().clean()
        if self.calendar is not None and self.calendar.team_id != self.team_id:
            raise ValidationError({"calendar": "Choose one of this team's calendars."})

    @property
    def calendar_in_force_id(self) -> int | None:
        """The calendar its targets count in: its own, else (a site) its cloud's; None: the
        team's."""
        if self.calendar_id is None and self.cloud_id is not None:
            assert self.cloud is not None
            return self.cloud.calendar_id
        return self.calendar_id

    def speaks_for(self, address: str) -> bool:
        """Whether a reply from ``address`` counts as the group's answer."""
        address = address.strip().lower()
        if not address:
            return False
        if address == self.email.lower():
            return True
        for line in self.reply_addresses.lower().split():
            if line == address or (line.startswith("@") and address.endswith(line)):
                return True
        return False


class EscalationState(models.TextChoices):
    WAITING = "waiting", "Waiting for an answer"
    ANSWERED = "answered", "Answered"
    CANCELLED = "cancelled", "Cancelled"


class Escalation(models.Model):
    """A shifter asked a group (or waits on another tracker's ticket) about a ticket. The
    group's reply address carries ``token``; its policy is copied here when it is made, so
    a later change of the group's policy applies to new escalations only."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="escalations")
    group = models.ForeignKey(
        ExpertGroup, on_delete=models.PROTECT, null=True, blank=True, related_name="escalations"
    )
    external_ref = models.ForeignKey(
        ExternalRef, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="next_levels",
        help_text="For a next level: the escalation whose silence it follows.",
    )
    label = models.CharField(
        max_length=200,
        blank=True,
        help_text="Who a next level without a group is: the coordinators.",
    )
    addresses = models.TextField(
        blank=True,
        help_text="For a next level without a group: who was mailed; their replies answer it.",
    )
    calendar = models.ForeignKey(
        WorkingCalendar,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The calendar its target counts in (the group's when made); empty: the team's.",
    )
    note = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    token = models.CharField(max_length=32, unique=True, editable=False)
    message_id = models.CharField(max_length=998, blank=True)
    outbound = models.ForeignKey(
        OutboundMail, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state = models.CharField(
        max_length=10, choices=EscalationState.choices, default=EscalationState.WAITING
    )
    level = models.PositiveSmallIntegerField(default=0, help_text="1 once the next level knows.")
    depth = models.PositiveSmallIntegerField(
        default=0, help_text="0: a shifter asked; 1: the next level of a silent one; 2: ..."
    )
    target_hours = models.PositiveIntegerField()
    remind_percent = models.PositiveSmallIntegerField()
    next_level_percent = models.PositiveSmallIntegerField()
    answer = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(group__isnull=False)
                | models.Q(external_ref__isnull=False)
                | models.Q(parent__isnull=False),
                name="escalation_has_a_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket} -> {self.group or self.external_ref}"

    @property
    def target_name(self) -> str:
        if self.group is not None:
            return self.group.name
        return self.label or str(self.external_ref)

    @property
    def recipients(self) -> list[str]:
        """Who its mails go to: the group, or the people a next level mailed."""
        if self.group is not None:
            return [self.group.email] if self.group.email else []
        return self.addresses.split()

    def speaks_for(self, address: str) -> bool:
        """Whether a reply from ``address`` is the answer of whoever was asked."""
        if self.group is not None:
            return self.group.speaks_for(address)
        return address.strip().lower() in {a.lower() for a in self.addresses.split()}

    def event_data(self) -> dict[str, object]:
        """What its events keep: which one, to whom, of what kind of group."""
        group = self.group
        data: dict[str, object] = {
            "escalation": self.pk,
            "group": self.group_id,
            "group_name": self.target_name,
            "group_kind": group.kind if group else "",
            "cloud": group.cloud_id if group else None,
            # The working calendar its wait counts in (the reports count it there too)
            "calendar": self.calendar_id,
        }
        if self.parent_id is not None:
            data |= {"parent": self.parent_id, "depth": self.depth}
        return data


class TimerKind(models.TextChoices):
    FIRST_RESPONSE = "first_response", "Shifter's first answer"
    EXPERT_RESPONSE = "expert_response", "Answer from the group"
    WAITING_USER = "waiting_user", "Waiting on the user"


class TimerState(models.TextChoices):
    ARMED = "armed", "Armed"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Timer(models.Model):
    """A deadline. The beat sweep finds armed rows whose ``due_at`` has passed (one indexed
    query), claims each with a conditional UPDATE of ``version``, runs one step, and writes
    the next ``due_at`` (or ends it), all in one transaction with the mail it sends."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="timers")
    escalation = models.ForeignKey(
        Escalation, on_delete=models.CASCADE, null=True, blank=True, related_name="timers"
    )
    kind = models.CharField(max_length=16, choices=TimerKind.choices)
    state = models.CharField(max_length=10, choices=TimerState.choices, default=TimerState.ARMED)
    step = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(help_text="When the clock started.")
    due_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=0, help_text="Moved by every claim.")
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["due_at"], name="timer_due", condition=models.Q(state="armed")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "kind"],
                condition=models.Q(state="armed", escalation__isnull=True),
                name="timer_one_armed_per_ticket_kind",
            ),
            models.UniqueConstraint(
                fields=["escalation"],
                condition=models.Q(state="armed"),
                name="timer_one_armed_per_escalation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.ticket} due {self.due_at:%Y-%m-%d %H:%M}"


class TimerRun(models.Model):
    """One step a timer ran: what it did, to whom, when. Unique per (timer, step), so the
    database itself refuses a step that would run twice."""

    timer = models.ForeignKey(Timer, on_delete=models.CASCADE, related_name="runs")
    step = models.PositiveSmallIntegerField()
    due_at = models.DateTimeField()
    ran_at = models.DateTimeField()
    action = models.CharField(max_length=300)
    told = models.TextField(blank=True, help_text="Who was mailed, comma-separated.")
    outbound = models.ForeignKey(
        OutboundMail, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["ran_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["timer", "step"], name="timer_step_runs_once")
        ]

    def __str__(self) -> str:
        return f"{self.timer} step {self.step}: {self.action}"
