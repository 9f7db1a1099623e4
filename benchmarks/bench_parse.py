"""The pure mail parser alone: the real-world corpus, and generated DAST support mail.

    python -m benchmarks.bench_parse        # no database needed

The archive import's target is 1,000 messages/s end to end on two cores, database included,
which leaves the parser about 0.5 ms per typical message. Each figure is the best of three
passes, because other work on the machine only ever makes a pass slower.
"""

from __future__ import annotations

import contextlib
import itertools
import statistics
import sys
import time
from pathlib import Path

from tickets.mail.parse import MailParseError, parse_message

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "mail-corpus"
GENERATED = 5_000
PASSES = 3


def _corpus() -> list[bytes]:
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "README.md")
    return [p.read_bytes() for p in files]


def _generated(count: int) -> list[bytes]:
    try:
        from tools.mailgen import iter_messages, render_message
    except ImportError:  # the generator is optional for this benchmark
        return []
    raws, failed = [], 0
    for thread, message in itertools.islice(iter_messages(seed=1, messages=count), count):
        try:
            raws.append(render_message(message, thread))
        except Exception:  # the generator's bug, not the parser's: leave that message out
            failed += 1
    if failed:
        print(f"bench_parse: the generator failed on {failed} messages", file=sys.stderr)
    return raws


def _best_pass(raws: list[bytes]) -> float:
    """Seconds for the fastest of PASSES passes over all messages."""
    timings = []
    for _ in range(PASSES):
        started = time.perf_counter()
        for raw in raws:
            with contextlib.suppress(MailParseError):  # not mail: still work done
                parse_message(raw)
        timings.append(time.perf_counter() - started)
    return min(timings)


def _figures(name: str, raws: list[bytes]) -> dict[str, dict[str, object]]:
    seconds = _best_pass(raws)
    sizes = [len(r) for r in raws]
    print(
        f"parse {name}: {len(raws)} messages (median {statistics.median(sizes):.0f} bytes) "
        f"in {seconds:.2f} s = {seconds / len(raws) * 1e6:.0f} us/message",
        file=sys.stderr,
    )
    return {
        f"parse_{name}_msgs_per_s": {"value": round(len(raws) / seconds), "unit": "msg/s"},
        f"parse_{name}_us_per_msg": {"value": round(seconds / len(raws) * 1e6), "unit": "us"},
    }


def _nesting_bomb(depth: int) -> bytes:
    """Multiparts nested ``depth`` deep: the parser caps the depth; the stdlib alone takes
    minutes on 20,000 levels."""
    levels = (f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(depth))
    body = "".join(levels) + "Content-Type: text/plain\n\ndeep\n"
    return f"From: a@b.c\nSubject: bomb\n{body}".encode()


def _bomb_figure() -> dict[str, dict[str, object]]:
    seconds = _best_pass([_nesting_bomb(20_000)])
    print(f"parse nesting bomb (20,000 levels): {seconds * 1000:.0f} ms", file=sys.stderr)
    return {"parse_nesting_bomb_ms": {"value": round(seconds * 1000), "unit": "ms"}}


def run(ctx: object = None) -> dict[str, dict[str, object]]:
    results: dict[str, dict[str, object]] = _bomb_figure()
    corpus = _corpus()
    if corpus:
        results.update(_figures("corpus", corpus))
    generated = _generated(GENERATED)
    if generated:
        results.update(_figures("generated", generated))
    return results


if __name__ == "__main__":
    for key, figure in run().items():
        print(f"{key:32} {figure['value']:>8} {figure['unit']}")
