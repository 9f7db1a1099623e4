"""One planned message to RFC 5322 bytes (LF line endings), MIME built by hand for speed."""

from __future__ import annotations

import base64
import binascii
import functools
import time
import urllib.parse

from . import clock
from .headers import address_list, encode_subject, encode_words, fold
from .model import INBOX_ADDRESS, Address, Attachment, Message, Thread

_LEGACY_MULTIBYTE = frozenset({"gb2312", "gbk", "big5", "shift_jis", "koi8-r", "windows-1251"})
_PREAMBLE = b"This is a multi-part message in MIME format.\n"


def _base64(data: bytes) -> bytes:
    """base64.encodebytes without its per-line Python loop: one C call, then 76-column lines."""
    flat = binascii.b2a_base64(data, newline=False)
    return b"\n".join([flat[i : i + 76] for i in range(0, len(flat), 76)]) + b"\n"


def _header_charset(msg: Message) -> str:
    return "utf-8" if msg.charset == "us-ascii" else msg.charset


@functools.lru_cache(maxsize=32768)
def _address_line(name: str, addresses: tuple[Address, ...], charset: str, enc: str) -> str:
    # Cached: the same few people write to each other in the same charsets all the time.
    return fold(name, address_list(addresses, charset, enc))


@functools.lru_cache(maxsize=8192)
def _subject_line(subject: str, charset: str, enc: str) -> str:
    return fold("Subject", encode_subject(subject, charset, enc))


def identity_headers(msg: Message) -> list[str]:
    """From, To, Cc, Subject, Date and the threading fields, as the sender's client writes them."""
    charset, enc = _header_charset(msg), msg.sender.header_encoding
    offset = msg.sent_at.utcoffset()
    minutes = int(offset.total_seconds()) // 60 if offset is not None else 0
    lines = [
        _address_line("From", (msg.sender.address,), charset, enc),
        _address_line("To", msg.to, charset, enc),
    ]
    if msg.cc:
        lines.append(_address_line("Cc", msg.cc, charset, enc))
    lines.append(_subject_line(msg.subject, charset, enc))
    lines.append(f"Date: {clock.rfc5322_date(msg.ts, minutes)}")
    lines.append(f"Message-ID: {msg.message_id}")
    if msg.in_reply_to:
        lines.append(f"In-Reply-To: {msg.in_reply_to}")
    if msg.references:
        lines.append(fold("References", " ".join(msg.references)))
    return lines


def _pacific(ts: int) -> str:
    minutes = clock.offset_minutes("us_pacific", ts)
    return f"{clock.rfc5322_date(ts, minutes)} ({'PDT' if minutes == -420 else 'PST'})"


def _trace_headers(msg: Message, thread: Thread) -> list[str]:
    """What Gmail's export puts above the author's headers: labels, delivery and relays."""
    token = msg.token
    labels = {"requester": "Inbox,Important,Opened", "auto": "Inbox,Unread"}.get(
        msg.role, "Inbox,Opened"
    )
    relay = f"cernmxgwlb{token % 4 + 1}.cern.ch"
    ip = f"188.184.{token % 97 + 20}.{token % 251 + 2}"
    arrived = _pacific(msg.ts + 2 + token % 5)  # both hops within the same second or so
    return [
        f"X-GM-THRID: {thread.gmail_thread_id}",
        f"X-Gmail-Labels: {labels}",
        f"Delivered-To: {INBOX_ADDRESS}",
        f"Received: by 10.{token % 250 + 2}.{token % 199 + 3}.{token % 241 + 1} with SMTP id "
        f"o{token % 10**9}wfe;\n        {arrived}",
        f"Return-Path: <{'' if msg.kind == 'bounce' else msg.sender.email}>",
        f"Received: from {relay} ({relay}. [{ip}])\n        by mx.google.com with ESMTPS id "
        f"{token % 10**7}si{token % 10**4}.{msg.ts % 1000}\n        for <{INBOX_ADDRESS}>;\n"
        f"        {arrived}",
    ]


