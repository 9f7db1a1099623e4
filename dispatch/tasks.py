"""Thin Celery tasks of dispatch."""

from celery import shared_task

from dispatch.handover import handover_run
from dispatch.routing import route_waiting


@shared_task(name="dispatch.tasks.route_waiting_task")
def route_waiting_task() -> int:
    """After-hours tickets go to the next shift as soon as it starts."""
    return route_waiting()


@shared_task(name="dispatch.tasks.handover_task")
def handover_task() -> int:
    """At each shift end, the leaving shifters' unanswered tickets pass to the incoming ones."""
    return handover_run()
