"""Thin Celery tasks of the grid app."""

from celery import shared_task

from grid.ggus import ggus_close, ggus_open, ggus_sweep
from grid.rucio import dids_fetch
from grid.services import grid_directory_refresh, statuses_fetch


@shared_task(name="grid.tasks.grid_directory_task")
def grid_directory_task() -> dict[str, str]:
    """Sites and queues from CRIC, then downtimes from GOCDB (beat, GRID_DOWNTIME_INTERVAL_S)."""
    return grid_directory_refresh()


@shared_task(name="grid.tasks.statuses_fetch_task")
def statuses_fetch_task(kind: str, numbers: list[int]) -> int:
    """The monitor's status of the jobs or tasks a ticket page asked about."""
    return statuses_fetch(kind=kind, numbers=numbers)


@shared_task(name="grid.tasks.ggus_open_task")
def ggus_open_task(pk: int) -> bool:
    """Open the GGUS ticket of an escalation just made (the beat sweep retries it)."""
    return ggus_open(pk=pk) is not None


@shared_task(name="grid.tasks.ggus_close_task")
def ggus_close_task(pk: int) -> bool:
    """Close the GGUS ticket of an escalation just cancelled (the beat sweep retries it)."""
    return ggus_close(pk=pk) is not None


@shared_task(name="grid.tasks.ggus_sweep_task")
def ggus_sweep_task() -> dict[str, int]:
    """GGUS tickets due to be opened again or read (beat, GGUS_SWEEP_INTERVAL_S)."""
    return ggus_sweep()


@shared_task(name="grid.tasks.dids_fetch_task")
def dids_fetch_task(dids: list[str]) -> int:
    """Rucio's word on the datasets a ticket page asked about."""
    return dids_fetch(dids=dids)
