"""The Celery app. Its beat schedule is ``CELERY_BEAT_SCHEDULE`` in ``dast/settings.py``."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dast.settings")

app = Celery("dast")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
