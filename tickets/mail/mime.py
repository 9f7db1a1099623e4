"""The MIME tree of a parsed message: which parts are the body, which are attachments.

Works on the stdlib's compat32 ``Message`` objects. A part that cannot be read becomes a defect
and the walk goes on: the body of a mail with a broken attachment is still the body.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import collapse_rfc2231_value

from tickets.mail.boundaries import restore_bytes, restore_text
from tickets.mail.charsets import decode_bytes
from tickets.mail.headers import eight_bit, fold_whitespace, header_text
from tickets.mail.html import meta_charset
from tickets.mail.quotes import unflow

MAX_DEPTH = 20  # real mail nests 3 or 4 deep; deeper is a bomb or a loop of forwards
MAX_PARTS = 1000
_MAX_TYPE = 255  # the database column; a content type longer than this is junk anyway

_REPORT_PARTS = ("message/delivery-status", "message/global-delivery-status")
_RETURNED_MESSAGE = ("message/rfc822", "message/global")
_RETURNED_HEADERS = ("text/rfc822-headers", "message/global-headers")
_BODY_TYPES = ("text/plain", "text/html")

# Names for the stdlib's defect classes, for the admin who looks at a flagged mail.
_STDLIB_DEFECTS = {
    "NoBoundaryInMultipartDefect": "multipart without a boundary parameter",
    "StartBoundaryNotFoundDefect": "MIME boundary never found: the part is read as one",
    "CloseBoundaryNotFoundDefect": "closing MIME boundary missing",
    "FirstHeaderLineIsContinuationDefect": "first header line is a continuation line",
    "MisplacedEnvelopeHeaderDefect": "a 'From ' line inside the headers",
    "MissingHeaderBodySeparatorDefect": "a line in the header block is not a header",
    "MultipartInvariantViolationDefect": "multipart content type without parts",
    "InvalidMultipartContentTransferEncodingDefect": "multipart with a transfer encoding",
    "UndecodableBytesDefect": "undecodable bytes",
    "InvalidBase64PaddingDefect": "base64 with bad padding",
    "InvalidBase64CharactersDefect": "base64 with characters outside the alphabet",
    "InvalidBase64LengthDefect": "base64 with a truncated last group",
}
_EXTENSIONS = {
    "text/plain": ".txt", "text/html": ".html", "text/calendar": ".ics", "text/csv": ".csv",
    "image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "application/pdf": ".pdf",
    "application/zip": ".zip", "message/rfc822": ".eml", "message/global": ".eml",
    "message/delivery-status": ".txt", "text/rfc822-headers": ".txt",
}  # fmt: skip
_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MAX_NAME = 255
_DELIMITER = re.compile(r'^--([^\s"]{1,70})[ \t]*$', re.MULTILINE)  # RFC 2046: at most 70
_PARSER = BytesParser(policy=compat32)


@dataclass
class Walked:
    """What a walk over the MIME tree found."""

    text: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Message] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    charset_hint: str | None = None  # the first body charset: a fair guess for 8-bit headers
    report_types: list[str] = field(default_factory=list)
    delivery_status: list[str] = field(default_factory=list)
    original_ids: list[str] = field(default_factory=list)
    original_headers: list[str] = field(default_factory=list)
    renamed: dict[bytes, bytes] = field(default_factory=dict)  # from boundaries.canonical
    last_leaf: Message | None = None  # where a message cut at the size cap was cut


@dataclass(frozen=True)
class PartInfo:
    """A part's Content-Type and -Disposition, read in one pass over its headers: the
    stdlib's getters scan every header again for each question, and the top-level part of a
    real mail has thirty Received and DKIM lines."""

    part: Message
    ctype: str  # lowercased 'type/subtype'; the stdlib's defaults when missing or broken
    content_type: str  # the raw header value, '' if none
    disposition: str  # the raw header value, '' if none

    @property
    def attachment(self) -> bool:
        return self.disposition.partition(";")[0].strip().lower() == "attachment"

    def param(self, name: str) -> str:
        """A Content-Type parameter, lowercased, '' if absent. RFC 2231 forms (name*=) are
        left to the stdlib."""
        lowered = self.content_type.lower()
        if name not in lowered:
            return ""
        if f"{name}*" in lowered:
            value = self.part.get_param(name)
            if isinstance(value, tuple):  # (charset, language, value)
                value = collapse_rfc2231_value(value)
            return str(value or "").strip().lower()
        match = _param_pattern(name).search(self.content_type)
        return (match.group(1) or match.group(2) or "").strip().lower() if match else ""

    def has_name(self) -> bool:
        if "name" not in self.content_type.lower() and "name" not in self.disposition.lower():
            return False
        try:
            return bool(self.part.get_filename())
        except (ValueError, LookupError, UnicodeError, TypeError):
            return False


@functools.lru_cache(maxsize=16)
def _param_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf'[;\s]{re.escape(name)}\s*=\s*(?:"([^"]*)"|([^;\s]*))', re.IGNORECASE)


def part_info(part: Message) -> PartInfo:
    content_type = disposition = None
    for name, value in part.raw_items():
        key = name.lower()
        if key == "content-type" and content_type is None:
            content_type = str(value)
        elif key == "content-disposition" and disposition is None:
            disposition = str(value)
    if content_type is None:
        ctype = part.get_default_type()  # text/plain, or message/rfc822 in a digest
    else:
        # The first word: 'text/plain charset=utf-8' (no ';') is still text/plain.
        words = content_type.partition(";")[0].split()
        ctype = words[0].lower()[:_MAX_TYPE] if words else ""
        if ctype.count("/") != 1:
            ctype = "text/plain"  # what the stdlib makes of a broken type
    return PartInfo(part, ctype, content_type or "", disposition or "")


def content_type(part: Message) -> str:
    return part_info(part).ctype


def walk(message: Message, renamed: dict[bytes, bytes]) -> Walked:
    """Depth-first over the parts, in order, without recursion (a deep message must not
    exhaust the stack); attached messages are leaves, not read into the body."""
    found = Walked(renamed=renamed)
    stack: list[tuple[Message, int]] = [(message, 0)]
    seen = 0
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            found.defects.append(f"more than {MAX_PARTS} MIME parts: the rest is not read")
            break
        found.defects.extend(_defects(part))
        info = part_info(part)
        ctype = info.ctype
        if ctype.startswith("multipart/") and not part.is_multipart():
            recovered = _recover_multipart(part, ctype)
            if recovered is not None:
                found.defects.append(f"{ctype}: boundary guessed from the body")
                part = recovered
        if ctype.startswith("multipart/") and part.is_multipart():
            if depth >= MAX_DEPTH:
                found.defects.append(f"MIME parts nested deeper than {MAX_DEPTH}: not read")
                continue
            if ctype == "multipart/report":
                found.report_types.append(info.param("report-type"))
            children = [c for c in part.get_payload() if isinstance(c, Message)]
            stack.extend((child, depth + 1) for child in reversed(children))
        else:
            _leaf(info, found)
            found.last_leaf = part
    return found


def _recover_multipart(part: Message, ctype: str) -> Message | None:
    """A multipart whose boundary parameter is missing or wrong: take the first delimiter line
    in the body as the boundary and parse again."""
    payload = part.get_payload()
    if not isinstance(payload, str):
        return None
    match = _DELIMITER.search(payload)
    if match is None:
        return None
    boundary = match.group(1).removesuffix("--")
    head = f'Content-Type: {ctype}; boundary="{boundary}"\n\n'
    recovered = _PARSER.parsebytes((head + payload).encode("utf-8", "surrogateescape"))
    return recovered if recovered.is_multipart() else None


def _leaf(info: PartInfo, found: Walked) -> None:
    part, ctype = info.part, info.ctype
    if ctype.startswith("multipart/"):
        found.defects.append(f"{ctype} without readable parts: read as text")
        found.text.append(part_text(info, found, as_type="text/plain"))
    elif ctype in _REPORT_PARTS:
        found.delivery_status.append(_report_text(part))
        found.attachments.append(part)
    elif ctype in _RETURNED_MESSAGE:
        inner = part.get_payload(0) if part.is_multipart() else None
        if isinstance(inner, Message) and inner.get("Message-ID"):
            found.original_ids.append(str(inner.get("Message-ID")))
        found.attachments.append(part)
    elif ctype in _RETURNED_HEADERS:
        found.original_headers.append(part_text(info, found))
        found.attachments.append(part)
    elif ctype in _BODY_TYPES and not info.attachment and not info.has_name():
        text = part_text(info, found)
        (found.text if ctype == "text/plain" else found.html).append(text)
    else:
        found.attachments.append(part)


def _defects(part: Message) -> list[str]:
    names = (type(d).__name__ for d in getattr(part, "defects", ()))
    return [_STDLIB_DEFECTS.get(n, n) for n in names]


def payload_bytes(part: Message) -> bytes:
    """The decoded payload (base64, quoted-printable, uuencode undone)."""
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def part_text(info: PartInfo, found: Walked, as_type: str = "") -> str:
    ctype = as_type or info.ctype
    data = payload_bytes(info.part)
    found.defects.extend(_defects(info.part))  # decoding may have found bad base64
    charset = info.param("charset") or None
    if charset is None and ctype == "text/html":
        charset = meta_charset(data)
    if charset and found.charset_hint is None:
        found.charset_hint = charset
    text, defect = decode_bytes(data, charset, what=f"{ctype} part")
    if defect:
        found.defects.append(defect)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if found.renamed:
        text = restore_text(text, found.renamed)
    if ctype == "text/plain" and info.param("format") == "flowed":
        text = unflow(text, delsp=info.param("delsp") == "yes")
    return text


def _report_text(part: Message) -> str:
    """message/delivery-status: the stdlib parses it into header blocks; back to text."""
    payload = part.get_payload()
    if not isinstance(payload, list):
        return payload_bytes(part).decode("utf-8", "replace")
    blocks = []
    for block in payload:
        if not isinstance(block, Message):
            continue
        lines = (f"{name}: {fold_whitespace(str(value))}" for name, value in block.raw_items())
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def content_bytes(part: Message, renamed: dict[bytes, bytes]) -> bytes:
    """An attachment's bytes; an attached message as the .eml it was."""
    return restore_bytes(_content_bytes(part), renamed) if renamed else _content_bytes(part)


