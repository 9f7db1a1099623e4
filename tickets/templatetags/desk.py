"""Small template filters for the desk's pages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape as e

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from people.names import display_name
from tickets.mail.html import sanitise
from tickets.mail.quotes import find_quote_start
from tickets.models import OPEN_STATUSES, Message, Ticket

register = template.Library()


@register.filter
def age(value: datetime | None) -> str:
    """How long ago, in one short unit: '12 min', '5 h', '3 d', '7 wk'."""
    if value is None:
        return ""
    seconds = max(0, int((timezone.now() - value).total_seconds()))
    for unit, size in (("wk", 7 * 86400), ("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size * (2 if unit == "wk" else 1):
            return f"{seconds // size} {unit}"
    return "now"


def _quote_start(message: Message) -> int | None:
    """Where the quoted history starts: found at intake, else (messages written by other
    means, older imports) looked for now."""
    if message.quote_start is not None:
        return message.quote_start
    return find_quote_start(message.body_text)


@register.filter
def main_text(message: Message) -> str:
    """The message without its quoted history (folded away on the page)."""
    cut = _quote_start(message)
    return message.body_text[:cut].rstrip() if cut else message.body_text


@register.filter
def quoted_text(message: Message) -> str:
    cut = _quote_start(message)
    return message.body_text[cut:] if cut else ""


@register.filter
def safe_html(message: Message) -> SafeString:
    """The HTML version, sanitised again at display (it was at intake): a later widening of
    the allow-list cannot make stored mail dangerous."""
    return mark_safe(sanitise(message.body_html))  # noqa: S308 - nh3 output


def _when(value: datetime) -> tuple[str, str]:
    """(ISO 8601, "5 Nov 2026, 14:03 CET") in the viewer's zone, as the ``date`` filter
    writes them with "c" and "j M Y, H:i T"."""
    local = timezone.localtime(value)
    return local.isoformat(), f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def _due(ticket: Ticket, now: datetime) -> str:
    """The "Due" cell: when the ticket's next target passes ("in 40 min", "2 h late"), the
    exact time in its title; overdue ones marked. Reads only the ticket's own fields."""
    if ticket.status not in OPEN_STATUSES:
        return ""
    due = ticket.due_at
    if due is None:
        if ticket.overdue_since is None:
            return '<span class="muted">—</span>'
        due = ticket.overdue_since
    iso, shown = _when(due)
    late = due <= now or ticket.overdue_since is not None
    seconds = abs(int((due - now).total_seconds()))
    span = "now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            span = f"{seconds // size} {unit}"
            break
    text = f"{span} late" if due <= now else f"in {span}"
    css = "due late" if late else "due"
    label = "Overdue since" if due <= now else "Due"
    return f'<time class="{css}" datetime="{iso}" title="{label} {e(shown)}">{e(text)}</time>'


def _row(ticket: Ticket, now: datetime) -> str:
    """One row of the queue's table, every value escaped (``e``: the standard library's
    html.escape, which Django's escape wraps)."""
    ref = e(ticket.reference)
    url = e(ticket.get_absolute_url())
    prio = ""
    if ticket.priority > 2:
        arrows = "▲▲" if ticket.priority == 4 else "▲"
        label = e(ticket.get_priority_display())
        prio = f'<span class="prio" title="{label} priority">{arrows}</span>'
    badges = ""
    if ticket.unseen_reply_at:
        badges += (
            ' <span class="badge-new" title="A reply you have not opened yet">new reply</span>'
        )
    late = ticket.overdue_since or (
        ticket.due_at if ticket.due_at and ticket.due_at <= now else None
    )
    if late and ticket.status in OPEN_STATUSES:
        since = timezone.localtime(late)
        when = e(f"{since.day} {since:%b %H:%M} {since.tzname()}")
        badges += f' <span class="badge-late" title="Overdue since {when}">overdue</span>'
    if getattr(ticket, "draft_pending", False):
        badges += (
            ' <span class="badge-draft" title="A trainee\'s reply waits for approval">'
            "draft to approve</span>"
        )
    if ticket.after_hours:
        badges += (
            ' <span class="badge-wait" title="Arrived outside shift hours: assigned when the'
            ' next shift starts">after hours</span>'
        )
    for mark in getattr(ticket, "row_marks", ()):
        label = e(mark.label)
        badges += (
            f' <span class="row-mark {e(mark.css)}" role="img" title="{label}"'
            f' aria-label="{label}">{e(mark.text)}</span>'
        )
    count = getattr(ticket, "message_count", 0)
    if count > 1:
        badges += f' <span class="count" title="{count} messages">{count}</span>'
    requester = ticket.requester
    meta = " · ".join([ticket.get_category_display()] + ([ticket.zone] if ticket.zone else []))
    if ticket.assignee:
        owner = e(display_name(ticket.assignee))
        if ticket.shadow:
            owner += f'<div class="meta">shadow {e(display_name(ticket.shadow))}</div>'
    else:
        owner = '<span class="muted">unassigned</span>'
    iso, shown = _when(ticket.last_message_at)
    return (
        f'<tr class="prio-{ticket.priority}">'
        f'<td class="tick"><input type="checkbox" name="tickets" value="{ticket.pk}"'
        f' aria-label="Tick {ref}"></td>'
        f'<td class="ref"><a href="{url}">{ref}</a>{prio}</td>'
        f'<td class="subject"><a href="{url}">{e(ticket.subject)}</a>{badges}'
        f'<div class="meta"><span title="{e(requester.email)}">'
        f"{e(display_name(requester))}</span> · {e(meta)}</div></td>"
        f'<td><span class="status status-{e(ticket.status)}">'
        f"{e(ticket.get_status_display())}</span></td>"
        f'<td class="assignee">{owner}</td>'
        f'<td class="due-at">{_due(ticket, now)}</td>'
        f'<td class="age"><time datetime="{iso}" title="{e(shown)}">'
        f"{age(ticket.last_message_at)}</time></td></tr>\n"
    )


@register.simple_tag
def ticket_rows(tickets: Iterable[Ticket]) -> SafeString:
    """The queue's table rows. Written here rather than in the template: at 50 rows a page
    the template engine took 25-35 ms, this takes a few."""
    now = timezone.now()
    return mark_safe("".join(_row(t, now) for t in tickets))  # noqa: S308 - escaped in _row
