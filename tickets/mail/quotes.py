"""Where quoted history and the signature begin in a plain-text body, so a page can fold them.

Only history that *ends* the mail is folded: in an interleaved reply ('> question', answer,
'> question', answer) every answer matters, and folding from the first '>' would hide them.
Outlook's header blocks and '-----Original Message-----' separators are different: everything
below them is the old mail, so the first one counts wherever it is.
"""

from __future__ import annotations

import re

_VERBS = (  # \u0131: the dotless i of the Turkish verb
    "wrote|schrieb|a écrit|a ecrit|escribió|escribio|ha scritto|schreef|escreveu|napisał|"
    "napisal|napsal|skrev|kirjoitti|написал|написала|έγραψε|yazd\u0131|írta|返信|寫道|写道"
)
# The attribution line a reply quotes under: "On Mon, 1 Jan 2024, Jo <jo@x> wrote:",
# "Am 01.01.2024 um 10:00 schrieb Jo:", "Le lun. 1 janv. 2024, Jo a écrit :" ...
_ATTRIBUTION = re.compile(rf"^[>\s]*\S.{{0,300}}?\b(?:{_VERBS})\w*(?:\(a\))?\s*:\s*$", re.I)
_SEPARATORS = (
    "original message|ursprüngliche nachricht|message d'origine|messaggio originale|"
    "mensaje original|oorspronkelijk bericht|originalmeddelande|original meddelelse|"
    "alkuperäinen viesti|wiadomość oryginalna|исходное сообщение|původní zpráva|"
    "mensagem original"
)
# Outlook's reply header: "From: Jo" followed within three lines by "Sent: ..." (or Date:),
# in the languages Outlook speaks at the institutes that write to us.
_FROM_WORDS = "from|von|de|da|van|från|fra|od|lähettäjä|от|feladó"
# Both kinds of history line, searched in the lowercased text with a newline in front: a
# pattern that starts with a literal '\n' is found by a fast scan, where '^' with re.I tried
# every position (four times slower, and this runs on every mail).
_HISTORY_CANDIDATE = re.compile(
    rf"\n[> \t]*(?:(?P<separator>-{{2,}}[ \t]*(?:{_SEPARATORS})[ \t]*-{{2,}}[ \t]*(?=\n|$))"
    rf"|\*?(?:{_FROM_WORDS})[ \t]*\*?[ \t]*:[ \t]*\S)"
)
_OUTLOOK_SENT = re.compile(
    r"^[>\s]*\*?(?:sent|date|gesendet|datum|envoyé|inviato|enviado|enviada|verzonden|skickat|"
    r"sendt|wysłano|odesláno|lähetetty|отправлено|elküldve|fecha|data)\s*\*?\s*:",
    re.I,
)
_RULE = re.compile(r"^\s*_{10,}\s*$")  # Outlook's line above its reply header
_FORWARD = re.compile(
    r"(?:forwarded message|begin forwarded message|weitergeleitete nachricht|message transféré|"
    r"messaggio inoltrato|mensaje reenviado)",
    re.I,
)
_SIG_DELIMITER = re.compile(r"\n-- ?(?=\n|$)")
_MOBILE = re.compile(
    r"^\s*(?:sent from my \S.*|sent from (?:outlook|mail|yahoo mail)\b.*|get outlook for \S.*|"
    r"von meinem \S.* gesendet|envoyé de mon \S.*|inviato da\b.*|enviado desde mi \S.*|"
    r"verzonden met \S.*|skickat från min \S.*)$",
    re.I,
)
_MAX_SIGNATURE_LINES = 15  # a longer "signature" is a '--' inside the text, not a signature
_MIN_BARE_QUOTE = 2  # one '> ' line without an attribution is too often a pasted prompt


def _offset(lines: list[str], index: int) -> int:
    return sum(map(len, lines[:index])) + index  # the lines and their newlines before it


