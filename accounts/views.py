"""Single sign-on's two addresses (python-social-auth's views, for the providers that are on)
and the audit trail's CSV."""

from __future__ import annotations

import csv
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from social_core.exceptions import SocialAuthBaseException
from social_django import views as social_views

from accounts.audit import audit_record
from accounts.models import AuditEntry, AuditKind
from accounts.selectors import audit_entries_filtered

log = logging.getLogger(__name__)


def _enabled(backend: str) -> None:
    if backend not in settings.SSO_PROVIDERS:
        raise Http404("No such sign-in provider")


def sso_begin(request: HttpRequest, backend: str) -> HttpResponse:
    """POST from the sign-in page's "Sign in with …" button: off to the provider."""
    _enabled(backend)
    return social_views.auth(request, backend)


@never_cache
@csrf_exempt  # the provider redirects here; the OAuth state is what protects it
def sso_complete(request: HttpRequest, backend: str) -> HttpResponse:
    """The provider sends the browser back here. A token that does not hold (signature,
    expiry, audience, nonce, state) is a failed sign-in: audited, and the sign-in page
    says so with 403."""
    _enabled(backend)
    try:
        return social_views.complete(request, backend)
    except SocialAuthBaseException as error:
        log.warning("single sign-on through %s failed: %s", backend, error)
        audit_record(
            kind=AuditKind.SIGN_IN_FAILED,
            subject=backend,
            request=request,
            data={"method": f"sso:{backend}", "reason": str(error)[:300]},
        )
        return render(
            request,
            "registration/login.html",
            {
                "sso_error": f"Sign-in with {settings.SSO_TITLES[backend]} failed. Please try "
                "again; if it keeps failing, tell the desk's admins.",
                "sso_providers": sso_providers(request),
            },
            status=403,
        )


def sso_providers(request: HttpRequest | None = None) -> list[tuple[str, str]]:
    """The providers for the sign-in page, whose buttons' POST is redirected to them: their
    origins join the page's CSP form-action."""
    if request is not None:
        request.csp_form_action = [  # type: ignore[attr-defined]
            _origin(getattr(settings, f"SOCIAL_AUTH_{name.upper()}_OIDC_ENDPOINT"))
            for name in settings.SSO_PROVIDERS
        ]
    return [(name, settings.SSO_TITLES[name]) for name in settings.SSO_PROVIDERS]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@staff_member_required
def audit_csv(request: HttpRequest) -> HttpResponse:
    """The audit trail (filtered like the admin's list: kind, via, at__gte, at__lt, q) as
    CSV. Only superusers: it names who signed in from where."""
    if not request.user.is_superuser:
        raise Http404
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    writer = csv.writer(response)
    writer.writerow(["at", "kind", "via", "actor", "address", "subject", "data"])
    entries = audit_entries_filtered(request.GET)
    for entry in entries.iterator(chunk_size=2000):
        writer.writerow(_row(entry))
    return response


def _row(entry: AuditEntry) -> list[str]:
    return [
        entry.at.isoformat(),
        entry.kind,
        entry.via,
        entry.actor_name,
        entry.address,
        entry.subject,
        "" if not entry.data else str(entry.data),
    ]
