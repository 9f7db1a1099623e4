"""Real mail servers for tests: a throwaway Dovecot IMAP server and an SMTP sink.

    with Dovecot.start({"support": "support-pw"}) as imap:
        uid = imap.append("support", "support-pw", raw)

    with SmtpSink() as sink:
        ...  # send to sink.host, sink.port
        sink.wait_for(1)

Dovecot runs in the foreground (``dovecot -F``) as a child of the test process, so the PID we
hold is the master's: we can wait on it, and its exit status tells us it is gone. Its config,
sockets, state, log and mail live in one temporary folder; the system's Dovecot is never used.

The pytest fixtures are at the end: ``dovecot`` (session), ``imap_mailbox`` and ``smtp_sink``
(per test). Outside CI a missing ``dovecot`` binary skips the test; under ``CI=true`` it fails.
"""

from __future__ import annotations

import contextlib
import email
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from aiosmtpd.controller import Controller
from imapclient import IMAPClient, imap_utf7

from tests.servers import IN_CI, IS_ROOT, ServerError, free_port

_APPENDUID = re.compile(rb"\[APPENDUID (\d+) ([\d:,]+)\]")
# Where Debian puts it; /usr/sbin is not on an unprivileged user's PATH.
DOVECOT_FALLBACK = "/usr/sbin/dovecot"


class DovecotMissing(ServerError):
    pass


def _binary(name: str, *fallbacks: str) -> str | None:
    for candidate in (shutil.which(name), *fallbacks):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _group_members(pgid: int) -> set[int]:
    """Live processes in a process group (zombies excluded)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[2]) == pgid:
                found.add(int(entry.name))
    return found


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


# --- Dovecot --------------------------------------------------------------------------------


def _config(root: Path, port: int, *, idle_notify_interval: int, fsync: bool) -> str:
    if IS_ROOT:
        # Dovecot refuses uid 0 for mail: mail belongs to nobody, services keep their users.
        mail_owner = "uid=nobody gid=nogroup"
        users = "default_internal_user = dovecot\ndefault_login_user = dovenull\n"
        anvil_chroot = ""
    else:
        me, my_group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
        mail_owner = f"uid={os.getuid()} gid={os.getgid()}"
        # Unix listeners are chowned to the internal group, which must be ours too.
        users = (
            f"default_internal_user = {me}\ndefault_internal_group = {my_group}\n"
            f"default_login_user = {me}\n"
        )
        anvil_chroot = "  chroot =\n"
    login_chroot = "" if IS_ROOT else "  chroot =\n"
    return f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# A wrong password in a test should fail fast (0.5 s is left), not after Dovecot's 2 s.
auth_failure_delay = 0
first_valid_uid = 1
{users}mail_location = maildir:{root}/mail/%u/Maildir
# Throwaway mail needs no fsync (as PostgreSQL in tests); benchmarks may want it back.
mail_fsync = {"optimized" if fsync else "never"}
# IDLE: changes are seen via inotify at once; without it, poll every second (default 30 s).
mailbox_idle_check_interval = 1 secs
# "* OK Still here" keepalives while a client IDLEs.
imap_idle_notify_interval = {idle_notify_interval} secs
protocol imap {{
  # Tests open many connections from 127.0.0.1; the default limit is 10 per user and IP.
  mail_max_userip_connections = 1000
}}
passdb {{
  driver = passwd-file
  args = {root}/users
}}
userdb {{
  driver = static
  args = {mail_owner} home={root}/mail/%u
}}
service anvil {{
{anvil_chroot}  # Unreachable, so auth cannot record failures per IP: after a test's wrong password
  # every login from 127.0.0.1, good ones too, would otherwise wait 2-15 s.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
{login_chroot}  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def _memory_folder() -> str | None:
    """/dev/shm if usable: on this kind of VM disk, maildir writes are ~10x slower than tmpfs."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def _greeting(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            return sock.recv(200).startswith(b"* OK")
    except OSError:
        return False


