"""Bytes to text for mail parts and headers, whatever charset they claim (or fail to claim).

The order is: the declared charset, then UTF-8, then charset-normalizer's best guess, then
latin-1 (which cannot fail). Each step past the first is recorded as a defect, so that an admin
can see why a message reads oddly.
"""

from __future__ import annotations

import codecs
import functools

from charset_normalizer import from_bytes

# Labels mail clients write that Python does not know, or knows as something narrower than what
# the senders' software really produced. The supersets are the ones browsers use (WHATWG).
_ALIASES = {
    "ks_c_5601-1987": "cp949",  # Outlook's label for Korean; the bytes are cp949
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "windows-874": "cp874",
    "x-windows-874": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",  # GB2312 senders routinely use GBK/GB18030 characters
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "shift_jis": "cp932",  # Windows' Shift_JIS has the NEC/IBM extensions
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_2",  # a superset of plain ISO-2022-JP
    "big5": "big5hkscs",
    "iso-8859-1": "cp1252",  # what "latin-1" mail really is: smart quotes from Windows
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso-8859-8-i": "iso8859_8",
    "win-1251": "cp1251",
    "x-mac-roman": "mac_roman",
    "unicode-1-1-utf-7": "utf-7",
}

# Labels that say "I do not know": treated exactly like a missing charset.
_UNKNOWN = frozenset(
    {"unknown-8bit", "x-unknown", "unknown", "8bit", "x-user-defined", "default", "none"}
)

# Single-byte charsets that decode any bytes at all, so a wrong label never fails: for these a
# body that is valid UTF-8 (with non-ASCII in it) is UTF-8 whatever the label says.
_SINGLE_BYTE_PREFIXES = ("cp125", "iso8859", "latin", "mac", "cp437", "cp850", "koi8")

# Stateful or wide encodings whose bytes can be pure ASCII without being ASCII text.
_NOT_ASCII_COMPATIBLE_PREFIXES = ("utf-16", "utf-32", "utf_16", "utf_32", "utf-7", "iso2022", "hz")

# A declared charset that decodes with at most this share of replacement characters is kept
# (a stray bad byte in otherwise good text) rather than handed to a guesser.
_REPLACEMENT_TOLERANCE = 0.005

_GUESS_SAMPLE = 64 * 1024  # charset-normalizer is slow on big inputs; a sample decides well
_CHAOS_TIE = 0.01
# What mail is really written in; leaving out the exotic code pages keeps the guesser from
# reading French as Urdu (cp1006) and makes it faster.
_GUESS_CANDIDATES = (
    "utf_8", "cp1252", "iso8859_15", "cp1250", "iso8859_2", "cp1251", "koi8_r", "koi8_u",
    "iso8859_5", "cp1253", "iso8859_7", "cp1254", "iso8859_9", "cp1255", "iso8859_8", "cp1256",
    "cp1257", "iso8859_13", "cp874", "cp1258", "cp932", "euc_jp", "iso2022_jp", "cp949",
    "gb18030", "big5", "cp866", "cp850", "mac_roman",
)  # fmt: skip


@functools.lru_cache(maxsize=256)
def codec_name(declared: str | None) -> str | None:
    """Python's codec name for a declared charset label, None if missing or unknown."""
    if not declared:
        return None
    label = declared.strip().strip("\"'").strip().lower()
    label = label.split(";")[0].split("*")[0].strip()  # 'utf-8;' and RFC 2231 'utf-8*en'
    if not label or label in _UNKNOWN:
        return None
    if not label.isascii() or not label.isprintable():
        return None  # codecs.lookup raises on NUL and lone surrogates, not LookupError
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _ascii_compatible(codec: str | None) -> bool:
    return codec is None or not codec.startswith(_NOT_ASCII_COMPATIBLE_PREFIXES)


def _single_byte(codec: str) -> bool:
    return codec.startswith(_SINGLE_BYTE_PREFIXES)


def _guess(data: bytes) -> tuple[str, str] | None:
    """charset-normalizer's best guess: (text, encoding), None when it has none. On short
    text several charsets fit equally well; Western European mail is the most common here, so
    windows-1252 wins such ties (charset-normalizer alone reads "Hélène" as cp1250 "Hélčne")."""
    sample = data[:_GUESS_SAMPLE]
    try:
        matches = list(from_bytes(sample, cp_isolation=list(_GUESS_CANDIDATES)))
    except Exception:  # a guesser that fails is just a guesser without an answer
        return None
    if not matches:
        return None
    best = matches[0]
    for match in matches:
        if match.chaos <= best.chaos + _CHAOS_TIE and "cp1252" in match.could_be_from_charset:
            return data.decode("cp1252", errors="replace"), "cp1252"
    try:
        return data.decode(best.encoding, errors="replace"), best.encoding
    except LookupError:
        return None


def decode_bytes(data: bytes, declared: str | None, *, what: str = "body") -> tuple[str, str]:
    """Decode ``data`` as text. Returns (text, defect); defect is '' when the declared charset
    (or plain ASCII) was right."""
    if not data:
        return "", ""
    codec = codec_name(declared)
    if data.isascii() and _ascii_compatible(codec):
        return data.decode("ascii"), ""
    label = (declared or "").strip()[:40]
    if codec is not None:
        text = _decode_declared(data, codec)
        if text is not None:
            return text, ""
        problem = f"{what}: declared charset {label!r} does not fit"
    elif label and label.lower() not in _UNKNOWN:
        problem = f"{what}: unknown charset {label!r}"
    else:
        problem = f"{what}: 8-bit text without a charset"
    return _fallback(data, codec, problem)


