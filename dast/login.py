"""Password sign-in with brute-force protection: failures are counted per account and per
client network (common.ratelimit); past LOGIN_FAILURES_PER_ACCOUNT (or _PER_ADDRESS) within
LOGIN_LOCKOUT_MINUTES, even the right password is refused until the oldest failures age
out, and the page says when that is. Used by /login/ and the admin's sign-in page."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponse
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditKind
from accounts.views import sso_providers
from common import ratelimit
from common.net import client_ip, client_network


def _hits(username: str, network: str) -> tuple[ratelimit.Hit, ratelimit.Hit]:
    window = settings.LOGIN_LOCKOUT_MINUTES * 60
    return (
        ratelimit.Hit(
            "login-account",
            username.strip().lower(),
            ratelimit.Rate(settings.LOGIN_FAILURES_PER_ACCOUNT, window),
        ),
        ratelimit.Hit(
            "login-address", network, ratelimit.Rate(settings.LOGIN_FAILURES_PER_ADDRESS, window)
        ),
    )


def lockout_message(until: float, now: float) -> str:
    when = timezone.localtime(datetime.fromtimestamp(until, UTC))
    minutes = max(1, round((until - now) / 60))
    return (
        "Too many failed sign-ins for this account or from your network. Try again at "
        f"{when:%H:%M} {when.tzname()} (in {minutes} minute{'s' if minutes > 1 else ''})."
    )


class ThrottledLogin:
    """Mixed into Django's authentication forms, before them."""

    request: Any
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")
        network = client_network(client_ip(self.request)) if self.request else "unknown"
        account, address = _hits(username, network)
        now = time.time()
        until = max(
            (ratelimit.blocked(hit, now=now) or 0.0 for hit in (account, address)), default=0.0
        )
        if until:
            audit_record(
                kind=AuditKind.LOCKOUT,
                subject=username[:150],
                request=self.request,
                data={"until": datetime.fromtimestamp(until, UTC).isoformat()},
            )
            raise forms.ValidationError(lockout_message(until, now), code="locked")
        try:
            cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            ratelimit.add(account, now=now)
            ratelimit.add(address, now=now)
            raise
        ratelimit.reset(account, now=now)  # the owner got in: their failures are forgiven
        return cleaned


class LoginForm(ThrottledLogin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledLogin, AdminAuthenticationForm):
    pass


class LoginView(auth_views.LoginView):
    """Django's sign-in page, with LoginForm; a lockout answers 429."""

    form_class = LoginForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "sso_providers": sso_providers(self.request)}

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if any(e.code == "locked" for e in form.non_field_errors().as_data()):
            response.status_code = 429
        return response