def _client_headers(msg: Message) -> list[str]:
    year = time.gmtime(msg.ts).tm_year
    client = msg.sender.client
    if client == "outlook":
        version = "12.0" if year < 2011 else "14.0" if year < 2014 else "16.0"
        index = base64.b64encode(msg.token.to_bytes(8, "big") * 2).decode("ascii")
        lines = [f"X-Mailer: Microsoft Outlook {version}", f"Thread-Index: {index}"]
        lines.append("Content-Language: en-us")
        if msg.attachments:
            lines.append("X-MS-Has-Attach: yes")
        return lines
    if client == "thunderbird":
        version = {2008: "2.0.0.17", 2009: "2.0.0.23", 2010: "3.0.4", 2011: "3.1.10"}.get(
            year, f"{min(52, 10 + (year - 2012) * 8)}.{msg.token % 8}.0"
        )
        return [f"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Thunderbird/{version}"]
    if client == "apple":
        build = {2008: "929.2", 2009: "936", 2010: "1078", 2011: "1084"}.get(year, f"{year - 2010}")
        return [f"X-Mailer: Apple Mail (2.{build})"]
    if client == "mutt":
        return [
            "User-Agent: Mutt/1.5.21 (2010-09-15)" if year > 2010 else "User-Agent: Mutt/1.5.18"
        ]
    if client == "webmail":
        return ["User-Agent: Roundcube Webmail/1.1.4" if msg.token % 2 else "User-Agent: Horde/5.2"]
    return []


def _content_type(msg: Message, subtype: str) -> str:
    charset, client = msg.charset, msg.sender.client
    if client == "gmail":
        return f'text/{subtype}; charset="{charset.upper()}"'
    if client == "thunderbird" and subtype == "plain":
        return f"text/plain; charset={charset}; format=flowed"
    if client == "outlook":
        return f'text/{subtype}; charset="{charset}"'
    return f"text/{subtype}; charset={charset}"


def _transfer(data: bytes, msg: Message) -> tuple[str, bytes]:
    """Content-Transfer-Encoding and encoded payload, chosen as each client tends to."""
    charset, client = msg.charset, msg.sender.client
    if charset == "iso-2022-jp" or data.isascii():
        cte, payload = "7bit", data
    elif charset in _LEGACY_MULTIBYTE or (client == "gmail" and msg.token % 5 == 0):
        cte, payload = "base64", _base64(data)
    elif client in ("thunderbird", "mutt"):
        cte, payload = "8bit", data
    else:
        cte, payload = "quoted-printable", binascii.b2a_qp(data, istext=True)
    if not payload.endswith(b"\n"):
        payload += b"\n"
    return cte, payload


def _text_part(msg: Message, subtype: str, content: str) -> bytes:
    cte, payload = _transfer(content.encode(msg.charset), msg)
    head = f"Content-Type: {_content_type(msg, subtype)}\nContent-Transfer-Encoding: {cte}\n\n"
    return head.encode("ascii") + payload


def _boundary(msg: Message, level: int) -> str:
    token = msg.token ^ (0x9E3779B97F4A7C15 * level & 0xFFFFFFFFFFFFFFFF)
    client = msg.sender.client
    if client == "gmail":
        return f"{token:028x}"
    if client == "outlook":
        return f"_00{level}_{token:016X}CERNXCHG_"
    if client == "thunderbird":
        return f"------------{token % 10**24:024d}"
    if client == "apple":
        h = f"{token:016X}{level:016X}"
        return f"Apple-Mail={h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return f"=_{token:016x}{level}"


