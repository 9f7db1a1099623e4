"""The data the generator plans: people, threads, messages. Plain dataclasses, no behaviour."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

LIST_ADDRESS = "hn-atlas-dist-analysis-help@cern.ch"
LIST_NAME = "hn-atlas-dist-analysis-help (Distributed Analysis Help)"
# The shared Gmail account DAST read the list through; the archive is its export.
INBOX_ADDRESS = "atlas.dast.shifts@gmail.com"

DEFAULT_MESSAGES = 135_513
DEFAULT_REQUESTERS = 1_414
DEFAULT_START = dt.date(2008, 10, 27)
DEFAULT_END = dt.date(2018, 3, 2)

# The values of tickets.models.Category; kept here as strings so this package needs no Django.
CATEGORIES = (
    "data_access",
    "panda",
    "athena",
    "site",
    "monitoring",
    "analysis_tools",
    "ami",
    "other",
)

ROLES = ("requester", "shifter", "expert", "auto")
Address = tuple[str, str]  # (display name, email); the name may be empty


@dataclass(frozen=True, slots=True)
class Person:
    name: str  # display name as the person's mail client shows it, may be non-ASCII
    email: str
    country: str  # key into names.COUNTRIES: decides phrases, charsets and zone
    zone: str  # key into clock.ZONES
    client: str  # key into render's mail-client styles (gmail, outlook, thunderbird, ...)
    charsets: tuple[str, ...]  # preferred body charsets, most used first
    header_encoding: str  # "b" or "q" for RFC 2047 words
    nickname: str  # CERN login; scopes of user datasets are user.<nickname>
    first_name: str  # how they sign and are greeted

    @property
    def address(self) -> Address:
        return (self.name, self.email)


class Attachment(NamedTuple):
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Bounce:
    """What a delivery-status notification reports about one failed recipient."""

    reporting_mta: str
    recipient: str
    status: str  # "5.1.1"
    diagnostic: str
    returned_headers: str  # header block of the message that could not be delivered
    flavour: str  # "postfix" or "gmail": decides wording and threading headers


@dataclass(slots=True)
class Message:
    index: int  # position in its thread
    role: str  # one of ROLES
    kind: str  # "mail", "autoreply" or "bounce"
    intent: str  # question, answer, ask_details, escalate, expert_answer, thanks, ...
    sender: Person
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    ts: int  # UTC seconds since the epoch; sent_at is the same instant in the sender's zone
    sent_at: dt.datetime
    text: str  # the whole plain-text body, quotes included
    html: str | None  # the HTML rendering when the sender's client sends one
    layout: str  # "plain", "alternative" (text + html) or "html" (html only)
    charset: str  # body charset, already checked to encode text and html
    message_id: str  # with angle brackets, as in the header
    in_reply_to: str | None
    references: tuple[str, ...]
    attachments: tuple[Attachment, ...] = ()
    extra_headers: tuple[tuple[str, str], ...] = ()
    bounce: Bounce | None = None
    token: int = 0  # per-message random bits that render turns into boundaries and relay ids

    @property
    def sender_name(self) -> str:
        return self.sender.name

    @property
    def sender_email(self) -> str:
        return self.sender.email


@dataclass(slots=True)
class Thread:
    index: int  # rank of the thread by its first message's time
    category: str  # one of CATEGORIES
    subject: str
    requester: Person
    messages: list[Message] = field(default_factory=list)
    gmail_thread_id: int = 0
