"""The support-mail archive generator (tools.mailgen) and its script, tools.generate_archive.

Archives are parsed back with the standard library only, as an importer would see them.
"""

from __future__ import annotations

import datetime as dt
import email
import gzip
import hashlib
import io
import mailbox
import os
import re
import subprocess
import sys
import tarfile
from collections import Counter
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from tools import generate_archive, mailgen
from tools.mailgen.threads import default_requesters, plan_archive

N = 2_000
SEED = 7
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, mailgen.ArchiveStats]:
    path = tmp_path_factory.mktemp("mailgen") / "archive.mbox"
    return path, mailgen.write_archive(path, messages=N, seed=SEED)


@pytest.fixture(scope="module")
def parsed(archive: tuple[Path, mailgen.ArchiveStats]) -> list[Message]:
    """compat32 for the bulk: policy.default is three times slower; tests that need its
    decoding apply it to the messages they look at."""
    box = mailbox.mbox(archive[0], create=False)
    return [email.message_from_bytes(box.get_bytes(key)) for key in box.iterkeys()]


@pytest.fixture(scope="module")
def threads() -> list[mailgen.Thread]:
    return mailgen.plan_threads(SEED, N)


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(part.get_content_charset() or "us-ascii")


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def _modern(message: Message) -> EmailMessage:
    parsed = email.message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_archive_holds_exactly_the_requested_number_of_messages(archive, parsed):
    assert len(parsed) == N
    assert archive[1].messages == N
    assert archive[1].bytes > 0


def test_same_seed_gives_byte_identical_archive(archive, tmp_path):
    again = tmp_path / "again.mbox"
    mailgen.write_archive(again, messages=N, seed=SEED)
    assert _digest(again) == _digest(archive[0])


def test_output_does_not_depend_on_hash_randomisation(tmp_path):
    script = (
        "import sys, pathlib; from tools import mailgen; "
        "mailgen.write_archive(pathlib.Path(sys.argv[1]), messages=300, seed=3)"
    )
    digests = []
    for hash_seed, name in (("1", "a.mbox"), ("4242", "b.mbox")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / name)], cwd=ROOT, env=env, check=True
        )
        digests.append(_digest(tmp_path / name))
    mailgen.write_archive(tmp_path / "c.mbox", messages=300, seed=3)
    assert digests[0] == digests[1] == _digest(tmp_path / "c.mbox")


def test_another_seed_gives_a_different_archive(archive, tmp_path):
    other = tmp_path / "other.mbox"
    mailgen.write_archive(other, messages=N, seed=SEED + 1)
    assert _digest(other) != _digest(archive[0])
    assert len(re.findall(rb"^From ", other.read_bytes(), re.M)) == N


def test_messages_are_in_chronological_order_within_the_span(parsed):
    dates = [parsedate_to_datetime(m["Date"]) for m in parsed]
    assert all(d.tzinfo is not None for d in dates)
    assert dates == sorted(dates)
    assert dates[0] >= dt.datetime(2008, 10, 27, tzinfo=dt.UTC)
    assert dates[-1] < dt.datetime(2018, 3, 3, tzinfo=dt.UTC)
    assert all(re.search(r" [+-]\d{4}$", m["Date"]) for m in parsed)


def test_message_ids_are_unique_and_every_reply_points_to_an_earlier_one(parsed):
    seen: set[str] = set()
    replies = 0
    for m in parsed:
        if m["In-Reply-To"]:
            replies += 1
            assert m["In-Reply-To"] in seen
            assert m["References"].split()[-1] == m["In-Reply-To"]
        assert m["Message-ID"] not in seen
        seen.add(m["Message-ID"])
    assert len(seen) == N
    assert replies > N // 2


def test_every_message_has_the_mandatory_headers(parsed):
    for m in parsed:
        for name in ("Message-ID", "Date", "From", "To", "Subject", "MIME-Version"):
            assert m[name], name


def test_replies_have_reply_subjects_and_quote_their_parent(parsed):
    replies = [m for m in parsed if m["In-Reply-To"] and not m["Auto-Submitted"]]
    prefixed = [m for m in replies if re.match(r"(Re|RE|AW|SV|R|RE ): ", _unfold(m["Subject"]))]
    assert len(prefixed) == len(replies)
    plain = [_text(p) for m in replies for p in m.walk() if p.get_content_type() == "text/plain"]
    quoted = [text for text in plain if "\n> " in text]
    assert len(quoted) > len(replies) // 2
    assert any(re.search(r"^On .+ wrote:$", text, re.M) for text in quoted)


