"""One raw mail in, plain data out: the parse step of fetch -> store raw -> parse -> thread.

Pure: bytes in, frozen dataclasses out, no Django. Every message either parses, with whatever
could be read and a list of defects met on the way, or raises ``MailParseError`` with a reason
when it is not mail at all; the caller then keeps it raw and flags it. No other exception
escapes, because a single odd message must never stop intake.

Speed matters (the archive import parses ~1,000 messages a second on two cores), hence the
stdlib's compat32 parser (about ten times faster than ``policy.default``, and it never raises
on a malformed header) and our own header decoding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32

from tickets.mail import boundaries, mime
from tickets.mail.charsets import header_charset
from tickets.mail.headers import (
    addresses,
    fold_whitespace,
    header_text,
    message_ids,
    normalise_message_id,
    parse_date,
    strip_reply_prefixes,
    subject_tags,
)
from tickets.mail.html import cid_references, html_to_text, sanitise
from tickets.mail.noise import Bounce, Evidence, Noise, classify
from tickets.mail.quotes import find_quote_start, find_signature_start

__all__ = [
    "Address",
    "Bounce",
    "MailParseError",
    "Noise",
    "ParsedAttachment",
    "ParsedMail",
    "message_ids",
    "normalise_message_id",
    "parse_message",
    "strip_reply_prefixes",
    "subject_tags",
]

DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_TOTAL_ATTACHMENT_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_RAW_BYTES = 50 * 1024 * 1024
# Marks a part whose body tickets.mail.stream left out of a big mail; its value is a token
# that ``omitted`` maps to the part's decoded size (a token the caller did not make is ignored).
OMITTED_HEADER = "X-Dast-Omitted"


@dataclass(frozen=True)
class Address:
    name: str  # decoded display name ('' if none)
    email: str  # as written, stripped; '' if unparseable


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str  # decoded and safe to store; made up ('attachment-1.bin') when missing
    content_type: str  # lowercased 'type/subtype'
    content: bytes  # decoded payload (b'' if dropped for size)
    size: int  # real decoded size, even when dropped
    content_id: str  # without <>; '' if none
    inline: bool  # an image the HTML shows (cid:)
    dropped: str  # '' or why the content was not kept


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # '<id@host>' or '' if missing/garbage
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    sender: Address | None  # From (first), else Sender, else Return-Path
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    delivered_to: tuple[str, ...]  # Delivered-To, X-Original-To, Envelope-To
    date: datetime | None  # aware; None if missing, garbage or absurd
    text: str  # the text/plain body, else text made from the HTML
    html: str  # sanitised HTML, '' if the mail had none
    quote_start: int | None  # offset in `text` where quoted history begins
    signature_start: int | None  # offset in `text` of the signature
    attachments: tuple[ParsedAttachment, ...]
    noise: Noise
    bounce: Bounce | None  # when noise is BOUNCE and the report could be read
    auto_submitted: str  # raw Auto-Submitted value, '' if none
    defects: tuple[str, ...]  # problems met and worked around
    list_id: str = ""  # the List-Id ('support.lists.example.org'), lowercased; '' if none
    labels: tuple[str, ...] = ()  # Gmail export labels (X-Gmail-Labels), in order
    oversize: bool = False  # larger than the raw cap: read only up to it


class MailParseError(ValueError):
    """Not mail at all (or not readable as mail): keep it raw and flag it."""


@dataclass(frozen=True)
class _Limits:
    per_file: int
    total: int
    raw: int
    omitted: Mapping[str, int] = field(default_factory=dict)


_PARSER = BytesParser(policy=compat32)
# Header names that only mail has; a file with none of them is something else.
_MAIL_HEADERS = frozenset(
    {
        "from", "to", "cc", "subject", "date", "message-id", "received", "return-path",
        "sender", "reply-to", "mime-version", "content-type", "delivered-to", "in-reply-to",
        "references", "x-mailer", "user-agent", "dkim-signature", "x-original-to",
        "content-transfer-encoding", "bcc", "resent-from", "newsgroups", "envelope-to",
    }
)  # fmt: skip
# The stdlib parser checks every line against every open boundary: quadratic in the depth.
# A nesting bomb of 20,000 levels takes it 13 s, so such mail is not handed to it at all.
_MAX_PARSE_DEPTH = 50
_BOUNDARY = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]+)"|([^\s;"]+))', re.IGNORECASE)
_CLOSE = re.compile(rb"^--(.+?)--[ \t]*\r?$", re.MULTILINE)
_OBSOLETE_NAME = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]+:", re.MULTILINE)
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")  # a field name and its colon
_LIST_ID = re.compile(r"<([^<>\s]+)>")


def parse_message(
    raw: bytes,
    *,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    max_total_attachment_bytes: int = DEFAULT_MAX_TOTAL_ATTACHMENT_BYTES,
    max_raw_bytes: int = DEFAULT_MAX_RAW_BYTES,
    now: datetime | None = None,
    full_size: int = 0,
    omitted: Mapping[str, int] | None = None,
) -> ParsedMail:
    """Parse one message. Raises MailParseError, and only that, when it is not mail.

    A message larger than ``max_raw_bytes`` is read only up to that size (the parser needs
    several times a mail's size in memory): its headers and body as far as they go; the
    attachment the cut goes through is dropped, and ``oversize`` says so.

    ``full_size`` and ``omitted`` are for a big mail read from a file (tickets.mail.stream):
    its real size, and the decoded sizes of the parts left out of ``raw``."""
    limits = _Limits(max_attachment_bytes, max_total_attachment_bytes, max_raw_bytes, omitted or {})
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)  # a naive "now" would fail every date comparison
    try:
        return _parse(bytes(raw), limits, now, full_size)
    except MailParseError:
        raise
    except RecursionError as exc:
        raise MailParseError("structure nested too deeply to read") from exc
    except Exception as exc:  # the contract: a caller never has to expect anything else
        raise MailParseError(f"internal error: {type(exc).__name__}: {exc}") from exc


def _parse(raw: bytes, limits: _Limits, now: datetime, full_size: int = 0) -> ParsedMail:
    raw = raw.lstrip(b"\r\n\t ") if raw[:1].isspace() else raw
    if not raw:
        raise MailParseError("empty message")
    defects: list[str] = []
    size = max(full_size, len(raw))
    oversize = 0 < limits.raw < size
    if oversize:
        defects.append(f"mail of {size} bytes, over the cap of {limits.raw}: read up to it")
    if 0 < limits.raw < len(raw):
        end = raw.rfind(b"\n", 0, limits.raw)
        raw = raw[: end + 1 if end > 0 else limits.raw]
    renamed_raw, renamed = boundaries.canonical(raw)
    message, body_read = _read(renamed_raw, defects)
    headers = _header_map(message)
    if not headers or _cut_short(message):
        salvaged = _salvage(raw, defects)
        if salvaged is not None:
            renamed = {}
            message, body_read = _read(salvaged, defects)
            headers = _header_map(message)
    if not headers:
        raise MailParseError("no header lines: not a mail message")
    if not any(name in _MAIL_HEADERS for name in headers):
        # 'X-Axis: time' in a notes file is not mail; a mail without From, Subject, Date,
        # Received or any other of those is not either, whatever 'X-' lines it has.
        names = ", ".join(sorted(headers)[:5])
        raise MailParseError(f"no mail headers (only {names}): not a mail message")
    walked = mime.walk(message, renamed) if body_read else mime.Walked()
    defects.extend(walked.defects)
    return _assemble(headers, walked, defects, limits, now, oversize)


def _read(raw: bytes, defects: list[str]) -> tuple[Message, bool]:
    """The parsed message and whether its body was read (not for nesting bombs)."""
    if _nesting_depth(raw) > _MAX_PARSE_DEPTH:
        defects.append(f"MIME parts nested deeper than {_MAX_PARSE_DEPTH}: body not read")
        return _PARSER.parsebytes(raw, headersonly=True), False
    try:
        return _PARSER.parsebytes(raw), True
    except RecursionError:
        defects.append("MIME structure too deep for the parser: body not read")
        return _PARSER.parsebytes(raw, headersonly=True), False


def _cut_short(message: Message) -> bool:
    """Whether the stdlib stopped reading headers at a line that is not one."""
    return any(type(d).__name__ == "MissingHeaderBodySeparatorDefect" for d in message.defects)


def _salvage(raw: bytes, defects: list[str]) -> bytes | None:
    """The stdlib ends the headers at the first line that is not one, so a stray line in
    front of or among them, or RFC 822's 'Subject  : x', costs every header after it.
    Repaired bytes when real header lines follow the stray ones; None otherwise."""
    end = _BLANK_LINE.search(raw)
    cut = end.start() if end else len(raw)
    if _OBSOLETE_NAME.match(raw):
        defects.append("obsolete header syntax (space before the colon)")
        return _OBSOLETE_NAME.sub(rb"\1:", raw[:cut]) + raw[cut:]
    lines = raw[:cut].split(b"\n")
    stray = [
        i
        for i, line in enumerate(lines)
        if not _HEADER_LINE.match(line)
        and line[:1] not in (b" ", b"\t")
        and not (i == 0 and line.startswith(b"From "))
    ]
    if not stray or sum(bool(_HEADER_LINE.match(x)) for x in lines[stray[0] :]) < 2:
        return None  # the rest is a body that lacks its blank line, not more headers
    defects.append(f"{len(stray)} stray line(s) among the headers skipped")
    skipped = set(stray)
    kept = [line for i, line in enumerate(lines) if i not in skipped]
    return b"\n".join(kept) + raw[cut:]


def _nesting_depth(raw: bytes) -> int:
    """How many multipart boundaries are open at once, at most (cheap unless there are many)."""
    if raw.count(b"oundary") + raw.count(b"OUNDARY") <= _MAX_PARSE_DEPTH:
        return 0
    events = [(m.start(), True, m.group(1) or m.group(2)) for m in _BOUNDARY.finditer(raw)]
    events += [(m.start(), False, m.group(1)) for m in _CLOSE.finditer(raw)]
    open_now: list[bytes] = []
    deepest = 0
    for _, opens, boundary in sorted(events, key=lambda e: e[0]):
        if opens:
            open_now.append(boundary)
            deepest = max(deepest, len(open_now))
        elif boundary in open_now:
            del open_now[open_now.index(boundary) :]  # closing a part closes those inside it
    return deepest


def _header_map(message: Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.strip().lower(), []).append(str(value))
    return headers


class _Headers:
    """Decoded access to one message's headers; every problem becomes a defect."""

    def __init__(self, raw: dict[str, list[str]], hint: str | None, defects: list[str]):
        self.raw, self.hint, self.defects = raw, hint, defects

    def text(self, name: str) -> str:
        values = self.raw.get(name)
        return header_text(values[0], self.hint, self.defects, name.title()) if values else ""

    def joined(self, name: str) -> str:
        values = self.raw.get(name, ())
        return " ".join(header_text(v, self.hint, self.defects, name.title()) for v in values)

    def people(self, name: str) -> tuple[Address, ...]:
        pairs = addresses(self.raw.get(name, ()), self.hint, self.defects, name.title())
        return tuple(Address(_safe(n), _safe(e)) for n, e in pairs)

    def sender(self) -> Address | None:
        for name in ("from", "sender", "return-path"):
            for address in self.people(name):
                return address
        return None

    def delivered_to(self) -> tuple[str, ...]:
        names = ("delivered-to", "x-original-to", "envelope-to")
        return tuple(dict.fromkeys(a.email for n in names for a in self.people(n) if a.email))


def _assemble(
    raw_headers: dict[str, list[str]],
    walked: mime.Walked,
    defects: list[str],
    limits: _Limits,
    now: datetime,
    oversize: bool = False,
) -> ParsedMail:
    hint = _header_hint(raw_headers, walked)
    headers = _Headers(raw_headers, hint, defects)
    subject = _safe(fold_whitespace(headers.text("subject")))
    sender = headers.sender()
    text, html, html_source = _body(walked, defects)
    quote_start = find_quote_start(text)
    evidence = Evidence(
        headers=raw_headers,
        subject=subject,
        sender=sender.email if sender else "",
        report_types=walked.report_types,
        delivery_status=walked.delivery_status,
        original_ids=walked.original_ids,
        original_headers=walked.original_headers,
        text=text,
    )
    noise, bounce = classify(evidence)
    return ParsedMail(
        message_id=normalise_message_id(headers.text("message-id")),
        in_reply_to=message_ids(headers.joined("in-reply-to")),
        references=message_ids(headers.joined("references")),
        subject=subject,
        sender=sender,
        reply_to=headers.people("reply-to"),
        to=headers.people("to"),
        cc=headers.people("cc"),
        delivered_to=headers.delivered_to(),
        date=parse_date(headers.text("date"), now),
        text=text,
        html=html,
        quote_start=quote_start,
        signature_start=find_signature_start(text, quote_start),
        attachments=_attachments(
            walked, hint, cid_references(html_source), limits, defects, oversize
        ),
        noise=noise,
        bounce=bounce,
        auto_submitted=fold_whitespace(headers.text("auto-submitted")),
        defects=tuple(dict.fromkeys(_safe(d) for d in defects)),
        list_id=_list_id(headers.text("list-id")),
        labels=_labels(headers.text("x-gmail-labels")),
        oversize=oversize,
    )


def _labels(value: str) -> tuple[str, ...]:
    """Gmail's own bookkeeping labels are not worth keeping as tags."""
    skip = {"", "opened", "unread", "important", "starred", "inbox", "sent", "archived"}
    labels = (_safe(fold_whitespace(part))[:50] for part in value.split(","))
    return tuple(dict.fromkeys(label for label in labels if label.lower() not in skip))


def _list_id(value: str) -> str:
    match = _LIST_ID.search(value)
    return _safe((match.group(1) if match else fold_whitespace(value)).lower())


def _body(walked: mime.Walked, defects: list[str]) -> tuple[str, str, str]:
    """(text, sanitised html, html as sent). The text is the plain part when there is one;
    otherwise it is made from the sanitised HTML: the same text (nh3 drops exactly what
    is not shown), and a third faster to read, without the styles and Office markup."""
    html_source = "\n".join(h for h in walked.html if h.strip())
    html = _safe(sanitise(html_source)) if html_source else ""
    text = "\n".join(t for t in walked.text if t.strip())
    if not text.strip() and not html:
        text = _named_inline_text(walked)
    if not text.strip() and html:
        text, defect = html_to_text(html)
        if defect:
            defects.append(defect)
    return _safe(text), html, html_source


def _named_inline_text(walked: mime.Walked) -> str:
    """A mail whose only text is a named inline part ('Content-Disposition: inline;
    filename=note.txt'): that text is what the sender wrote, so it is the body too (and stays
    an attachment under its name)."""
    for part in walked.attachments:
        info = mime.part_info(part)
        if info.ctype == "text/plain" and not info.attachment:
            text = mime.part_text(info, walked)
            if text.strip():
                return text
    return ""


_NAMED_HEADERS = ("subject", "from", "sender", "reply-to", "to", "cc", "thread-topic")


def _header_hint(raw_headers: dict[str, list[str]], walked: mime.Walked) -> str | None:
    """The charset of the raw 8-bit bytes in the subject, names and file names, detected on
    all of them together (the body's charset a hint); the body's charset when there are none."""
    values = [v for name in _NAMED_HEADERS for v in raw_headers.get(name, ())]
    for part in walked.attachments:
        values += (
            mime.raw_header(part, "content-type"),
            mime.raw_header(part, "content-disposition"),
        )
    samples = [v.encode("utf-8", "surrogateescape") for v in values if not v.isascii()]
    if not samples:
        return walked.charset_hint
    return header_charset(samples, walked.charset_hint) or walked.charset_hint


def _attachments(
    walked: mime.Walked,
    hint: str | None,
    cids: set[str],
    limits: _Limits,
    defects: list[str],
    oversize: bool = False,
) -> tuple[ParsedAttachment, ...]:
    found = []
    total = 0
    for number, part in enumerate(walked.attachments, start=1):
        ctype = mime.content_type(part)
        left_out = limits.omitted.get(mime.raw_header(part, OMITTED_HEADER.lower()).strip())
        try:
            content = b"" if left_out is not None else mime.content_bytes(part, walked.renamed)
        except Exception as exc:  # one unreadable attachment must not cost the mail
            defects.append(f"attachment {number}: could not be read ({type(exc).__name__})")
            content = b""
        size = len(content) if left_out is None else left_out
        dropped = ""
        if oversize and part is walked.last_leaf:
            dropped = f"cut off: the mail is larger than {limits.raw} bytes"
        elif size > limits.per_file:
            dropped = f"larger than {limits.per_file} bytes"
        elif total + size > limits.total:
            dropped = f"attachments together larger than {limits.total} bytes"
        else:
            total += size
        cid = _safe(mime.content_id(part))
        found.append(
            ParsedAttachment(
                filename=_safe(mime.filename(part, ctype, number, hint, defects)),
                content_type=ctype,
                content=b"" if dropped else content,
                size=size,
                content_id=cid,
                inline=bool(cid) and cid in cids,
                dropped=dropped,
            )
        )
    return tuple(found)


def _safe(text: str) -> str:
    """Text the database takes: no NUL characters (PostgreSQL refuses them) and no lone
    surrogates (left by undecodable bytes)."""
    if text.isascii() and "\x00" not in text:
        return text
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text
