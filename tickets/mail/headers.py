"""Header values as text: RFC 2047 words, raw 8-bit bytes, addresses, Message-IDs, dates, tags.

Every function here takes what the mail says and returns something usable or empty; a problem
becomes a line in ``defects``, never an exception, because one bad header must not cost the mail.
"""

from __future__ import annotations

import binascii
import functools
import inspect
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from tickets.mail.charsets import decode_bytes, decode_header_bytes

_FOLD = re.compile(r"\r?\n(?=[ \t])|\r?\n$")
_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?(.*?)\?=")
_BRACKETED = re.compile(r"<\s*([^<>\s]+)\s*>")
_ADDRESS_TOKEN = re.compile(r"[^\s<>,;:\"()\[\]@]+@[^\s<>,;:\"()\[\]@]+")
_SIMPLE_ADDRESS = re.compile(  # bare address first: it fails fast on 'Name <...>'
    r'\s*(?:([^<>\s,;:"()\[\]\\]+@[^<>\s,;:"()\[\]\\]+)'
    r'|(?:"([^"\\]*)"|([^"<>,;:@()\[\]\\]*))\s*<([^<>\s,;"()\\]+)>|)\s*(?:,|$)'
)
_ID_CORE = re.compile(r"[^<>\s]*\w[^<>\s]*")  # no brackets or spaces, something readable
_MAX_ID = 996  # a Message-ID line may be 998 characters, the brackets included
_EARLIEST_YEAR = 1980  # older dates are a sender's clock at zero, not history
_FUTURE_SLACK = timedelta(days=1)

# Python 3.11.10+ parses addresses strictly by default and then returns nothing at all for a
# header with one bad address; we would rather keep the good ones.
_ADDRESS_OPTIONS: dict[str, Any] = (
    {"strict": False} if "strict" in inspect.signature(getaddresses).parameters else {}
)

# Reply and forward prefixes as mail clients write them in many languages. 'R:' is left out on
# purpose: "R: package not found" is a question about the R language, not a reply. CJK clients
# write a full-width colon (U+FF1A).
_REPLY_PREFIX = re.compile(
    r"^\s*(?:re|aw|sv|vs|wg|fw|fwd|tr|rif|antw|odp|res|enc|rv|ynt|vl|"
    r"回复|答复|回覆|转发|轉寄)\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:\uff1a]\s*",
    re.IGNORECASE,
)


def unfold(value: str) -> str:
    return _FOLD.sub("", value) if "\n" in value else value


def fold_whitespace(value: str) -> str:
    return " ".join(value.split())


def eight_bit(value: str, hint: str | None, defects: list[str], field: str) -> str:
    """The parser hands raw 8-bit header bytes over as surrogate escapes; decode them."""
    raw = value.encode("utf-8", "surrogateescape")
    text, defect = decode_header_bytes(raw, hint)
    if defect:
        defects.append(f"{field}: {defect}")
    return text


def _word_bytes(encoding: str, encoded: str) -> bytes | None:
    try:
        if encoding in "bB":
            compact = "".join(encoded.split())
            return binascii.a2b_base64(compact + "=" * (-len(compact) % 4))
        return binascii.a2b_qp(encoded.encode("utf-8", "surrogateescape"), header=True)
    except (binascii.Error, ValueError):
        return None


def decode_words(value: str, defects: list[str], field: str) -> str:
    """Decode RFC 2047 encoded words. Adjacent words in one charset are joined before decoding,
    since clients split multi-byte characters across words."""
    out: list[str] = []
    pending = bytearray()
    pending_charset = ""

    def flush() -> None:
        nonlocal pending_charset
        if pending:
            text, defect = decode_bytes(bytes(pending), pending_charset, what=f"{field} header")
            out.append(text)
            if defect:
                defects.append(defect)
            pending.clear()
        pending_charset = ""

    pos = 0
    for match in _WORD.finditer(value):
        between = value[pos : match.start()]
        if between and not (pos and between.isspace()):  # space between two words is dropped
            flush()
            out.append(between)
        charset = match.group(1).split("*")[0].lower()
        data = _word_bytes(match.group(2), match.group(3))
        if data is None:
            flush()
            out.append(match.group(0))
            defects.append(f"{field} header: undecodable encoded word")
        else:
            if pending and charset != pending_charset:
                flush()
            pending.extend(data)
            pending_charset = charset
        pos = match.end()
    flush()
    out.append(value[pos:])
    return "".join(out)


def header_text(value: str, hint: str | None, defects: list[str], field: str) -> str:
    """A header value as text: unfolded, 8-bit bytes and encoded words decoded."""
    value = unfold(value)
    if not value.isascii():
        value = eight_bit(value, hint, defects, field)
    if "=?" in value:
        value = decode_words(value, defects, field)
    return value


def addresses(
    values: Sequence[str], hint: str | None, defects: list[str], field: str
) -> list[tuple[str, str]]:
    """(display name, address) pairs. Names are decoded after splitting, because a decoded name
    may hold the commas and '@' that separate addresses."""
    if not values:
        return []
    texts = [
        unfold(v) if v.isascii() else eight_bit(unfold(v), hint, defects, field) for v in values
    ]
    texts = [_shield_words(t) if "=?" in t else t for t in texts]
    pairs = _simple_addresses(texts)
    if pairs is None:
        try:
            pairs = getaddresses(texts, **_ADDRESS_OPTIONS)
        except Exception:  # the stdlib address parser has raised on odd input before
            defects.append(f"{field}: addresses could not be read")
            pairs = []
    found = []
    for name, email in pairs:
        name = fold_whitespace(decode_words(name, defects, field) if "=?" in name else name)
        email = email.strip()
        if email and (email[0] == "@" or email[-1] == "@" or " " in email):
            name, email = _repair(name, email, texts)
        elif email and "@" not in email and not _written_alone(email, texts):
            email = ""  # 'John Smith' comes back as 'John': a name, not an address
        if name or email:
            found.append((name, email))
    if not found:  # nothing parsed: keep what was written as a name, without an address
        whole = fold_whitespace(" ".join(t for t in texts if not t.strip().endswith(";")))
        if whole.strip("<> "):
            found.append((decode_words(whole, defects, field) if "=?" in whole else whole, ""))
    return found


