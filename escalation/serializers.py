"""Input and output shapes of the escalation API (escalation/api.py).

Input serializers check the form of a request and that ids belong to the caller's team;
the escalation rules (a closed ticket, an empty note) stay in escalation.services. Instants
are rendered in UTC.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from escalation.models import (
    Escalation,
    EscalationState,
    ExpertGroup,
    GroupKind,
    Timer,
    TimerKind,
    TimerRun,
    TimerState,
    default_target_hours,
)
from people.api_common import UTCDateTimeField
from people.models import Team, WorkingCalendar
from people.names import display_name
from tickets.models import ExternalRef, Ticket, parse_reference

# --- the directory --------------------------------------------------------------------------


class GroupSerializer(serializers.ModelSerializer):
    """An expert group, cloud or site; ``cloud`` and ``next_level`` are ids in the team."""

    cloud_name = serializers.CharField(source="cloud.name", read_only=True, default=None)
    next_level_name = serializers.CharField(source="next_level.name", read_only=True, default=None)
    calendar_name = serializers.CharField(source="calendar.name", read_only=True, default=None)
    response_target_hours = serializers.IntegerField(
        min_value=1,
        max_value=settings.WORKDAY_HOURS * 20,
        required=False,
        help_text="Working hours; by default experts one working day, clouds and sites two.",
    )
    remind_percent = serializers.IntegerField(min_value=10, max_value=1000, default=100)
    next_level_percent = serializers.IntegerField(min_value=10, max_value=1000, default=200)

    class Meta:
        model = ExpertGroup
        fields = [
            "id",
            "kind",
            "name",
            "email",
            "cloud",
            "cloud_name",
            "response_target_hours",
            "remind_percent",
            "next_level_percent",
            "next_level_kind",
            "next_level",
            "next_level_name",
            "reply_addresses",
            "calendar",
            "calendar_name",
            "active",
        ]
        # The team's own checks below replace the model's (team, kind, name) uniqueness,
        # which DRF cannot see: the team is not an input.
        validators: list[Any] = []

    def __init__(self, *args: Any, team: Team | None = None, **kwargs: Any) -> None:
        """``team`` is needed to write (the ids are looked up in it), not to render."""
        super().__init__(*args, **kwargs)
        self.team = team
        in_team = ExpertGroup.objects.filter(team=team) if team else ExpertGroup.objects.none()
        self.fields["cloud"].queryset = in_team.filter(kind=GroupKind.CLOUD)
        self.fields["next_level"].queryset = in_team
        self.fields["calendar"].queryset = (
            WorkingCalendar.objects.filter(team=team) if team else WorkingCalendar.objects.none()
        )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def value(name: str) -> Any:
            if name in attrs:
                return attrs[name]
            return getattr(self.instance, name) if self.instance else None

        kind = value("kind") or GroupKind.EXPERT
        if value("cloud") is not None and kind != GroupKind.SITE:
            raise serializers.ValidationError({"cloud": ["Only a site belongs to a cloud."]})
        remind, escalate = value("remind_percent") or 100, value("next_level_percent") or 200
        if escalate <= remind:
            raise serializers.ValidationError(
                {"next_level_percent": [f"Must be above the reminder's {remind}%."]}
            )
        if self.instance is not None and value("next_level") == self.instance:
            raise serializers.ValidationError({"next_level": ["A group cannot be its own next."]})
        name = value("name")
        assert self.team is not None, "GroupSerializer writes need the team"
        clash = ExpertGroup.objects.filter(team=self.team, kind=kind, name__iexact=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(
                {"name": [f"{self.team.name} already has a {kind} called “{name}”."]}
            )
        return attrs

    def create(self, validated_data: dict[str, Any]) -> ExpertGroup:
        assert self.team is not None
        if "response_target_hours" not in validated_data:
            kind = validated_data.get("kind", GroupKind.EXPERT)
            validated_data["response_target_hours"] = default_target_hours(kind)
        return ExpertGroup.objects.create(team=self.team, **validated_data)


# --- escalations ----------------------------------------------------------------------------


class RunSerializer(serializers.ModelSerializer):
    due_at = UTCDateTimeField()
    ran_at = UTCDateTimeField()

    class Meta:
        model = TimerRun
        fields = ["step", "due_at", "ran_at", "action", "told"]


class TimerSerializer(serializers.ModelSerializer):
    ticket = serializers.CharField(source="ticket.reference", read_only=True)
    started_at = UTCDateTimeField()
    due_at = UTCDateTimeField()
    ended_at = UTCDateTimeField()
    runs = RunSerializer(many=True, read_only=True)

    class Meta:
        model = Timer
        fields = [
            "id",
            "ticket",
            "escalation",
            "kind",
            "state",
            "step",
            "started_at",
            "due_at",
            "ended_at",
            "runs",
        ]


class RefSerializer(serializers.ModelSerializer):
    url = serializers.CharField(read_only=True)

    class Meta:
        model = ExternalRef
        fields = ["id", "system", "key", "url"]


class EscalationSerializer(serializers.ModelSerializer):
    ticket = serializers.CharField(source="ticket.reference", read_only=True)
    group = serializers.SerializerMethodField()
    external_ref = RefSerializer(read_only=True)
    created_by = serializers.SerializerMethodField()
    created_at = UTCDateTimeField()
    answered_at = UTCDateTimeField()
    cancelled_at = UTCDateTimeField()
    mail_sent_at = UTCDateTimeField(source="outbound.sent_at", default=None)
    answer = serializers.IntegerField(source="answer_id", read_only=True)
    timers = serializers.SerializerMethodField()
    target_name = serializers.CharField(
        read_only=True, help_text="The group, or who a next level asked."
    )

    class Meta:
        model = Escalation
        fields = [
            "id",
            "ticket",
            "group",
            "external_ref",
            "target_name",
            "parent",
            "depth",
            "note",
            "state",
            "level",
            "created_by",
            "created_at",
            "mail_sent_at",
            "target_hours",
            "remind_percent",
            "next_level_percent",
            "answer",
            "answered_at",
            "cancelled_at",
            "timers",
        ]

    @extend_schema_field(
        inline_serializer(
            "EscalationGroup",
            fields={
                "id": serializers.IntegerField(),
                "name": serializers.CharField(),
                "kind": serializers.ChoiceField(choices=GroupKind.choices),
            },
            allow_null=True,
        )
    )
    def get_group(self, esc: Escalation) -> dict[str, Any] | None:
        group = esc.group
        return None if group is None else {"id": group.pk, "name": group.name, "kind": group.kind}

    def get_created_by(self, esc: Escalation) -> str | None:
        return display_name(esc.created_by) if esc.created_by else None

    @extend_schema_field(TimerSerializer(many=True))
    def get_timers(self, esc: Escalation) -> list[dict[str, Any]]:
        timers = getattr(esc, "all_timers", None)
        if timers is None:  # a list without the prefetch: the ids are enough there
            return []
        return list(TimerSerializer(timers, many=True).data)


class EscalationCreateSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="The ticket's reference, e.g. DAST-1234.")
    group = serializers.IntegerField(required=False, allow_null=True)
    external_ref = serializers.IntegerField(required=False, allow_null=True)
    note = serializers.CharField(max_length=4000, allow_blank=True)

    def __init__(self, *args: Any, team: Team | None = None, **kwargs: Any) -> None:
        """``team`` is needed to validate (the ids are looked up in it), not to describe the
        shape in the schema."""
        super().__init__(*args, **kwargs)
        self.team = team

    def validate_ticket(self, value: str) -> Ticket:
        assert self.team is not None, "EscalationCreateSerializer needs the team"
        reference = parse_reference(value)
        ticket = (
            Ticket.objects.filter(
                team=self.team, team__ticket_prefix=reference[0], number=reference[1]
            )
            .select_related("team", "requester", "assignee")
            .first()
            if reference
            else None
        )
        if ticket is None:
            raise serializers.ValidationError(f"No ticket {value!r} in {self.team.name}.")
        return ticket

    def validate_group(self, value: int | None) -> ExpertGroup | None:
        if value is None:
            return None
        group = ExpertGroup.objects.filter(team=self.team, pk=value, active=True).first()
        if group is None:
            raise serializers.ValidationError(f"No active group or site {value} in this team.")
        return group

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        ref_id = attrs.get("external_ref")
        if ref_id is not None:
            ref = ExternalRef.objects.filter(ticket=attrs["ticket"], pk=ref_id).first()
            if ref is None:
                reference = attrs["ticket"].reference
                raise serializers.ValidationError(
                    {"external_ref": [f"Ticket {reference} has no reference {ref_id}."]}
                )
            attrs["external_ref"] = ref
        return attrs


class EscalationQuery(serializers.Serializer):
    ticket = serializers.CharField(required=False)
    state = serializers.ChoiceField(choices=EscalationState.choices, required=False)
    group = serializers.IntegerField(required=False)


class TimerQuery(serializers.Serializer):
    ticket = serializers.CharField(required=False)
    state = serializers.ChoiceField(choices=TimerState.choices, required=False)
    kind = serializers.ChoiceField(choices=TimerKind.choices, required=False)
