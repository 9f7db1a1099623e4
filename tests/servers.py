"""Start throwaway PostgreSQL and Redis servers, run a command against them, stop them.

    python -m tests.servers [--durable] -- pytest ...

Used by ``make test`` and ``make bench``. The servers listen on 127.0.0.1 on free ports, keep
their data in a temporary folder, and are stopped by PID when the command ends. The command
gets ``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``DAST_TEST_REDIS_URL`` in its environment.

Outside CI a server that cannot be started is reported and left out (its tests then skip);
under ``CI=true`` it fails the run.
"""

from __future__ import annotations

import argparse
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
IS_ROOT = os.geteuid() == 0


class ServerError(RuntimeError):
    pass


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)
    log: Path | None = None

    def stop(self, timeout: float = 20) -> None:
        if self.process.poll() is not None:
            return
        # SIGINT is PostgreSQL's "fast shutdown"; Redis treats it like SIGTERM.
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(ready: Callable[[], bool], server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:] if server.log else ""
            raise ServerError(f"{server.name} exited with {server.process.returncode}:\n{tail}")
        if ready():
            return
        time.sleep(0.1)
    raise ServerError(f"{server.name} did not become ready within {timeout:.0f} s")


def _apt_install(package: str) -> None:
    if not (IS_ROOT and shutil.which("apt-get")):
        raise ServerError(f"{package} is missing and cannot be installed here (needs root and apt)")
    print(f"servers: installing {package} with apt", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-q", package], check=True, env=env)


# --- PostgreSQL -----------------------------------------------------------------------------


def _pg_bindir() -> Path:
    for candidate in (shutil.which("pg_config"), "/usr/lib/postgresql/15/bin/pg_config"):
        if candidate and Path(candidate).exists():
            out = subprocess.run([candidate, "--bindir"], capture_output=True, text=True)
            bindir = Path(out.stdout.strip())
            if (bindir / "initdb").exists():
                return bindir
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    raise ServerError("PostgreSQL server binaries (initdb, postgres) not found")


def start_postgres(root: Path, *, durable: bool) -> Server:
    bindir = _pg_bindir()
    # initdb and postgres refuse to run as root: run them as the postgres user.
    user = "postgres" if IS_ROOT else None
    folder = root / "pg"
    folder.mkdir()
    if user:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    data, log = folder / "data", folder / "postgres.log"
    subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "-N",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        user=user,
        group=user,
    )
    port = free_port()
    args = [
        str(bindir / "postgres"),
        "-D",
        str(data),
        "-p",
        str(port),
        "-k",
        str(folder),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "max_connections=200",
    ]
    if not durable:
        # A throwaway cluster for tests needs no crash safety; benchmarks keep fsync on.
        args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, user=user, group=user
        )
    url = f"postgres://postgres@127.0.0.1:{port}/dast"
    server = Server("postgres", process, {"DATABASE_URL": url}, log)

    def ready() -> bool:
        done = subprocess.run(
            [
                str(bindir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-qAtc",
                "CREATE DATABASE dast",
            ],
            capture_output=True,
        )
        return done.returncode == 0

    _wait_until(ready, server, timeout=60)
    return server


# --- Redis ----------------------------------------------------------------------------------


def start_redis(root: Path) -> Server:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        _apt_install("redis-server")
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    folder = root / "redis"
    folder.mkdir()
    port = free_port()
    log = folder / "redis.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(folder),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"redis://127.0.0.1:{port}/0"
    server = Server("redis", process, {"CELERY_BROKER_URL": url, "DAST_TEST_REDIS_URL": url}, log)

    def ready() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    _wait_until(ready, server, timeout=30)
    return server


# --- the wrapper ----------------------------------------------------------------------------


def base_env(root: Path) -> dict[str, str]:
    """Settings every test and benchmark run shares, whatever servers there are."""
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "0",
        "DAST_VAR_DIR": str(root / "var"),
        "DAST_TEST_SERVERS_DIR": str(root),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--durable", action="store_true", help="keep fsync on (benchmarks)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")

    root = Path(tempfile.mkdtemp(prefix="dast-servers-"))
    os.chmod(root, 0o755)  # noqa: S103 - the postgres user must reach its folder inside
    servers: list[Server] = []
    env = {**os.environ, **base_env(root)}
    try:
        for name, start in (
            ("postgres", lambda: start_postgres(root, durable=args.durable)),
            ("redis", lambda: start_redis(root)),
        ):
            try:
                server = start()
            except (ServerError, OSError, subprocess.CalledProcessError) as exc:
                if IN_CI:
                    print(f"servers: {name} could not start under CI: {exc}", file=sys.stderr)
                    return 3
                print(f"servers: {name} not started ({exc}); its tests will skip", file=sys.stderr)
                continue
            servers.append(server)
            env.update(server.env)
            print(f"servers: {name} pid {server.process.pid} {server.env}", file=sys.stderr)
        return subprocess.call(command, env=env)
    finally:
        for server in reversed(servers):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
