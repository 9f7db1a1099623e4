"""Input and output shapes of the tickets API (tickets/api.py).

Input serializers check the form of a request (types, choices, people of the ticket's team)
and hand typed values to a service; the desk's rules stay in tickets.services. Output
serializers render what the selectors loaded, without queries of their own. Instants are
rendered in UTC ("…Z").
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

from people.api_common import UTCDateTimeField
from people.models import Team
from people.names import display_name
from tickets.forms import QueueFilter, queue_views
from tickets.models import (
    Attachment,
    CannedAnswer,
    Category,
    Message,
    Priority,
    ReplyDraft,
    Status,
    Ticket,
)
from tickets.selectors import desk_people
from tickets.services.desk import MAX_BODY


class StrictInput(serializers.Serializer):
    """Refuses fields it does not know: a misspelt or read-only field is a 400 naming it,
    not a silent no-op."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(getattr(self, "initial_data", {}) or {}) - set(self.fields))
        if unknown:
            known = ", ".join(self.fields)
            raise serializers.ValidationError(
                {name: [f"Not a field of this request (it takes {known})."] for name in unknown}
            )
        return attrs


# --- output ---------------------------------------------------------------------------------


class PersonSerializer(serializers.Serializer):
    """A desk person: id (for ``assignee``) and display name."""

    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()

    def get_name(self, user: User) -> str:
        return display_name(user)


class RequesterSerializer(serializers.Serializer):
    email = serializers.EmailField()
    name = serializers.CharField()


class TicketSerializer(serializers.ModelSerializer):
    """A ticket as the queue lists it (from ``ticket_list_for_user``: no query of its own)."""

    reference = serializers.CharField(read_only=True, help_text="e.g. DAST-1234")
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    requester = RequesterSerializer(read_only=True)
    assignee = PersonSerializer(read_only=True, allow_null=True)
    shadow = PersonSerializer(read_only=True, allow_null=True)
    message_count = serializers.IntegerField(read_only=True)
    created_at = UTCDateTimeField()
    last_message_at = UTCDateTimeField()
    first_response_at = UTCDateTimeField()
    resolved_at = UTCDateTimeField()
    closed_at = UTCDateTimeField()
    overdue_since = UTCDateTimeField()
    unseen_reply_at = UTCDateTimeField()

    class Meta:
        model = Ticket
        fields = [
            "reference",
            "team",
            "subject",
            "status",
            "category",
            "priority",
            "zone",
            "after_hours",
            "requester",
            "assignee",
            "shadow",
            "message_count",
            "created_at",
            "last_message_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "overdue_since",
            "unseen_reply_at",
        ]
        read_only_fields = fields


class TicketDetailSerializer(TicketSerializer):
    """One ticket; its thread is ``messages/`` (paginated)."""

    merged_into = serializers.SerializerMethodField()
    reopen_count = serializers.IntegerField(read_only=True)

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "merged_into", "reopen_count"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_merged_into(self, ticket: Ticket) -> str | None:
        return ticket.merged_into.reference if ticket.merged_into else None


class AttachmentSerializer(serializers.ModelSerializer):
    kept = serializers.SerializerMethodField(help_text="False when only name and size are kept.")
    download = serializers.SerializerMethodField(help_text="The API path of its content.")

    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "kept", "dropped", "download"]
        read_only_fields = fields

    def get_kept(self, item: Attachment) -> bool:
        return bool(item.file)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download(self, item: Attachment) -> str | None:
        if not item.file:
            return None
        reference = self.context["reference"]
        return reverse("tickets-api-attachment", args=[reference, item.pk])