class Dovecot:
    """One Dovecot master in the foreground, stopped by its PID."""

    host = "127.0.0.1"
    batch_size = 100

    def __init__(
        self,
        users: dict[str, str],
        *,
        root: Path | None = None,
        idle_notify_interval: int = 120,
        fsync: bool = False,
    ) -> None:
        self.users = dict(users)
        self.idle_notify_interval = idle_notify_interval
        self.fsync = fsync
        self._own_root = root is None
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="dast-dovecot-", dir=_memory_folder()))
        self.root = root
        self.conf = self.root / "dovecot.conf"
        self.log = self.root / "dovecot.log"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._stopped = False

    @classmethod
    def start(cls, users: dict[str, str], **kwargs: Any) -> Dovecot:
        return cls(users, **kwargs).__enter__()

    @property
    def pid(self) -> int:
        assert self.process is not None, "Dovecot is not running"
        return self.process.pid

    def _start(self, timeout: float = 20) -> None:
        binary = _binary("dovecot", DOVECOT_FALLBACK)
        if binary is None:
            raise DovecotMissing("dovecot is not installed (apt-get install dovecot-imapd)")
        # The login and auth processes run as other users and must reach their sockets.
        os.chmod(self.root, 0o755)  # noqa: S103
        for name in ("run", "state", "mail"):
            (self.root / name).mkdir(exist_ok=True)
        if IS_ROOT:
            nobody, nogroup = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
            os.chown(self.root / "mail", nobody, nogroup)
        passwords = "".join(f"{user}:{{PLAIN}}{pw}\n" for user, pw in self.users.items())
        (self.root / "users").write_text(passwords)
        self.port = free_port()
        self.conf.write_text(
            _config(
                self.root,
                self.port,
                idle_notify_interval=self.idle_notify_interval,
                fsync=self.fsync,
            )
        )
        # Before the log process is up, the master reports errors on stderr.
        with open(self.root / "stderr.log", "wb") as err:
            self.process = subprocess.Popen(
                [binary, "-F", "-c", str(self.conf)],
                stdout=err,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not _greeting(self.host, self.port):
            if self.process.poll() is not None:
                logs = [self.root / "stderr.log", self.log]
                tail = "".join(p.read_text(errors="replace") for p in logs if p.exists())
                raise ServerError(f"dovecot exited with {self.process.returncode}:\n{tail[-3000:]}")
            if time.monotonic() > deadline:
                raise ServerError(f"dovecot gave no greeting on port {self.port} in {timeout} s")
            time.sleep(0.05)

    def process_ids(self) -> set[int]:
        """The master and every process it started (log, auth, anvil, login, imap sessions)."""
        if self.process is None:
            return set()
        # Started in a session of its own, so everything Dovecot forks is in our group.
        return _group_members(self.process.pid)

    def stop(self, timeout: float = 10) -> None:
        """Stop the master and every process in its group, and wait until they are gone.

        The master alone is not enough: it exits after ~1 s leaving imap sessions that still
        have a client, and the log and stats processes serving them, running.
        """
        if self.process is not None and not self._stopped:
            # The group's id is the master's PID; it cannot be reused while a member lives.
            pgid = self.process.pid
            _signal_group(pgid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            for sig in (signal.SIGTERM, signal.SIGKILL):
                _signal_group(pgid, sig)
                deadline = time.monotonic() + timeout
                while _group_members(pgid) and time.monotonic() < deadline:
                    time.sleep(0.02)
            left = _group_members(pgid)
            if left:
                raise ServerError(f"dovecot processes {sorted(left)} survived SIGKILL")
            self._stopped = True
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        if self.process is None:
            try:
                self._start()
            except BaseException:
                self.stop()
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- IMAP helpers -----------------------------------------------------------------------

    def connect(self, user: str, password: str, *, timeout: float = 10) -> IMAPClient:
        client = IMAPClient(self.host, self.port, ssl=False, timeout=timeout)
        client.login(user, password)
        return client

    def append(
        self,
        user: str,
        password: str,
        raw: bytes,
        folder: str = "INBOX",
        flags: Iterable[bytes | str] = (),
        msg_time: datetime | None = None,
    ) -> int:
        """Store one message and return the UID the server gave it."""
        with self.connect(user, password) as client:
            return _append(client, folder, raw, flags, msg_time)

    def append_many(
        self, user: str, password: str, raws: Iterable[bytes], folder: str = "INBOX"
    ) -> list[int]:
        """Store messages over one connection; return their UIDs in order.

        Uses MULTIAPPEND, batch_size messages per command: Dovecot then commits once per
        batch, about ten times faster than one APPEND per message.
        """
        raws = list(raws)
        uids: list[int] = []
        with self.connect(user, password) as client:
            for start in range(0, len(raws), self.batch_size):
                batch = raws[start : start + self.batch_size]
                # imapclient returns (status, [text]) here, unlike append().
                _status, lines = client.multiappend(folder, batch)
                got = _uid_set(_appenduid(b" ".join(lines)))
                if len(got) != len(batch):
                    raise ServerError(f"{len(batch)} messages appended, UIDs {got}")
                uids += got
        return uids

    def create_folder(self, user: str, password: str, name: str) -> None:
        with self.connect(user, password) as client:
            client.create_folder(name)

    def delete_folder(self, user: str, password: str, name: str) -> None:
        with self.connect(user, password) as client:
            client.delete_folder(name)

    def uidvalidity(self, user: str, password: str, folder: str = "INBOX") -> int:
        with self.connect(user, password) as client:
            return int(client.select_folder(folder, readonly=True)[b"UIDVALIDITY"])

    def flags(self, user: str, password: str, folder: str = "INBOX") -> dict[int, set[bytes]]:
        """UID -> flags; \\Recent is left out, as it depends on which session looks first."""
        with self.connect(user, password) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            fetched = client.fetch(uids, ["FLAGS"]) if uids else {}
            return {
                uid: {flag for flag in data[b"FLAGS"] if flag != b"\\Recent"}
                for uid, data in fetched.items()
            }

    # --- making trouble ---------------------------------------------------------------------

    def _doveadm(self, *args: str) -> subprocess.CompletedProcess[str]:
        binary = _binary("doveadm", "/usr/bin/doveadm")
        if binary is None:
            raise ServerError("doveadm is not installed")
        # -c makes doveadm read our config, so it talks to anvil under our base_dir.
        return subprocess.run(
            [binary, "-c", str(self.conf), *args], capture_output=True, text=True, timeout=30
        )

    def session_pids(self, user_mask: str = "*") -> set[int]:
        """PIDs of the logged-in IMAP sessions, as anvil knows them."""
        done = self._doveadm("who", "-1", user_mask)
        # "doveadm who" exits 68 (EX_NOUSER) when nobody matches.
        if done.returncode not in (0, 68):
            raise ServerError(f"doveadm who failed: {done.stderr}")
        pids = set()
        for line in done.stdout.splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                pids.add(int(fields[2]))
        return pids

    def drop_connections(self, user_mask: str = "*", timeout: float = 10) -> int:
        """Disconnect every logged-in IMAP client (server keeps running); wait until gone.

        Returns how many sessions were dropped. Clients still at the login stage are not
        sessions yet and are left alone.
        """
        pids = self.session_pids(user_mask)
        if not pids:
            return 0
        done = self._doveadm("kick", user_mask)
        if done.returncode not in (0, 68):
            raise ServerError(f"doveadm kick failed: {done.stderr}")
        deadline = time.monotonic() + timeout
        while any(pid_alive(pid) for pid in pids):
            if time.monotonic() > deadline:
                raise ServerError(f"IMAP sessions {sorted(pids)} survived doveadm kick")
            time.sleep(0.02)
        return len(pids)

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        """The folder's maildir (Maildir++ layout: INBOX is the root, others are .Name)."""
        base = self.root / "mail" / user / "Maildir"
        if folder.upper() == "INBOX":
            return base
        return base / ("." + imap_utf7.encode(folder).decode("ascii"))

    def reset_uidvalidity(self, user: str, folder: str = "INBOX", attempts: int = 3) -> int:
        """Make the server renumber a folder under a new UIDVALIDITY; return the new value.

        Disconnects the user's IMAP sessions, deletes the folder's ``dovecot-uidlist`` and
        index files and the account's mailbox list index while the server runs, disconnects
        again anyone who came back meanwhile, then selects the folder from a new session, which
        makes Dovecot rebuild them under a new UIDVALIDITY. The messages (files in cur/ and
        new/) and their flags stay; their UIDs start again from 1.

        Sessions are dropped because one that keeps stale index files open goes on serving the
        old UIDs while logging "duplicate transaction log sequence" errors.
        """
        password = self.users[user]
        before = self.uidvalidity(user, password, folder)
        directory = self.maildir(user, folder)
        for _ in range(attempts):
            self.drop_connections(user)
            # The mailbox list index caches each folder's UIDVALIDITY for STATUS: it goes too.
            for path in [
                directory / "dovecot-uidlist",
                *directory.glob("dovecot.index*"),
                *self.maildir(user).glob("dovecot.list.index*"),
            ]:
                path.unlink(missing_ok=True)
            self.drop_connections(user)
            after = self.uidvalidity(user, password, folder)
            if after != before:
                return after
        raise ServerError(f"UIDVALIDITY of {folder} stayed {before} after {attempts} attempts")


def _append(
    client: IMAPClient,
    folder: str,
    raw: bytes,
    flags: Iterable[bytes | str],
    msg_time: datetime | None,
) -> int:
    response = client.append(folder, raw, flags=tuple(flags), msg_time=msg_time)
    return int(_appenduid(response))


def _appenduid(response: bytes) -> bytes:
    """The UID set in a UIDPLUS response: ``[APPENDUID 1795320237 4:6]`` -> ``b"4:6"``."""
    match = _APPENDUID.search(response)
    if match is None:
        raise ServerError(f"no APPENDUID in {response!r}")
    return match.group(2)


def _uid_set(text: bytes) -> list[int]:
    uids: list[int] = []
    for part in text.split(b","):
        first, _, last = part.partition(b":")
        uids += range(int(first), int(last or first) + 1)
    return uids


# --- SMTP sink ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return self.sink._receive(envelope)


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 that keeps every message it accepts."""

    host = "127.0.0.1"

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._received: list[ReceivedMail] = []
        self._failures_left = 0
        self._changed = threading.Condition()
        self._controller: Controller | None = None

    def _receive(self, envelope: Any) -> str:
        with self._changed:
            if self._failures_left > 0:
                self._failures_left -= 1
                return "451 4.3.0 Temporary failure, try again later"
            raw = envelope.original_content or envelope.content or b""
            mail = ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(raw))
            self._received.append(mail)
            self._changed.notify_all()
        return "250 2.0.0 OK"

    def start(self) -> SmtpSink:
        if self._controller is None:
            # A stopped Controller's event loop is closed: each start needs a new one.
            controller = Controller(_Handler(self), hostname=self.host, port=self.port)
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening and drop open connections; a later send is refused."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def restart(self) -> None:
        """Listen again on the same port, keeping the messages received so far."""
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def fail_next(self, count: int) -> None:
        """Answer the next ``count`` messages with 451 (temporary failure) and drop them."""
        with self._changed:
            self._failures_left = count

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._changed:
            return list(self._received)

    def clear(self) -> None:
        with self._changed:
            self._received.clear()

    def wait_for(self, count: int, timeout: float = 10) -> list[ReceivedMail]:
        """Block until at least ``count`` messages have arrived; raise TimeoutError if not."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._received) >= count, timeout):
                raise TimeoutError(
                    f"SMTP sink got {len(self._received)} of {count} messages in {timeout} s"
                )
            return list(self._received)

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- pytest fixtures ------------------------------------------------------------------------

DOVECOT_USERS = {"support": "support-pw", "expert": "expert-pw"}


class ImapMailbox(NamedTuple):
    server: Dovecot
    user: str
    password: str
    folder: str


def start_dovecot_for_tests(users: dict[str, str]) -> Dovecot:
    """Start Dovecot; if it is not installed, skip the test outside CI and fail it under CI."""
    try:
        return Dovecot.start(users)
    except DovecotMissing as exc:
        message = f"Dovecot is not available: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    server = start_dovecot_for_tests(DOVECOT_USERS)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def imap_mailbox(dovecot: Dovecot) -> Iterator[ImapMailbox]:
    """A new, empty folder in the support account, only for this test."""
    user = "support"
    password = DOVECOT_USERS[user]
    folder = f"test-{uuid.uuid4().hex[:12]}"
    dovecot.create_folder(user, password, folder)
    yield ImapMailbox(dovecot, user, password, folder)
    dovecot.delete_folder(user, password, folder)


@pytest.fixture
def desk_mailbox(imap_mailbox: ImapMailbox, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Team DAST's desk Mailbox row reading this test's folder over plain IMAP (its password in
    the environment, as a real one's is)."""
    from tests.factories import TeamFactory
    from tickets.models import Mailbox

    server, user, password, folder = imap_mailbox
    monkeypatch.setenv("DAST_TEST_IMAP_PW", password)
    return Mailbox.objects.create(
        team=TeamFactory(slug="dast", ticket_prefix="DAST"),
        name="desk",
        host=server.host,
        port=server.port,
        security="none",
        username=user,
        password_env="DAST_TEST_IMAP_PW",
        folder=folder,
        addresses="dast-desk@cern.ch",
    )


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink
