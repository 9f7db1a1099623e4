"""Message bodies: what each participant writes, how their client quotes, the HTML it makes."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from random import Random

from . import names, replies, texts
from .clock import attribution_date, offset_minutes
from .model import Message, Person
from .rand import pick
from .topics import Topic

_QUOTE_LINES = 40  # real clients quote everything; we stop so bodies stay a few KB
_URL = re.compile(r"(https?://[^\s<>&]+)")


def fill(template: str, slots: dict[str, str]) -> str:
    return template.format_map(slots)


@dataclass(slots=True)
class Voice:
    """Who writes to whom, in which thread: everything a body template may need."""

    sender: Person
    recipient_first: str
    facts: dict[str, str]
    category: str
    topic: Topic
    group_label: str
    group_key: str
    attached: bool


def _closing(rng: Random, person: Person) -> str:
    country = names.COUNTRIES[person.country]
    native = country.closings and person.country not in ("uk", "us", "il")
    return (
        pick(rng, country.closings) if native and rng.random() < 0.35 else pick(rng, texts.CLOSINGS)
    )


def _requester_signature(rng: Random, person: Person) -> str:
    x = rng.random()
    if x < 0.5:
        return person.first_name
    if x < 0.8:
        return person.name
    return f"{person.name}\n{person.email.split('@', 1)[1]}"


def _question(rng: Random, v: Voice) -> str:
    parts = [pick(rng, texts.GREETINGS_TO_LIST), fill(pick(rng, v.topic.questions), v.facts)]
    if v.attached:
        parts.append(pick(rng, texts.ATTACHED))
    parts.append(
        pick(
            rng,
            (
                "Could you please have a look?",
                "Any idea what is going on?",
                "Is this a known problem?",
                "What should I do?",
                "Thanks for any help.",
                "Any help would be appreciated.",
            ),
        )
    )
    return "\n\n".join(parts)


def _requester_reply(rng: Random, intent: str, v: Voice) -> str:
    greeting = pick(
        rng, (f"Hi {v.recipient_first},", f"Dear {v.recipient_first},", "Hi,", "Hello,")
    )
    if intent == "provide_details":
        body = fill(pick(rng, texts.DETAILS), v.facts)
    elif intent == "still_failing":
        body = fill(pick(rng, texts.STILL), v.facts)
    elif intent == "ping":
        return pick(rng, texts.PINGS)
    else:
        body = pick(rng, texts.THANKS)
    if v.attached:
        body += "\n\n" + pick(rng, texts.ATTACHED)
    return f"{greeting}\n\n{body}"


def _shifter_text(rng: Random, intent: str, v: Voice) -> str:
    if intent == "escalate":
        table = replies.SITE_ESCALATIONS if v.category == "site" else replies.ESCALATIONS
        greeting = pick(rng, (f"Dear {v.group_label} experts,", "Dear colleagues,", "Hi experts,"))
        if v.category == "site":
            greeting = f"Dear {v.group_label},"
        return f"{greeting}\n\n{fill(pick(rng, table), v.facts)}"
    greeting = pick(
        rng,
        (f"Hi {v.recipient_first},", f"Dear {v.recipient_first},", f"Hello {v.recipient_first},"),
    )
    if intent == "ask_details":
        body = fill(pick(rng, replies.ASK_DETAILS), v.facts)
    elif intent == "close":
        body = pick(rng, replies.CLOSES)
    else:
        body = fill(pick(rng, v.topic.answers), v.facts)
        body += pick(
            rng, ("\n\nLet us know if it works.", "\n\nPlease tell us if the problem persists.", "")
        )
    return f"{greeting}\n\n{body}"


def new_text(rng: Random, role: str, intent: str, v: Voice) -> str:
    """The part of a message its sender writes: greeting, content, sign-off; no quote."""
    person = v.sender
    if role == "shifter":
        sign = pick(rng, replies.SHIFTER_SIGNATURES).format(
            first=person.first_name, name=person.name
        )
        text = f"{_shifter_text(rng, intent, v)}\n\n{sign}"
    elif role == "expert":
        table = replies.EXPERT_ANSWERS["cloud" if v.group_key.startswith("cloud") else v.group_key]
        sign = pick(rng, replies.EXPERT_SIGNATURES).format(
            first=person.first_name, name=person.name, group=v.group_label
        )
        greeting = f"Hi {v.recipient_first},"
        text = f"{greeting}\n\n{fill(pick(rng, table), v.facts)}\n\n{sign}"
    elif intent == "question":
        text = (
            f"{_question(rng, v)}\n\n{_closing(rng, person)}\n{_requester_signature(rng, person)}"
        )
    else:
        body = _requester_reply(rng, intent, v)
        text = f"{body}\n\n{_closing(rng, person)}\n{_requester_signature(rng, person)}"
    if person.client == "outlook" and rng.random() < 0.7:
        text = text.replace("'", "\u2019")  # Outlook's AutoCorrect, commands included
    return text


def _attribution(parent: Message, style: str, country: str) -> str:
    minutes = offset_minutes(parent.sender.zone, parent.ts)
    name, email = parent.sender.name, parent.sender.email
    if style == "thunderbird" and country == "fr":
        return f"Le {attribution_date(parent.ts, minutes, 'tb')}, {name} a écrit :"
    if style == "thunderbird" and country == "de":
        return f"Am {attribution_date(parent.ts, minutes, 'tb')} schrieb {name}:"
    if style == "webmail":
        return f"Quoting {name} <{email}>:"
    if style in ("gmail", "apple"):
        return f"On {attribution_date(parent.ts, minutes, style)}, {name} <{email}> wrote:"
    return f"On {attribution_date(parent.ts, minutes, style)}, {name} wrote:"


def _outlook_header(parent: Message) -> list[str]:
    minutes = offset_minutes(parent.sender.zone, parent.ts)
    to = "; ".join(n or e for n, e in parent.to)
    return [
        f"From: {parent.sender.name} [mailto:{parent.sender.email}]",
        f"Sent: {attribution_date(parent.ts, minutes, 'outlook')}",
        f"To: {to}",
        f"Subject: {parent.subject}",
    ]


def _parent_lines(parent: Message) -> list[str]:
    lines = parent.text.split("\n")
    return lines[:_QUOTE_LINES] + (["[...]"] if len(lines) > _QUOTE_LINES else [])


def quote_text(parent: Message, sender: Person) -> str:
    """The parent as the sender's client quotes it in plain text."""
    lines = _parent_lines(parent)
    if sender.client == "outlook":
        return "\n".join(["-----Original Message-----", *_outlook_header(parent), "", *lines])
    quoted = "\n".join("> " + line if line else ">" for line in lines)
    return f"{_attribution(parent, sender.client, sender.country)}\n{quoted}"


