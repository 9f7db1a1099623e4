"""Forms of the coordinators' calendar tools: a plan (rotation or copy), a rotation rule,
several slots assigned at once. Each names the field at fault and why."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib.auth.models import User

from people.names import display_name
from shifts.models import ShiftRole, Zone
from shifts.planning import WEEKDAY_NAMES, PlanSpec


def _day_or_month(raw: str, label: str) -> tuple[date, bool]:
    """A day (YYYY-MM-DD) or a month (YYYY-MM); the flag says a whole month was given."""
    raw = raw.strip()
    try:
        if len(raw) == 7:
            return date.fromisoformat(f"{raw}-01"), True
        return date.fromisoformat(raw), False
    except ValueError:
        raise forms.ValidationError(
            f"“{raw}” is not a day (YYYY-MM-DD) or a month (YYYY-MM) for “{label}”."
        ) from None


def person_choices(people: dict[str, list[User]]) -> list[tuple[str, Any]]:
    """The "<user id>:<role>" choices of the coordinator's person picker, by role."""
    return [
        (label, [(f"{p.pk}:{role.value}", display_name(p)) for p in people[role]])
        for role, label in ((ShiftRole.FIRST_LEVEL, "First level"), (ShiftRole.TRAINEE, "Trainees"))
    ]


class PersonField(forms.ChoiceField):
    def __init__(self, people: dict[str, list[User]], **kwargs: Any) -> None:
        super().__init__(choices=[("", "choose…"), *person_choices(people)], **kwargs)
        self.people = {p.pk: p for group in people.values() for p in group}

    def clean(self, value: Any) -> tuple[User, str]:
        value = super().clean(value)
        pk, _, role = value.partition(":")
        return self.people[int(pk)], role


class PlanForm(forms.Form):
    KINDS = [("rotation", "the rotation"), ("copy-week", "a week"), ("copy-month", "a month")]
    kind = forms.ChoiceField(choices=KINDS, label="What")
    source = forms.CharField(required=False, label="Copy from", max_length=10)
    target = forms.CharField(label="Onto", max_length=10)
    zone = forms.ChoiceField(required=False, label="Zone")

    def __init__(self, *args: Any, zones: list[Zone], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone = self.fields["zone"]
        assert isinstance(zone, forms.ChoiceField)
        zone.choices = [("", "every zone")] + [(z.code, z.code) for z in zones]

    def _start(self, name: str, kind: str) -> date:
        day, _ = _day_or_month(self.cleaned_data[name], str(self.fields[name].label or name))
        if kind == "copy-week":
            return day - timedelta(days=day.weekday())  # that week's Monday
        return day.replace(day=1)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind is None:
            return data
        for name in ("target", "source"):
            if name == "source" and kind == "rotation":
                data["source"] = None
                continue
            if not data.get(name):
                if name in data:  # a copy without "from"
                    self.add_error(name, "Say which week or month to copy.")
                continue
            try:
                data[name] = self._start(name, kind)
            except forms.ValidationError as error:
                self.add_error(name, error)
        return data

    def spec(self) -> PlanSpec:
        data = self.cleaned_data
        return PlanSpec(data["kind"], data["target"], data["source"], data["zone"] or "")


class RotationRuleForm(forms.Form):
    zone = forms.ChoiceField(label="Zone")
    person = forms.ChoiceField(label="Person")  # replaced by a PersonField in __init__
    weekdays = forms.MultipleChoiceField(
        label="Weekdays",
        choices=[(str(n + 1), name) for n, name in enumerate(WEEKDAY_NAMES)],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one weekday."},
    )

    def __init__(
        self, *args: Any, zones: list[Zone], people: dict[str, list[User]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.zones = {z.code: z for z in zones}
        zone = self.fields["zone"]
        assert isinstance(zone, forms.ChoiceField)
        zone.choices = [(z.code, f"{z.code} · {z.hours_label}") for z in zones]
        self.fields["person"] = PersonField(people, label="Person")


class AssignForm(forms.Form):
    """Several ticked slots (``slot`` = "<zone code>|<YYYY-MM-DD>", repeated) for one person."""

    person = forms.ChoiceField(label="Person")

    def __init__(self, *args: Any, people: dict[str, list[User]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"] = PersonField(
            people, label="Person", error_messages={"required": "Choose who to assign."}
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        slots = []
        for raw in self.data.getlist("slot"):  # type: ignore[attr-defined]
            code, _, day = raw.partition("|")
            try:
                slots.append((code, date.fromisoformat(day)))
            except ValueError:
                self.add_error(None, f"Slot: “{raw}” is not a zone and a day (EU|YYYY-MM-DD).")
        if not slots and not self.errors:
            self.add_error(None, "Slot: tick at least one slot on the calendar.")
        data["slots"] = slots
        return data


def form_errors(form: forms.Form) -> list[str]:
    """Every error as "<Field>: why" (a form-wide error says its field itself)."""
    out = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else None
        out += [f"{label}: {error}" if label else str(error) for error in errors]
    return out
