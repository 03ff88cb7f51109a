class MembershipError(Exception):
    """A membership change that cannot happen; the message is safe to show to the person."""
