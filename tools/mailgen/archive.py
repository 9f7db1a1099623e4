"""Streaming the whole archive in time order to an mboxrd file or a maildir.

Threads are expanded one at a time, in order of their first message; their messages wait in a
heap until no thread that starts later can produce an earlier one. Only the threads still open
at the current instant are in memory, whatever the archive size.
"""

from __future__ import annotations

import datetime as dt
import heapq
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import clock
from .model import DEFAULT_END, DEFAULT_MESSAGES, DEFAULT_START, Message, Thread
from .render import render_message
from .threads import expand_thread, plan_archive

_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)
_BUFFER = 1 << 20

Progress = Callable[[int, int], None]  # (messages written, messages in total)


@dataclass(frozen=True, slots=True)
class ArchiveStats:
    messages: int
    threads: int
    requesters: int
    bytes: int


def iter_messages(
    seed: int = 1,
    messages: int = DEFAULT_MESSAGES,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
    requesters: int | None = None,
) -> Iterator[tuple[Thread, Message]]:
    """Every message of the archive with its thread, in (time, thread, position) order."""
    plan = plan_archive(seed, messages, start, end, requesters)
    pending: list[tuple[int, int, int, Thread, Message]] = []
    for stub in plan.stubs:
        while pending and pending[0][0] <= stub.ts:
            entry = heapq.heappop(pending)
            yield entry[3], entry[4]
        thread = expand_thread(plan, stub)
        for msg in thread.messages:
            heapq.heappush(pending, (msg.ts, thread.index, msg.index, thread, msg))
    while pending:
        entry = heapq.heappop(pending)
        yield entry[3], entry[4]


def mbox_separator(msg: Message) -> bytes:
    envelope = "MAILER-DAEMON" if msg.kind == "bounce" else msg.sender.email
    return f"From {envelope} {clock.asctime(msg.ts)}\n".encode("ascii")


def mbox_escape(raw: bytes) -> bytes:
    """mboxrd quoting: every line matching ^>*From gets one more '>'. Messages never start
    with 'From ', so the two substring tests find every candidate before the regex runs."""
    if b">From " in raw:
        return _FROM_LINE.sub(rb">\1", raw)
    if b"\nFrom " in raw:  # the common case needs no regex
        return raw.replace(b"\nFrom ", b"\n>From ")
    return raw


def mbox_entry(msg: Message, raw: bytes) -> bytes:
    """One mboxrd entry: 'From ' line, the escaped message, a blank line."""
    return mbox_separator(msg) + mbox_escape(raw) + b"\n"


def maildir_name(msg: Message, number: int, seed: int) -> str:
    """Unique and reproducible: time, position in the archive, seed; flagged as seen."""
    return f"{msg.ts}.M{number:07d}P{seed}.dast-desk:2,S"


def write_archive(
    path: Path,
    *,
    messages: int = DEFAULT_MESSAGES,
    seed: int = 1,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
    fmt: str = "mbox",
    requesters: int | None = None,
    progress: Progress | None = None,
    progress_every: int = 10_000,
) -> ArchiveStats:
    """Generate the archive at `path` ("mbox" file or "maildir" directory) and count it."""
    if fmt not in ("mbox", "maildir"):
        raise ValueError(f"unknown format {fmt!r}: use mbox or maildir")
    stream = iter_messages(seed, messages, start, end, requesters)
    if fmt == "mbox":
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb", buffering=_BUFFER) as out:

            def write_mbox(number: int, msg: Message, raw: bytes) -> int:
                # Three writes into the buffer rather than one concatenated copy of the message.
                size = out.write(mbox_separator(msg)) + out.write(mbox_escape(raw))
                return size + out.write(b"\n")

            counts = _drain(stream, write_mbox, progress, progress_every, messages)
    else:
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        cur = path / "cur"

        def write(number: int, msg: Message, raw: bytes) -> int:
            (cur / maildir_name(msg, number, seed)).write_bytes(raw)
            return len(raw)

        counts = _drain(stream, write, progress, progress_every, messages)
    return ArchiveStats(*counts)


def _drain(
    stream: Iterator[tuple[Thread, Message]],
    write: Callable[[int, Message, bytes], int],
    progress: Progress | None,
    every: int,
    total: int,
) -> tuple[int, int, int, int]:
    written = size = 0
    threads: set[int] = set()
    requesters: set[str] = set()
    for thread, msg in stream:
        size += write(written, msg, render_message(msg, thread))
        written += 1
        if msg.index == 0:
            threads.add(thread.index)
            requesters.add(thread.requester.email)
        if progress is not None and written % every == 0:
            progress(written, total)
    if progress is not None and written % every:
        progress(written, total)
    return written, len(threads), len(requesters), size
