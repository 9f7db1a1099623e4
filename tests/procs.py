"""Start the project's own processes from a test, and always stop them by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def child_env(**overrides: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **overrides}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@contextlib.contextmanager
def running(
    args: Sequence[str], env: Mapping[str, str], log: Path, *, stop_signal: int = signal.SIGTERM
) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as out:
        process = subprocess.Popen(
            list(args),
            cwd=ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop(process, stop_signal)


def stop(process: subprocess.Popen[bytes], stop_signal: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(stop_signal)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(
    condition: Callable[[], object],
    *,
    timeout: float,
    what: str,
    log: Path | None = None,
    process: subprocess.Popen[bytes] | None = None,
) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n--- log ---\n{tail}")
