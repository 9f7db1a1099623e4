"""Run the whole desk on a laptop: web server, Celery worker and beat, stopped together.

``make run`` calls this after migrating and loading the demo data. Ctrl-C (or SIGTERM) stops
all three; if one of them dies, the others are stopped too and the command fails.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from types import FrameType

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dast.demo import DEMO_LOGINS, DEMO_PASSWORD


class Command(BaseCommand):
    help = "Run web server, Celery worker and Celery beat together (the embedded set-up)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="host:port of the web server")
        parser.add_argument("--ready-timeout", type=float, default=60)

    def handle(self, *args: object, addr: str, ready_timeout: float, **options: object) -> None:
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        celery = [python, "-m", "celery", "-A", "dast"]
        commands = {
            "web": [python, manage, "runserver", "--noreload", addr],
            "worker": [*celery, "worker", "--pool=solo", "--loglevel=INFO"],
            "beat": [
                *celery,
                "beat",
                "--loglevel=INFO",
                f"--schedule={settings.CELERY_BEAT_SCHEDULE_FILENAME}",
            ],
        }
        stopping = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stopping.set()

        # Ctrl-C reaches every process of the terminal's group at once: the children stop by
        # themselves, and a child that exits is only an error if no stop was asked for.
        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        processes: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for name, command in commands.items():
                processes[name] = subprocess.Popen(command, cwd=settings.BASE_DIR)
            self._wait_ready(f"http://{addr}/healthz", processes, ready_timeout, stopping)
            if not stopping.is_set():
                self._banner(addr)
            while not stopping.wait(0.5):
                for name, process in processes.items():
                    if process.poll() is not None and not stopping.wait(1.0):
                        raise CommandError(f"{name} exited with {process.returncode}")
            self.stdout.write("Stopping web, worker and beat ...")
        finally:
            _stop_all(processes)

    def _wait_ready(
        self,
        url: str,
        processes: dict[str, subprocess.Popen[bytes]],
        timeout: float,
        stopping: threading.Event,
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stopping.is_set():
            for name, process in processes.items():
                if process.poll() is not None:
                    raise CommandError(f"{name} exited with {process.returncode} while starting")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our URL
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise CommandError(f"the web server did not answer {url} within {timeout:.0f} s")

    def _banner(self, addr: str) -> None:
        lines = [
            "",
            f"  DAST Desk is running at http://{addr}/",
            f"  Demo logins (password {DEMO_PASSWORD!r} for all):",
            *(f"    {username:<10} {what}" for username, what in DEMO_LOGINS),
            f"  Sent mail is written to {settings.EMAIL_FILE_PATH}/",
            "  Press Ctrl-C to stop web, worker and beat.",
            "",
        ]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))


def _stop_all(processes: dict[str, subprocess.Popen[bytes]], timeout: float = 10) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes.values():
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
