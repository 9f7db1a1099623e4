"""A big mail parsed from a file, without ever holding it whole in memory.

The stdlib parser holds a part's body as a list of lines and then as one string, about three
times the part's size, and a 50 MB attachment the desk drops anyway (it is over
MAIL_MAX_ATTACHMENT_BYTES) would cost 150 MB or more. So a big mail is read line by line
first, following its MIME boundaries: each leaf part that would be an attachment and whose
decoded content is over the per-file cap is left out of what the parser sees (its headers
stay, with a marker header naming a token), and only its decoded size is kept, counted as
its lines go by. The rest, headers, bodies, small attachments, is handed to
``parse_message`` as it came, so a big mail parses as it would whole: the same text, the same
attachments kept, and the left-out parts listed as dropped with their real size.

A mail over the raw cap is read up to it, cut where ``parse_message`` cuts a mail held whole.
Anything the walk cannot follow (a header block of more than a megabyte, boundaries nested
deeper than the parser reads) is passed on as it is from there.
"""

from __future__ import annotations

import binascii
import io
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import BinaryIO

from tickets.mail import mime
from tickets.mail.parse import (
    DEFAULT_MAX_ATTACHMENT_BYTES,
    DEFAULT_MAX_RAW_BYTES,
    DEFAULT_MAX_TOTAL_ATTACHMENT_BYTES,
    OMITTED_HEADER,
    ParsedMail,
    parse_message,
)

_LINE = 64 * 1024  # longer lines are read in pieces; only a piece at a line's start counts
_MAX_HEADER_BLOCK = 1024 * 1024
_MAX_DEPTH = 50  # as parse._MAX_PARSE_DEPTH: deeper, the parser reads no body anyway
_SPOOL = 1024 * 1024  # a part's body in memory up to this, then in a temporary file
_HEADERS = BytesHeaderParser(policy=compat32)
_NOT_BASE64 = bytes(
    c for c in range(256) if not (chr(c).isascii() and (chr(c).isalnum() or chr(c) in "+/"))
)


@dataclass
class Slimmed:
    data: bytes  # the mail without the left-out bodies: what the parser reads
    size: int  # the mail's full size in bytes
    omitted: dict[str, int] = field(default_factory=dict)  # marker token -> decoded size


def parse_message_file(
    fp: BinaryIO,
    *,
    size: int,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    max_total_attachment_bytes: int = DEFAULT_MAX_TOTAL_ATTACHMENT_BYTES,
    max_raw_bytes: int = DEFAULT_MAX_RAW_BYTES,
    now: datetime | None = None,
) -> ParsedMail:
    """``parse_message`` for a mail in a file of ``size`` bytes (read from where it is)."""
    slimmed = slim(fp, size=size, max_raw_bytes=max_raw_bytes, max_part_bytes=max_attachment_bytes)
    return parse_message(
        slimmed.data,
        max_attachment_bytes=max_attachment_bytes,
        max_total_attachment_bytes=max_total_attachment_bytes,
        max_raw_bytes=max_raw_bytes,
        now=now,
        full_size=slimmed.size,
        omitted=slimmed.omitted,
    )


def slim(fp: BinaryIO, *, size: int, max_raw_bytes: int, max_part_bytes: int) -> Slimmed:
    walker = _Walker(max_part_bytes)
    limit = max_raw_bytes if 0 < max_raw_bytes < size else -1
    read = 0
    whole = True  # at the start of a line
    started = False
    while True:
        line = fp.readline(_LINE)
        if not line:
            break
        read += len(line)
        if limit >= 0 and read > limit:
            break  # parse_message keeps the lines that end within the cap
        if not started and whole and not line.strip():
            continue  # parse_message strips blank lines in front of the headers
        started = True
        walker.feed(line, whole)
        whole = line.endswith(b"\n")
    walker.finish()
    return Slimmed(walker.out.getvalue(), size, walker.omitted)


