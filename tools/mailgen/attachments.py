# ruff: noqa: RUF001 - non-Latin letters and typographic quotes are the point here
"""Attachments users send: log excerpts, gzipped logs, log tarballs, screenshots.

Everything compressed carries a fixed mtime (the message's own time) so bytes depend on the seed
only. Log text is cut from one corpus built once per process: drawing every line afresh would
cost more than all the rest of a message.
"""

from __future__ import annotations

import functools
import gzip
import io
import math
import struct
import tarfile
import time
import zlib
from random import Random

from .model import Attachment

_LEVELS = ("INFO    ", "INFO    ", "INFO    ", "DEBUG   ", "WARNING ")
_MODULES = ("pilot.control.job", "pilot.control.data", "pilot.util.monitor", "pilot.copytool",
            "AthenaEventLoopMgr", "EventSelector", "PoolSvc", "THistSvc", "AthAlgSeq")  # fmt: skip
_EVENTS = (
    "===>>>  start processing event #{n}, run #{run} {k} events processed so far  <<<===",
    "copied {n} bytes in {k} s from root://xrootd.{site}:1094//atlas/rucio/data",
    "checking job memory: VMEM={n} kB RSS={k} kB",
    "sending heartbeat to PanDA server, state=running",
    "Database being retired... ClassID {n}",
    "connecting to frontier server http://atlasfrontier-ai.cern.ch:8000/atlr",
    "file {n} of {k} staged in, adler32 checksum ok",
    "No more events in event selection, {k} events processed",
    "Writing out histogram stream to hist-output.root ({n} bytes)",
)


@functools.cache
def _corpus() -> str:
    """~400 KB of log lines that attachments slice; the same on every run."""
    rng = Random(20081027)
    lines = []
    for i in range(5_000):
        clock = f"{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}"
        event = _EVENTS[int(rng.random() * len(_EVENTS))].format(
            n=int(rng.random() * 2_000_000),
            k=int(rng.random() * 5000),
            run=200000 + int(rng.random() * 140000),
            site="cern.ch",
        )
        level = _LEVELS[int(rng.random() * len(_LEVELS))]
        module = _MODULES[int(rng.random() * len(_MODULES))]
        lines.append(f"{clock} | {level}| {module:<22}| {event}")
    return "\n".join(lines) + "\n"


def _size(rng: Random, low_kb: float, high_kb: float) -> int:
    """Sizes spread evenly on a log scale: many small logs, a few big ones."""
    lo, hi = math.log(low_kb * 1024), math.log(high_kb * 1024)
    return int(math.exp(lo + rng.random() * (hi - lo)))


def _log_text(rng: Random, facts: dict[str, str], ts: int, size: int) -> bytes:
    corpus = _corpus()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts - 3 * 3600))
    head = (
        f"{stamp} | INFO     | pilot                 | pilot starting on "
        f"wn{int(rng.random() * 900)}"
        f" at {facts['site']}\n"
        f"{stamp} | INFO     | pilot.control.job     | job {facts['job_id']} of "
        f"{facts['task_word']} {facts['task_id']} on queue {facts['queue']}\n"
        f"{stamp} | INFO     | pilot.control.job     | release {facts['release']}, "
        f"input {facts['in_ds_name']}\n"
    )
    tail = (
        f"{stamp} | ERROR    | pilot.control.payload | payload failed: {facts['trf_diag']}\n"
        f"{stamp} | ERROR    | pilot.control.job     | pilot error {facts['pilot_code']}: "
        f"{facts['pilot_diag']}\n"
    )
    body_size = max(200, size - len(head) - len(tail))
    start = corpus.find("\n", int(rng.random() * (len(corpus) - body_size - 1))) + 1
    body = corpus[start : start + body_size]
    while len(body) < body_size:  # asked for more than the corpus holds
        body += corpus[: body_size - len(body)]
    return (head + body[: body.rfind("\n") + 1] + tail).encode("ascii")


def _png(rng: Random, size: int) -> bytes:
    """A screenshot-like PNG: flat background with rows of 'content' that do not compress."""
    width = 320
    noisy = max(1, size // (width * 3))
    height = max(60, noisy * 2)
    flat = b"\x00" + b"\xf0\xf0\xf0" * width
    rows = []
    for y in range(height):
        rows.append(b"\x00" + rng.randbytes(width * 3) if y % 2 and y // 2 < noisy else flat)
    raw = zlib.compress(b"".join(rows), 1)  # noise does not compress; level 1 is 3x faster

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def _tarball(rng: Random, facts: dict[str, str], ts: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in ("pilotlog.txt", "jobReport.json"):
            if name == "jobReport.json":
                events = int(rng.random() * 50000)
                data = (
                    f'{{"exitCode": {facts["trf_code"]}, "exitMsg": "{facts["trf_diag"]}", '
                    f'"resource": {{"transform": {{"processedEvents": {events}}}}}}}\n'
                ).encode()
            else:
                data = _log_text(rng, facts, ts, _size(rng, 2, 60))
            info = tarfile.TarInfo(f"log.{facts['job_id']}/{name}")
            info.size, info.mtime, info.mode = len(data), ts, 0o644
            info.uname = info.gname = "atlas"
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), compresslevel=1, mtime=ts)


_SCREENSHOT_NAMES = (
    "screenshot.png",
    "Screenshot {date} at {time}.png",
    "Capture d’écran {date} à {time}.png",
    "image001.png",
    "Bildschirmfoto {date} um {time}.png",
)
_TEXT_NAMES = ("pilotlog.txt", "payload.stdout", "log.{job_id}.txt", "athena_stdout.txt")


def make_attachment(rng: Random, facts: dict[str, str], ts: int) -> Attachment:
    """One attachment of a kind a grid user would send, between about 1 and 60 KB."""
    x = rng.random()
    if x < 0.50:
        name = _TEXT_NAMES[int(rng.random() * len(_TEXT_NAMES))].format(job_id=facts["job_id"])
        return Attachment(name, "text/plain", _log_text(rng, facts, ts, _size(rng, 1, 60)))
    if x < 0.76:
        data = gzip.compress(_log_text(rng, facts, ts, _size(rng, 2, 100)), 1, mtime=ts)
        kind = "application/gzip" if rng.random() < 0.5 else "application/x-gzip"
        return Attachment("athena_stdout.log.gz", kind, data)
    if x < 0.92:
        kind = "application/x-gzip" if rng.random() < 0.5 else "application/x-compressed-tar"
        return Attachment(f"log.{facts['job_id']}.tar.gz", kind, _tarball(rng, facts, ts))
    t = time.gmtime(ts)
    name = _SCREENSHOT_NAMES[int(rng.random() * len(_SCREENSHOT_NAMES))].format(
        date=time.strftime("%Y-%m-%d", t), time=time.strftime("%H.%M.%S", t)
    )
    return Attachment(name, "image/png", _png(rng, _size(rng, 1, 60)))
