"""Where archived mail comes from: .eml files, folders of them, mbox files, maildirs.

Yields (origin, raw bytes) without holding an archive in memory. Pure: no Django.
"""

from __future__ import annotations

import bisect
import mailbox
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from tickets.mail.headers import message_ids, normalise_message_id, parse_date

# Where a message lies, to read it again: ("file", path), ("maildir", path, key) or
# ("mbox", path, start, end).
Locator = tuple[str | int, ...]

MBOX_MAGIC = b"From "


def _is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new"))


MBOX_SUFFIXES = {".mbox", ".mbx", ".mbs"}
SINGLE_SUFFIXES = {".eml", ".msg", ".txt"}


def _is_mbox(path: Path) -> bool:
    """An mbox by name, or a file without a one-message suffix that holds more than one
    envelope. A .eml (or a lone message saved with its envelope line) may start with 'From '
    and its body may say 'From ...' after a blank line: it stays one message."""
    if path.suffix.lower() in MBOX_SUFFIXES:
        return True
    if path.suffix.lower() in SINGLE_SUFFIXES:
        return False
    with open(path, "rb") as handle:
        head = handle.read(_READ)
    if not head.startswith(MBOX_MAGIC):
        return False
    return any(_valid(m) for m in _SEPARATOR.finditer(head))


def _read_single(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw.startswith(MBOX_MAGIC):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""  # the envelope line
    return raw


# A 'From ' line after a blank line and before a header line; the literal first byte keeps
# the scan fast. Whether the line is an envelope (_ENVELOPE) is checked on each match.
_SEPARATOR = re.compile(rb"\n\r?\n(From [^\n]*)\n(?=[\x21-\x39\x3b-\x7e]+:)")
_FIRST = re.compile(rb"(From [^\n]*)\n")
# 'From sender asctime-date' as mbox writers put it: a sender without spaces, then a date
# with a time of day and a four-digit year ('Mon Mar  5 10:00:00 2018', Gmail's
# 'Mon Mar 05 10:00:00 +0000 2018'). 'From what I see at 10:30 in 2018' has no weekday.
_ENVELOPE = re.compile(
    rb"From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? +[A-Za-z]{3} +\d{1,2} +"
    rb"\d{1,2}:\d{2}(?::\d{2})?(?: +[+-]?\w+)? +\d{4}\s*$"
)
_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)
_READ = 8 * 1024 * 1024


def _valid(match: re.Match[bytes]) -> bool:
    return bool(_ENVELOPE.match(match.group(1).rstrip(b"\r")))


def iter_mbox(path: Path) -> Iterator[tuple[str, bytes]]:
    """Split an mbox on its envelope 'From ' lines (each after a blank line and before a
    header block), undoing the >From quoting of mboxrd. A body line 'From ...' that is not
    an envelope stays in its message. Reads in large blocks: line-by-line reading was the
    import's cost."""
    for origin, raw, _ in _mbox_spans(path):
        yield origin, raw


def _mbox_spans(path: Path) -> Iterator[tuple[str, bytes, Locator]]:
    """iter_mbox's messages with where each lies in the file, to read it again."""
    index = 0
    buffer = b""
    base = 0  # the file offset of buffer[0]
    with open(path, "rb") as handle:
        while True:
            block = handle.read(_READ)
            buffer += block
            first = _FIRST.match(buffer) if index == 0 and not buffer.startswith(b"\n") else None
            found = [m for m in _SEPARATOR.finditer(buffer) if _valid(m)]
            starts = ([first] if first else []) + found
            # Keep the last (maybe incomplete) message in the buffer until the file ends.
            complete = starts if not block else starts[:-1]
            for this, following in zip(complete, [*starts[1:], None], strict=False):
                end = following.start() if following is not None else len(buffer)
                if following is None and block:
                    break
                span = ("mbox", str(path), base + this.end(), base + end)
                yield f"{path}#{index}", _unquote(buffer[this.end() : end]), span
                index += 1
            if not block:
                return
            if starts:
                base += starts[-1].start()
                buffer = buffer[starts[-1].start() :]


def _unquote(message: bytes) -> bytes:
    return _QUOTED_FROM.sub(rb"\1", message) if b"\n>" in message else message


def iter_maildir(path: Path) -> Iterator[tuple[str, bytes]]:
    for origin, raw, _ in _maildir_entries(path):
        yield origin, raw


def _maildir_entries(path: Path) -> Iterator[tuple[str, bytes, Locator]]:
    box = mailbox.Maildir(str(path), factory=None, create=False)
    for key in sorted(box.iterkeys()):
        with box.get_file(key) as handle:
            yield f"{path}/{key}", handle.read(), ("maildir", str(path), key)


def _walk(path: Path) -> Iterator[tuple[str, bytes, Locator]]:
    """The messages of one source (a file, a folder, a maildir), in file order."""
    if path.is_dir():
        if _is_maildir(path):
            yield from _maildir_entries(path)
            return
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                yield from _walk(Path(root) / name)
    elif path.is_file():
        if _is_mbox(path):
            yield from _mbox_spans(path)
        else:
            yield str(path), _read_single(path), ("file", str(path))
    else:
        raise FileNotFoundError(f"{path}: no such file or folder")