def test_attachment_and_html_only_shares_are_about_ten_percent(parsed):
    with_files = sum(1 for m in parsed if any(p.get_filename() for p in m.walk()))
    html_only = sum(1 for m in parsed if m.get_content_type() == "text/html")
    assert 0.05 <= with_files / N <= 0.15
    assert 0.05 <= html_only / N <= 0.15
    alternative = sum(1 for m in parsed if m.get_content_type() == "multipart/alternative")
    assert alternative > N // 10


def test_text_parts_decode_with_their_declared_charset(parsed):
    declared: Counter[str] = Counter()
    legacy = []
    for m in parsed:
        for part in m.walk():
            if part.get_content_maintype() == "text" and part.get_content_charset():
                declared[part.get_content_charset()] += 1
                _text(part)  # strict decoding: raises if the charset lies
                if declared[part.get_content_charset()] <= 3:
                    legacy.append(m)
    assert len(declared) >= 4, declared
    assert {"utf-8", "iso-8859-1"} <= set(declared)
    assert any(
        not text.isascii()
        for text in (
            _text(p) for m in legacy for p in m.walk() if p.get_content_maintype() == "text"
        )
    )
    for m in legacy:  # the first few of every charset, through the modern API as well
        for part in _modern(m).walk():
            if part.get_content_maintype() == "text" and part.get_content_charset():
                assert part.get_content() == _text(part)


def test_encoded_display_names_decode_to_non_ascii_names(parsed):
    raw_from = [_unfold(m["From"]) for m in parsed if "=?" in m["From"]]
    assert len(raw_from) > N // 20
    for raw in raw_from:
        header = policy.default.header_factory("From", raw)
        name = header.addresses[0].display_name
        assert not name.isascii(), name
        assert str(make_header(decode_header(raw))).startswith(name)
    charsets = {re.search(r"=\?([^?]+)\?", raw).group(1).lower() for raw in raw_from}
    assert "utf-8" in charsets
    assert len(charsets) >= 2


def test_auto_replies_carry_auto_submitted_and_reply_to_a_shifter(parsed):
    autos = [
        m for m in parsed if m["Auto-Submitted"] and m.get_content_type() != "multipart/report"
    ]
    assert autos
    for m in autos:
        assert m["Auto-Submitted"] == "auto-replied"
        assert m["In-Reply-To"]
        subject = str(make_header(decode_header(m["Subject"])))
        assert re.match(r"(Out of Office|Automatic reply|Auto|Abwesenheitsnotiz|Absence|"
                        r"Risposta automatica|Respuesta automática|Frånvaromeddelande): ",
                        subject)  # fmt: skip


def test_bounces_are_delivery_status_reports_from_a_mailer_daemon(parsed):
    bounces = [m for m in parsed if m.get_content_type() == "multipart/report"]
    assert bounces
    for m in bounces:
        assert m.get_param("report-type") == "delivery-status"
        assert "mailer-daemon@" in m["From"].lower()
        kinds = [p.get_content_type() for p in m.get_payload()]
        assert kinds == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
        status = m.get_payload()[1].get_payload()
        assert any(block.get("Action") == "failed" for block in status)
        returned = _text(m.get_payload()[2])
        assert "Message-ID: <" in returned


def test_ids_in_bodies_have_the_grid_formats(parsed):
    text = "\n".join(
        _text(p) for m in parsed for p in m.walk() if p.get_content_type() == "text/plain"
    )
    tasks = re.findall(r"bigpanda\.cern\.ch/task/(\d+)/", text)
    jobs = re.findall(r"pandaid=(\d+)", text) + re.findall(r"query\?job=(\d+)", text)
    assert tasks
    assert jobs
    assert all(len(t) == 8 for t in tasks)
    assert all(len(j) == 10 for j in jobs)
    dids = re.findall(r"\b((?:user\.[a-z]+|data\d\d_\w+|mc\d\d_\w+)):(\S+)", text)
    assert dids
    for scope, name in dids:
        assert name.startswith(scope + "."), (scope, name)
    assert re.search(r"\b(ATLASPANDA|ATLASJT|ATLDDMOPS)-\d+\b", text)
    assert re.search(r"GGUS (ticket )?\d{5,6}\b", text)
    sites = {"CERN-PROD", "BNL-ATLAS", "TRIUMF-LCG2", "IN2P3-CC", "FZK-LCG2", "INFN-T1"}
    assert sum(1 for s in sites if s in text) >= 4


def test_body_lines_starting_with_from_are_quoted_in_the_mbox(archive, parsed):
    raw = archive[0].read_bytes()
    separators = re.findall(rb"^From \S+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$", raw, re.M)
    assert len(separators) == N
    assert re.search(rb"^>From ", raw, re.M)
    assert b"\r\n" not in raw


