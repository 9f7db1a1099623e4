"""The form a coordinator edits a working calendar with (the team settings page)."""

from __future__ import annotations

from typing import Any

from django import forms

from people.models import Team, WorkingCalendar
from people.workdays import DAY_NAMES


class WorkingCalendarForm(forms.ModelForm):
    """Days as boxes to tick; the model's own checks (end after start, a known time zone,
    readable holidays) give the errors, each on its field."""

    weekdays = forms.MultipleChoiceField(
        choices=[(str(n), name) for n, name in enumerate(DAY_NAMES, start=1)],
        widget=forms.CheckboxSelectMultiple,
        label="Working days",
        error_messages={"required": "Tick at least one working day."},
    )

    class Meta:
        model = WorkingCalendar
        fields = ["name", "weekdays", "starts_at", "ends_at", "time_zone", "holidays"]
        widgets = {
            "starts_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "ends_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "holidays": forms.Textarea(attrs={"rows": 5}),
        }
        labels = {"starts_at": "Day starts", "ends_at": "Day ends"}

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team
        self.instance.team = team
        if self.instance.pk:
            self.initial["weekdays"] = list(self.instance.weekdays)
        else:
            self.initial.setdefault("time_zone", team.time_zone)

    def clean_weekdays(self) -> str:
        return "".join(sorted(set(self.cleaned_data["weekdays"])))

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = WorkingCalendar.objects.filter(team=self.team, name__iexact=name)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("The team has a calendar of this name already.")
        return name