def iter_sources(paths: list[Path]) -> Iterator[tuple[str, bytes]]:
    """Every message of every path, in file order."""
    for path in paths:
        for origin, raw, _ in _walk(path):
            yield origin, raw


# --- in date order ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    origin: str
    where: Locator
    at: datetime | None
    message_id: str
    parents: tuple[str, ...]  # In-Reply-To, then References from the newest back


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_CONTINUATION = re.compile(r"\r?\n[ \t]+")
_WANTED = ("date", "message-id", "in-reply-to", "references")
_MAX_HEAD = 256 * 1024


def _entry(origin: str, raw: bytes, where: Locator, now: datetime) -> _Entry:
    """What ordering needs from a message: its header block only, read without the parser."""
    end = _HEADER_END.search(raw, 0, _MAX_HEAD)
    head = _CONTINUATION.sub(" ", raw[: end.start() if end else _MAX_HEAD].decode("latin-1"))
    found: dict[str, str] = {}
    for line in head.splitlines():
        name, colon, value = line.partition(":")
        key = name.strip().lower()
        if colon and key in _WANTED and key not in found:
            found[key] = value
    parents = message_ids(found.get("in-reply-to", ""))
    parents += tuple(reversed(message_ids(found.get("references", ""))))
    return _Entry(
        origin,
        where,
        parse_date(found.get("date", ""), now),
        normalise_message_id(found.get("message-id", "")),
        tuple(dict.fromkeys(parents)),
    )


def _order(entries: list[_Entry]) -> list[int]:
    """Positions in date order, each message after the ones it answers that the source holds
    (a reply whose clock ran early still comes after its original). A message without a
    readable date keeps the date of the one before it in the file."""
    last: datetime | None = None
    dates: list[datetime | None] = []
    for entry in entries:
        last = entry.at or last
        dates.append(last)
    first = next((d for d in dates if d is not None), None)
    keys = [(d or first or datetime.min.replace(tzinfo=UTC), n) for n, d in enumerate(dates)]
    by_date = sorted(range(len(entries)), key=keys.__getitem__)
    position: dict[str, int] = {}
    for n, entry in enumerate(entries):
        if entry.message_id:
            position.setdefault(entry.message_id, n)

    def parents(n: int) -> Iterator[int]:
        found = (position.get(mid) for mid in entries[n].parents)
        return iter(sorted({p for p in found if p is not None and p != n}, key=keys.__getitem__))

    order: list[int] = []
    state = [0] * len(entries)  # 0: not seen, 1: waiting on its parents, 2: placed
    for root in by_date:
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, parents(root))]
        while stack:  # parents first, without recursion: a thread may be thousands long
            node, pending = stack[-1]
            parent = next((p for p in pending if state[p] == 0), None)
            if parent is None:
                stack.pop()
                state[node] = 2
                order.append(node)
            else:
                state[parent] = 1  # a loop of References stops here
                stack.append((parent, parents(parent)))
    return order


def moved(order: list[int]) -> int:
    """How many messages had to leave their place in the file: all but the longest run that
    kept its order (a longest increasing subsequence)."""
    tails: list[int] = []
    for n in order:
        at = bisect.bisect_left(tails, n)
        if at == len(tails):
            tails.append(n)
        else:
            tails[at] = n
    return len(order) - len(tails)


class _Reader:
    """Reads a message again from where ``_walk`` found it; mbox files stay open."""

    def __init__(self) -> None:
        self.handles: dict[str, BinaryIO] = {}

    def read(self, where: Locator) -> bytes:
        kind, path = where[0], str(where[1])
        if kind == "file":
            return _read_single(Path(path))
        if kind == "maildir":
            box = mailbox.Maildir(path, factory=None, create=False)
            with box.get_file(str(where[2])) as message:
                return message.read()
        start, end = int(where[2]), int(where[3])
        if path not in self.handles:
            self.handles[path] = open(path, "rb")  # noqa: SIM115 - closed in close()
        mbox = self.handles[path]
        mbox.seek(start)
        return _unquote(mbox.read(end - start))

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()
        self.handles.clear()


def iter_sources_by_date(
    paths: list[Path], *, now: datetime, counts: Counter[str] | None = None
) -> Iterator[tuple[str, bytes]]:
    """Each path's messages in date order, each after the mails it answers (so a reply read
    before its original in the file no longer opens a ticket of its own). Reads each source
    twice: first its headers, to order it, then each message in order; only the headers are
    held. ``counts["reordered"]`` grows by how many messages left their place."""
    for path in paths:
        entries = [_entry(origin, raw, where, now) for origin, raw, where in _walk(path)]
        order = _order(entries)
        if counts is not None:
            counts["reordered"] += moved(order)
        reader = _Reader()
        try:
            for n in order:
                yield entries[n].origin, reader.read(entries[n].where)
        finally:
            reader.close()
