"""Thin Celery tasks of notifications."""

from celery import shared_task

from notifications.digest import digest_run
from notifications.webhooks import webhooks_send_due


@shared_task(name="notifications.tasks.webhook_sweep_task")
def webhook_sweep_task() -> int:
    """Post every chat webhook message that is due (new ones and retries)."""
    return webhooks_send_due()


@shared_task(name="notifications.tasks.digest_task")
def digest_task() -> int:
    """At the first shift after a gap in the cover, its shifters get the digest."""
    return digest_run()
