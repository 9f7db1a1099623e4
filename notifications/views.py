"""The bell, the list of notifications, and each person's preferences."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from notifications.models import Preference
from notifications.selectors import notifications_for, unread_count
from notifications.services import notifications_mark_read, preferences_of, preferences_save

# What the bell hands the browser notifications script: the newest few unread.
BELL_LATEST = 5
PREFERENCE_FIELDS = [
    "mail_new_ticket",
    "mail_requester_reply",
    "mail_expert_reply",
    "mail_overdue",
    "browser",
]


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
@require_GET
def bell(request: HttpRequest) -> HttpResponse:
    """The header's bell: the unread count, and the newest unread for the browser's
    notifications (shown by static/js/notify.js when the person allows them)."""
    user = _user(request)
    latest = list(notifications_for(user, unread_only=True)[:BELL_LATEST])
    response = render(
        request,
        "notifications/_bell.html",
        {
            "unread": unread_count(user) if latest else 0,
            "latest": latest,
            "browser": preferences_of(user).browser,
            "poll_s": settings.NOTIFICATION_POLL_S,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    unread_only = request.GET.get("show") == "unread"
    page = Paginator(notifications_for(user, unread_only=unread_only), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "notifications/list.html",
        {"page": page, "unread_only": unread_only, "unread": unread_count(user)},
    )


@login_required
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification to its ticket (a digest: to the open tickets), marking it
    read."""
    user = _user(request)
    found = notifications_for(user).filter(pk=pk).first()
    if found is None:
        raise Http404("No such notification")
    notifications_mark_read(user=user, ids=[found.pk])
    if found.ticket is None:
        return redirect(reverse("ticket-list") + "?view=open")
    return redirect(found.ticket)


@login_required
@require_POST
def notification_read(request: HttpRequest) -> HttpResponse:
    """Mark the ticked notifications read, or all of them."""
    user = _user(request)
    ids = None
    if "all" not in request.POST:
        ids = [int(v) for v in request.POST.getlist("ids") if v.isdigit()]
    changed = notifications_mark_read(user=user, ids=ids)
    messages.success(request, f"{changed} marked read.")
    back = reverse("notification-list")
    return redirect(back + ("?show=unread" if "unread" in request.POST else ""))


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if request.method == "POST":
        preferences_save(
            user=user, values={name: request.POST.get(name) == "on" for name in PREFERENCE_FIELDS}
        )
        messages.success(request, "Your notification settings are saved.")
        return redirect("notification-preferences")
    pref = preferences_of(user)
    fields = [
        (name, field.verbose_name, getattr(pref, name))
        for name in PREFERENCE_FIELDS
        if isinstance(field := Preference._meta.get_field(name), models.Field)
    ]
    return render(request, "notifications/preferences.html", {"fields": fields})
