"""Swaps: a shifter offers a booking to another (optionally taking one of theirs back), the
other accepts or declines, and, when the team's swaps need approval, a coordinator approves
or refuses before anything changes hands. The zones' coordinators hear of every swap that
is accepted (to approve, or done). Every mail carries the calendar's address."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from people.names import display_name
from shifts.models import Booking, SwapRequest, SwapState
from shifts.rules import (
    ShiftError,
    ShiftForbidden,
    calendar_link,
    check_free,
    check_role,
    check_slot_open,
    notify,
    require_coordinator,
)
from shifts.selectors import coordinators_of, shift_settings


def _what(booking: Booking) -> str:
    return f"{booking.zone.code} on {booking.day:%A %d %B}"


def _link(swap: SwapRequest) -> str:
    return calendar_link(swap.booking.zone.team, swap.booking.day, f"swap-{swap.pk}")


def swap_request(
    *,
    booking: Booking,
    asked: User,
    by: User,
    in_return: Booking | None = None,
    note: str = "",
    at: datetime | None = None,
) -> SwapRequest:
    """``by`` asks ``asked`` to take ``booking`` (and to give ``in_return`` back). The asked
    shifter gets a mail; nothing changes on the calendar until they accept."""
    at = at or timezone.now()
    zone = booking.zone
    if booking.person_id != by.pk:
        raise ShiftForbidden("You can only offer your own bookings for a swap.")
    if asked.pk == by.pk:
        raise ShiftError("Ask someone else to swap with you.", field="asked")
    check_role(zone.team, asked, booking.role)
    check_slot_open(zone, booking.day, at)
    if in_return is not None:
        if in_return.person_id != asked.pk:
            raise ShiftError("The slot in return must be one of theirs.", field="in_return")
        if in_return.zone.team_id != zone.team_id:
            raise ShiftError("The slot in return belongs to another team.", field="in_return")
        check_role(zone.team, by, in_return.role)
        check_slot_open(in_return.zone, in_return.day, at)
    check_free(asked, booking)
    if in_return is not None:
        check_free(by, in_return)
    with transaction.atomic():
        try:
            with transaction.atomic():
                swap = SwapRequest.objects.create(
                    booking=booking, offered_by=by, asked=asked, in_return=in_return, note=note
                )
        except IntegrityError:
            raise ShiftError("This booking already has a swap request waiting.") from None
        notify(
            zone.team,
            asked,
            "shift_swap_request",
            {
                "by": display_name(by),
                "what": _what(booking),
                "what_back": _what(in_return) if in_return else "",
                "note": note,
                "needs_approval": shift_settings(zone.team).swaps_need_approval,
            },
            link=_link(swap),
        )
    return swap


def _check_still_possible(swap: SwapRequest, at: datetime) -> None:
    booking, back = swap.booking, swap.in_return
    check_slot_open(booking.zone, booking.day, at)
    check_free(swap.asked, booking)
    if back is not None:
        check_free(swap.offered_by, back)


def _hand_over(swap: SwapRequest) -> None:
    # Give the second booking back first: the asker may hold none of the asked one's.
    if swap.in_return is not None:
        swap.in_return.person = swap.offered_by
        swap.in_return.save(update_fields=["person"])
    swap.booking.person = swap.asked
    swap.booking.save(update_fields=["person"])


def _locked(swap: SwapRequest) -> SwapRequest:
    return (
        SwapRequest.objects.select_for_update(of=("self",))
        .select_related(
            "booking__zone__team", "booking__zone__coordinator", "in_return__zone", "asked"
        )
        .get(pk=swap.pk)
    )


def _tell_coordinators(swap: SwapRequest, template: str) -> None:
    zones = [swap.booking.zone] + ([swap.in_return.zone] if swap.in_return else [])
    team = swap.booking.zone.team
    for coordinator in coordinators_of(team, zones):
        notify(team, coordinator, template, _names(swap), link=_link(swap))


def _names(swap: SwapRequest) -> dict[str, object]:
    """Who swaps what, for the mail templates (mail/_swap_summary.txt says it)."""
    return {
        "asked": display_name(swap.asked),
        "offered_by": display_name(swap.offered_by),
        "what": _what(swap.booking),
        "what_back": _what(swap.in_return) if swap.in_return else "",
    }


def swap_decide(*, swap: SwapRequest, by: User, accept: bool, at: datetime | None = None) -> None:
    """The asked shifter accepts or declines. Accepted, the bookings change hands at once,
    or, when the team's swaps need approval, once a coordinator approves."""
    at = at or timezone.now()
    with transaction.atomic():
        swap = _locked(swap)
        if swap.asked_id != by.pk:
            raise ShiftForbidden("Only the shifter who was asked can answer this request.")
        if swap.state != SwapState.PENDING:
            raise ShiftError(f"This request is already {swap.get_state_display().lower()}.")
        team = swap.booking.zone.team
        if not accept:
            swap.state, swap.decided_at = SwapState.DECLINED, at
            swap.save(update_fields=["state", "decided_at"])
            notify(team, swap.offered_by, "shift_swap_declined", _names(swap), link=_link(swap))
            return
        _check_still_possible(swap, at)
        swap.accepted_at = at
        if shift_settings(team).swaps_need_approval:
            swap.state = SwapState.APPROVAL
            swap.save(update_fields=["state", "accepted_at"])
            notify(
                team,
                swap.offered_by,
                "shift_swap_accepted",
                _names(swap) | {"needs_approval": True},
                link=_link(swap),
            )
            _tell_coordinators(swap, "shift_swap_to_approve")
            return
        _hand_over(swap)
        swap.state, swap.decided_at = SwapState.ACCEPTED, at
        swap.save(update_fields=["state", "accepted_at", "decided_at"])
        notify(
            team,
            swap.offered_by,
            "shift_swap_accepted",
            _names(swap) | {"needs_approval": False},
            link=_link(swap),
        )
        _tell_coordinators(swap, "shift_swap_done")


def swap_approve(*, swap: SwapRequest, by: User, approve: bool, at: datetime | None = None) -> None:
    """A coordinator approves an accepted swap (the bookings change hands) or refuses it
    (they stay). Both shifters hear of it."""
    at = at or timezone.now()
    with transaction.atomic():
        swap = _locked(swap)
        team = swap.booking.zone.team
        require_coordinator(team, by, "approve swaps")
        if swap.state != SwapState.APPROVAL:
            raise ShiftError(
                f"This request is {swap.get_state_display().lower()}: there is nothing to approve."
            )
        if approve:
            _check_still_possible(swap, at)
            _hand_over(swap)
        swap.state = SwapState.ACCEPTED if approve else SwapState.REFUSED
        swap.decided_at, swap.approved_by = at, by
        swap.save(update_fields=["state", "decided_at", "approved_by"])
        context = _names(swap) | {"by": display_name(by), "approved": approve}
        for person in (swap.offered_by, swap.asked):
            notify(team, person, "shift_swap_decided", context, link=_link(swap))


def swap_cancel(*, swap: SwapRequest, by: User, at: datetime | None = None) -> None:
    with transaction.atomic():
        swap = SwapRequest.objects.select_for_update().get(pk=swap.pk)
        if swap.offered_by_id != by.pk:
            raise ShiftForbidden("Only the shifter who asked can withdraw this request.")
        if swap.state not in (SwapState.PENDING, SwapState.APPROVAL):
            raise ShiftError(f"This request is already {swap.get_state_display().lower()}.")
        swap.state = SwapState.CANCELLED
        swap.decided_at = at or timezone.now()
        swap.save(update_fields=["state", "decided_at"])
