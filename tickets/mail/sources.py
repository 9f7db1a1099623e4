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
    """An mbox by name, or a file without a one-message suffix that starts like one. A .eml
    may start with an envelope 'From ' line too, and its body may hold more: it stays one."""
    if path.suffix.lower() in MBOX_SUFFIXES:
        return True
    if path.suffix.lower() in SINGLE_SUFFIXES:
        return False
    with open(path, "rb") as handle:
        return handle.read(5) == MBOX_MAGIC


def _read_single(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw.startswith(MBOX_MAGIC):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""  # the envelope line
    return raw


# A 'From ' line after a blank line; the literal first byte keeps the scan fast.
_SEPARATOR = re.compile(rb"\n\r?\nFrom [^\n]*\n")
_FIRST = re.compile(rb"From [^\n]*\n")
_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)
_READ = 8 * 1024 * 1024


def iter_mbox(path: Path) -> Iterator[tuple[str, bytes]]:
    """Split an mbox on its 'From ' lines (each after a blank line), undoing the >From
    quoting of mboxrd. Reads in large blocks: line-by-line reading was the import's cost."""
    index = 0
    buffer = b""
    with open(path, "rb") as handle:
        while True:
            block = handle.read(_READ)
            buffer += block
            first = _FIRST.match(buffer) if index == 0 and not buffer.startswith(b"\n") else None
            starts = ([first] if first else []) + list(_SEPARATOR.finditer(buffer))
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
