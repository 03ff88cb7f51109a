from django.core.exceptions import PermissionDenied


class Refusal(Exception):
    """A change that cannot happen; the message is safe to show to the person.

    ``reason`` is a short code when the refusal is about who is asking (``banned``), which the view
    logs through ``supportcircle.security.log_refusal``; it is empty when the refusal is about the
    state of things (the group is full, the agreements just changed).
    """

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class MembershipError(Refusal):
    """A membership change that cannot happen."""


class NotAFacilitator(PermissionDenied):
    """Only a facilitator of this very group may do this (a view turns it into a 403)."""

    reason = "not_a_facilitator"

    def __init__(self) -> None:
        super().__init__("Only this group's facilitators can do that.")


class BoundaryError(Refusal):
    """A boundary or private-message change that cannot happen."""


class AskFirst(BoundaryError):
    """A private message the sender is asked about before it is sent (``str()`` says why, kindly)."""
