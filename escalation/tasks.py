"""Thin Celery tasks of the escalation app."""

from celery import shared_task

from escalation.routing import route_waiting


@shared_task(name="escalation.tasks.route_waiting_task")
def route_waiting_task() -> int:
    """After-hours tickets go to the next shift as soon as it starts."""
    return route_waiting()
