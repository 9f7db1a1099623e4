"""A deterministic generator of DAST-scale support mail (pure Python, stdlib only).

It invents the mail of the ATLAS Distributed Analysis Support Team list
(hn-atlas-dist-analysis-help@cern.ch) as a Gmail export would hold it: by default 135,513
messages from 27 Oct 2008 to 2 Mar 2018, 1,414 requesters, about forty shifters over the years,
expert groups and cloud contacts. Same arguments, same bytes; nothing depends on the clock, the
machine's time zones or hash randomisation.

Public API
----------

``plan_threads(seed=1, count=135_513, start=date(2008, 10, 27), end=date(2018, 3, 2),
requesters=None) -> list[Thread]``
    Every thread of the archive the same arguments produce, expanded but not rendered; for the
    demo-data loader. ``count`` is the number of messages (thread sizes add up to it).
    ``requesters`` defaults to 1,414 scaled with ``count`` (at least 40).

``Thread``: ``index``, ``category`` (a tickets.models.Category value: data_access, panda,
    athena, site, monitoring, analysis_tools, ami, other), ``subject``, ``requester`` (a
    ``Person``: ``name``, ``email``, ...), ``messages`` (in thread order), ``gmail_thread_id``.

``Message``: ``sender`` (``Person``; also ``sender_name``/``sender_email``), ``role``
    (requester | shifter | expert | auto), ``kind`` (mail | autoreply | bounce), ``intent``
    (question, answer, ask_details, escalate, expert_answer, thanks, ...), ``to``/``cc`` (tuples
    of (name, email)), ``subject``, ``sent_at`` (aware datetime in the sender's zone), ``ts``
    (UTC epoch seconds), ``text`` (the whole plain body, quote included), ``html`` (or None),
    ``layout`` (plain | alternative | html), ``charset``, ``message_id`` / ``in_reply_to`` /
    ``references`` (with angle brackets), ``attachments`` (``Attachment(filename,
    content_type, data)`` named tuples), ``extra_headers``, ``bounce``.

``iter_messages(seed, messages, start, end, requesters) -> Iterator[(Thread, Message)]``
    The same messages in archive (time) order, streamed.

``render_message(message, thread) -> bytes``
    One message as RFC 5322 bytes with LF line endings.

``write_archive(path, *, messages, seed, start, end, fmt="mbox"|"maildir", requesters,
progress, progress_every) -> ArchiveStats(messages, threads, requesters, bytes)``
    Writes an mboxrd file or a maildir (cur/new/tmp), streaming: memory stays flat.
"""

from __future__ import annotations

from .archive import ArchiveStats, iter_messages, mbox_entry, write_archive
from .model import (
    CATEGORIES,
    DEFAULT_END,
    DEFAULT_MESSAGES,
    DEFAULT_REQUESTERS,
    DEFAULT_START,
    LIST_ADDRESS,
    Attachment,
    Bounce,
    Message,
    Person,
    Thread,
)
from .render import render_message
from .threads import plan_archive, plan_threads

__all__ = [
    "CATEGORIES",
    "DEFAULT_END",
    "DEFAULT_MESSAGES",
    "DEFAULT_REQUESTERS",
    "DEFAULT_START",
    "LIST_ADDRESS",
    "ArchiveStats",
    "Attachment",
    "Bounce",
    "Message",
    "Person",
    "Thread",
    "iter_messages",
    "mbox_entry",
    "plan_archive",
    "plan_threads",
    "render_message",
    "write_archive",
]
