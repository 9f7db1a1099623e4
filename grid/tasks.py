"""Thin Celery tasks of the grid app."""

from celery import shared_task

from grid.services import grid_directory_refresh, statuses_fetch


@shared_task(name="grid.tasks.grid_directory_task")
def grid_directory_task() -> dict[str, str]:
    """Sites and queues from CRIC, then downtimes from GOCDB (beat, GRID_DOWNTIME_INTERVAL_S)."""
    return grid_directory_refresh()


@shared_task(name="grid.tasks.statuses_fetch_task")
def statuses_fetch_task(kind: str, numbers: list[int]) -> int:
    """The monitor's status of the jobs or tasks a ticket page asked about."""
    return statuses_fetch(kind=kind, numbers=numbers)
