"""Thin Celery tasks of the escalation app."""

from celery import shared_task

from escalation.timers import timer_sweep


@shared_task(name="escalation.tasks.timer_sweep_task")
def timer_sweep_task() -> int:
    """Run every timer step that is due (reminders, escalations, first-answer targets)."""
    return timer_sweep()
