"""Mail that must not open a ticket or be answered: auto-replies, bounces, bulk mail.

The cost of a mistake is lopsided. A missed auto-reply opens a ticket a shifter closes in a few
seconds; a user's question taken for noise is lost. So each rule needs evidence a person's mail
does not carry by accident:

* ``X-Auto-Response-Suppress`` alone proves nothing: Outlook and Exchange put it on ordinary
  mail (meeting requests, mail sent through some gateways, whole deployments). Only together
  with a subject that reads like an absence notice does it count.
* A subject that *starts* with an auto-reply marker ("Automatic reply:", "Out of Office:",
  "Abwesenheitsnotiz", ...) counts alone; softer words ("Absence", "vacation") only with another
  sign, because "Absence of replicas at SITE" is a fair grid question.
* ``List-Id`` is never noise: the support list relays every user's question with it. And
  Mailman, Sympa, Google Groups and CERN's e-groups stamp ``Precedence: list`` or ``bulk`` on
  every post they relay, list headers or not, so those count as bulk only with a sign of a
  mailing machine (campaign headers, an unsubscribe link no list added, a no-reply sender);
  ``Precedence: junk`` is bulk always. The caller gets ``list_id`` to judge foreign lists.
* Feedback reports (ARF) and read receipts (MDN) are machine mail: AUTO_REPLY.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from tickets.mail.headers import normalise_message_id


class Noise(StrEnum):
    """Why a mail must not open a ticket or be answered (tickets.models.Noise mirrors it)."""

    NONE = "none"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    BULK = "bulk"


@dataclass(frozen=True)
class Bounce:
    original_message_id: str  # Message-ID of the mail that bounced, '' if not found
    recipients: tuple[str, ...]  # failed addresses, lowercased
    status: str  # e.g. '5.1.1' or ''


@dataclass
class Evidence:
    """What the parser saw that bears on noise; filled while it walks the message."""

    headers: Mapping[str, Sequence[str]]  # lowercased name -> raw values
    subject: str = ""
    sender: str = ""  # the From (or Sender) address
    report_types: list[str] = field(default_factory=list)  # of multipart/report parts
    delivery_status: list[str] = field(default_factory=list)  # message/delivery-status text
    original_ids: list[str] = field(default_factory=list)  # Message-IDs of returned mail
    original_headers: list[str] = field(default_factory=list)  # text/rfc822-headers parts
    text: str = ""


# Local parts of the addresses bounces come from, with '.', '-' and '_' removed.
_DAEMONS = {
    "mailerdaemon", "maildaemon", "mdaemon", "postmaster", "maildeliverysystem",
    "maildeliverysubsystem", "maildelivery", "bounce", "bounces",
}  # fmt: skip
_PUNCTUATION = str.maketrans("", "", ".-_")
_REPLY = re.compile(r"^\s*(?:re|aw|sv|fw|fwd|wg|tr|vs|rif)\s*:", re.I)
_AUTO_SUBJECT = re.compile(
    r"^\s*\[?\s*(?:out of (?:the )?office|out-of-office|automatic reply|automatische antwort|"
    r"auto(?:matic)?[- ]?(?:reply|response|respon[sd]er)|autoreply|auto:|abwesenheitsnotiz|"
    r"abwesend|réponse automatique|reponse automatique|risposta automatica|"
    r"respuesta automática|respuesta automatica|resposta automática|automatisch antwoord|"
    r"autosvar|automatisk svar|automaattinen vastaus|automatická odpověď|"
    r"odpowiedź automatyczna|automatikus válasz|автоответ|автоматический ответ|"
    r"自動応答|自动回复|自動回覆|vacation reply|on vacation|i am out of the office|"
    r"i'm out of the office|i will be out of the office)",
    re.I,
)
_SOFT_AUTO_SUBJECT = re.compile(
    r"\b(?:absence|absent|abwesenheit|vacation|vacances|congés|conges|urlaub|ferie|"
    r"vacaciones|holiday|away from|not in the office|out of office|ooo)\b",
    re.I,
)
_SUPPRESS_VALUES = {"all", "oof", "autoreply", "dr", "ndr", "rn", "nrn"}
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-auto-reply")
_LIST_RELAY = ("list-id", "list-post", "mailing-list", "x-mailman-version", "x-beenthere")
# Headers that newsletter and marketing services (Mailchimp, Mandrill, SendGrid, Mailgun,
# Campaign Monitor, ...) put on what they send, and people's mail never carries.
_CAMPAIGN_HEADERS = (
    "x-campaign", "x-campaignid", "x-campaign-id", "x-mc-user", "x-mailchimp-campaign",
    "x-sg-eid", "x-mailgun-tag", "x-cmail-groupname", "x-newsletter", "x-mailer-campaign",
    "x-csa-complaints", "x-report-abuse", "list-unsubscribe-post",
)  # fmt: skip
_NO_REPLY = {"noreply", "donotreply", "donotrespond", "newsletter", "news", "mailer"}
_BOUNCE_SUBJECT = re.compile(
    r"(?:undeliver|undelivered|returned mail|return(?:ed)? to sender|delivery status notification|"
    r"delivery (?:status|failure|notification|report|problem)|failure notice|"
    r"mail delivery (?:failed|failure|system)|delivery has failed|could not be delivered|"
    r"nondeliverable|non[- ]?remis|unzustellbar|non recapitabile|no se puede entregar|"
    r"mail system error|message not delivered|could not send|delivery failed|"
    r"rejected|bounce|postmaster notif|nicht zustellbar|mail failure|delayed|"
    r"returning to sender)",
    re.I,
)
_DSN_BODY = re.compile(
    r"(?:final-recipient:|diagnostic-code:|permanent fatal error|could not be delivered|"
    r"couldn't be delivered|was not delivered|wasn't delivered|undeliverable|"
    r"delivery to the following recipient|delivery has failed|unable to deliver|"
    r"user unknown|unknown user|mailbox unavailable|no such user|recipient address rejected|"
    r"mailbox (?:is )?full|quota exceeded|address(?:es)?\(?e?s?\)? failed|"
    r"this is the mail system at host|wasn't able to deliver|failed permanently|"
    r"delivery failed|message you sent|returned to sender|not be delivered|failed address|"
    r"not (?:yet )?been delivered|mail delivery software|"
    r"\b[245]\.\d{1,3}\.\d{1,3}\b|\b5[0-5]\d[ -])",
    re.I,
)
_SES_BOUNCE = re.compile(r'notificationType\\?"\s*:\s*\\?"Bounce\b')  # JSON, maybe inside JSON
_FIELD = re.compile(r"^([A-Za-z-]+)\s*:\s*(.*)$", re.M)
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_BODY_MESSAGE_ID = re.compile(r"^[ \t>]*message-id\s*:\s*(<[^<>\s]+>)", re.I | re.M)
_ADDRESS_LINE = re.compile(r"^\s*<([^<>\s@]+@[^<>\s]+)>", re.M)
_FAILED_LIST = re.compile(
    r"(?:address(?:\(?es\)?)? failed|following (?:addresses|recipients?)[^\n]*)\s*:?\s*\n"
    r"(?:\s*\n)*\s*<?([^\s<>@]+@[^\s<>]+?)>?\s*$",
    re.I | re.M,
)
_SUCCESS_ACTIONS = {"delivered", "relayed", "expanded"}


def _first(headers: Mapping[str, Sequence[str]], name: str) -> str:
    values = headers.get(name)
    return " ".join(values[0].split()).lower() if values else ""


def classify(evidence: Evidence) -> tuple[Noise, Bounce | None]:
    dsn = _dsn_fields(evidence.delivery_status)
    if "delivery-status" in evidence.report_types or dsn:
        actions = {a.lower() for a in dsn.get("action", [])}
        if actions and actions <= _SUCCESS_ACTIONS:
            return Noise.AUTO_REPLY, None  # "your mail was delivered": a receipt, not a failure
        return Noise.BOUNCE, _bounce(evidence, dsn)
    if {"feedback-report", "disposition-notification"} & set(evidence.report_types):
        return Noise.AUTO_REPLY, None
    if _looks_bounced(evidence):
        return Noise.BOUNCE, _bounce(evidence, dsn)
    if _is_auto_reply(evidence):
        return Noise.AUTO_REPLY, None
    if _is_bulk(evidence.headers, evidence.sender):
        return Noise.BULK, None
    return Noise.NONE, None


def _looks_bounced(evidence: Evidence) -> bool:
    """A bounce without a machine-readable report: a daemon sender (or a bounce subject on
    mail sent with the null return path) and a body that reads like one."""
    local = evidence.sender.lower().partition("@")[0].translate(_PUNCTUATION)
    body = evidence.text[:20_000]
    if local in _DAEMONS or local.startswith(("mailerdaemon", "postmaster")):
        # Some carriers answer "Re: <subject>" from postmaster: the sender decides.
        subject = _BOUNCE_SUBJECT.search(evidence.subject)
        return bool(subject or evidence.original_ids or _DSN_BODY.search(body))
    if _REPLY.match(evidence.subject):
        return False  # a person forwarding or answering a bounce wants help
    if local in ("noreply", "") and _SES_BOUNCE.search(body[:2000]):
        return True  # Amazon SES reports bounces as JSON from a no-reply sender
    null_sender = _first(evidence.headers, "return-path") in ("<>", "")
    return null_sender and bool(_BOUNCE_SUBJECT.search(evidence.subject))


def _is_auto_reply(evidence: Evidence) -> bool:
    headers = evidence.headers
    auto_submitted = _first(headers, "auto-submitted").split(";")[0].split("(")[0].strip()
    if auto_submitted and auto_submitted != "no":
        return True
    if any(_first(headers, h) not in ("", "no", "false", "0") for h in _AUTO_HEADERS):
        return True
    if any(h in headers and not headers[h][0].strip() for h in _AUTO_HEADERS):
        return True  # present but empty still says "I am an autoresponder"
    precedence = _first(headers, "precedence") or _first(headers, "x-precedence")
    if precedence == "auto_reply":
        return True
    if _REPLY.match(evidence.subject):
        return False
    if _AUTO_SUBJECT.match(evidence.subject):
        return True
    suppress = {v.strip() for v in _first(headers, "x-auto-response-suppress").split(",")}
    return bool(suppress & _SUPPRESS_VALUES) and bool(_SOFT_AUTO_SUBJECT.search(evidence.subject))


def _is_bulk(headers: Mapping[str, Sequence[str]], sender: str) -> bool:
    """``Precedence: bulk`` or ``list`` only says the mail went to many people, which a
    person's post to a list (the support address is one) does too. It counts with a sign of
    a mailing machine: a campaign sender's headers, a List-Unsubscribe that no list relay
    added, a no-reply sender."""
    precedence = _first(headers, "precedence")
    if precedence == "junk":
        return True
    if precedence not in ("bulk", "list"):
        return False
    if any(h in headers for h in _CAMPAIGN_HEADERS):
        return True
    relayed = any(h in headers for h in _LIST_RELAY)
    if "list-unsubscribe" in headers and not relayed:
        return True
    local = sender.lower().partition("@")[0].translate(_PUNCTUATION)
    return local in _NO_REPLY


def _dsn_fields(blocks: Sequence[str]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for block in blocks:
        for name, value in _FIELD.findall(block):
            fields.setdefault(name.lower(), []).append(value.strip())
    return fields


def _recipient(value: str) -> str:
    """'rfc822; <Jo@Example.org>' -> 'jo@example.org'."""
    address = value.partition(";")[2] if ";" in value else value
    return address.strip().strip("<>").strip().lower()


def _bounce(evidence: Evidence, dsn: dict[str, list[str]]) -> Bounce | None:
    recipients = [_recipient(v) for v in dsn.get("final-recipient", [])]
    if not any(recipients):
        recipients = [_recipient(v) for v in dsn.get("original-recipient", [])]
    if not any(recipients):
        recipients = _body_recipients(evidence.text)
    statuses = [m.group(1) for v in dsn.get("status", []) if (m := _STATUS.search(v))]
    if not statuses and (m := _STATUS.search(evidence.text[:20_000])):
        statuses = [m.group(1)]
    bounce = Bounce(
        original_message_id=_original_id(evidence),
        recipients=tuple(dict.fromkeys(r for r in recipients if "@" in r)),
        status=statuses[0] if statuses else "",
    )
    if not (bounce.original_message_id or bounce.recipients or bounce.status):
        return None
    return bounce


def _body_recipients(text: str) -> list[str]:
    """Failed addresses in a bounce written for people: qmail's and Postfix's '<addr>:' lines,
    Exim's indented list under "The following address(es) failed:"."""
    head = text[:20_000]
    found = [m.lower() for m in _ADDRESS_LINE.findall(head)]
    if not found:
        found = [m.lower() for m in _FAILED_LIST.findall(head)]
    return found


def _original_id(evidence: Evidence) -> str:
    for value in evidence.original_ids:
        if normalized := normalise_message_id(value):
            return normalized
    for text in (*evidence.original_headers, evidence.text):
        if match := _BODY_MESSAGE_ID.search(text):
            return normalise_message_id(match.group(1))
    return ""
