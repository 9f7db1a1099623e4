"""`make run`'s last step: web, worker and beat on the embedded set-up, stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.procs import PYTHON, ROOT, child_env, running, wait_for
from tests.servers import free_port

# Web, worker and beat are processes of their own, on the real clock.
pytestmark = pytest.mark.processes


def _children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        ppid = next(line.split()[1] for line in text.splitlines() if line.startswith("PPid:"))
        if int(ppid) == pid:
            found.append(int(status.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def test_rundesk_serves_the_desk_runs_worker_and_beat_and_stops_them_all_on_ctrl_c(tmp_path):
    var = tmp_path / "var"
    for folder in ("broker/queue", "broker/processed", "sent-mail"):
        (var / folder).mkdir(parents=True)
    env = child_env(
        DEBUG="1",
        SECRET_KEY="rundesk-test",
        DAST_VAR_DIR=str(var),
        DATABASE_URL=f"sqlite:///{var / 'desk.sqlite3'}",
        CELERY_BROKER_URL="filesystem://",
        HEARTBEAT_INTERVAL_S="1",
    )
    migrate = subprocess.run(
        [PYTHON, "manage.py", "migrate", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert migrate.returncode == 0, migrate.stderr
    port = free_port()
    log = tmp_path / "rundesk.log"
    args = [PYTHON, "manage.py", "rundesk", "--addr", f"127.0.0.1:{port}"]
    with running(args, env, log, stop_signal=signal.SIGINT) as desk:
        wait_for(
            lambda: "DAST Desk is running at" in log.read_text(),
            timeout=90,
            what="the banner",
            log=log,
            process=desk,
        )
        children = _children(desk.pid)
        assert len(children) == 3
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as page:
            assert b"Sign in" in page.read()
        # beat schedules a heartbeat every second; the worker runs it against SQLite.
        check = [
            PYTHON,
            "manage.py",
            "shell",
            "-c",
            "from dast.models import Heartbeat; "
            "print(Heartbeat.objects.filter(name='worker').values_list('count').first())",
        ]
        wait_for(
            lambda: (
                subprocess.run(
                    check, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
                ).stdout.strip()
                not in ("", "None")
            ),
            timeout=60,
            what="a heartbeat through the filesystem broker",
            log=log,
        )
        # The transport's exchange tables live under var/, not in the working folder.
        assert "celery.exchange" in {p.name for p in (var / "broker" / "control").iterdir()}
        os.killpg(desk.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        assert desk.wait(30) == 0
    assert not [pid for pid in children if _alive(pid)]
    assert "Stopping web, worker and beat" in log.read_text()
