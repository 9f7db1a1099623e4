"""/healthz over real HTTP: gunicorn as in production, checking PostgreSQL and Redis."""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.servers import free_port

REQUESTS = 500


def _get(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status
    finally:
        connection.close()


def run(ctx) -> dict:
    port = free_port()
    env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1", "PYTHONUNBUFFERED": "1"}
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    args = [gunicorn, "dast.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    log = open(ctx.work_dir / "healthz-gunicorn.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(port) == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("gunicorn did not answer /healthz with 200")
            time.sleep(0.2)
        for _ in range(50):  # warm both workers' connections
            _get(port)
        timings = []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            status = _get(port)
            timings.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise RuntimeError(f"/healthz answered {status}")
    finally:
        server.terminate()
        server.wait(15)
        log.close()
    p95 = statistics.quantiles(timings, n=100)[94]
    return {
        "healthz_p95_ms": {"value": round(p95, 2), "unit": "ms"},
        "healthz_p50_ms": {"value": round(statistics.median(timings), 2), "unit": "ms"},
    }