def _content_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if not isinstance(payload, list):
        return payload_bytes(part)
    messages = [m for m in payload if isinstance(m, Message)]
    if content_type(part) in _RETURNED_MESSAGE and messages:
        return _flatten(messages[0])
    return b"\n".join(_flatten(block) for block in messages)


def _flatten(message: Message) -> bytes:
    out = io.BytesIO()
    # maxheaderlen=0: write headers as they came, not re-folded
    BytesGenerator(out, mangle_from_=False, maxheaderlen=0).flatten(message)
    return out.getvalue()


def filename(part: Message, ctype: str, number: int, hint: str | None, defects: list[str]) -> str:
    """Decoded (RFC 2231 by the stdlib, RFC 2047 and raw 8-bit here) and made safe to store."""
    try:
        name = _decoded_params(part, hint, defects).get_filename() or ""
    except (ValueError, LookupError, UnicodeError, TypeError):
        name = ""
        defects.append(f"attachment {number}: unreadable file name")
    name = header_text(name, hint, defects, "file name") if name else ""
    if not name and ctype in _RETURNED_MESSAGE:
        name = _attached_subject(part, hint, defects)
    name = safe_filename(name)
    extension = _EXTENSIONS.get(ctype, ".txt" if ctype.startswith("text/") else ".bin")
    return name or f"attachment-{number}{extension}"


