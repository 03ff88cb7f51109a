"""What moderation announces to the apps above it (safeguarding listens), so it never imports them.

Both are sent inside the transaction that stores the change, so a receiver's own rows are stored
with it or not at all: an alert can never exist without what the apps above keep about it.
"""

from django.dispatch import Signal

# A crisis alert (or another alert a group chose) was stored. Arguments: ``alert`` (moderation.models.Alert),
# ``has_active_facilitator`` (bool: someone in the group who is not on a break could take it).
alert_raised = Signal()

# A facilitator of the group said "I'm following up" from the queue or the console.
# Arguments: ``alert``, ``actor`` (the facilitator).
alert_acknowledged = Signal()
