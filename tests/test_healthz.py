import json
import subprocess

import pytest
from django.urls import reverse

from tests.procs import PYTHON, ROOT, child_env

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_when_database_and_redis_answer(client, settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "events": "ok",
        "event_consumers": {"lag_s": {}, "failed": 0},
    }


def test_healthz_answers_503_with_the_reason_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["database"] == "ok"
    assert body["broker"].startswith("broker unreachable")


def test_healthz_checks_the_filesystem_broker_folder(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "missing")}
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert "does not exist" in response.json()["broker"]
    (tmp_path / "missing").mkdir()
    assert client.get(reverse("healthz")).status_code == 200


def test_the_database_check_reports_an_unreachable_server():
    code = (
        "import django, json; django.setup();"
        "from dast.health import check_database; print(json.dumps(check_database()))"
    )
    done = subprocess.run(
        [PYTHON, "-c", code],
        cwd=ROOT,
        env=child_env(DATABASE_URL="postgres://nobody@127.0.0.1:1/none"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout).startswith("database unreachable: OperationalError")
