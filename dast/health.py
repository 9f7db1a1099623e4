"""Checks behind /healthz: can we reach the database and the broker right now?"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.utils import Error as DatabaseError
from kombu import Connection


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return f"database unreachable: {exc.__class__.__name__}: {str(exc).strip()[:200]}"
    return None


def check_broker() -> str | None:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
        if not folder.is_dir():
            return f"broker folder {folder} does not exist"
        if not os.access(folder, os.W_OK):
            return f"broker folder {folder} is not writable"
        return None
    try:
        with Connection(url, connect_timeout=2, transport_options={"socket_timeout": 2}) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            # Redis accepts a TCP connection before it is ready; a round trip proves it answers.
            conn.default_channel.client.ping()
    except Exception as exc:  # any failure is a reason to report, not to raise
        return f"broker unreachable: {exc.__class__.__name__}: {str(exc).strip()[:200]}"
    return None


def event_consumers() -> tuple[str | None, dict[str, object]]:
    """The event log's consumers: a reason when one lags past EVENT_LAG_LIMIT_S, and the
    figures (each consumer's lag in seconds, failed deliveries)."""
    from tickets.events import events_failed_count, events_lag

    try:
        lag = events_lag()
        failed = events_failed_count()
    except DatabaseError as exc:
        return f"event log unreadable: {exc.__class__.__name__}", {}
    figures: dict[str, object] = {
        "lag_s": {name: round(seconds, 1) for name, seconds in sorted(lag.items())},
        "failed": failed,
    }
    late = {name: s for name, s in lag.items() if s > settings.EVENT_LAG_LIMIT_S}
    if late:
        worst = max(late, key=lambda name: late[name])
        return (
            f"consumer {worst} is {late[worst]:.0f} s behind "
            f"(limit {settings.EVENT_LAG_LIMIT_S} s)",
            figures,
        )
    return None, figures


def mailboxes() -> tuple[str | None, dict[str, object]]:
    """Each active mailbox's last complete poll: a reason when one that was polled before
    has not been for MAIL_STALE_AFTER_S (its fetcher stopped or cannot reach the server)."""
    from django.utils import timezone

    from tickets.models import Mailbox

    now = timezone.now()
    ages: dict[str, float | None] = {}
    for name, team, polled_at in Mailbox.objects.filter(active=True).values_list(
        "name", "team__slug", "last_fetch_at"
    ):
        ages[f"{team}/{name}"] = None if polled_at is None else (now - polled_at).total_seconds()
    stale = {
        name: age
        for name, age in ages.items()
        if age is not None and age > settings.MAIL_STALE_AFTER_S
    }
    figures: dict[str, object] = {
        name: ("never polled" if age is None else round(age)) for name, age in sorted(ages.items())
    }
    if stale:
        worst = max(stale, key=lambda name: stale[name])
        return (
            f"mailbox {worst} last polled {stale[worst]:.0f} s ago "
            f"(limit {settings.MAIL_STALE_AFTER_S} s)",
            figures,
        )
    return None, figures
