"""The one rate limiter of the project: counts in the shared cache, a sliding window.

    take(hit("support-email", email), ...)   count one for each, or raise Limited and count
                                             none (``hit`` reads the scope's rate from
                                             settings.RATE_LIMITS)
    allow(hit)                               the same, answering True or False
    add(hit) / blocked(hit) / reset(hit)     count without refusing (failed sign-ins), ask
                                             whether a key is over its limit and until
                                             when, forget it

Every limit of the desk goes through it: the support form (per network and per address),
requester sign-in links and replies, the acknowledgements mailed to one address, password
sign-in failures (per account and per address), and every API
(``people.api_common.ApiThrottle``, a DRF throttle on top of it). Where each rate is set:
README, "Rate limits".

A window is counted in ``BUCKETS`` buckets, so that it slides instead of resetting at once,
and a refusal can say when the oldest counts leave it (``Limited.retry_at``). Keys are
hashed: no e-mail or IP address is stored in the cache. The cache must be shared by every
web process (Redis in production, files under var/ on a laptop).
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

BUCKETS = 6
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    limit: int
    window_s: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """ "600/min", "5/hour", "60/s", as DRF writes its rates."""
        match = _RATE.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not a rate such as 60/min")
        return cls(int(match.group(1)), _UNIT_S[match.group(2)[0]])

    @property
    def bucket_s(self) -> int:
        return max(1, math.ceil(self.window_s / BUCKETS))


@dataclass(frozen=True)
class Hit:
    scope: str  # what is counted: "login-account", "support-ip", "api", ...
    key: str  # whose: an address, an account, a user id
    rate: Rate


def hit(scope: str, key: str) -> Hit:
    """A hit of ``scope`` (a key of settings.RATE_LIMITS, which holds its rate) by ``key``."""
    return Hit(scope, key, Rate.parse(settings.RATE_LIMITS[scope]))


class Limited(Exception):
    """Over the limit of ``hit``; counts fall enough to be let in again at ``retry_at``."""

    def __init__(self, hit: Hit, retry_at: float) -> None:
        super().__init__(f"rate limit of {hit.scope} reached")
        self.hit, self.retry_at = hit, retry_at

    def retry_after_s(self, now: float | None = None) -> int:
        return max(1, math.ceil(self.retry_at - (time.time() if now is None else now)))


def _buckets(hit: Hit, now: float) -> list[tuple[str, int]]:
    """The cache keys of the window's buckets, oldest first, with each bucket's number."""
    digest = hashlib.sha256(hit.key.strip().lower().encode()).hexdigest()[:32]
    size = hit.rate.bucket_s
    current = int(now // size)
    numbers = range(current - BUCKETS + 1, current + 1)
    return [(f"rate:{hit.scope}:{size}:{digest}:{n}", n) for n in numbers]


def _bump(name: str, delta: int, expiry: int) -> int:
    # incr is atomic on Redis; touch because the file cache's incr keeps no expiry.
    cache.add(name, 0, expiry)
    try:
        value = int(cache.incr(name, delta))
    except ValueError:  # expired between add and incr
        value = max(delta, 0)
        cache.set(name, value, expiry)
    cache.touch(name, expiry)
    return value


def _expiry(hit: Hit) -> int:
    return hit.rate.bucket_s * (BUCKETS + 1)


def _counts(hit: Hit, now: float) -> list[tuple[int, int]]:
    """(bucket number, count) of the window, oldest first."""
    buckets = _buckets(hit, now)
    found = cache.get_many([name for name, _ in buckets])
    return [(number, int(found.get(name, 0))) for name, number in buckets]


def _free_at(hit: Hit, counts: list[tuple[int, int]], now: float) -> float:
    """When enough of the oldest counts have left the window to be under the limit."""
    total = sum(n for _, n in counts)
    for number, n in counts:
        if total < hit.rate.limit:
            break
        total -= n
        leaves_at = (number + BUCKETS) * hit.rate.bucket_s
        if total < hit.rate.limit:
            return float(leaves_at)
    return now


def add(hit: Hit, *, now: float | None = None) -> int:
    """Count one for ``hit`` whatever the count; the count in the window, this one too."""
    now = time.time() if now is None else now
    name = _buckets(hit, now)[-1][0]
    _bump(name, 1, _expiry(hit))
    return sum(n for _, n in _counts(hit, now))


def blocked(hit: Hit, *, now: float | None = None) -> float | None:
    """None while ``hit.key`` is under its limit; else when it will be again."""
    now = time.time() if now is None else now
    counts = _counts(hit, now)
    if sum(n for _, n in counts) < hit.rate.limit:
        return None
    return _free_at(hit, counts, now)


def take(*hits: Hit, now: float | None = None) -> None:
    """Count one for each hit, or raise ``Limited`` (for the first hit over its limit) and
    count none of them."""
    now = time.time() if now is None else now
    taken: list[tuple[str, int]] = []
    for hit in hits:
        name = _buckets(hit, now)[-1][0]
        _bump(name, 1, _expiry(hit))
        taken.append((name, _expiry(hit)))
        counts = _counts(hit, now)
        if sum(n for _, n in counts) > hit.rate.limit:
            for done, expiry in taken:
                _bump(done, -1, expiry)
            counts[-1] = (counts[-1][0], counts[-1][1] - 1)
            raise Limited(hit, _free_at(hit, counts, now))


def allow(*hits: Hit, now: float | None = None) -> bool:
    """``take``, answering False (and counting none) instead of raising ``Limited``."""
    try:
        take(*hits, now=now)
    except Limited:
        return False
    return True


def reset(hit: Hit, *, now: float | None = None) -> None:
    """Forget the window's counts of ``hit.key`` (a right password ends the failures)."""
    now = time.time() if now is None else now
    cache.delete_many([name for name, _ in _buckets(hit, now)])
