"""Where archived mail comes from: .eml files, folders of them, mbox files, maildirs.

Yields (origin, raw bytes) without holding an archive in memory. Pure: no Django.
"""

from __future__ import annotations

import mailbox
import os
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


def iter_mbox(path: Path) -> Iterator[tuple[str, bytes]]:
    """Split an mbox on its 'From ' lines, undoing the >From quoting (mboxrd)."""
    index = 0
    lines: list[bytes] = []
    with open(path, "rb") as handle:
        for line in handle:
            if line.startswith(MBOX_MAGIC) and (not lines or lines[-1] in (b"\n", b"\r\n")):
                if lines:
                    yield f"{path}#{index}", _join(lines)
                    index += 1
                lines = []
                continue
            lines.append(line)
        if lines:
            yield f"{path}#{index}", _join(lines)


def _join(lines: list[bytes]) -> bytes:
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines = lines[:-1]  # the blank line that separates messages
    out = []
    for line in lines:
        stripped = line.lstrip(b">")
        out.append(line[1:] if line.startswith(b">") and stripped.startswith(MBOX_MAGIC) else line)
    return b"".join(out)


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