def _multipart(
    msg: Message, subtype: str, parts: list[bytes], level: int, extra: str = ""
) -> bytes:
    boundary = _boundary(msg, level)
    head = f'Content-Type: multipart/{subtype};{extra} boundary="{boundary}"\n\n'.encode("ascii")
    preamble = _PREAMBLE if msg.sender.client in ("outlook", "thunderbird", "webmail") else b""
    dash = f"--{boundary}\n".encode("ascii")
    body = b"".join(dash + part + (b"" if part.endswith(b"\n") else b"\n") for part in parts)
    return head + preamble + body + f"--{boundary}--\n".encode("ascii")


def _attachment_part(msg: Message, attachment: Attachment, number: int) -> bytes:
    name, kind, data = attachment
    if name.isascii():
        ctype_name, disposition = f'name="{name}"', f'filename="{name}"'
    else:  # RFC 2047 in name= for old readers, RFC 2231 in filename* for the rest
        ctype_name = f'name="{encode_words(name, "utf-8", "b")}"'
        disposition = f"filename*=utf-8''{urllib.parse.quote(name, safe='')}"
    if kind == "text/plain":
        kind = "text/plain; charset=us-ascii"
        cte = ("base64", "quoted-printable", "7bit")[msg.token % 3]
    else:
        cte = "base64"
    if cte == "base64":
        payload = _base64(data)
    elif cte == "quoted-printable":
        payload = binascii.b2a_qp(data, istext=True)
    else:
        payload = data
    inline = kind == "image/png" and msg.sender.client == "apple"
    lines = [
        f"Content-Type: {kind}; {ctype_name}",
        f"Content-Disposition: {'inline' if inline else 'attachment'}; {disposition}",
        f"Content-Transfer-Encoding: {cte}",
    ]
    if msg.sender.client == "gmail":
        lines.append(f"X-Attachment-Id: f_{msg.token % 10**9:x}{number}")
    return ("\n".join(lines) + "\n\n").encode("ascii") + payload


def _body(msg: Message) -> bytes:
    if msg.layout == "html" and msg.html is not None:
        content = _text_part(msg, "html", msg.html)
    elif msg.layout == "alternative" and msg.html is not None:
        text, html = _text_part(msg, "plain", msg.text), _text_part(msg, "html", msg.html)
        content = _multipart(msg, "alternative", [text, html], 2)
    else:
        content = _text_part(msg, "plain", msg.text)
    if not msg.attachments:
        return content
    parts = [content] + [_attachment_part(msg, a, i) for i, a in enumerate(msg.attachments)]
    return _multipart(msg, "mixed", parts, 1)


def _bounce_body(msg: Message) -> bytes:
    bounce = msg.bounce
    assert bounce is not None
    arrival = clock.rfc5322_date(msg.ts - 1, 0)
    remote = f"mx1.{bounce.recipient.rsplit('@', 1)[1]}"
    status = (
        f"Reporting-MTA: dns; {bounce.reporting_mta}\n"
        f"Arrival-Date: {arrival}\n\n"
        f"Final-Recipient: rfc822; {bounce.recipient}\n"
        f"Original-Recipient: rfc822;{bounce.recipient}\n"
        f"Action: failed\nStatus: {bounce.status}\nRemote-MTA: dns; {remote}\n"
        f"Diagnostic-Code: smtp; {bounce.diagnostic}\n"
    )
    parts = [
        b"Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
        + msg.text.encode("ascii"),
        b"Content-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
        + status.encode("ascii"),
        b"Content-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n"
        + bounce.returned_headers.encode("ascii"),
    ]
    return _multipart(msg, "report", parts, 1, " report-type=delivery-status;")


def render_message(msg: Message, thread: Thread) -> bytes:
    """The message as raw bytes with LF line endings, ending in a newline."""
    lines = _trace_headers(msg, thread)
    lines += identity_headers(msg)
    lines += [f"{name}: {value}" for name, value in msg.extra_headers]
    lines.append("MIME-Version: 1.0")
    if msg.kind == "bounce":
        body = _bounce_body(msg)
    else:
        lines += _client_headers(msg)
        body = _body(msg)
    return "\n".join(lines).encode("ascii") + b"\n" + body
