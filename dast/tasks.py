from celery import shared_task
from django.db.models import F
from django.utils import timezone

from dast.models import Heartbeat


@shared_task(name="dast.tasks.heartbeat_task")
def heartbeat_task(name: str = "worker") -> None:
    """Scheduled by beat and run by a worker: its row proves both are alive."""
    now = timezone.now()
    updated = Heartbeat.objects.filter(name=name).update(beat_at=now, count=F("count") + 1)
    if not updated:
        Heartbeat.objects.get_or_create(name=name, defaults={"beat_at": now, "count": 1})
