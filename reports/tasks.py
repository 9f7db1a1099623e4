from celery import shared_task
from django.utils import timezone

from reports.weekly import weekly_mail_send


@shared_task(name="reports.tasks.weekly_mail_task", ignore_result=True)
def weekly_mail_task() -> int:
    return weekly_mail_send(now=timezone.now())
