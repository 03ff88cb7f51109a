"""Chat state changes and reads, one function each. Called by the consumer and views alike."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction

from groups.models import Group, Membership, MembershipState, Role

from . import broadcast
from .errors import ChatAccessDenied, ChatRefused
from .models import Message
from .protocol import BACKFILL_PAGE, HISTORY_ON_CONNECT, CloseCode, ErrorCode, dumps


@dataclass(frozen=True)
class ChatAccess:
    """What a socket learns about its person and group once, at connect."""

    user_id: int
    pseudonym: str
    group_id: int
    group_slug: str
    group_name: str
    role: str
    can_post: bool


def _membership_or_deny(user_id: int, group_id: int) -> Membership:
    membership = Membership.objects.select_related("group", "user").filter(user_id=user_id, group_id=group_id).first()
    if membership is None or membership.state in (MembershipState.REQUESTED, MembershipState.DECLINED):
        raise ChatAccessDenied(CloseCode.NOT_A_MEMBER)
    if membership.state == MembershipState.BANNED:
        raise ChatAccessDenied(CloseCode.BANNED)
    if membership.state in (MembershipState.LEFT, MembershipState.REMOVED):
        raise ChatAccessDenied(CloseCode.MEMBERSHIP_ENDED)
    return membership


def open_chat(user, slug: str) -> ChatAccess:
    """Check that this person may open this group's chat, and describe the socket."""
    if not user.is_authenticated or not user.is_active:
        raise ChatAccessDenied(CloseCode.NOT_LOGGED_IN)
    group = Group.objects.filter(slug=slug).only("id", "slug", "name").first()
    if group is None:
        raise ChatAccessDenied(CloseCode.GROUP_NOT_FOUND)
    membership = _membership_or_deny(user.pk, group.pk)
    return ChatAccess(
        user_id=user.pk,
        pseudonym=user.pseudonym,
        group_id=group.pk,
        group_slug=group.slug,
        group_name=group.name,
        role=membership.role,
        can_post=membership.state == MembershipState.ACTIVE and membership.has_current_agreements,
    )


def _next_seq(group_id: int) -> int:
    # One statement that both bumps and returns the counter: the row stays
    # locked until commit, so sequence numbers are gapless and never repeat.
    table = Group._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq",  # noqa: S608  # nosec B608: table name from model meta
            [group_id],
        )
        return cursor.fetchone()[0]


@dataclass(frozen=True)
class Posted:
    message: Message
    wire: dict
    duplicate: bool


def post_message(user_id: int, group_id: int, *, client_id: str, body: str) -> Posted:
    """Store a member's message with the group's next sequence number, then broadcast it.

    A resend with the same client id returns the stored message and stores nothing
    new, so a member whose connection dropped mid-send never posts twice.
    """
    with transaction.atomic():
        membership = _membership_or_deny(user_id, group_id)
        if membership.state != MembershipState.ACTIVE:
            raise ChatRefused(ErrorCode.NOT_ALLOWED)
        if not membership.has_current_agreements and membership.role != Role.FACILITATOR:
            raise ChatRefused(ErrorCode.AGREEMENTS_CHANGED)
        existing = Message.objects.filter(group_id=group_id, author_id=user_id, client_id=client_id).first()
        if existing is not None:
            return Posted(existing, existing.to_wire(membership.user.pseudonym), duplicate=True)
        seq = _next_seq(group_id)
        try:
            with transaction.atomic():
                message = Message.objects.create(
                    group_id=group_id, seq=seq, author_id=user_id, client_id=client_id, body=body
                )
        except IntegrityError:
            # Another tab sent the same client id at the same instant and won.
            transaction.set_rollback(True)
            raise ChatRefused(ErrorCode.TRY_AGAIN) from None
        wire = message.to_wire(membership.user.pseudonym)
        broadcast.on_commit_message(
            group_id, seq=seq, author_id=user_id, frame=dumps({"type": "message", "message": wire})
        )
    return Posted(message, wire, duplicate=False)


def _page(group_id: int, after_seq: int, limit: int) -> list[dict]:
    messages = (
        Message.objects.filter(group_id=group_id, seq__gt=after_seq).select_related("author").order_by("seq")[:limit]
    )
    return [message.to_wire() for message in messages]


def history_after(user_id: int, group_id: int, after_seq: int) -> dict:
    """The messages after ``after_seq``, one page at a time, for a member who may read."""
    _membership_or_deny(user_id, group_id)
    latest = Group.objects.filter(pk=group_id).values_list("last_seq", flat=True).get()
    messages = _page(group_id, after_seq, BACKFILL_PAGE)
    through = messages[-1]["seq"] if messages and len(messages) == BACKFILL_PAGE else latest
    return {
        "type": "history",
        "after_seq": after_seq,
        "through_seq": max(through, after_seq),
        "more": through < latest,
        "messages": messages,
    }


def recent_history(user_id: int, group_id: int, limit: int = HISTORY_ON_CONNECT) -> dict:
    """The last ``limit`` messages, oldest first: what a member sees on opening the chat."""
    _membership_or_deny(user_id, group_id)
    latest = Group.objects.filter(pk=group_id).values_list("last_seq", flat=True).get()
    newest_first = list(Message.objects.filter(group_id=group_id).select_related("author").order_by("-seq")[:limit])
    messages = [message.to_wire() for message in reversed(newest_first)]
    after = messages[0]["seq"] - 1 if messages else latest
    return {"type": "history", "after_seq": after, "through_seq": latest, "more": False, "messages": messages}


def still_allowed(user_id: int, group_id: int) -> None:
    """Raise ChatAccessDenied if this person may no longer have the group's chat open."""
    user_active = Membership.objects.filter(user_id=user_id, group_id=group_id, user__is_active=True).exists()
    if not user_active:
        raise ChatAccessDenied(CloseCode.NOT_LOGGED_IN)
    _membership_or_deny(user_id, group_id)


def latest_seq(user_id: int, group_id: int) -> int:
    """The group's newest sequence number, so an idle client can notice a gap."""
    _membership_or_deny(user_id, group_id)
    return Group.objects.filter(pk=group_id).values_list("last_seq", flat=True).get()
