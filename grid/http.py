"""The one way the desk talks to grid services: httpx with timeouts, a few retries with
backoff, and a circuit breaker per service whose state is a database row, so every web and
worker process sees that GOCDB is down after the first ones found out.

Only background tasks call ``fetch``; no page does (a page reads what the tasks stored).

The breaker: after GRID_BREAKER_FAILURES failed calls in a row (each after its retries) it
opens for GRID_BREAKER_OPEN_S, during which calls fail at once without a request; then one
caller wins a conditional UPDATE to make the trial call (half open): success closes it,
failure opens it again. A trial whose caller died is taken over once its lease ends.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from grid.models import BreakerState, ServiceHealth

log = logging.getLogger(__name__)
T = TypeVar("T")

# Answers worth asking again: the service is overloaded or restarting.
RETRYABLE = frozenset({429, 500, 502, 503, 504})
# A Retry-After longer than this is not waited for inside a task: the call fails instead.
MAX_RETRY_AFTER_S = 30.0
ERROR_CHARS = 500


class ServiceError(Exception):
    """A call that did not give an answer; ``message`` is what the admin page shows."""

    def __init__(self, service: str, message: str) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service
        self.message = message


class ServiceUnavailable(ServiceError):
    """Not called at all: the service is not configured, or its breaker is open."""


class NotFound(ServiceError):
    """The service answered 404: it is up, the thing asked for does not exist."""


class BadData(ValueError):
    """Raised by a parser: the body is not what the service documents."""


@dataclass(frozen=True)
class ServiceConfig:
    url: str
    token: str = ""
    auth_scheme: str = "Bearer"
    # Rucio wants its token bare in X-Rucio-Auth-Token; the others "Bearer <token>".
    auth_header: str = "Authorization"


def service_config(service: str) -> ServiceConfig:
    raw = settings.GRID_SERVICES.get(service, {})
    return ServiceConfig(
        url=str(raw.get("url", "")).rstrip("/"),
        token=str(raw.get("token", "")),
        auth_scheme=str(raw.get("auth_scheme", "Bearer")),
        auth_header=str(raw.get("auth_header", "Authorization")),
    )


def service_configured(service: str) -> bool:
    return bool(service_config(service).url)


# --- the breaker ---------------------------------------------------------------------------


def _admit(service: str, now: datetime) -> bool:
    """Whether a call may go out now; True when it is the half-open trial."""
    row, _ = ServiceHealth.objects.get_or_create(service=service)
    if row.state == BreakerState.CLOSED:
        return False
    if row.open_until is not None and row.open_until > now:
        what = "open" if row.state == BreakerState.OPEN else "trying again"
        raise ServiceUnavailable(
            service, f"circuit {what} until {row.open_until:%Y-%m-%d %H:%M:%S} UTC"
        )
    # Cooled down (or a trial's lease ran out): exactly one caller makes the trial.
    lease = now + timedelta(seconds=_call_budget_s())
    won = ServiceHealth.objects.filter(
        Q(open_until__isnull=True) | Q(open_until__lte=now), pk=row.pk, state=row.state
    ).update(state=BreakerState.HALF_OPEN, open_until=lease)
    if won != 1:
        raise ServiceUnavailable(service, "another process is making the trial call")
    return True


def _call_budget_s() -> float:
    """How long one call may take, retries included: the half-open trial's lease."""
    retries = settings.GRID_HTTP_RETRIES
    backoff = settings.GRID_HTTP_BACKOFF_S * (2 ** (retries + 1))
    return settings.GRID_HTTP_TIMEOUT_S * (retries + 1) + backoff + 5


def _record_success(service: str, now: datetime, duration_ms: int) -> None:
    ServiceHealth.objects.filter(service=service).update(
        state=BreakerState.CLOSED,
        failures=0,
        open_until=None,
        last_success_at=now,
        last_duration_ms=duration_ms,
    )


