"""Forms of the desk's pages (the public support form is in tickets/support.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.forms import BoundField
from django.utils import timezone
from django.utils.functional import cached_property

from people.models import Team
from tickets.models import Attachment, Category, Status, Ticket

SORTS = {
    "activity": ("Latest activity", ("-last_message_at", "-pk")),
    "oldest_activity": ("Oldest activity", ("last_message_at", "pk")),
    "newest": ("Newest", ("-created_at", "-pk")),
    "oldest": ("Oldest", ("created_at", "pk")),
    "priority": ("Priority", ("-priority", "-last_message_at", "-pk")),
    "number": ("Number", ("-number",)),
    "due": ("Due first", (F("due_at").asc(nulls_last=True), "-last_message_at", "-pk")),
}


# Filters other apps add to the queue (grid: "Site in downtime"; escalation: "Escalated
# to"), registered from their AppConfig.ready(): each a few form fields, made for the
# viewer's teams, and what they narrow when one of them has a value (given the tickets and
# the form's valid values); ``check``, when given, names the fields whose values do not go
# together (field -> message), and those are left out like any bad value.
Narrow = Callable[[QuerySet[Ticket], dict[str, Any]], QuerySet[Ticket]]
Fields = Callable[[Sequence[Team]], dict[str, forms.Field]]
Check = Callable[[dict[str, Any]], dict[str, str]]


@dataclass(frozen=True)
class ExtraFilter:
    fields: Fields
    narrow: Narrow
    check: Check | None = None


_extra_filters: dict[str, ExtraFilter] = {}


def filter_register(name: str, fields: Fields, narrow: Narrow, check: Check | None = None) -> None:
    _extra_filters[name] = ExtraFilter(fields, narrow, check)


def instant_value(at: datetime) -> str:
    """An instant as a query value: ISO 8601, UTC."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def span_value(start: datetime, end: datetime) -> str:
    """A SpanField's value for the instants ``start`` (included) to ``end`` (excluded)."""
    return f"{instant_value(start)}/{instant_value(end)}"