class _Walker:
    """Follows the MIME structure line by line, writing what the parser is to see."""

    def __init__(self, max_part_bytes: int) -> None:
        self.max_part_bytes = max_part_bytes
        self.out = io.BytesIO()
        self.omitted: dict[str, int] = {}
        self.nonce = secrets.token_hex(8)
        self.boundaries: list[bytes] = []  # open multipart boundaries, innermost last
        self.mode = "headers"  # headers | leaf | text (kept as is) | verbatim
        self.header: list[bytes] = []
        self.header_bytes = 0
        self.leaf: _Leaf | None = None

    def feed(self, line: bytes, whole: bool) -> None:
        if self.mode == "verbatim":
            self.out.write(line)
            return
        if whole and self.boundaries and line.startswith(b"--"):
            found = self._delimiter(line)
            if found is not None:
                self._end_part(delimited=True)
                index, closing = found
                del self.boundaries[index + (1 if not closing else 0) :]
                self.out.write(line)
                self.mode = "text" if closing else "headers"
                return
        if self.mode == "headers":
            self._header_line(line, whole)
        elif self.mode == "leaf":
            assert self.leaf is not None
            self.leaf.add(line)
        else:
            self.out.write(line)

    def finish(self) -> None:
        self._end_part()

    def _delimiter(self, line: bytes) -> tuple[int, bool] | None:
        """(index of the boundary, closing) when the line delimits an open part."""
        text = line.rstrip(b"\r\n").rstrip(b" \t")
        for index in range(len(self.boundaries) - 1, -1, -1):
            boundary = self.boundaries[index]
            if text == b"--" + boundary:
                return index, False
            if text == b"--" + boundary + b"--":
                return index, True
        return None

    def _header_line(self, line: bytes, whole: bool) -> None:
        self.header.append(line)
        self.header_bytes += len(line)
        if self.header_bytes > _MAX_HEADER_BLOCK:
            self._verbatim()
            return
        if not (whole and line in (b"\n", b"\r\n")):
            return
        block = b"".join(self.header)
        part = _HEADERS.parsebytes(block)
        info = mime.part_info(part)
        boundary = part.get_boundary() if info.ctype.startswith("multipart/") else None
        if boundary is not None:
            self.out.write(block)
            self.header = []
            self.header_bytes = 0
            if len(self.boundaries) >= _MAX_DEPTH:
                self._verbatim()
                return
            self.boundaries.append(boundary.encode("utf-8", "surrogateescape"))
            self.mode = "text"  # the preamble, up to the first delimiter
            return
        droppable = _droppable(info)
        self.leaf = _Leaf(self.header, _encoding(part), droppable)
        self.header = []
        self.header_bytes = 0
        self.mode = "leaf"

    def _end_part(self, *, delimited: bool = False) -> None:
        if self.header:  # a header block that no blank line ended
            self.out.write(b"".join(self.header))
            self.header, self.header_bytes = [], 0
        leaf, self.leaf = self.leaf, None
        if leaf is None:
            return
        with leaf.body:
            # The line end before a delimiter belongs to the delimiter (RFC 2046).
            decoded = leaf.decoded(delimited)
            if leaf.droppable and decoded > self.max_part_bytes:
                token = f"{self.nonce}-{len(self.omitted)}"
                self.omitted[token] = decoded
                *fields, blank = leaf.header
                self.out.write(b"".join(fields))
                self.out.write(f"{OMITTED_HEADER}: {token}".encode() + blank)
                self.out.write(blank)
                return
            self.out.write(b"".join(leaf.header))
            leaf.body.seek(0)
            while chunk := leaf.body.read(_SPOOL):
                self.out.write(chunk)

    def _verbatim(self) -> None:
        self._end_part()
        self.mode = "verbatim"


class _Leaf:
    """A leaf part's body as it goes by: spooled, and its decoded size counted."""

    def __init__(self, header: list[bytes], encoding: str, droppable: bool) -> None:
        self.header = header
        self.encoding = encoding
        self.droppable = droppable
        self.body = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115
        self.base64_chars = 0
        self.other = 0
        self.line_end = 0  # the length of the last line's end

    def add(self, line: bytes) -> None:
        self.body.write(line)
        self.line_end = 2 if line.endswith(b"\r\n") else int(line.endswith(b"\n"))
        if self.encoding == "base64":
            self.base64_chars += len(line.translate(None, _NOT_BASE64))
        elif self.encoding == "quoted-printable":
            self.other += len(binascii.a2b_qp(line))
        else:
            self.other += len(line)

    def decoded(self, delimited: bool) -> int:
        if self.encoding == "base64":
            return self.base64_chars * 3 // 4
        return max(0, self.other - self.line_end) if delimited else self.other


def _encoding(part: Message) -> str:
    return str(part.get("content-transfer-encoding", "")).strip().lower()


def _droppable(info: mime.PartInfo) -> bool:
    """Whether a leaf may be left out: an attachment as ``mime._leaf`` sees it, not the body
    text, and not a part whose content the parser reads for more than its bytes (a message,
    a delivery report, returned headers: bounces, attached mail's subjects)."""
    ctype = info.ctype
    if ctype.startswith(("multipart/", "message/")) or ctype == "text/rfc822-headers":
        return False
    body = ctype in ("text/plain", "text/html") and not (info.attachment or info.has_name())
    return not body