def _is_attribution(lines: list[str], i: int) -> int | None:
    """The index where an attribution ending on line i starts (Gmail wraps it over two)."""
    if i < 0 or not _ATTRIBUTION.match(lines[i]):
        return None
    if i > 0 and lines[i - 1].strip() and not _ATTRIBUTION.match(lines[i - 1]):
        joined = f"{lines[i - 1].strip()} {lines[i].strip()}"
        if joined.lower().startswith(("on ", "am ", "le ", "el ", "il ", "op ", "em ")):
            return i - 1
    return i


def _trailing_quote(lines: list[str]) -> int | None:
    i = len(lines) - 1
    quoted = 0
    first_quoted = None
    while i >= 0 and (not lines[i].strip() or lines[i].lstrip().startswith(">")):
        if lines[i].strip():
            quoted += 1
            first_quoted = i
        i -= 1
    if first_quoted is None:
        return None
    attribution = _is_attribution(lines, i)
    if attribution is not None:
        return attribution
    return first_quoted if quoted >= _MIN_BARE_QUOTE else None


def _outlook_block(text: str) -> int | None:
    """Offset of the first '-----Original Message-----' line or Outlook reply header."""
    lowered = text.lower()
    if len(lowered) != len(text):
        return None  # a few letters grow when lowercased ('İ'); offsets would not match
    for match in _HISTORY_CANDIDATE.finditer("\n" + lowered):
        start = match.start()  # of the line, in ``text``: the '\n' in front shifts by one
        if match.group("separator"):
            return start
        following = text[match.end() - 1 : match.end() + 1000].split("\n", 4)[1:4]
        if not any(_OUTLOOK_SENT.match(line) for line in following):
            continue
        before = text[max(0, start - 300) : start].split("\n")[-3:-1]
        if any(_FORWARD.search(line) for line in before):
            continue  # a forward: the mail below is the point of the message, not history
        if before and _RULE.match(before[-1]):
            return start - len(before[-1]) - 1
        return start
    return None


def find_quote_start(text: str) -> int | None:
    """Offset in ``text`` where quoted history begins, None if there is none."""
    if ">" not in text and ":" not in text:
        return None
    lines = text.split("\n")
    trailing = _trailing_quote(lines)
    found = [_offset(lines, trailing)] if trailing is not None else []
    outlook = _outlook_block(text)
    if outlook is not None:
        found.append(outlook)
    return min(found) if found else None


def find_signature_start(text: str, end: int | None = None) -> int | None:
    """Offset of the signature ('-- ' line, or a "Sent from my phone" line) before ``end``."""
    region = text[:end] if end is not None else text
    delimiters = list(_SIG_DELIMITER.finditer("\n" + region))
    if delimiters:
        delimiter = delimiters[-1]
        tail = region[delimiter.end() :].split("\n")
        signed = sum(1 for line in tail if line.strip())
        return delimiter.start() if signed <= _MAX_SIGNATURE_LINES else None
    lines = region.split("\n")
    content = [i for i in range(len(lines) - 1, -1, -1) if lines[i].strip()][:3]
    for i in reversed(content):
        if _MOBILE.match(lines[i]):
            return _offset(lines, i)
    return None


def unflow(text: str, delsp: bool) -> str:
    """Join the soft line breaks of format=flowed text (RFC 3676): a line ending in a space
    continues on the next line of the same quote depth."""
    if " \n" not in text:
        return text  # no soft breaks to join; a space-stuffed line keeps its space
    out: list[str] = []
    current: list[str] = []
    depth = -1
    for line in text.split("\n"):
        level = len(line) - len(line.lstrip(">"))
        body = line[level:]
        if body.startswith(" "):
            body = body[1:]  # space-stuffing
        flowed = body.endswith(" ") and body != "-- "
        if current and level != depth:
            out.append(_render(depth, current))
            current = []
        depth = level
        current.append(body[:-1] if flowed and delsp else body)
        if not flowed:
            out.append(_render(depth, current))
            current = []
    if current:
        out.append(_render(depth, current))
    return "\n".join(out)


def _render(depth: int, pieces: list[str]) -> str:
    return ("> " * depth if depth > 0 else "") + "".join(pieces)
