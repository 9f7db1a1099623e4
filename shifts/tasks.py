"""Thin Celery tasks of the shifts app."""

from celery import shared_task

from shifts.services import coverage_alert_send


@shared_task(name="shifts.tasks.coverage_alert_task")
def coverage_alert_task() -> int:
    """Tell coordinators about uncovered slots ahead (at most once per slot a day)."""
    return coverage_alert_send()
