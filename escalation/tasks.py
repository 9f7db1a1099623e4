"""Thin Celery tasks of the escalation app."""

from celery import shared_task

from escalation.handover import handover_run
from escalation.routing import route_waiting
from escalation.timers import timer_sweep


@shared_task(name="escalation.tasks.route_waiting_task")
def route_waiting_task() -> int:
    """After-hours tickets go to the next shift as soon as it starts."""
    return route_waiting()


@shared_task(name="escalation.tasks.handover_task")
def handover_task() -> int:
    """At each shift end, the leaving shifters' unanswered tickets pass to the incoming ones."""
    return handover_run()


@shared_task(name="escalation.tasks.timer_sweep_task")
def timer_sweep_task() -> int:
    """Run every timer step that is due (reminders, escalations, first-answer targets)."""
    import escalation.steps  # noqa: F401 - registers the steps

    return timer_sweep()
