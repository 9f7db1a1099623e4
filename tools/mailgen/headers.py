"""Header fields as strings: RFC 2047 encoded words, addresses, folding.

Written by hand because email.header and email.policy are an order of magnitude slower than
the rest of the generator together.
"""

from __future__ import annotations

import base64
import functools
import time

from .model import Address, Person

_SPECIALS = frozenset('()<>@,;:\\".[]')
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_MAX_WORD = 75  # RFC 2047: an encoded word is at most 75 characters


def _q(data: bytes) -> str:
    return "".join(chr(b) if b in _Q_SAFE else "_" if b == 32 else f"={b:02X}" for b in data)


def _word(chunk: str, charset: str, encoding: str) -> str:
    data = chunk.encode(charset)
    if encoding == "b":
        return f"=?{charset}?b?{base64.b64encode(data).decode('ascii')}?="
    return f"=?{charset}?q?{_q(data)}?="


@functools.lru_cache(maxsize=8192)
def encode_words(text: str, charset: str, encoding: str) -> str:
    """`text` as RFC 2047 encoded words (several when long); ASCII text is returned as is.

    Each word is encoded on its own, so stateful charsets such as iso-2022-jp end every word
    back in ASCII as the RFC requires. Falls back to UTF-8 when `charset` lacks a character.
    """
    if text.isascii():
        return text
    try:
        text.encode(charset)
    except (UnicodeEncodeError, LookupError):
        charset = "utf-8"
    words: list[str] = []
    chunk = ""
    for char in text:
        candidate = chunk + char
        if chunk and len(_word(candidate, charset, encoding)) > _MAX_WORD:
            words.append(_word(chunk, charset, encoding))
            candidate = char
        chunk = candidate
    words.append(_word(chunk, charset, encoding))
    return " ".join(words)


@functools.lru_cache(maxsize=8192)
def encode_subject(text: str, charset: str, encoding: str) -> str:
    """Like encode_words, but only the stretch from the first to the last non-ASCII word is
    encoded, so 'Re: ' and ASCII ends stay readable, as mail clients do it."""
    if text.isascii():
        return text
    words = text.split(" ")
    marks = [i for i, w in enumerate(words) if not w.isascii()]
    first, last = marks[0], marks[-1]
    middle = encode_words(" ".join(words[first : last + 1]), charset, encoding)
    return " ".join([*words[:first], middle, *words[last + 1 :]])


@functools.lru_cache(maxsize=16384)
def format_address(name: str, email: str, charset: str = "utf-8", encoding: str = "b") -> str:
    if not name:
        return email
    if not name.isascii():
        return f"{encode_words(name, charset, encoding)} <{email}>"
    if any(c in _SPECIALS for c in name):
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}" <{email}>'
    return f"{name} <{email}>"


def address_list(addresses: tuple[Address, ...], charset: str, encoding: str) -> str:
    return ", ".join(format_address(n, e, charset, encoding) for n, e in addresses)


def fold(name: str, value: str) -> str:
    """'Name: value' folded at spaces so lines stay near 78 characters (never inside a word)."""
    line = f"{name}: {value}"
    if len(line) <= 78:
        return line
    out: list[str] = []
    current = f"{name}:"
    for token in value.split(" "):
        if token and len(current) + 1 + len(token) > 78 and current != f"{name}:":
            out.append(current)
            current = " " + token
        else:
            current = f"{current} {token}"
    out.append(current)
    return "\n".join(out)


def message_id(sender: Person, token: int, uid: int, ts: int) -> str:
    """A Message-ID in the style of the sender's client; `uid` makes it unique in the archive."""
    domain = sender.email.rsplit("@", 1)[1]
    client = sender.client
    # Multiplying by an odd constant modulo 2**64 is a bijection: ids stay unique but look random.
    uid = uid * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF
    if client == "gmail":
        raw = token.to_bytes(8, "big") + uid.to_bytes(8, "big")
        return f"<CA{base64.urlsafe_b64encode(raw).decode('ascii').rstrip('=')}@mail.gmail.com>"
    if client == "outlook":
        host = f"CERNXCHG{token % 70 + 10}.cern.ch" if domain == "cern.ch" else f"EXCH01.{domain}"
        return f"<{token:016X}{uid:08X}@{host}>"
    if client == "apple":
        h = f"{token:016X}{uid:016X}"
        return f"<{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}@{domain}>"
    if client == "mutt":
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(ts))
        return f"<{stamp}.GA{uid}@lxplus{token % 900 + 1}.cern.ch>"
    if client == "webmail":
        return f"<{token:x}.{uid:x}@webmail.{domain}>"
    return f"<{token >> 32:08X}.{uid:X}@{domain}>"
