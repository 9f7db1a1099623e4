"""Keeps the request being served where the audit trail finds it, and records every CSV
that leaves the desk (reports, credits, the audit trail itself): one hook for all exports,
whichever app serves them."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.audit import audit_record, serving
from accounts.models import AuditKind


class AuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with serving(request):
            response = self.get_response(request)
            if response.status_code == 200 and response.get("Content-Type", "").startswith(
                "text/csv"
            ):
                audit_record(
                    kind=AuditKind.EXPORT,
                    subject=request.get_full_path()[:300],
                    data={"file": _filename(response)},
                )
        return response


def _filename(response: HttpResponse) -> str:
    disposition = response.get("Content-Disposition", "")
    _, _, name = disposition.partition("filename=")
    return name.strip().strip('"')[:200]
