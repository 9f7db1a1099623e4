"""The tickets REST API under /api/v1/tickets/ (shapes in tickets/serializers.py).

    ./                        GET the queue: ?view= and the queue page's filters, paginated;
                              POST opens a ticket for a requester (?team= when in several)
    search/?q=                GET tickets matching the words (or a reference), best first
    <ref>/                    GET one ticket; PATCH its status, category, priority, assignee
    <ref>/messages/           GET its thread, oldest first, paginated (internal notes too)
    <ref>/reply/              POST: 201 with the message mailed, or 202 with a trainee's draft
    <ref>/note/               POST: an internal note
    <ref>/attachments/<id>/   GET an attachment's content, always as a download

Only the desk's people use it (shifters, trainees, coordinators, team admins): they see their
teams' tickets; any other ticket, and every ticket for someone with no desk role, is a 404,
as if it did not exist. Sign in (session) or send ``Authorization: Token <key>``. Errors:
malformed input is a 400 ``{"<field>": ["message", ...]}``; an action the desk refuses (a
reply to a closed ticket) is a 400 ``{"detail": ..., "field": ..., "code": "refused"}``
(people.api_common.exception_handler).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from people.api_common import PAGE, page, paginated, refusal, request_team, valid
from tickets.access import ticket_authorise
from tickets.forms import QueueFilter, queue_views
from tickets.http import attachment_download
from tickets.models import Attachment, Message, MessageKind, ReplyDraft, Ticket
from tickets.search import ticket_search
from tickets.selectors import ticket_list_for_user, with_message_counts
from tickets.serializers import (
    BodySerializer,
    DraftSerializer,
    MessageSerializer,
    ReplySerializer,
    SearchQuery,
    TicketCreateSerializer,
    TicketDetailSerializer,
    TicketSerializer,
    TicketUpdateSerializer,
    queue_parameters,
)
from tickets.services import Sender, ticket_open
from tickets.services.desk import ticket_answer, ticket_give, ticket_note, ticket_update

TAGS = ["tickets"]


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


def _ticket(request: Request, reference: tuple[str, int]) -> Ticket:
    """A ticket the caller may see, or a 404 that does not tell whether it exists."""
    prefix, number = reference
    ticket = (
        ticket_list_for_user(request.user)
        .filter(team__ticket_prefix=prefix, number=number)
        .select_related("merged_into__team")
        .first()
    )
    if ticket is None:
        raise NotFound("No such ticket.")
    with_message_counts([ticket])
    return ticket


def _must_do(request: Request, ticket: Ticket, action: str) -> None:
    """Seeing a ticket (an expert sees those escalated to their group) is not acting on it:
    ``tickets.access``'s one rule, as on the pages (403)."""
    ticket_authorise(request.user, ticket, action)


def _form_errors(form: Any) -> dict[str, list[str]]:
    return {
        field: [error["message"] for error in errors]
        for field, errors in form.errors.get_json_data().items()
    }


# --- the queue ------------------------------------------------------------------------------


def _queue(request: Request) -> Response:
    views = queue_views(_user(request).pk)
    view = request.query_params.get("view") or "all"
    if view not in views:
        return Response(
            {"view": [f"One of {', '.join(views)}."]}, status=status.HTTP_400_BAD_REQUEST
        )
    filters = QueueFilter(request.query_params)
    if not filters.is_valid():
        return Response(_form_errors(filters), status=status.HTTP_400_BAD_REQUEST)
    tickets = ticket_list_for_user(request.user).filter(views[view][1])
    if request.query_params.get("team"):
        tickets = tickets.filter(team=request_team(request))
    return page(request, filters.apply(tickets), TicketSerializer, with_message_counts)


def _open(request: Request) -> Response:
    team = request_team(request)
    data = valid(TicketCreateSerializer(data=request.data))
    opened = ticket_open(
        team=team,
        sender=Sender(data["requester_email"], data["requester_name"]),
        subject=data["subject"],
        body_text=data["body"],
        kind=MessageKind.WEB,
        category=data["category"],
        priority=data["priority"],
    )
    ticket = _ticket(request, (team.ticket_prefix, opened.number))
    return Response(
        TicketDetailSerializer(ticket).data,
        status=status.HTTP_201_CREATED,
        headers={"Location": reverse("tickets-api-ticket", args=[ticket.reference])},
    )


@extend_schema(
    methods=["GET"],
    tags=TAGS,
    operation_id="tickets_list",
    summary="The queue",
    description="Tickets of the caller's teams, newest activity first unless `sort` says "
    "otherwise; the same filters as the queue page. A bad filter is a 400 naming it.",
    parameters=[*queue_parameters(), PAGE],
    responses={200: paginated(TicketSerializer)},
)
@extend_schema(
    methods=["POST"],
    tags=TAGS,
    operation_id="tickets_create",
    summary="Open a ticket for a requester",
    description="Routed and acknowledged like a ticket from the support form.",
    parameters=[
        OpenApiParameter("team", OpenApiTypes.STR, description="Needed when in several teams.")
    ],
    request=TicketCreateSerializer,
    responses={201: TicketDetailSerializer},
)
@api_view(["GET", "POST"])
def ticket_list(request: Request) -> Response:
    return _queue(request) if request.method == "GET" else _open(request)


