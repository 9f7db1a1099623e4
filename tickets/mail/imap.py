"""The one module that speaks IMAP (through imapclient).

A thin session: connect and log in, select a folder (its UIDVALIDITY), list UIDs above a
high-water mark, fetch raw bytes in batches (a big mail in pieces, into a file), flag or move
what has been stored, and wait with IDLE. Every network or server failure surfaces as
``ImapError`` for the caller to retry.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO

import imapclient
from imapclient.exceptions import IMAPClientError

STORED_FLAG = b"$DastStored"
RETRYABLE = (IMAPClientError, OSError, socket.timeout, ssl.SSLError, EOFError)


class ImapError(Exception):
    """The server or the network failed; reconnect and try again."""


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: str  # tls | starttls | none
    username: str
    password: str
    timeout: float = 30.0


class ImapSession:
    def __init__(self, config: ImapSettings) -> None:
        self.config = config
        self._client: imapclient.IMAPClient | None = None
        self._idling = False

    # -- connection ------------------------------------------------------------------------
    def __enter__(self) -> ImapSession:
        self.connect()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def connect(self) -> None:
        c = self.config
        try:
            client = imapclient.IMAPClient(
                c.host, port=c.port, ssl=c.security == "tls", timeout=c.timeout
            )
            if c.security == "starttls":
                client.starttls(ssl.create_default_context())
            client.login(c.username, c.password)
        except RETRYABLE as exc:
            raise ImapError(f"cannot log in to {c.host}:{c.port} as {c.username}: {exc}") from exc
        self._client = client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if self._idling:
                client.idle_done()
            client.logout()
        except RETRYABLE:
            pass  # the connection is gone either way
        finally:
            self._idling = False

    @property
    def client(self) -> imapclient.IMAPClient:
        if self._client is None:
            raise ImapError("not connected")
        return self._client

    def _call(self, what: str, *args: object, **kwargs: object) -> object:
        try:
            return getattr(self.client, what)(*args, **kwargs)
        except RETRYABLE as exc:
            raise ImapError(f"IMAP {what} failed: {exc}") from exc

    # -- reading ---------------------------------------------------------------------------
    def select(self, folder: str) -> int:
        """Select the folder; returns its UIDVALIDITY."""
        info = self._call("select_folder", folder)
        return int(info[b"UIDVALIDITY"])  # type: ignore[index]

    def uids_after(self, last_uid: int) -> list[int]:
        # "n:*" always includes the highest UID, even when it is below n: filter it out.
        uids = self._call("search", ["UID", f"{last_uid + 1}:*"])
        return sorted(uid for uid in uids if uid > last_uid)  # type: ignore[attr-defined]

    def unflagged_upto(self, last_uid: int) -> list[int]:
        """Stored UIDs that still lack our flag (the fetcher died before flagging them)."""
        if last_uid <= 0:
            return []
        uids = self._call("search", ["UID", f"1:{last_uid}", "UNKEYWORD", STORED_FLAG.decode()])
        return sorted(uid for uid in uids if uid <= last_uid)  # type: ignore[attr-defined]

    def sizes(self, uids: Iterable[int]) -> dict[int, int]:
        """RFC822.SIZE by UID: what each mail will cost before it is fetched."""
        wanted = list(uids)
        if not wanted:
            return {}
        data = self._call("fetch", wanted, [b"RFC822.SIZE"])
        return {
            int(uid): int(item.get(b"RFC822.SIZE") or 0)
            for uid, item in data.items()  # type: ignore[attr-defined]
        }

    def fetch(self, uids: Iterable[int]) -> dict[int, bytes]:
        """Raw bytes by UID. BODY.PEEK leaves \\Seen alone: people may read the box too.
        A UID the server returned no body for is left out (not an empty mail)."""
        wanted = list(uids)
        if not wanted:
            return {}
        data = self._call("fetch", wanted, [b"BODY.PEEK[]"])
        bodies = {}
        for uid, item in data.items():  # type: ignore[attr-defined]
            body = item.get(b"BODY[]")
            if body:
                bodies[int(uid)] = bytes(body) if not isinstance(body, bytes) else body
        return bodies

    def fetch_into(self, uid: int, out: BinaryIO, *, piece: int) -> str | None:
        """One mail's raw bytes written to ``out`` with partial fetches of ``piece`` bytes
        (BODY.PEEK[]<offset.piece>), so that a big mail is never in memory whole. Returns
        the bytes' SHA-256 (hex), or None when the server returned no body."""
        digest = hashlib.sha256()
        offset = 0
        while True:
            data = self._call("fetch", [uid], [f"BODY.PEEK[]<{offset}.{piece}>".encode()])
            item = data.get(uid) or {}  # type: ignore[attr-defined]
            body = item.get(f"BODY[]<{offset}>".encode())
            if not body:
                return digest.hexdigest() if offset else None
            out.write(body)
            digest.update(body)
            offset += len(body)
            if len(body) < piece:
                return digest.hexdigest()
            del data, item, body

    # -- marking ---------------------------------------------------------------------------
    def mark_stored(self, uids: Iterable[int], move_to: str = "") -> None:
        wanted = list(uids)
        if not wanted:
            return
        self._call("add_flags", wanted, [STORED_FLAG])
        if move_to:
            if self.client.has_capability("MOVE"):
                self._call("move", wanted, move_to)
            else:
                self._call("copy", wanted, move_to)
                self._call("delete_messages", wanted)
                self._call("expunge", wanted)

    # -- waiting ---------------------------------------------------------------------------
    def can_idle(self) -> bool:
        return bool(self.client.has_capability("IDLE"))

    def idle_wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the server to announce a change. True if it did."""
        self._call("idle")
        self._idling = True
        try:
            responses = self._call("idle_check", timeout=seconds)
        finally:
            self._idling = False
            self._call("idle_done")
        return any(
            isinstance(r, tuple) and len(r) > 1 and r[1] in (b"EXISTS", b"RECENT")
            for r in responses  # type: ignore[attr-defined]
        )
