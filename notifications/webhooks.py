"""The teams' chat webhooks (Mattermost or Slack incoming webhooks): a post is a row,
written in the transaction that decided it, and a sweep posts what is due. Each send claims
its row with a conditional UPDATE, so two workers never post the same message; a 5xx, a
timeout or a refused connection puts it back with a later ``next_attempt_at`` (the outbox's
backoff); a 4xx other than 408 and 429 is a configuration error and fails it at once."""

from __future__ import annotations

import logging
import os

import httpx
from django.conf import settings
from django.utils import timezone

from common.bulk import bulk_insert
from common.links import site_url
from common.sendqueue import SendQueue
from notifications.models import Flavour, Kind, TeamWebhook, WebhookPost
from notifications.services import News

log = logging.getLogger(__name__)
POSTING = SendQueue(
    WebhookPost,
    claim_seconds=120,
    retry_base_setting="WEBHOOK_RETRY_BASE_S",
    max_attempts_setting="WEBHOOK_MAX_ATTEMPTS",
    sweep_interval_setting="WEBHOOK_SWEEP_INTERVAL_S",
)
RETRY_STATUSES = {408, 429}


def _chat_text(flavour: str, text: str) -> str:
    """What people wrote (a subject) must not ping a whole channel or forge a link."""
    if flavour == Flavour.SLACK:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("@", "@\u200b").replace("[", "\\[").replace("]", "\\]")


def _payload(hook: TeamWebhook, text: str, url: str, reference: str) -> dict[str, str]:
    if hook.flavour == Flavour.SLACK:
        return {"text": f"<{url}|{reference}> {_chat_text(hook.flavour, text)}"}
    return {"text": f"[{reference}]({url}) {_chat_text(hook.flavour, text)}"}


def webhooks_queue(news: list[News]) -> list[WebhookPost]:
    """A post to each of the team's active webhooks that wants the kind of news, in the
    caller's transaction; once per webhook and event (the new posts are returned). Two
    queries and one INSERT for a whole batch."""
    if not news:
        return []
    hooks: dict[int, list[TeamWebhook]] = {}
    for hook in TeamWebhook.objects.filter(
        team_id__in={n.ticket.team_id for n in news}, active=True
    ).order_by("pk"):
        hooks.setdefault(hook.team_id, []).append(hook)
    if not hooks:
        return []
    posted = set(
        WebhookPost.objects.filter(event__in=[n.event for n in news]).values_list(
            "hook_id", "event_id"
        )
    )
    now = timezone.now()
    posts = []
    for item in news:
        ticket, url = item.ticket, site_url(item.ticket)
        for hook in hooks.get(ticket.team_id, ()):
            wants = hook.new_tickets if item.kind == Kind.NEW_TICKET else hook.overdue
            if not wants or (hook.pk, item.event.pk) in posted:
                continue
            posts.append(
                WebhookPost(
                    hook=hook,
                    event=item.event,
                    ticket=ticket,
                    kind=item.kind,
                    payload=_payload(hook, item.text, url, ticket.reference),
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    bulk_insert(posts)
    return posts


class PostError(Exception):
    def __init__(self, message: str, *, final: bool = False) -> None:
        super().__init__(message)
        self.final = final


def _post(post: WebhookPost) -> None:
    url = os.environ.get(post.hook.url_env, "").strip()
    if not url:
        raise PostError(f"${post.hook.url_env} is not set")
    try:
        answer = httpx.post(url, json=post.payload, timeout=settings.WEBHOOK_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise PostError(f"{exc.__class__.__name__}: {exc}") from exc
    if answer.is_success:
        return
    final = answer.is_client_error and answer.status_code not in RETRY_STATUSES
    raise PostError(f"HTTP {answer.status_code}: {answer.text[:200]}", final=final)


def webhook_send(post_id: int) -> bool:
    """Post one row if it is due and nobody else is posting it. True when taken."""
    if not POSTING.claim(post_id, timezone.now()):
        return False
    post = WebhookPost.objects.select_related("hook").get(pk=post_id)
    try:
        _post(post)
    except PostError as exc:
        POSTING.failed(post.pk, post.attempts, str(exc), final=exc.final)
        log.warning("webhook post %s attempt %s failed: %s", post.pk, post.attempts, exc)
        return False
    POSTING.sent(post.pk)
    return True


def webhooks_send_due(*, budget_s: float | None = None) -> int:
    """Post what is due, one after the other (``common.sendqueue.SendQueue.send_due``).
    Returns how many were taken."""
    return POSTING.send_due(webhook_send, budget_s=budget_s)