class SpanField(forms.CharField):
    """Two instants, ISO 8601 with their offset ("2026-03-15T23:00:00Z/2026-04-05T22:00:00Z"):
    the same tickets whoever looks, unlike the viewer's days. The reports' links carry their
    period so. Cleaned to (start, end), both UTC; ``end`` is not included."""

    default_error_messages = {
        "invalid": "Two instants with their offset, start/end, as "
        "“2026-03-15T23:00:00Z/2026-04-05T22:00:00Z”.",
        "order": "The end must come after the start.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=80, **kwargs)

    def clean(self, value: Any) -> tuple[datetime, datetime] | None:
        text = str(super().clean(value) or "").strip()
        if not text:
            return None
        try:
            start, end = (datetime.fromisoformat(part.strip()) for part in text.split("/"))
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if start.tzinfo is None or end.tzinfo is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if end <= start:
            raise forms.ValidationError(self.error_messages["order"], code="order")
        return start.astimezone(UTC), end.astimezone(UTC)


class QueueFilter(forms.Form):
    """The queue's filters. A bad value is shown next to its field and that filter is left
    out; the others still apply."""

    status = forms.ChoiceField(choices=[("", "Any status"), *Status.choices], required=False)
    category = forms.ChoiceField(choices=[("", "Any category"), *Category.choices], required=False)
    zone = forms.CharField(max_length=8, required=False)
    assignee = forms.CharField(
        required=False, help_text="A person's id, or “none” for unassigned tickets."
    )
    requester = forms.CharField(max_length=254, required=False, help_text="Part of the address.")
    opened_from = forms.DateField(required=False, label="Opened from")
    opened_to = forms.DateField(required=False, label="Opened until")
    has_attachment = forms.BooleanField(required=False, label="With attachments")
    sort = forms.ChoiceField(
        choices=[(key, label) for key, (label, _) in SORTS.items()], required=False
    )

    def __init__(self, *args: Any, teams: Sequence[Team] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Registered filter -> the names of its fields
        self.extra: dict[str, list[str]] = {}
        for name, extra in _extra_filters.items():
            fields = extra.fields(teams)
            self.fields.update(fields)
            self.extra[name] = list(fields)

    def clean_assignee(self) -> str:
        value = self.cleaned_data["assignee"].strip().lower()
        if value and value != "none" and not value.isdigit():
            raise forms.ValidationError("Choose a person, or “none”.")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("opened_from"), data.get("opened_to")
        if first and last and first > last:
            self.add_error("opened_to", "Must not be before “Opened from”.")
        for extra in _extra_filters.values():
            if extra.check is not None:
                for name, message in extra.check(data).items():
                    self.add_error(name, message)
        return data

    def apply(self, tickets: QuerySet[Ticket], *, ranked: bool = False) -> QuerySet[Ticket]:
        """The tickets narrowed by every valid filter, sorted. Dates are days in the
        viewer's time zone. ``ranked`` keeps a search's best-first order unless a sort is
        asked for."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        if data.get("status"):
            tickets = tickets.filter(status=data["status"])
        if data.get("category"):
            tickets = tickets.filter(category=data["category"])
        if data.get("zone"):
            tickets = tickets.filter(zone=data["zone"].upper())
        if data.get("assignee") == "none":
            tickets = tickets.filter(assignee__isnull=True)
        elif data.get("assignee"):
            tickets = tickets.filter(assignee_id=int(data["assignee"]))
        if data.get("requester"):
            tickets = tickets.filter(requester__email__icontains=data["requester"].strip())
        if data.get("opened_from"):
            tickets = tickets.filter(created_at__date__gte=data["opened_from"])
        if data.get("opened_to"):
            tickets = tickets.filter(created_at__date__lte=data["opened_to"])
        if data.get("has_attachment"):
            tickets = tickets.filter(
                Exists(Attachment.objects.filter(message__ticket=OuterRef("pk")))
            )
        for name, fields in self.extra.items():
            if any(data.get(f) not in (None, "", False) for f in fields):
                tickets = _extra_filters[name].narrow(tickets, data)
        if ranked and not data.get("sort"):
            return tickets
        return tickets.order_by(*SORTS[data.get("sort") or "activity"][1])

    def _bound(self, extra: bool) -> list[BoundField]:
        names = {name for fields in self.extra.values() for name in fields}
        return [self[name] for name in self.fields if (name in names) == extra]

    @cached_property
    def main(self) -> list[BoundField]:
        """The queue's own filters, always shown."""
        return self._bound(extra=False)

    @cached_property
    def more(self) -> list[BoundField]:
        """The filters other apps register (escalations, sites, the reports' counts), folded
        away unless one of them is set or wrong."""
        return self._bound(extra=True)

    @property
    def more_open(self) -> bool:
        return any(field.errors or field.value() not in (None, "", False) for field in self.more)

    @property
    def active(self) -> bool:
        return any(
            v not in (None, "", False)
            for k, v in getattr(self, "cleaned_data", {}).items()
            if k != "sort"
        )


def overdue_condition(now: datetime) -> Q:
    """Overdue, as a shifter means it: an open ticket whose due time has passed (its first
    answer's target while unanswered, or an escalation's next level: ``Ticket.due_at``), or
    that a timer marked overdue (the first answer came late, a group stayed silent past its
    next level) and nobody has answered since. Waiting on the user is not overdue: the
    desk's reminders and its automatic resolution follow those up."""
    return Q(overdue_since__isnull=False) | Q(due_at__lte=now)


def drafts_pending() -> Exists:
    """The ticket has a trainee's reply waiting for approval."""
    from tickets.models import DraftState, ReplyDraft

    return Exists(ReplyDraft.objects.filter(ticket=OuterRef("pk"), state=DraftState.PENDING))


def queue_views(user_id: int, now: datetime | None = None) -> dict[str, tuple[str, Q]]:
    """The queue's views for one person at ``now``: name -> (label, condition)."""
    from tickets.models import OPEN_STATUSES

    now = now or timezone.now()
    open_ = Q(status__in=OPEN_STATUSES)
    return {
        "new": ("New / unassigned", open_ & (Q(status=Status.NEW) | Q(assignee__isnull=True))),
        "mine": ("Mine", open_ & Q(assignee_id=user_id)),
        "shadow": ("My shadow tickets", open_ & Q(shadow_id=user_id)),
        "to_approve": ("To approve", open_ & Q(drafts_pending())),
        "waiting_user": ("Waiting on user", Q(status=Status.WAITING_ON_USER)),
        "waiting_expert": ("Waiting on expert", Q(status=Status.WAITING_ON_EXPERT)),
        "overdue": ("Overdue", open_ & overdue_condition(now)),
        "open": ("All open", open_),
        "done": ("Resolved / closed", Q(status__in=(Status.RESOLVED, Status.CLOSED))),
        "all": ("All", Q()),
    }


class BulkAction(forms.Form):
    """What to do with the tickets ticked in the queue."""

    ACTIONS = [
        ("assign", "Assign to"),
        ("category", "Set category"),
        ("close", "Close"),
        ("merge", "Merge into the oldest ticked"),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    assignee = forms.IntegerField(required=False)
    category = forms.ChoiceField(choices=[("", "—"), *Category.choices], required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action == "assign" and not data.get("assignee"):
            self.add_error("assignee", "Choose whom to assign them to.")
        if action == "category" and not data.get("category"):
            self.add_error("category", "Choose the category.")
        return data
