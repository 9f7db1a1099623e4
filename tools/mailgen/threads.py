"""Planning: who asks what and when, and how each conversation unfolds.

Planning is two-stage so that a 135,000-message archive can be streamed: plan_archive draws the
cast and one small stub per thread (start time, requester, size, seed); expand_thread turns a
stub into full messages using only a Random seeded from the stub, so a thread's contents do not
depend on which other threads were expanded before it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass
from random import Random

from . import clock, compose, texts
from .attachments import make_attachment
from .facts import thread_facts
from .headers import message_id
from .model import (
    DEFAULT_END,
    DEFAULT_MESSAGES,
    DEFAULT_REQUESTERS,
    DEFAULT_START,
    LIST_ADDRESS,
    LIST_NAME,
    Attachment,
    Message,
    Person,
    Thread,
)
from .people import CATEGORY_GROUPS, ExpertGroup, Roster, make_experts, make_requesters
from .rand import pick, weighted
from .specials import autoreply, bounce
from .topics import TOPICS, Topic

_SIZE_WEIGHTS = (14, 22, 20, 15, 11, 8, 6, 4)  # 1..8 messages, mean about 3.5
_CATEGORIES = (
    ("panda", 26),
    ("data_access", 24),
    ("athena", 11),
    ("site", 11),
    ("analysis_tools", 10),
    ("monitoring", 7),
    ("other", 6),
    ("ami", 5),
)
# intent -> possible next intents with weights; the role follows from the intent.
_NEXT: dict[str, tuple[tuple[str, float], ...]] = {
    "question": (("answer", 0.55), ("ask_details", 0.40), ("ping", 0.05)),
    "ask_details": (("provide_details", 0.9), ("thanks", 0.1)),
    "provide_details": (("answer", 0.55), ("escalate", 0.35), ("ask_details", 0.10)),
    "answer": (("thanks", 0.55), ("still_failing", 0.45)),
    "still_failing": (("answer", 0.5), ("escalate", 0.4), ("ask_details", 0.1)),
    "escalate": (("expert_answer", 1.0),),
    "expert_answer": (("thanks", 0.6), ("still_failing", 0.25), ("close", 0.15)),
    "thanks": (("close", 1.0),),
    "close": (("thanks", 0.5), ("still_failing", 0.5)),
    "ping": (("answer", 0.7), ("ask_details", 0.3)),
}
ROLE_OF = {
    "question": "requester",
    "provide_details": "requester",
    "still_failing": "requester",
    "thanks": "requester",
    "ping": "requester",
    "answer": "shifter",
    "ask_details": "shifter",
    "escalate": "shifter",
    "close": "shifter",
    "expert_answer": "expert",
    "autoreply": "auto",
    "bounce": "auto",
}
_ATTACH = {"question": 0.18, "provide_details": 0.3, "still_failing": 0.18, "answer": 0.03}
_AUTOREPLY_P, _BOUNCE_P = 0.02, 0.0125  # per shifter message: ~0.5 % and ~0.3 % of all mail
_HTML_ONLY_P = 0.10
_LIST = (LIST_NAME, LIST_ADDRESS)


@dataclass(frozen=True, slots=True)
class ThreadStub:
    index: int
    ts: int
    requester: int  # index into ArchivePlan.requesters
    size: int
    seed: int


@dataclass(slots=True)
class ArchivePlan:
    seed: int
    start_ts: int
    end_ts: int
    requesters: list[Person]
    roster: Roster
    groups: dict[str, ExpertGroup]
    stubs: list[ThreadStub]


def default_requesters(messages: int, threads: int) -> int:
    """1,414 at DAST scale, proportionally fewer below, but never too few to vary names."""
    scaled = round(DEFAULT_REQUESTERS * messages / DEFAULT_MESSAGES)
    return max(1, min(threads, max(40, scaled)))


def _bounds(start: dt.date, end: dt.date) -> tuple[int, int]:
    return clock.day_index(start) * clock.DAY, (clock.day_index(end) + 1) * clock.DAY - 1


def _thread_sizes(rng: Random, messages: int) -> list[int]:
    sizes: list[int] = []
    total = 0
    cumulative = list(itertools.accumulate(_SIZE_WEIGHTS))
    while total < messages:
        size = rng.choices(range(1, 9), cum_weights=cumulative)[0]
        size = min(size, messages - total)  # the last thread absorbs the remainder exactly
        sizes.append(size)
        total += size
    return sizes


def _thread_starts(
    rng: Random, people: list[Person], threads: int, start_ts: int, end_ts: int
) -> list[tuple[int, int]]:
    """(start time, requester) for every thread: each requester asks at least once, a few ask
    very often, and everyone asks within their own years in the experiment."""
    weights = [math.exp(rng.gauss(0.0, 1.1)) for _ in people]
    cumulative = list(itertools.accumulate(weights))
    counts = [1] * len(people)
    for i in rng.choices(range(len(people)), cum_weights=cumulative, k=threads - len(people)):
        counts[i] += 1
    first_day, last_day = start_ts // clock.DAY, end_ts // clock.DAY
    span = last_day - first_day + 1
    starts = []
    for index, (person, count) in enumerate(zip(people, counts, strict=True)):
        # Years in the experiment centred anywhere in the span and cut at its ends: traffic
        # stays level to the edges (about 0.7 of it right at them) instead of tailing off.
        length = int(365 * (0.3 + 4.0 * rng.random() ** 1.5))
        centre = first_day + rng.random() * span
        begin = max(first_day, int(centre - length / 2))
        days = max(1, min(last_day + 1, int(centre + length / 2)) - begin)
        for _ in range(count):
            ts = _start_time(rng, person.zone, begin, days)
            starts.append((min(max(ts, start_ts), end_ts), index))
    starts.sort()
    return starts


def _start_time(rng: Random, zone: str, begin: int, days: int) -> int:
    day = begin + int(rng.random() * days)
    if (day + 3) % 7 >= 5 and rng.random() > 0.15:  # about one question in ten on a weekend
        day = begin + int(rng.random() * days)
    seconds = clock.working_hour(rng) * 3600 + int(rng.random() * 3600)
    return clock.local_to_utc(zone, day * clock.DAY + seconds)


def plan_archive(
    seed: int = 1,
    messages: int = DEFAULT_MESSAGES,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
    requesters: int | None = None,
) -> ArchivePlan:
    if messages < 1:
        raise ValueError("messages must be at least 1")
    if end < start:
        raise ValueError("end is before start")
    rng = Random(seed)
    start_ts, end_ts = _bounds(start, end)
    sizes = _thread_sizes(rng, messages)
    count = requesters or default_requesters(messages, len(sizes))
    count = min(count, len(sizes))
    used: set[str] = set()
    roster = Roster(rng, start_ts, end_ts, used)
    groups = make_experts(rng, used)
    people = make_requesters(rng, count, used)
    starts = _thread_starts(rng, people, len(sizes), start_ts, end_ts)
    stubs = [
        ThreadStub(i, ts, who, sizes[i], seed * 2**32 + i) for i, (ts, who) in enumerate(starts)
    ]
    return ArchivePlan(seed, start_ts, end_ts, people, roster, groups, stubs)


def _script(rng: Random, size: int, can_escalate: bool) -> list[str]:
    """The sequence of intents of one thread, auto-replies and bounces included."""
    intents = ["question"]
    last_human = "question"
    while len(intents) < size:
        if ROLE_OF[last_human] == "shifter" and last_human != "escalate":
            x = rng.random()
            if x < _AUTOREPLY_P + _BOUNCE_P and intents[-1] == last_human:
                intents.append("autoreply" if x < _AUTOREPLY_P else "bounce")
                continue
        nxt = weighted(rng, _NEXT[last_human])
        if nxt == "escalate" and (not can_escalate or "escalate" in intents):
            nxt = "answer"
        intents.append(nxt)
        last_human = nxt
    return intents


def _slots(rng: Random, ts: int, requester: Person) -> dict[str, str]:
    facts = thread_facts(rng, ts, requester.nickname)
    facts["nickname"] = requester.nickname
    facts["dl_error"] = pick(rng, texts.DL_ERRORS).format_map(facts)
    facts["proxy_error"] = pick(rng, texts.PROXY_ERRORS)
    facts["stack"] = texts.STACK.format_map(facts)
    facts["athena_errors"] = texts.ATHENA_ERRORS.format_map(facts)
    facts["proxy_info"] = texts.PROXY_INFO.format_map(facts)
    return facts


def _subject(rng: Random, topic: Topic, facts: dict[str, str], requester: Person) -> str:
    local = texts.LOCAL_SUBJECTS.get(requester.country)
    if local and rng.random() < 0.12:
        return pick(rng, local).format_map(facts)
    return pick(rng, topic.subjects).format_map(facts)


def _group(plan: ArchivePlan, category: str, facts: dict[str, str]) -> ExpertGroup | None:
    if category == "site":
        return plan.groups.get(f"cloud-{facts['cloud']}")
    key = CATEGORY_GROUPS.get(category)
    return plan.groups[key] if key else None


@dataclass(slots=True)
class _State:
    """What a thread remembers while it unfolds."""

    plan: ArchivePlan
    thread: Thread
    topic: Topic
    facts: dict[str, str]
    group: ExpertGroup | None
    shifters: dict[str, Person]
    colleague: Person | None
    escalated: bool = False


def expand_thread(plan: ArchivePlan, stub: ThreadStub) -> Thread:
    rng = Random(stub.seed)
    requester = plan.requesters[stub.requester]
    category = weighted(rng, _CATEGORIES)
    facts = _slots(rng, stub.ts, requester)
    topics = TOPICS[category]
    topic = topics[int(rng.random() * len(topics))]
    subject = _subject(rng, topic, facts, requester)
    group = _group(plan, category, facts)
    gm_id = ((stub.ts * 1000 + stub.index % 1000) << 20) | (stub.index & 0xFFFFF)
    thread = Thread(stub.index, category, subject, requester, [], gmail_thread_id=gm_id)
    colleague = None
    if rng.random() < 0.08:
        colleague = plan.requesters[int(rng.random() * len(plan.requesters))]
    state = _State(plan, thread, topic, facts, group, {}, colleague)
    human: Message | None = None
    for index, intent in enumerate(_script(rng, stub.size, group is not None)):
        if intent in ("autoreply", "bounce"):
            assert human is not None  # scripts only place these after a shifter's message
            uid = stub.index * 16 + index
            make = autoreply if intent == "autoreply" else bounce
            thread.messages.append(make(rng, human, requester, index, uid, plan.end_ts))
            continue
        human = _human(rng, state, index, intent, human, stub.ts)
        thread.messages.append(human)
    return thread


def _timing(rng: Random, role: str, intent: str, parent: Message, zone: str) -> int:
    if role == "shifter":
        median = 7 * clock.DAY if intent == "close" and parent.intent != "thanks" else 45 * 60
        t = parent.ts + 60 + min(int(math.exp(rng.gauss(math.log(median), 1.0))), 10 * clock.DAY)
        return t if rng.random() < 0.06 else clock.next_covered(t, rng)
    if role == "expert":
        t = parent.ts + 120 + min(int(math.exp(rng.gauss(math.log(8 * 3600), 1.2))), 10 * clock.DAY)
        return clock.nudge_into_day(t, zone, rng, 0.1, 8, 20)
    t = parent.ts + 60 + min(int(math.exp(rng.gauss(math.log(3 * 3600), 1.4))), 20 * clock.DAY)
    return clock.nudge_into_day(t, zone, rng, 0.25, 7, 23)


def _clamp(rng: Random, ts: int, parent_ts: int, end_ts: int) -> int:
    """Keep replies inside the archive's span, squeezing late ones between parent and end."""
    if ts <= end_ts:
        return ts
    return parent_ts + int((end_ts - parent_ts) * rng.random())


