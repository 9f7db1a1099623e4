"""Where archived mail comes from: .eml files, folders of them, mbox files, maildirs.

Yields (origin, raw bytes) without holding an archive in memory. Pure: no Django.
"""

from __future__ import annotations

import mailbox
import os
import re
from collections.abc import Iterator
from pathlib import Path

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
    index = 0
    buffer = b""
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
                yield f"{path}#{index}", _unquote(buffer[this.end() : end])
                index += 1
            if not block:
                return
            if starts:
                buffer = buffer[starts[-1].start() :]


def _unquote(message: bytes) -> bytes:
    return _QUOTED_FROM.sub(rb"\1", message) if b"\n>" in message else message


def iter_maildir(path: Path) -> Iterator[tuple[str, bytes]]:
    box = mailbox.Maildir(str(path), factory=None, create=False)
    for key in sorted(box.iterkeys()):
        with box.get_file(key) as handle:
            yield f"{path}/{key}", handle.read()


def iter_sources(paths: list[Path]) -> Iterator[tuple[str, bytes]]:
    for path in paths:
        if path.is_dir():
            if _is_maildir(path):
                yield from iter_maildir(path)
                continue
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    yield from iter_sources([Path(root) / name])
        elif path.is_file():
            if _is_mbox(path):
                yield from iter_mbox(path)
            else:
                yield str(path), _read_single(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
