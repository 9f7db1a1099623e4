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