def _sender(rng: Random, state: _State, role: str, ts: int, parent: Message | None) -> Person:
    if role == "requester":
        return state.thread.requester
    if role == "expert":
        assert state.group is not None
        return pick(rng, state.group.experts)
    zone = clock.shift_zone(ts)
    shifter = state.shifters.get(zone)
    if shifter is None:
        shifter = state.shifters[zone] = state.plan.roster.on_shift(zone, ts, rng).person
    return shifter


def _addresses(
    state: _State, role: str, intent: str, sender: Person, parent: Message | None
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    requester = state.thread.requester.address
    group = (f"{state.group.label} support", state.group.address) if state.group else None
    extra = (group,) if state.escalated and group else ()
    if parent is None:
        return (_LIST,), ((state.colleague.address,) if state.colleague else ())
    if intent == "escalate" and group:
        return (group,), (requester, _LIST)
    if role == "shifter":
        return (requester,), (_LIST, *extra)
    if role == "expert":
        return (requester,), (_LIST, *extra, parent.sender.address)
    if parent.role in ("shifter", "expert"):
        return (parent.sender.address,), (_LIST, *extra)
    return (_LIST,), extra


def _reply_subject(sender: Person, subject: str) -> str:
    if sender.client != "outlook":
        return f"Re: {subject}"
    prefix = {"de": "AW", "it": "R", "nordic": "SV", "fr": "RE "}.get(sender.country, "RE")
    return f"{prefix}: {subject}"


def _human(
    rng: Random, state: _State, index: int, intent: str, parent: Message | None, start_ts: int
) -> Message:
    role = ROLE_OF[intent]
    if parent is None:
        ts = start_ts
    else:
        zone = state.thread.requester.zone
        if role == "expert" and state.group:
            zone = state.group.experts[0].zone
        ts = _clamp(rng, _timing(rng, role, intent, parent, zone), parent.ts, state.plan.end_ts)
    sender = _sender(rng, state, role, ts, parent)
    to, cc = _addresses(state, role, intent, sender, parent)
    if intent == "escalate":
        state.escalated = True
    attachments: tuple[Attachment, ...] = ()
    if rng.random() < _ATTACH.get(intent, 0.0):
        attachments = (make_attachment(rng, state.facts, ts),)
    recipient = to[0][1] == LIST_ADDRESS or parent is None
    voice = compose.Voice(
        sender=sender,
        recipient_first="" if recipient else _first_name(state, to[0][1], parent),
        facts=state.facts,
        category=state.thread.category,
        topic=state.topic,
        group_label=state.group.label if state.group else "",
        group_key=state.group.key if state.group else "",
        attached=bool(attachments),
    )
    written = compose.new_text(rng, role, intent, voice)
    text = (
        written + "\n"
        if parent is None
        else compose.join_reply(sender, written, compose.quote_text(parent, sender))
    )
    layout = _layout(rng, sender)
    html = compose.to_html(written, parent, sender) if layout != "plain" else None
    charset = choose_charset(rng, sender, ts, text, html)
    if html is not None:
        html = html.replace(compose.CHARSET_MARK, charset)
    uid = state.thread.index * 16 + index
    token = rng.getrandbits(64)
    refs = () if parent is None else (*parent.references[-9:], parent.message_id)
    subject = (
        state.thread.subject if parent is None else _reply_subject(sender, state.thread.subject)
    )
    return Message(
        index=index,
        role=role,
        kind="mail",
        intent=intent,
        sender=sender,
        to=to,
        cc=cc,
        subject=subject,
        ts=ts,
        sent_at=clock.aware(ts, sender.zone),
        text=text,
        html=html,
        layout=layout,
        charset=charset,
        message_id=message_id(sender, token, uid, ts),
        in_reply_to=None if parent is None else parent.message_id,
        references=refs,
        attachments=attachments,
        token=token,
    )


def _first_name(state: _State, email: str, parent: Message | None) -> str:
    if parent is not None and parent.sender.email == email:
        return parent.sender.first_name
    if email == state.thread.requester.email:
        return state.thread.requester.first_name
    return "all"


def _layout(rng: Random, sender: Person) -> str:
    if rng.random() < _HTML_ONLY_P:
        return "html"
    share = {"gmail": 1.0, "outlook": 0.8, "apple": 0.5, "webmail": 0.3}.get(sender.client, 0.0)
    return "alternative" if rng.random() < share else "plain"


def choose_charset(rng: Random, sender: Person, ts: int, text: str, html: str | None) -> str:
    """The sender's usual charset, legacy ones more often in early years; UTF-8 whenever the
    text holds a character the preferred charset lacks (a quoted name, a smart quote)."""
    charsets = sender.charsets
    charset = charsets[0]
    if len(charsets) > 1 and rng.random() < (0.45 if ts < 1_325_376_000 else 0.2):
        charset = charsets[1]
    if charset == "us-ascii" and not text.isascii():
        return "utf-8"
    try:
        text.encode(charset)
        if html is not None:
            html.encode(charset)
    except UnicodeEncodeError:
        return "utf-8"
    return charset


def plan_threads(
    seed: int = 1,
    count: int = DEFAULT_MESSAGES,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
    requesters: int | None = None,
) -> list[Thread]:
    """All threads of the archive that (seed, count, start, end) generates, fully expanded but
    not rendered. `count` is the number of messages, as for the archive."""
    plan = plan_archive(seed, count, start, end, requesters)
    return [expand_thread(plan, stub) for stub in plan.stubs]