def _decode_declared(data: bytes, codec: str) -> str | None:
    if _single_byte(codec):
        # Any bytes decode in a single-byte charset, so the label cannot be wrong by failing;
        # UTF-8 mislabelled as latin-1 is the common case, and valid UTF-8 is rarely chance.
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return None
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _fallback(data: bytes, codec: str | None, problem: str) -> tuple[str, str]:
    try:
        return data.decode("utf-8"), f"{problem}, read as utf-8"
    except UnicodeDecodeError:
        pass
    if codec is not None:
        try:
            text = data.decode(codec, errors="replace")
        except LookupError:
            text = ""
        if text and text.count("\ufffd") <= len(text) * _REPLACEMENT_TOLERANCE:
            return text, f"{problem}, a few bad bytes replaced"
    guessed = _guess(data)
    if guessed is not None:
        return guessed[0], f"{problem}, guessed {guessed[1]}"
    return data.decode("latin-1", errors="replace"), f"{problem}, read as latin-1"


def decode_header_bytes(data: bytes, hint: str | None) -> tuple[str, str]:
    """Raw 8-bit bytes in a header (RFC 6532 says UTF-8; older clients wrote their own
    charset without saying so). ``hint`` is the charset the message's headers were found to
    be in (``header_charset``), else the body's. Returns (text, defect)."""
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError:
        pass
    codec = codec_name(hint)
    if codec is not None:
        try:
            return data.decode(codec), f"8-bit header bytes read as {codec}"
        except UnicodeDecodeError:
            pass
    detected = header_charset([data], None)
    if detected is not None:
        return data.decode(detected, errors="replace"), f"8-bit header bytes read as {detected}"
    return data.decode("cp1252", errors="replace"), "8-bit header bytes read as windows-1252"


_JAPANESE = frozenset({"cp932", "euc_jp", "shift_jis", "iso2022_jp", "iso2022_jp_2"})
# The first level of each CJK character set holds the characters people write every day;
# a decoding in the wrong charset lands mostly outside it. Lead bytes of that level:
_COMMON_LEVEL = {
    "gb18030": ("gb2312", 0xB0, 0xD7),
    "big5": ("big5", 0xA4, 0xC6),
    "big5hkscs": ("big5", 0xA4, 0xC6),
    "cp932": ("euc_jp", 0xB0, 0xCF),
    "euc_jp": ("euc_jp", 0xB0, 0xCF),
}
_HEADER_SCRIPTS = (
    "utf_8", "gb18030", "big5", "cp932", "euc_jp", "cp949", "cp1252", "cp1250", "cp1251",
    "koi8_r", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp874",
)  # fmt: skip


def header_charset(samples: list[bytes], hint: str | None) -> str | None:
    """The one charset a message's raw 8-bit header bytes (subject, names, file names taken
    together, so that a short name is read in the language of the subject) are written in;
    None when they are UTF-8 or plain ASCII.

    charset-normalizer alone reads short Japanese as Korean or Chinese, so among the charsets
    it finds plausible the one whose text has the fewest unlikely characters wins (kana
    outside Japanese, rare Hangul, second-level ideographs, symbols in Western text); the
    body's charset (``hint``), then windows-1252, win ties."""
    data = b"\n".join(s for s in samples if not s.isascii())
    if not data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return None
    hinted = codec_name(hint)
    candidates = _plausible(data)
    if hinted is not None and hinted not in candidates:
        candidates.append(hinted)
    scored = []
    for order, codec in enumerate(candidates):
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        preferred = 0 if codec == hinted else 1 if codec == "cp1252" else 2
        scored.append((_unlikely(text, codec), preferred, order, codec))
    return min(scored)[3] if scored else None


def _plausible(data: bytes) -> list[str]:
    try:
        matches = list(from_bytes(data, cp_isolation=list(_HEADER_SCRIPTS)))
    except Exception:  # a guesser that fails is just a guesser without an answer
        matches = []
    if not matches:
        return []
    best = min(m.chaos for m in matches)
    names = [codec_name(m.encoding) for m in matches if m.chaos <= best + 0.15]
    return list(dict.fromkeys(n for n in names if n is not None))


def _unlikely(text: str, codec: str) -> float:
    """The share of non-ASCII characters that text in ``codec`` rarely has."""
    wide = unlikely = 0
    common = _COMMON_LEVEL.get(codec)
    for char in text:
        if char.isascii():
            continue
        wide += 1
        point = ord(char)
        if 0x3040 <= point <= 0x30FF:  # kana
            unlikely += codec not in _JAPANESE
        elif 0xFF61 <= point <= 0xFF9F or 0xE000 <= point <= 0xF8FF:  # half-width kana, PUA
            unlikely += 1
        elif 0xAC00 <= point <= 0xD7A3:  # Hangul: the 2,350 of KS X 1001 are the usual ones
            unlikely += not _in_ks_x_1001(char)
        elif 0x4E00 <= point <= 0x9FFF:  # ideographs
            unlikely += common is None or not _first_level(char, *common)
        elif 0x3000 <= point <= 0x303F or 0xFF01 <= point <= 0xFF5E:
            pass  # CJK punctuation and full-width forms
        elif codec in _COMMON_LEVEL or codec == "cp949" or not char.isalpha():
            unlikely += 1  # Latin in a CJK decoding, a symbol in a Western one
    return unlikely / wide if wide else 1.0


@functools.lru_cache(maxsize=4096)
def _in_ks_x_1001(char: str) -> bool:
    """Python's EUC-KR writes the other syllables as 8-byte sequences: two bytes or not."""
    try:
        return len(char.encode("euc_kr")) == 2
    except UnicodeEncodeError:
        return False


@functools.lru_cache(maxsize=4096)
def _first_level(char: str, codec: str, low: int, high: int) -> bool:
    try:
        lead = char.encode(codec)[0]
    except UnicodeEncodeError:
        return False
    return low <= lead <= high