def join_reply(sender: Person, written: str, quote: str) -> str:
    if sender.client == "mutt":  # mutt users answer below the quote
        return f"{quote}\n\n{written}\n"
    return f"{written}\n\n{quote}\n"


CHARSET_MARK = "\x00charset\x00"  # replaced once the message's charset is known


def _linkify(text: str) -> str:
    # re.split and a list comprehension: re.sub with a "\1" template costs three times more.
    if "http" not in text:
        return text
    parts = _URL.split(text)
    parts[1::2] = [f'<a href="{url}">{url}</a>' for url in parts[1::2]]
    return "".join(parts)


def _html_lines(text: str) -> list[str]:
    # One escape and one link pass over the whole text: per line it was the slowest step.
    return _linkify(html_lib.escape(text, quote=False)).split("\n")


def to_html(written: str, parent: Message | None, sender: Person) -> str:
    """HTML as the sender's client would produce it: Gmail divs, Outlook Word markup, or the
    plain <p>/<blockquote> of Thunderbird, Apple Mail and webmails."""
    lines = _html_lines(written)
    client = sender.client
    if client == "gmail":
        body = "".join(f"<div>{line}</div>\n" if line else "<div><br></div>\n" for line in lines)
        out = f'<div dir="ltr">{body}</div>\n'
        if parent is not None:
            attribution = html_lib.escape(_attribution(parent, "gmail", sender.country))
            quoted = "<br>\n".join(_html_lines("\n".join(_parent_lines(parent))))
            out += (
                '<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
                f"{attribution}<br></div>\n"
                '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;'
                f'border-left:1px solid rgb(204,204,204);padding-left:1ex">\n{quoted}\n'
                "</blockquote></div>\n"
            )
        return out
    if client == "outlook":
        paras = "".join(
            f'<p class="MsoNormal">{line or "&nbsp;"}<o:p></o:p></p>\n' for line in lines
        )
        out = (
            '<html xmlns:o="urn:schemas-microsoft-com:office:office">\n<head>\n'
            f'<meta http-equiv="Content-Type" content="text/html; charset={CHARSET_MARK}">\n'
            '<meta name="Generator" content="Microsoft Word 15 (filtered medium)">\n'
            "<style><!--\np.MsoNormal, li.MsoNormal, div.MsoNormal\n\t{margin:0cm;"
            'font-size:11.0pt;font-family:"Calibri",sans-serif;}\n--></style>\n</head>\n'
            '<body lang="EN-US" link="#0563C1" vlink="#954F72">\n<div class="WordSection1">\n'
            f"{paras}"
        )
        if parent is not None:
            head = "<br>\n".join(
                f"<b>{h.split(':', 1)[0]}:</b>{html_lib.escape(h.split(':', 1)[1])}"
                for h in _outlook_header(parent)
            )
            quoted = "<br>\n".join(_html_lines("\n".join(_parent_lines(parent))))
            out += (
                '<div style="border:none;border-top:solid #E1E1E1 1.0pt;'
                'padding:3.0pt 0cm 0cm 0cm">\n'
                f'<p class="MsoNormal">{head}</p>\n</div>\n'
                '<blockquote style="border:none;border-left:solid #B5C4DF 1.5pt;padding:0cm 0cm '
                f'0cm 4.0pt">\n<p class="MsoNormal">{quoted}</p>\n</blockquote>\n'
            )
        return out + "</div>\n</body>\n</html>\n"
    body = "<br>\n".join(lines)
    out = (
        '<html><head>\n<meta http-equiv="content-type" '
        f'content="text/html; charset={CHARSET_MARK}">\n</head>\n<body>\n<p>{body}</p>\n'
    )
    if parent is not None:
        attribution = html_lib.escape(_attribution(parent, client, sender.country))
        quoted = "<br>\n".join(_html_lines("\n".join(_parent_lines(parent))))
        out += (
            f'<div class="moz-cite-prefix">{attribution}<br></div>\n'
            f'<blockquote type="cite" cite="mid:{parent.message_id[1:-1]}">\n{quoted}\n'
            "</blockquote>\n"
        )
    return out + "</body>\n</html>\n"
