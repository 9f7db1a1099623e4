from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from retention.services import retention_run


@shared_task
def retention_task() -> int:
    """The nightly run of the active retention policies; each is audited."""
    return len(retention_run(now=timezone.now(), dry_run=False))