class MessageSerializer(serializers.ModelSerializer):
    """A message of the thread; ``kind`` "note" is internal (never mailed to the requester).
    Needs ``reference`` (the ticket's) in the context for the attachments' paths."""

    author = PersonSerializer(read_only=True, allow_null=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    created_at = UTCDateTimeField()

    class Meta:
        model = Message
        fields = [
            "id",
            "kind",
            "author",
            "sender_name",
            "sender_email",
            "subject",
            "body_text",
            "body_html",
            "noise",
            "unverified",
            "created_at",
            "attachments",
        ]
        read_only_fields = fields


class DraftSerializer(serializers.ModelSerializer):
    """A trainee's reply, waiting for the shifter they shadow to approve it."""

    author = PersonSerializer(read_only=True)
    created_at = UTCDateTimeField()

    class Meta:
        model = ReplyDraft
        fields = ["id", "state", "author", "body_text", "created_at"]
        read_only_fields = fields


# --- input ----------------------------------------------------------------------------------


class TicketCreateSerializer(StrictInput):
    """A ticket opened by a desk person on behalf of a requester (a phone call, a chat)."""

    requester_email = serializers.EmailField(max_length=254)
    requester_name = serializers.CharField(max_length=200, required=False, default="")
    subject = serializers.CharField(max_length=500)
    body = serializers.CharField(max_length=MAX_BODY, help_text="The request, as plain text.")
    category = serializers.ChoiceField(choices=Category.choices, default=Category.OTHER)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)


class TicketUpdateSerializer(StrictInput):
    """What PATCH changes; ``assignee`` is a person of the ticket's team, or null."""

    status = serializers.ChoiceField(choices=Status.choices, required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    assignee = serializers.IntegerField(required=False, allow_null=True)

    def __init__(self, *args: Any, team: Team | None = None, **kwargs: Any) -> None:
        """``team`` (the ticket's) is needed to validate, not to describe the schema."""
        super().__init__(*args, **kwargs)
        self.team = team

    def validate_assignee(self, value: int | None) -> User | None:
        if value is None:
            return None
        assert self.team is not None
        person = next((p for p in desk_people(self.team.pk) if p.pk == value), None)
        if person is None:
            raise serializers.ValidationError(
                f"No shifter or coordinator {value} in {self.team.name}."
            )
        return person

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if not attrs:
            raise serializers.ValidationError(
                "Send at least one of status, category, priority, assignee."
            )
        return attrs


class BodySerializer(StrictInput):
    body = serializers.CharField(max_length=MAX_BODY)


class ReplySerializer(BodySerializer):
    canned = serializers.IntegerField(
        required=False, allow_null=True, help_text="The canned answer it started from, if any."
    )

    def __init__(self, *args: Any, team: Team | None = None, **kwargs: Any) -> None:
        """``team`` (the ticket's) is needed to validate, not to describe the schema."""
        super().__init__(*args, **kwargs)
        self.team = team

    def validate_canned(self, value: int | None) -> CannedAnswer | None:
        if value is None:
            return None
        assert self.team is not None
        canned = CannedAnswer.objects.filter(team=self.team, pk=value).first()
        if canned is None:
            raise serializers.ValidationError(f"No canned answer {value} in {self.team.name}.")
        return canned


class SearchQuery(serializers.Serializer):
    q = serializers.CharField(max_length=200, help_text="Words, a phrase in quotes, a reference.")


# --- the queue's filters as query parameters ------------------------------------------------


def _parameter(name: str, field: forms.Field) -> OpenApiParameter:
    kind: Any = OpenApiTypes.STR
    if isinstance(field, forms.DateField):
        kind = OpenApiTypes.DATE
    elif isinstance(field, forms.BooleanField):
        kind = OpenApiTypes.BOOL
    choices = getattr(field, "choices", None)
    enum = [value for value, _ in choices if value] if choices else None
    return OpenApiParameter(
        name, kind, OpenApiParameter.QUERY, description=str(field.help_text or ""), enum=enum
    )


def queue_parameters() -> list[OpenApiParameter]:
    """The queue page's filters (``QueueFilter``), ``view`` and ``team``, for the schema."""
    views = queue_views(0)
    return [
        OpenApiParameter(
            "view",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            enum=list(views),
            description="One of the queue's views: "
            + ", ".join(f"{name} ({label})" for name, (label, _) in views.items())
            + ". Default: all.",
        ),
        OpenApiParameter(
            "team", OpenApiTypes.STR, OpenApiParameter.QUERY, description="A team's slug."
        ),
        *(_parameter(name, field) for name, field in QueueFilter.base_fields.items()),
    ]
