"""A real Celery worker process, on the real Redis, writes to the real PostgreSQL."""

import uuid

import pytest

from dast.celery import app as celery_app
from dast.models import Heartbeat
from dast.tasks import heartbeat_task
from tests.procs import PYTHON, child_env, running, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_task_sent_through_redis_is_run_by_a_worker_process_and_lands_in_the_database(
    redis_url, postgres_url, tmp_path
):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = child_env(DATABASE_URL=postgres_url, CELERY_BROKER_URL=redis_url)
    log = tmp_path / "worker.log"
    args = [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "dast",
        "worker",
        "--pool=prefork",
        "--concurrency=1",
        "-Q",
        queue,
        "--without-mingle",
        "--without-gossip",
        "--loglevel=INFO",
    ]
    with running(args, env, log) as worker:
        wait_for(
            lambda: "ready." in log.read_text(),
            timeout=60,
            what="worker ready",
            log=log,
            process=worker,
        )
        with celery_app.connection_for_write(redis_url) as connection:
            heartbeat_task.apply_async(args=["probe"], queue=queue, connection=connection)
        beat = wait_for(
            lambda: Heartbeat.objects.filter(name="probe").first(),
            timeout=30,
            what="the worker's write",
            log=log,
            process=worker,
        )
    assert beat.count == 1
    assert "dast.tasks.heartbeat_task" in log.read_text()