def test_maildir_output_holds_the_same_messages(tmp_path):
    box = tmp_path / "maildir"
    stats = mailgen.write_archive(box, messages=200, seed=SEED, fmt="maildir")
    mbox = tmp_path / "same.mbox"
    mailgen.write_archive(mbox, messages=200, seed=SEED)
    maildir_ids = {m["Message-ID"] for m in mailbox.Maildir(box, create=False)}
    mbox_ids = {m["Message-ID"] for m in mailbox.mbox(mbox, create=False)}
    assert stats.messages == len(maildir_ids) == 200
    assert maildir_ids == mbox_ids
    assert {p.name for p in box.iterdir()} == {"cur", "new", "tmp"}


def test_plan_threads_matches_the_archive_and_exposes_categories(parsed, threads):
    messages = [m for t in threads for m in t.messages]
    assert len(messages) == N
    assert {m.message_id for m in messages} == {m["Message-ID"] for m in parsed}
    assert {t.category for t in threads} == set(mailgen.CATEGORIES)
    assert {m.role for m in messages} == {"requester", "shifter", "expert", "auto"}
    sizes = [len(t.messages) for t in threads]
    assert min(sizes) >= 1
    assert max(sizes) <= 8
    assert 3.0 <= N / len(threads) <= 4.0
    for thread in threads:
        first = thread.messages[0]
        assert first.role == "requester"
        assert first.sender == thread.requester
        assert first.in_reply_to is None
        assert first.subject == thread.subject
        assert all(m.sent_at.tzinfo is not None for m in thread.messages)
        stamps = [m.ts for m in thread.messages]
        assert stamps == sorted(stamps)


def test_most_mail_is_written_on_weekdays_in_office_hours(threads):
    messages = [m for t in threads for m in t.messages if m.role != "auto"]
    office = [m for m in messages if m.sent_at.weekday() < 5 and 7 <= m.sent_at.hour < 21]
    assert len(office) / len(messages) > 0.75
    assert len(office) < len(messages)  # but not all of it


def test_requesters_scale_with_the_archive_and_are_1414_at_dast_scale():
    assert default_requesters(135_513, 38_000) == 1_414
    plan = plan_archive(SEED, N)
    assert len(plan.requesters) == len({p.email for p in plan.requesters}) == 40
    assert {s.requester for s in plan.stubs} == set(range(40))
    countries = {p.country for p in plan.requesters}
    assert len(countries) >= 8


def test_attachments_are_real_files_with_fixed_timestamps(threads):
    seen: set[str] = set()
    for thread in threads:
        for msg in thread.messages:
            for name, kind, data in msg.attachments:
                assert 200 <= len(data) <= 120_000
                if name.endswith(".tar.gz"):
                    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                        assert all(member.mtime == msg.ts for member in tar.getmembers())
                    seen.add("tar")
                elif name.endswith(".gz"):
                    assert int.from_bytes(data[4:8], "little") == msg.ts  # gzip MTIME
                    assert b"pilot error" in gzip.decompress(data)
                    seen.add("gz")
                elif kind == "image/png":
                    assert data.startswith(b"\x89PNG\r\n\x1a\n")
                    seen.add("png")
                else:
                    assert kind == "text/plain"
                    assert data.isascii()
                    seen.add("text")
    assert seen == {"tar", "gz", "png", "text"}


def test_the_script_writes_the_archive_and_prints_one_summary_line(tmp_path):
    path = tmp_path / "cmd.mbox"
    done = subprocess.run(
        [sys.executable, "-m", "tools.generate_archive", "--messages", "250", "--seed", "2",
         "--out", str(path)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = done.stdout.strip()
    assert re.fullmatch(
        r"generated=250 threads=\d+ requesters=\d+ bytes=\d+ seconds=[\d.]+ msgs_per_s=[\d.]+",
        line,
    ), line
    assert f"bytes={path.stat().st_size}" in line
    assert "250/250" in done.stderr
    assert len(mailbox.mbox(path, create=False)) == 250


def test_the_script_writes_a_maildir_when_out_ends_with_a_slash(tmp_path, capsys):
    assert generate_archive.main(["--messages", "50", "--out", f"{tmp_path}/box/"]) == 0
    assert len(mailbox.Maildir(tmp_path / "box", create=False)) == 50
    assert capsys.readouterr().out.startswith("generated=50 ")


def test_the_script_refuses_an_empty_archive(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        generate_archive.main(["--messages", "0", "--out", str(tmp_path / "none.mbox")])
    assert exit_.value.code == 2
    assert "--messages must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "none.mbox").exists()