def raw_header(part: Message, name: str) -> str:
    """A header as it came, 8-bit bytes still escaped (``get`` would turn them into U+FFFD)."""
    for key, value in part.raw_items():
        if key.lower() == name:
            return str(value)
    return ""


def _decoded_params(part: Message, hint: str | None, defects: list[str]) -> Message:
    """The part itself, or, when its Content-Type or -Disposition has raw 8-bit bytes (a file
    name written in UTF-8 without RFC 2231), a stand-in with those headers decoded."""
    raw = {h: raw_header(part, h) for h in ("content-disposition", "content-type")}
    if all(v.isascii() for v in raw.values()):
        return part
    probe = Message()
    for header, value in raw.items():
        if value:
            probe[header] = eight_bit(value, hint, defects, "file name")
    return probe


def _attached_subject(part: Message, hint: str | None, defects: list[str]) -> str:
    inner = part.get_payload(0) if part.is_multipart() else None
    subject = raw_header(inner, "subject") if isinstance(inner, Message) else ""
    subject = fold_whitespace(header_text(subject, hint, defects, "Subject"))
    subject = subject.replace("/", "-").replace("\\", "-")[:100].strip()
    return f"{subject}.eml" if subject.strip(". ") else ""


def safe_filename(name: str) -> str:
    """No directories, no control or bidi-override characters, at most 255 characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = fold_whitespace(_UNSAFE_IN_NAME.sub("", name)).strip(". ")
    if len(name) <= _MAX_NAME:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and 0 < len(extension) <= 16:
        return f"{stem[: _MAX_NAME - len(extension) - 1]}.{extension}"
    return name[:_MAX_NAME]


def content_id(part: Message) -> str:
    value = part.get("Content-ID")
    if not value:
        return ""
    return "".join(str(value).split()).strip("<>")[:_MAX_NAME]