_ADDRESS_SPECIALS = re.compile(r'[,;:<>@"()\[\]\\]')


def _shield_words(text: str) -> str:
    """Encoded words that hold address punctuation as it is ('=?utf-8?q?M=C3=BCller,_A?=':
    not allowed, but clients write it) are split by the address parser at that comma.
    Written again in base64, they keep their text and lose the punctuation."""

    def shield(match: re.Match[str]) -> str:
        if not _ADDRESS_SPECIALS.search(match.group(3)):
            return match.group(0)
        data = _word_bytes(match.group(2), match.group(3))
        if data is None:
            return match.group(0)
        return f"=?{match.group(1)}?B?{binascii.b2a_base64(data, newline=False).decode()}?="

    return _WORD.sub(shield, text)


def _simple_addresses(texts: list[str]) -> list[tuple[str, str]] | None:
    """The common forms ('a@b', 'Name <a@b>', '"Name, Q" <a@b>', comma-separated) without the
    stdlib's character-by-character parser, which costs a fifth of the whole parse. None when
    anything is less simple (comments, escapes, groups): then the stdlib decides."""
    pairs = []
    for text in texts:
        pos, end = 0, len(text)
        while pos < end:
            match = _SIMPLE_ADDRESS.match(text, pos)
            if match is None or match.end() == pos:
                return None
            bare, quoted, plain, angled = match.groups()
            if bare is not None:
                pairs.append(("", bare))
            elif angled is not None:
                pairs.append((quoted if quoted is not None else " ".join(plain.split()), angled))
            pos = match.end()
    return pairs


def _repair(name: str, email: str, texts: list[str]) -> tuple[str, str]:
    """'From: Big Bug bb@bug.com' and 'From: a@x b@x' confuse the stdlib: take the first thing
    that looks like an address, and what precedes it in the same piece as the name."""
    match = _ADDRESS_TOKEN.search(email)
    if match:
        return name or fold_whitespace(email[: match.start()]), match.group(0)
    match = _ADDRESS_TOKEN.search(" ".join(texts))
    return name, match.group(0) if match else ""


def _written_alone(email: str, texts: list[str]) -> bool:
    """A bare local part ('MAILER-DAEMON', 'postmaster') counts when it is the whole value."""
    return any(t.strip() == email or f"<{email}>" in t for t in texts)


def _valid_id(core: str) -> bool:
    return len(core) <= _MAX_ID and core.isprintable() and bool(_ID_CORE.fullmatch(core))


def normalise_message_id(value: str) -> str:
    """'<id@host>' from a Message-ID header with any junk around it; '' if it holds no id."""
    if not value:
        return ""
    match = _BRACKETED.search(value)
    if match:
        core = match.group(1)
    else:
        core = value.strip().strip("<>").strip()
        if "@" not in core or any(c.isspace() for c in core):
            return ""
    return f"<{core}>" if _valid_id(core) else ""


def message_ids(value: str) -> tuple[str, ...]:
    """Every id in a References or In-Reply-To header, in order, each once. Bare 'id@host'
    tokens count when the header has no bracketed ids at all (some clients write them so)."""
    cores = [c for c in _BRACKETED.findall(value) if _valid_id(c)]
    if not cores:
        tokens = (t.strip("<>,;") for t in value.split())
        cores = [t for t in tokens if "@" in t and _valid_id(t)]
    return tuple(dict.fromkeys(f"<{c}>" for c in cores))


def parse_date(value: str, now: datetime) -> datetime | None:
    """An aware datetime, or None when the header is garbage or the date is absurd."""
    value = fold_whitespace(value)
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # '-0000' and zone-less dates: RFC 5322 says UTC
    try:
        if when.year < _EARLIEST_YEAR or when > now + _FUTURE_SLACK:
            return None
    except OverflowError:
        return None
    return when


@functools.lru_cache(maxsize=64)
def _tag_pattern(prefixes: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(p) for p in prefixes)
    return re.compile(rf"\[\s*({alternatives})\s*-\s*(\d{{1,9}})\s*\]", re.IGNORECASE)


def subject_tags(subject: str, prefixes: Iterable[str]) -> tuple[tuple[str, int], ...]:
    """'[DAST-1234]' tags anywhere in the subject (so also after Re:/AW:/Fwd:) for the given
    team prefixes, case-insensitive; each prefix is returned as the caller spelled it."""
    canonical = {p.strip().lower(): p.strip() for p in prefixes if p and p.strip()}
    if not canonical or not subject:
        return ()
    pattern = _tag_pattern(tuple(sorted(canonical, key=len, reverse=True)))
    found = ((canonical[m.group(1).lower()], int(m.group(2))) for m in pattern.finditer(subject))
    return tuple(dict.fromkeys(found))


def strip_reply_prefixes(subject: str) -> str:
    """'Re: AW: Fwd: x' -> 'x', for display and for matching subjects."""
    previous = None
    while previous != subject:
        previous = subject
        subject = _REPLY_PREFIX.sub("", subject, count=1)
    return fold_whitespace(subject)
