from django.core.exceptions import PermissionDenied


class MembershipError(Exception):
    """A membership change that cannot happen; the message is safe to show to the person."""


class NotAFacilitator(PermissionDenied):
    """Only a facilitator of this very group may do this (a view turns it into a 403)."""

    def __init__(self) -> None:
        super().__init__("Only this group's facilitators can do that.")


class BoundaryError(Exception):
    """A boundary or private-message change that cannot happen; the message is safe to show."""