@extend_schema(
    tags=TAGS,
    operation_id="tickets_search",
    summary="Search",
    description="Words in the subject or any message (quotes for a phrase, -word to leave "
    "out), or a reference such as DAST-1234; best first.",
    parameters=[SearchQuery, PAGE],
    responses={200: paginated(TicketSerializer)},
)
@api_view(["GET"])
def ticket_search_view(request: Request) -> Response:
    query = valid(SearchQuery(data=request.query_params))
    found = ticket_search(request.user, query["q"])
    return page(request, found, TicketSerializer, with_message_counts)


# --- one ticket -----------------------------------------------------------------------------


@extend_schema(
    methods=["GET"], tags=TAGS, operation_id="tickets_retrieve", responses=TicketDetailSerializer
)
@extend_schema(
    methods=["PATCH"],
    tags=TAGS,
    operation_id="tickets_update",
    description="Any of status, category, priority and assignee (a person's id, or null); "
    "all of them change, or none.",
    request=TicketUpdateSerializer,
    responses={200: TicketDetailSerializer, 400: refusal()},
)
@api_view(["GET", "PATCH"])
def ticket_detail(request: Request, reference: tuple[str, int]) -> Response:
    ticket = _ticket(request, reference)
    if request.method != "GET":
        _must_do(request, ticket, "update")
    if request.method == "GET":
        return Response(TicketDetailSerializer(ticket).data)
    data = valid(TicketUpdateSerializer(data=request.data, team=ticket.team))
    with transaction.atomic():
        ticket_update(
            ticket=ticket,
            status=data.get("status"),
            category=data.get("category"),
            priority=data.get("priority"),
            by=request.user,
        )
        if "assignee" in data:
            ticket_give(ticket=ticket, assignee=data["assignee"], by=request.user)
    return Response(TicketDetailSerializer(_ticket(request, reference)).data)


# --- the thread -----------------------------------------------------------------------------


def _thread(ticket: Ticket) -> QuerySet[Message]:
    return (
        Message.objects.filter(ticket=ticket)
        .select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("pk")))
        .order_by("created_at", "pk")
    )


def _message_data(ticket: Ticket, message: Message) -> dict[str, Any]:
    return dict(MessageSerializer(message, context={"reference": ticket.reference}).data)


@extend_schema(
    tags=TAGS,
    operation_id="tickets_messages_list",
    parameters=[PAGE],
    responses={200: paginated(MessageSerializer)},
)
@api_view(["GET"])
def message_list(request: Request, reference: tuple[str, int]) -> Response:
    ticket = _ticket(request, reference)
    rendered = partial(MessageSerializer, context={"reference": ticket.reference})
    return page(request, _thread(ticket), rendered)


@extend_schema(
    tags=TAGS,
    operation_id="tickets_reply",
    summary="Reply to the requester",
    description="Mailed at once (201, the message); a trainee's reply waits for the shifter "
    "they shadow to approve it (202, the draft).",
    request=ReplySerializer,
    responses={201: MessageSerializer, 202: DraftSerializer, 400: refusal()},
)
@api_view(["POST"])
def reply(request: Request, reference: tuple[str, int]) -> Response:
    ticket = _ticket(request, reference)
    _must_do(request, ticket, "reply")
    data = valid(ReplySerializer(data=request.data, team=ticket.team))
    result = ticket_answer(
        ticket=ticket, author=_user(request), body_text=data["body"], canned=data.get("canned")
    )
    if isinstance(result, ReplyDraft):
        return Response(DraftSerializer(result).data, status=status.HTTP_202_ACCEPTED)
    return Response(_message_data(ticket, result), status=status.HTTP_201_CREATED)


@extend_schema(
    tags=TAGS,
    operation_id="tickets_note",
    summary="Add an internal note",
    description="Seen by the desk only; no mail goes out.",
    request=BodySerializer,
    responses={201: MessageSerializer, 400: refusal()},
)
@api_view(["POST"])
def note(request: Request, reference: tuple[str, int]) -> Response:
    ticket = _ticket(request, reference)
    _must_do(request, ticket, "note")
    data = valid(BodySerializer(data=request.data))
    message = ticket_note(ticket=ticket, author=_user(request), body_text=data["body"])
    return Response(_message_data(ticket, message), status=status.HTTP_201_CREATED)


@extend_schema(
    tags=TAGS,
    operation_id="tickets_attachment",
    summary="An attachment's content",
    description="Always a download (application/octet-stream), never rendered. An "
    "attachment too large to keep has only its name and size: 404.",
    responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
)
@api_view(["GET"])
def attachment(request: Request, reference: tuple[str, int], pk: int) -> FileResponse:
    ticket = _ticket(request, reference)
    return attachment_download(get_object_or_404(Attachment, pk=pk, message__ticket=ticket))
