"""Mail no human wrote: out-of-office replies and delivery-status notifications (bounces)."""

from __future__ import annotations

from random import Random

from . import clock, replies
from .headers import message_id
from .model import Bounce, Message, Person
from .render import identity_headers

_ENGLISH_AUTOREPLY = ("Out of Office: {subject}", "Automatic reply: {subject}", "Auto: {subject}")
_GERMAN = frozenset({"de"})
_FRENCH = frozenset({"fr", "ma", "ca"})


def _daemon(name: str, email: str, zone: str) -> Person:
    return Person(
        name=name,
        email=email,
        country="uk",
        zone=zone,
        client="mutt",
        charsets=("us-ascii",),
        header_encoding="q",
        nickname="",
        first_name="",
    )


def autoreply(
    rng: Random, parent: Message, person: Person, index: int, uid: int, end_ts: int
) -> Message:
    """The out-of-office answer of `person` (the requester) to a shifter's message."""
    ts = min(parent.ts + 3 + int(rng.random() * 120), max(end_ts, parent.ts))
    until = clock.human_date(ts + (2 + int(rng.random() * 18)) * clock.DAY)
    domain = person.email.rsplit("@", 1)[1]
    lang = "de" if person.country in _GERMAN else "fr" if person.country in _FRENCH else "en"
    text = replies.AUTOREPLY_BODIES[lang].format(until=until, domain=domain, name=person.name)
    template = replies.AUTOREPLY_SUBJECTS.get(person.country)
    if template is None or rng.random() < 0.4:
        template = _ENGLISH_AUTOREPLY[int(rng.random() * len(_ENGLISH_AUTOREPLY))]
    headers = [("Auto-Submitted", "auto-replied")]
    if rng.random() < 0.5:
        headers.append(("X-Autoreply", "yes"))
    if rng.random() < 0.4:
        headers.append(("Precedence", "bulk"))
    if person.client == "outlook":
        headers.append(("X-Auto-Response-Suppress", "All"))
    charset = "utf-8" if not text.isascii() else "us-ascii"
    if charset == "utf-8" and "iso-8859-1" in person.charsets:
        charset = "iso-8859-1"
    token = rng.getrandbits(64)
    return Message(
        index=index,
        role="auto",
        kind="autoreply",
        intent="autoreply",
        sender=person,
        to=(parent.sender.address,),
        cc=(),
        subject=template.format(subject=parent.subject),
        ts=ts,
        sent_at=clock.aware(ts, person.zone),
        text=text + "\n",
        html=None,
        layout="plain",
        charset=charset,
        message_id=message_id(person, token, uid, ts),
        in_reply_to=parent.message_id,
        references=(*parent.references[-9:], parent.message_id),
        extra_headers=tuple(headers),
        token=token,
    )


def bounce(
    rng: Random, parent: Message, person: Person, index: int, uid: int, end_ts: int
) -> Message:
    """A delivery-status notification for the requester's address, sent to the shifter."""
    rcpt = person.email
    gmail = parent.sender.client == "gmail"
    if gmail:
        mta = "mx.google.com"
        daemon = _daemon("Mail Delivery Subsystem", "mailer-daemon@googlemail.com", "us_pacific")
        subject = "Delivery Status Notification (Failure)"
    else:
        mta = f"cernmxgwlb{1 + int(rng.random() * 4)}.cern.ch"
        daemon = _daemon("Mail Delivery System", f"MAILER-DAEMON@{mta}", "eu")
        subject = "Undelivered Mail Returned to Sender"
    status, diagnostic = replies.BOUNCE_REASONS[int(rng.random() * len(replies.BOUNCE_REASONS))]
    diagnostic = diagnostic.format(rcpt=rcpt)
    template = replies.GMAIL_BOUNCE if gmail else replies.POSTFIX_BOUNCE
    text = template.format(
        mta=mta, rcpt=rcpt, remote=f"mx1.{rcpt.rsplit('@', 1)[1]}", ip="192.0.2.25",
        diagnostic=diagnostic,
    )  # fmt: skip
    ts = min(parent.ts + 2 + int(rng.random() * 900), max(end_ts, parent.ts))
    returned = "\n".join(identity_headers(parent)) + "\n"
    token = rng.getrandbits(64)
    return Message(
        index=index,
        role="auto",
        kind="bounce",
        intent="bounce",
        sender=daemon,
        to=(parent.sender.address,),
        cc=(),
        subject=subject,
        ts=ts,
        sent_at=clock.aware(ts, daemon.zone),
        text=text + "\n",
        html=None,
        layout="plain",
        charset="us-ascii",
        message_id=f"<{ts}.{token:016X}.{uid:X}@{mta}>",
        in_reply_to=parent.message_id if gmail else None,
        references=(parent.message_id,) if gmail else (),
        extra_headers=(("Auto-Submitted", "auto-replied"),),
        bounce=Bounce(mta, rcpt, status, diagnostic, returned, "gmail" if gmail else "postfix"),
        token=token,
    )
