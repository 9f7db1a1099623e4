"""Each service of docker-compose.yml starts from its own command, as a plain process.

No Docker engine runs here, so the test reads the compose file, takes each service's command
and environment, points them at the test's PostgreSQL and Redis on 127.0.0.1, and watches
each one come up.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from dast.models import Heartbeat
from tests.procs import BIN, ROOT, running, wait_for
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SUBSTITUTION = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def substitute(value: str, variables: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name, op, arg = match.groups()
        if variables.get(name):
            return variables[name]
        if op == "?":
            raise AssertionError(f"compose needs {name}: {arg}")
        return arg or ""

    return SUBSTITUTION.sub(one, value)


def service(name: str, variables: dict[str, str], overrides: dict[str, str]):
    spec = COMPOSE["services"][name]
    env = {key: substitute(str(value), variables) for key, value in spec["environment"].items()}
    # Like a container: only what the compose file gives, not this test run's environment.
    base = {key: os.environ[key] for key in ("HOME", "LANG", "TMPDIR") if key in os.environ}
    base |= {"PATH": f"{BIN}{os.pathsep}/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    return list(spec["command"]), {**base, **env, **overrides}


def test_every_app_service_runs_a_command_from_the_project():
    assert {"postgres", "redis", "migrate", "web", "worker", "beat", "fetcher"} <= set(
        COMPOSE["services"]
    )
    for name in ("migrate", "web", "worker", "beat", "fetcher"):
        spec = COMPOSE["services"][name]
        assert spec["build"] == "."
        assert spec["environment"]["DATABASE_URL"].startswith("postgres://")
        assert spec["environment"]["CELERY_BROKER_URL"].startswith("redis://")


def test_every_celery_queue_has_a_worker_service_of_its_own(settings):
    consumed: dict[str, str] = {}
    for name, spec in COMPOSE["services"].items():
        command = spec.get("command") or []
        if command[:4] == ["celery", "-A", "dast", "worker"]:
            queues = command[command.index("-Q") + 1].split(",")
            consumed |= {queue: name for queue in queues}
    assert set(consumed) == {q.name for q in settings.CELERY_TASK_QUEUES}
    assert len(set(consumed.values())) == len(consumed)  # one worker service per queue


@pytest.fixture
def compose_env(postgres_url, redis_url, tmp_path):
    variables = {"SECRET_KEY": "compose-test-" + "k" * 50, "POSTGRES_PASSWORD": "unused"}
    overrides = {
        "DATABASE_URL": postgres_url,
        "CELERY_BROKER_URL": redis_url,
        "CACHE_URL": redis_url.rsplit("/", 1)[0] + "/1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "DAST_VAR_DIR": str(tmp_path / "var"),
        "HEARTBEAT_INTERVAL_S": "1",
        "TRUST_X_FORWARDED_PROTO": "1",
    }
    os.makedirs(tmp_path / "var", exist_ok=True)
    return variables, overrides


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - http only

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_the_migrate_service_runs_to_completion(compose_env):
    command, env = service("migrate", *compose_env)
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr


def test_the_web_service_serves_healthz_with_gunicorn_and_redirects_pages_to_https(
    compose_env, tmp_path
):
    command, env = service("web", *compose_env)
    assert command[0] == "gunicorn"
    port = free_port()
    bind = command.index("--bind") + 1
    command[bind] = f"127.0.0.1:{port}"  # tests listen on loopback only
    log = tmp_path / "web.log"
    with running(command, env, log) as web:
        status = wait_for(
            lambda: _try(lambda: _get(f"http://127.0.0.1:{port}/healthz")),
            timeout=60,
            what="gunicorn to answer",
            log=log,
            process=web,
        )
        code, _, body = status
        assert code == 200, body
        assert json.loads(body) == {
            "status": "ok",
            "database": "ok",
            "broker": "ok",
            "events": "ok",
            "mail": "ok",
            "event_consumers": {"lag_s": {}, "failed": 0},
        }
        code, headers, _ = _get(f"http://127.0.0.1:{port}/login/")
        assert code == 301
        assert headers["Location"].startswith("https://")
        code, headers, _ = _get(f"http://127.0.0.1:{port}/login/", {"X-Forwarded-Proto": "https"})
        assert code == 200
        assert "max-age=31536000" in headers["Strict-Transport-Security"]


def _try(call):
    try:
        return call()
    except OSError:
        return None


def test_worker_and_beat_services_start_and_the_worker_runs_what_beat_schedules(
    compose_env, tmp_path
):
    worker_cmd, worker_env = service("worker", *compose_env)
    beat_cmd, beat_env = service("beat", *compose_env)
    beat_cmd = [
        f"--schedule={tmp_path / 'beat-schedule'}" if arg.startswith("--schedule=") else arg
        for arg in beat_cmd
    ]
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    with (
        running(worker_cmd, worker_env, worker_log) as worker,
        running(beat_cmd, beat_env, beat_log) as beat,
    ):
        wait_for(
            lambda: "ready." in worker_log.read_text(),
            timeout=60,
            what="worker ready",
            log=worker_log,
            process=worker,
        )
        wait_for(
            lambda: "beat: Starting" in beat_log.read_text(),
            timeout=60,
            what="beat started",
            log=beat_log,
            process=beat,
        )
        wait_for(
            lambda: Heartbeat.objects.filter(name="worker", count__gte=2).exists(),
            timeout=30,
            what="two heartbeats scheduled by beat and run by the worker",
            log=worker_log,
        )


def test_the_fetcher_service_starts_and_stops_cleanly_on_sigterm(compose_env, tmp_path):
    command, env = service("fetcher", *compose_env)
    log = tmp_path / "fetcher.log"
    with running(command, env, log) as fetcher:
        wait_for(
            lambda: "fetch_mail: started" in log.read_text(),
            timeout=60,
            what="fetcher started",
            log=log,
            process=fetcher,
        )
        assert fetcher.poll() is None
        fetcher.send_signal(signal.SIGTERM)
        assert fetcher.wait(15) == 0
    assert "fetch_mail: stopped" in Path(log).read_text()


def test_a_ticket_whose_nudge_was_lost_is_routed_by_beat_and_the_events_worker(
    compose_env, tmp_path, monkeypatch
):
    from tests.factories import MailboxFactory, TeamFactory
    from tickets.models import DeliveryState, EventDelivery, OutboundMail
    from tickets.models.mail import OutboundKind
    from tickets.services import Sender, ticket_open

    monkeypatch.setattr("tickets.events.nudge", lambda: None)  # lost with its process
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    MailboxFactory(team=team)
    ticket = ticket_open(
        team=team, sender=Sender("jane@cern.ch"), subject="Jobs fail", body_text="..."
    )
    worker_cmd, worker_env = service("worker-events", *compose_env)
    beat_cmd, beat_env = service("beat", *compose_env)
    beat_cmd = [
        f"--schedule={tmp_path / 'beat-schedule'}" if arg.startswith("--schedule=") else arg
        for arg in beat_cmd
    ]
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    delivery = EventDelivery.objects.filter(event__ticket=ticket, consumer="routing")
    with (
        running(worker_cmd, worker_env, worker_log),
        running(beat_cmd, beat_env, beat_log),
    ):
        wait_for(
            lambda: delivery.filter(state=DeliveryState.DONE).exists(),
            timeout=60,
            what="the routing consumer run by the events worker",
            log=worker_log,
        )
    # Routed to whoever is on shift now, or flagged for the next shift; acknowledged once.
    ticket.refresh_from_db()
    assert ticket.assignee_id is not None or ticket.after_hours
    assert (
        OutboundMail.objects.filter(ticket=ticket, kind=OutboundKind.ACKNOWLEDGEMENT).count() == 1
    )
