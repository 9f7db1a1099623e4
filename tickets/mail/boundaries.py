"""Rename MIME boundaries to a few fixed tokens before the stdlib parser sees them.

Why: for every multipart the stdlib's feedparser compiles a regular expression from the
boundary, and boundaries are unique per message, so ``re``'s cache never helps. That compile
costs about 0.2 ms, as much as parsing the rest of a typical support mail. With the boundaries
renamed to ``=_dast-b0_=``, ``=_dast-b1_=``, ... the compiled patterns come from the cache.

The renaming must not change how the message parses. It is a plain replacement of each
boundary (without its leading and trailing dashes) by a fresh token, everywhere in the bytes,
and it is only done when that is provably a consistent renaming:

* each boundary is at least 16 characters long (shorter ones may be words) and has no
  whitespace or quote; no boundary occurs inside another; the tokens do not occur in the
  message;
* after replacing, each token occurs exactly as often as its boundary did and no boundary is
  left: occurrences were disjoint and none was created.

Delimiter lines are '--' + boundary + optional '--' and spaces; a boundary that neither starts
nor ends with '-' cannot straddle those dashes, so a line is a delimiter after the renaming
exactly when it was one before. Text that merely mentions a boundary (a pasted MIME source)
is renamed too, and ``restore_text``/``restore_bytes`` put it back in what the parser returns.
"""

from __future__ import annotations

import re

_VALUE = re.compile(rb'[ \t]*=[ \t]*"?([^"\s;]+)')
_MIN_LENGTH = 16  # short boundaries ('BOUNDARY', 'XX') repeat across mail and may be words
_MAX_BOUNDARIES = 16
_NOT_IN_BOUNDARY = (b'"', b"\\")


def _token(index: int) -> bytes:
    return b"=_dast-b%d_=" % index


def _usable(key: bytes) -> bool:
    return len(key) >= _MIN_LENGTH and not any(c in key for c in _NOT_IN_BOUNDARY)


def _declared(raw: bytes) -> list[bytes]:
    """Boundary parameter values, found with bytes.find: a regex that has to try every
    position costs more than the compile this module saves."""
    keys = []
    for needle in (b"oundary", b"OUNDARY"):
        at = raw.find(needle, 1)
        while at != -1:
            match = _VALUE.match(raw, at + len(needle))
            if match and raw[at - 1 : at] in (b"b", b"B"):
                keys.append(match.group(1).strip(b"-"))
            at = raw.find(needle, at + len(needle))
    return list(dict.fromkeys(keys))


def canonical(raw: bytes) -> tuple[bytes, dict[bytes, bytes]]:
    """(renamed bytes, token -> original boundary). Returns the input and {} whenever the
    renaming could not be shown to be safe."""
    if b"oundary" not in raw and b"OUNDARY" not in raw:
        return raw, {}
    keys = _declared(raw)
    if not keys or len(keys) > _MAX_BOUNDARIES or not all(_usable(k) for k in keys):
        return raw, {}
    if any(a != b and a in b for a in keys for b in keys):
        return raw, {}
    counts = [raw.count(k) for k in keys]
    tokens = [_token(i) for i in range(len(keys))]
    if any(t in raw for t in tokens):
        return raw, {}
    renamed = raw
    for key, token in zip(keys, tokens, strict=True):
        renamed = renamed.replace(key, token)
    consistent = all(
        renamed.count(t) == n and k not in renamed
        for k, t, n in zip(keys, tokens, counts, strict=True)
    )
    if not consistent:
        return raw, {}
    return renamed, dict(zip(tokens, keys, strict=True))


def restore_bytes(data: bytes, renamed: dict[bytes, bytes]) -> bytes:
    for token, key in renamed.items():
        if token in data:
            data = data.replace(token, key)
    return data


def restore_text(text: str, renamed: dict[bytes, bytes]) -> str:
    for token, key in renamed.items():
        probe = token.decode("ascii")
        if probe in text:
            text = text.replace(probe, key.decode("utf-8", "surrogateescape"))
    return text