def _record_failure(service: str, now: datetime, message: str, trial: bool) -> None:
    with transaction.atomic():
        row = ServiceHealth.objects.select_for_update().get(service=service)
        row.failures += 1
        row.last_error, row.last_error_at = message[:ERROR_CHARS], now
        if trial or row.failures >= settings.GRID_BREAKER_FAILURES:
            row.state = BreakerState.OPEN
            row.open_until = now + timedelta(seconds=settings.GRID_BREAKER_OPEN_S)
        row.save(update_fields=["failures", "last_error", "last_error_at", "state", "open_until"])
    log.warning("grid service %s failed: %s", service, message[:ERROR_CHARS])


# --- the call ------------------------------------------------------------------------------


def _backoff_s(attempt: int, response: httpx.Response | None) -> float | None:
    """Seconds to wait before the next try; None when the service asks for longer than a
    task should wait."""
    if response is not None and response.status_code == 429:
        after = response.headers.get("Retry-After", "")
        if after.isdigit():
            return float(after) if float(after) <= MAX_RETRY_AFTER_S else None
    base = settings.GRID_HTTP_BACKOFF_S * (2**attempt)
    return base * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


def _describe(response: httpx.Response) -> str:
    return f"HTTP {response.status_code} from {response.request.url.copy_with(query=None)}"


def fetch(
    service: str,
    path: str,
    parse: Callable[[httpx.Response], T],
    *,
    params: Mapping[str, str] | None = None,
    method: str = "GET",
    json: object = None,
    retries: int | None = None,
) -> T:
    """Call ``service`` (its base URL from settings + ``path``) and return ``parse(response)``.
    Raises ServiceUnavailable without calling when the breaker is open, NotFound on a 404,
    ServiceError when the call failed after its retries or the body did not parse; every
    outcome is written to the service's health row. ``retries=0`` for a call that must not
    be repeated blindly (a create: its caller looks before it tries again)."""
    config = service_config(service)
    if not config.url:
        raise ServiceUnavailable(service, "not configured")
    trial = _admit(service, timezone.now())
    headers = {"User-Agent": "dast-desk", "Accept": "application/json, application/xml"}
    if config.token:
        scheme = config.auth_scheme  # "Bearer", "Token token=" (Zammad) or "" (Rucio)
        if scheme and not scheme.endswith("="):
            scheme += " "
        headers[config.auth_header] = scheme + config.token
    started = time.perf_counter()
    failure = "no attempt made"
    # Proxies from the environment are not used: the services are reached directly.
    with httpx.Client(
        timeout=httpx.Timeout(settings.GRID_HTTP_TIMEOUT_S),
        headers=headers,
        trust_env=False,
        follow_redirects=True,
        max_redirects=3,
    ) as client:
        retries = settings.GRID_HTTP_RETRIES if retries is None else retries
        for attempt in range(retries + 1):
            response = None
            try:
                response = client.request(method, config.url + path, params=params, json=json)
            except httpx.TimeoutException:
                failure = f"timed out after {settings.GRID_HTTP_TIMEOUT_S} s"
            except httpx.HTTPError as error:
                failure = f"{type(error).__name__}: {error}"
            else:
                if response.status_code == 404:
                    _record_success(service, timezone.now(), _ms(started))
                    raise NotFound(service, _describe(response))
                if response.status_code < 400:
                    try:
                        value = parse(response)
                    except (BadData, ValueError) as error:
                        failure = f"malformed answer ({_describe(response)}): {error}"
                        break  # the same body would come again: no retry
                    _record_success(service, timezone.now(), _ms(started))
                    return value
                failure = _describe(response)
                if response.status_code not in RETRYABLE:
                    break  # 401, 403, 400: asking again will not help
            if attempt == retries:
                break
            wait = _backoff_s(attempt, response)
            if wait is None:
                failure += " (asked to wait longer than a task waits)"
                break
            time.sleep(wait)
    _record_failure(service, timezone.now(), failure, trial)
    raise ServiceError(service, failure)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
