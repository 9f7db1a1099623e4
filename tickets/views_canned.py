"""Canned answers: coordinators keep them (title, category, text); everyone on the desk reads
them and sees how often each was used."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models.functions import Lower
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from people.access import is_coordinator
from people.models import Team
from people.selectors import teams_for_desk_user
from people.teamcache import team_cache_forget
from tickets.models import CannedAnswer
from tickets.selectors import CANNED_CACHED


class CannedAnswerForm(forms.ModelForm):
    class Meta:
        model = CannedAnswer
        fields = ["title", "category", "body", "active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}
        help_texts = {
            "title": "What shifters look for, e.g. “Lost heartbeat”.",
            "category": "Offered first on tickets of this category.",
            "body": "The answer as sent; the shifter edits it before sending.",
        }

    def __init__(self, *args: object, team: Team, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.team = team

    def clean_title(self) -> str:
        title = self.cleaned_data["title"].strip()
        clash = CannedAnswer.objects.alias(t=Lower("title")).filter(team=self.team, t=title.lower())
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("There is already an answer with this title.")
        return title


def _team(request: HttpRequest) -> Team:
    teams = list(teams_for_desk_user(request.user))
    slug = request.GET.get("team") or request.POST.get("team")
    team = next((t for t in teams if t.slug == slug), None) if slug else None
    if team is None and len(teams) >= 1 and not slug:
        team = teams[0]
    if team is None:
        raise Http404("No such team")
    return team


@login_required
def canned_list(request: HttpRequest) -> HttpResponse:
    team = _team(request)
    assert isinstance(request.user, User)
    answers = CannedAnswer.objects.filter(team=team).order_by("-active", "category", "title")
    return render(
        request,
        "tickets/canned_list.html",
        {"team": team, "answers": answers, "may_edit": is_coordinator(team, request.user)},
    )


@login_required
def canned_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    team = _team(request)
    assert isinstance(request.user, User)
    if not is_coordinator(team, request.user):
        raise PermissionDenied("Only coordinators keep the canned answers.")
    answer = get_object_or_404(CannedAnswer, pk=pk, team=team) if pk else None
    form = CannedAnswerForm(request.POST or None, instance=answer, team=team)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved.team = team
        saved.created_by = saved.created_by or request.user
        saved.save()
        team_cache_forget(team.pk, CANNED_CACHED)
        messages.success(request, f"Saved “{saved.title}”.")
        return redirect(f"/canned/?team={team.slug}")
    return render(
        request,
        "tickets/canned_edit.html",
        {"team": team, "form": form, "answer": answer},
        status=400 if request.method == "POST" else 200,
    )
