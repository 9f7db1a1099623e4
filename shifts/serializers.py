"""Input and output shapes of the shifts API (shifts/api.py).

Input serializers check the form of a request (types, formats, ids within the team) and
hand typed values to a service or selector; the calendar's rules stay in shifts.services.
Output serializers render. Instants are rendered in UTC ("…Z"), as the rota computes them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from people.api_common import UTCDateTimeField
from people.models import Role, Team
from people.names import display_name
from shifts.models import Booking, Closure, ShiftRole, Zone
from shifts.services import ZoneSpec

# --- query parameters -----------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.DATETIME)
class InstantField(serializers.Field):
    """An ISO 8601 instant; a naive one is read in the time zone given in the context."""

    default_error_messages = {
        "invalid": "“{value}” is not a date and time: expected ISO 8601, "
        "e.g. 2026-11-18T09:30:00+01:00."
    }

    def to_internal_value(self, data: Any) -> datetime:
        raw = str(data).strip()
        candidates = [raw]
        if " " in raw:
            # In a query string an unescaped "+" of the offset arrives as a space.
            head, _, tail = raw.rpartition(" ")
            candidates.append(f"{head}+{tail}")
        for text in candidates:
            try:
                at = datetime.fromisoformat(text)
            except ValueError:
                continue
            return at if at.tzinfo else at.replace(tzinfo=self.context["tz"])
        raise serializers.ValidationError(
            self.error_messages["invalid"].format(value=raw), code="invalid"
        )

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class OnDutyQuery(serializers.Serializer):
    """The on-duty answer's query (and, through it, its schema's parameters)."""

    team = serializers.CharField(required=False, allow_blank=True, help_text="Any team's slug.")
    at = InstantField(
        required=False,
        help_text="ISO 8601; without an offset, the team's local time. Default: now.",
    )


def _day_field(day: str, default: date | None, said: str) -> serializers.DateField:
    help_text = f"{day} day (default: {said})."
    if default is None:  # the schema's PeriodQuery
        return serializers.DateField(required=False, help_text=help_text)
    return serializers.DateField(default=default, help_text=help_text)


class PeriodQuery(serializers.Serializer):
    """``from`` and ``to`` (YYYY-MM-DD, both included), at most ``max_days`` days long when
    given. Left out, they are ``defaults``, which ``said`` puts in words for the schema: a
    view's schema shows ``PeriodQuery(said=...)``, the view validates with ``defaults``."""

    def __init__(
        self,
        *args: Any,
        defaults: tuple[date, date] | None = None,
        said: tuple[str, str] = ("", ""),
        max_days: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.defaults, self.said, self.max_days = defaults, said, max_days

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword: these fields cannot be class attributes.
        first, last = self.defaults or (None, None)
        return {
            "from": _day_field("First", first, self.said[0]),
            "to": _day_field("Last", last, self.said[1]),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        first, last = attrs["from"], attrs["to"]
        if first > last:
            raise serializers.ValidationError({"to": ["“to” is before “from”."]})
        max_days = self.max_days
        if max_days and (last - first).days + 1 > max_days:
            raise serializers.ValidationError(
                {"to": [f"The period is longer than {max_days} days: ask for less at a time."]}
            )
        return attrs


class BookingQuery(serializers.Serializer):
    """Filters of the booking list, all optional (and, through it, its schema's parameters)."""

    person = serializers.IntegerField(required=False, min_value=1, help_text="A person's id.")
    zone = serializers.IntegerField(required=False, min_value=1, help_text="A zone's id.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False, help_text="First day.")
        fields["to"] = serializers.DateField(required=False, help_text="Last day.")
        return fields


# --- on duty (public) -----------------------------------------------------------------------


class SlotSerializer(serializers.Serializer):
    day = serializers.DateField(read_only=True)
    starts_at = UTCDateTimeField()
    ends_at = UTCDateTimeField()


class OnDutyPersonSerializer(serializers.Serializer):
    """Public: a name and a role, never an address or a username."""

    name = serializers.SerializerMethodField()
    role = serializers.CharField(read_only=True)

    def get_name(self, booking: Booking) -> str:
        return display_name(booking.person, public=True)


class OnDutySerializer(serializers.Serializer):
    """Renders {"team": Team, "at": datetime, "duty": OnDuty}."""

    team = serializers.SlugField(source="team.slug", read_only=True)
    at = UTCDateTimeField()
    zone = serializers.CharField(source="duty.slot.zone", read_only=True, allow_null=True)
    slot = SlotSerializer(source="duty.slot", read_only=True, allow_null=True)
    people = OnDutyPersonSerializer(source="duty.bookings", many=True, read_only=True)


# --- zones and closures ---------------------------------------------------------------------


class ZoneSerializer(serializers.ModelSerializer):
    coordinator_name = serializers.SerializerMethodField()
    hours = serializers.CharField(source="hours_label", read_only=True)

    class Meta:
        model = Zone
        fields = [
            "id",
            "code",
            "name",
            "starts_at",
            "duration_minutes",
            "weekdays",
            "coordinator",
            "coordinator_name",
            "hours",
        ]
        read_only_fields = fields

    def get_coordinator_name(self, zone: Zone) -> str | None:
        return display_name(zone.coordinator) if zone.coordinator else None


class ZoneInputSerializer(serializers.Serializer):
    """A zone as a coordinator writes it. Partial (PATCH): the zone's other values stay."""

    code = serializers.RegexField(
        r"^[A-Z]{2,8}$", error_messages={"invalid": "2-8 capital letters, e.g. EU."}
    )
    name = serializers.CharField(max_length=100)
    starts_at = serializers.TimeField(help_text="Local start, in the team's time zone.")
    duration_minutes = serializers.IntegerField(min_value=15, max_value=24 * 60, default=480)
    weekdays = serializers.RegexField(
        r"^[1-7]{1,7}$",
        default="12345",
        error_messages={"invalid": "ISO weekdays as digits, 1=Monday ... 7=Sunday, e.g. 12345."},
    )
    coordinator = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.none(),
        allow_null=True,
        default=None,
        error_messages={"does_not_exist": "User {pk_value} is not a coordinator of this team."},
    )

    def __init__(self, *args: Any, team: Team | None = None, **kwargs: Any) -> None:
        """``team`` is needed to validate (the coordinator is looked up in it), not to describe
        the shape in the schema."""
        super().__init__(*args, **kwargs)
        if team is not None:
            self.fields["coordinator"].queryset = User.objects.filter(
                memberships__team=team, memberships__role__in=(Role.COORDINATOR, Role.ADMIN)
            ).distinct()

    def spec(self, zone: Zone | None = None) -> ZoneSpec:
        values: dict[str, Any] = {}
        if zone is not None:
            values = {
                "code": zone.code,
                "name": zone.name,
                "starts_at": zone.starts_at,
                "duration_minutes": zone.duration_minutes,
                "weekdays": zone.weekdays,
                "coordinator": zone.coordinator,
            }
        values.update(self.validated_data)
        return ZoneSpec(**values)


class ClosureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Closure
        fields = ["id", "starts_on", "ends_on", "reason"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["ends_on"] < attrs["starts_on"]:
            raise serializers.ValidationError({"ends_on": ["The closure ends before it starts."]})
        return attrs


# --- bookings -------------------------------------------------------------------------------


class BookingSerializer(serializers.ModelSerializer):
    zone_code = serializers.CharField(source="zone.code", read_only=True)
    name = serializers.SerializerMethodField()

    class Meta:
        model = Booking
        fields = ["id", "zone", "zone_code", "day", "person", "name", "role", "created_at"]
        read_only_fields = fields

    def get_name(self, booking: Booking) -> str:
        return display_name(booking.person)


class BookingCreateSerializer(serializers.Serializer):
    """Who goes on which slot; ``person`` defaults to the caller (set by the view)."""

    zone = serializers.PrimaryKeyRelatedField(
        queryset=Zone.objects.none(),
        error_messages={"does_not_exist": "Zone {pk_value} is not a zone of this team."},
    )
    day = serializers.DateField()
    person = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.none(),
        required=False,
        error_messages={"does_not_exist": "User {pk_value} is not a member of this team."},
    )
    role = serializers.ChoiceField(choices=ShiftRole.choices)

    def __init__(self, *args: Any, team: Team | None = None, **kwargs: Any) -> None:
        """``team`` is needed to validate (the ids are looked up in it), not to describe the
        shape in the schema."""
        super().__init__(*args, **kwargs)
        if team is not None:
            self.fields["zone"].queryset = Zone.objects.filter(team=team).select_related("team")
            self.fields["person"].queryset = User.objects.filter(memberships__team=team).distinct()


# --- slots and credits ----------------------------------------------------------------------


class SlotBookingSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    person = serializers.IntegerField(source="person_id", read_only=True)
    name = serializers.SerializerMethodField()
    role = serializers.CharField(read_only=True)

    def get_name(self, booking: Booking) -> str:
        return display_name(booking.person)


class CellSerializer(serializers.Serializer):
    """A scheduled slot of the month grid (a ``shifts.selectors.Cell`` with a slot)."""

    day = serializers.DateField(read_only=True)
    starts_at = UTCDateTimeField(source="slot.starts_at")
    ends_at = UTCDateTimeField(source="slot.ends_at")
    closed = serializers.SerializerMethodField()
    closed_reason = serializers.SerializerMethodField()
    bookings = SlotBookingSerializer(many=True, read_only=True)
    credit = serializers.IntegerField(read_only=True)
    uncovered = serializers.BooleanField(read_only=True)

    def get_closed(self, cell: Any) -> bool:
        return bool(cell.closed)

    def get_closed_reason(self, cell: Any) -> str | None:
        return cell.closed or None


class CreditRowSerializer(serializers.Serializer):
    username = serializers.CharField(source="person.username", read_only=True)
    name = serializers.SerializerMethodField()
    first_level = serializers.IntegerField(read_only=True)
    trainee = serializers.IntegerField(read_only=True)
    credit = serializers.IntegerField(read_only=True, help_text="Percent: 100 = one shift.")

    def get_name(self, row: Any) -> str:
        return row.person.get_full_name()


# The slot grid and the credits, as the views render them (dicts: "from" cannot be a field's
# name in a class), for the schema.
SLOT_GRID = inline_serializer(
    "SlotGrid",
    fields={
        "team": serializers.SlugField(),
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "zones": inline_serializer(
            "ZoneSlots",
            fields={
                "id": serializers.IntegerField(),
                "code": serializers.CharField(),
                "name": serializers.CharField(),
                "slots": CellSerializer(many=True),
            },
            many=True,
        ),
    },
)
CREDITS = inline_serializer(
    "Credits",
    fields={
        "team": serializers.SlugField(),
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "people": CreditRowSerializer(many=True),
    },
)
