"""Writing the audit trail: ``audit_record`` is the one way in. Who and from where come from
the request being served (AuditContextMiddleware keeps it in a context variable), so code
deep below a view records without being handed the request; outside a request the entry
says "system"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import AuditEntry, AuditKind, AuditVia
from common.net import client_ip

_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)
_via: ContextVar[AuditVia | None] = ContextVar("audit_via", default=None)


@contextmanager
def serving(request: HttpRequest) -> Iterator[None]:
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


@contextmanager
def acting_as(via: AuditVia) -> Iterator[None]:
    """Entries recorded inside say they were made this way (an SSO rule, a task)."""
    token = _via.set(via)
    try:
        yield
    finally:
        _via.reset(token)


def current_request() -> HttpRequest | None:
    return _request.get()


def _via_of(request: HttpRequest | None) -> AuditVia:
    chosen = _via.get()
    if chosen is not None:
        return chosen
    if request is None:
        return AuditVia.SYSTEM
    if request.path.startswith(settings.AUDIT_ADMIN_PATH):
        return AuditVia.ADMIN
    return AuditVia.PAGE


def audit_record(
    *,
    kind: AuditKind,
    subject: str = "",
    data: dict[str, Any] | None = None,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    request = request if request is not None else _request.get()
    if actor is None and request is not None:
        # Only now is the (lazy) user loaded: pages that record nothing pay nothing.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    return AuditEntry.objects.create(
        at=timezone.now(),
        kind=kind,
        via=_via_of(request),
        actor_id=getattr(actor, "pk", None),
        actor_name=str(getattr(actor, "username", "") or "")[:150],
        address=client_ip(request)[:64] if request is not None else "",
        subject=subject[:300],
        data=data or {},
    )
