"""The parser against ~830 real messages nobody on this project wrote (/work/shared/mail-corpus:
CPython's and Ruby mail's test mail, django-helpdesk's fixtures, sisimai's bounces).

Every file either parses or raises MailParseError (it is then kept raw and flagged): nothing
else may escape. The aggregate tests check that the classification is right for most of the
corpus, with thresholds a regression would cross.
"""

from __future__ import annotations

import collections
import functools
import io
import os
import re
from pathlib import Path

import pytest

from tests.corpus import CORPUS
from tickets.mail import boundaries
from tickets.mail.parse import MailParseError, Noise, ParsedMail, parse_message

FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "README.md")
_SUBJECT = re.compile(rb"^subject:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


def _name(path: Path) -> str:
    return str(path.relative_to(CORPUS))


@functools.cache
def outcome(path: Path) -> ParsedMail | MailParseError:
    try:
        return parse_message(path.read_bytes())
    except MailParseError as exc:
        return exc


def parsed(prefix: str) -> list[ParsedMail]:
    found = [outcome(p) for p in FILES if _name(p).startswith(prefix)]
    return [m for m in found if isinstance(m, ParsedMail)]


def share(mails: list[ParsedMail], noise: Noise) -> float:
    return sum(m.noise == noise for m in mails) / len(mails)


def test_the_corpus_is_there():
    if not FILES:
        message = f"the mail corpus is missing at {CORPUS}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    assert len(FILES) > 800


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_each_file_parses_or_raises_mail_parse_error(path):
    result = outcome(path)  # any other exception fails the test right here
    if isinstance(result, MailParseError):
        assert not str(result).startswith("internal error"), str(result)
        assert path.suffix != ".eml", f"a real .eml was rejected: {result}"
    else:
        result.text.encode("utf-8")  # storable: no lone surrogates
        assert "\x00" not in result.text


def sisimai(kind: str) -> list[ParsedMail]:
    return parsed(f"sisimai/{kind}")


@pytest.mark.skipif(not FILES, reason="no corpus")
def test_sisimai_bounces_are_mostly_classified_bounce_with_what_they_returned():
    # bsd__arf-* are abuse reports and bsd__rfc3834-* auto-replies, not bounces.
    bounces = [
        m
        for p, m in ((p, outcome(p)) for p in FILES)
        if isinstance(m, ParsedMail)
        and re.match(r"sisimai/(bsd__(lhost|rhost|rfc3464)|err__)", _name(p))
    ]
    assert len(bounces) > 550
    assert share(bounces, Noise.BOUNCE) >= 0.9
    read = [m.bounce for m in bounces if m.noise == Noise.BOUNCE and m.bounce is not None]
    assert sum(bool(b.original_message_id) for b in read) >= 0.8 * len(bounces)
    assert sum(bool(b.recipients) for b in read) >= 0.7 * len(bounces)
    assert sum(bool(b.status) for b in read) >= 0.7 * len(bounces)


@pytest.mark.skipif(not FILES, reason="no corpus")
def test_sisimai_auto_replies_and_abuse_reports_are_never_bounces():
    auto_replies = sisimai("bsd__rfc3834")
    assert auto_replies
    assert share(auto_replies, Noise.AUTO_REPLY) == 1
    reports = sisimai("bsd__arf")
    assert share(reports, Noise.BOUNCE) == 0  # a complaint is not a dead address
    assert share(reports, Noise.AUTO_REPLY) >= 0.75


@pytest.mark.skipif(not FILES, reason="no corpus")
def test_sisimai_non_bounces_are_mostly_not_bounces():
    mails = sisimai("not")
    assert len(mails) == 3
    assert share(mails, Noise.BOUNCE) < 0.5


@pytest.mark.skipif(not FILES, reason="no corpus")
def test_ordinary_fixture_mail_is_not_noise():
    mails = (
        parsed("django-helpdesk/") + parsed("ruby-mail/plain_emails") + parsed("ruby-mail/attach")
    )
    assert len(mails) > 30
    assert share(mails, Noise.NONE) == 1


@pytest.mark.skipif(not FILES, reason="no corpus")
def test_non_ascii_subjects_decode_without_replacement_characters():
    decoded = 0
    for path in FILES:
        raw = path.read_bytes()
        head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
        match = _SUBJECT.search(head)
        if not match or (b"=?" not in match.group(1) and match.group(1).isascii()):
            continue
        result = outcome(path)
        if isinstance(result, MailParseError) or b"\xef\xbf\xbd" in match.group(1):
            continue  # the sender already wrote U+FFFD
        assert "\ufffd" not in result.subject, _name(path)
        decoded += 1
    assert decoded >= 50


@pytest.mark.skipif(not FILES, reason="no corpus")
def test_renaming_boundaries_for_speed_changes_no_result(monkeypatch):
    canonical = boundaries.canonical
    monkeypatch.setattr(boundaries, "canonical", lambda raw: (raw, {}))
    renamed = 0
    for path in FILES:
        raw = path.read_bytes()
        if not canonical(raw)[1]:
            continue
        renamed += 1
        plain = outcome(path)
        try:
            again: ParsedMail | MailParseError = parse_message(raw)
        except MailParseError as exc:
            again = exc
        if isinstance(plain, MailParseError):
            assert isinstance(again, MailParseError), _name(path)
        else:
            assert again == plain, _name(path)
    assert renamed > 300


@pytest.mark.skipif(not FILES, reason="no corpus")
def test_print_a_summary_of_noise_classes_and_defects(capsys):
    folders: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    defects: collections.Counter[str] = collections.Counter()
    for path in FILES:
        result = outcome(path)
        folder = _name(path).split("/")[0]
        if isinstance(result, MailParseError):
            folders[folder]["MailParseError"] += 1
            continue
        folders[folder][result.noise.value] += 1
        defects.update({re.sub(r"'[^']*'", "'…'", d) for d in result.defects})
    with capsys.disabled():
        print("\nmail corpus: outcome per folder")
        for folder, counts in sorted(folders.items()):
            print(f"  {folder:16} {dict(sorted(counts.items()))}")
        print(
            f"  files with defects: {sum(bool(getattr(outcome(p), 'defects', ())) for p in FILES)}"
        )
        for defect, count in defects.most_common(12):
            print(f"  {count:4}  {defect}")


def test_every_corpus_mail_parses_from_a_file_as_it_does_whole_its_big_parts_left_out():
    """tickets.mail.stream (the fetcher's way for a big mail) against the whole-mail parser:
    with a cap of 200 bytes a file, nearly every attachment is left out as the file is read,
    and the result must still be the same, dropped parts' real sizes included."""
    from datetime import UTC, datetime

    from tickets.mail.stream import parse_message_file

    now = datetime(2024, 1, 1, tzinfo=UTC)
    differ = []
    for path in FILES:
        raw = path.read_bytes()
        for cap in (200, 10**9):
            try:
                whole: object = parse_message(raw, max_attachment_bytes=cap, now=now)
            except MailParseError as exc:
                whole = str(exc)
            try:
                streamed: object = parse_message_file(
                    io.BytesIO(raw), size=len(raw), max_attachment_bytes=cap, now=now
                )
            except MailParseError as exc:
                streamed = str(exc)
            if whole != streamed:
                differ.append(f"{_name(path)} (cap {cap})")
    assert len(FILES) > 800
    assert differ == []
