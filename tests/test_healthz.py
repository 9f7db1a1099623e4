import json
import subprocess
from datetime import UTC, datetime

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
        "mail": "ok",
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


@pytest.mark.frozen_at(datetime(2026, 11, 18, 10, tzinfo=UTC))
def test_healthz_turns_503_when_a_mailbox_that_was_polled_has_not_been_lately(
    client, settings, frozen_clock
):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import MailboxFactory, TeamFactory

    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": "/"}
    settings.MAIL_STALE_AFTER_S = 600
    mailbox = MailboxFactory(team=TeamFactory(slug="dast"), name="support")
    body = client.get(reverse("healthz")).json()
    assert (body["mail"], body["mailbox_last_poll_s"]) == ("ok", {"dast/support": "never polled"})
    type(mailbox).objects.filter(pk=mailbox.pk).update(last_fetch_at=timezone.now())
    frozen_clock.shift(timedelta(seconds=599))
    assert client.get(reverse("healthz")).json()["mailbox_last_poll_s"] == {"dast/support": 599}
    frozen_clock.shift(timedelta(seconds=2))
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["mail"] == "mailbox dast/support last polled 601 s ago (limit 600 s)"
