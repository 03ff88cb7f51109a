"""The newest seq a ping is answered with, read for every socket of a process that pings in the same moments.

Clients ping every 20 s: 10,000 members in a process are 500 pings a second, and one statement each
(with its hop to a database thread) cost the crowd more than its messages did. Here a ping waits up to
``PING_WINDOW_SECONDS`` for the others (chat.batches), and one statement answers them all: each group's
newest seq and each person's standing in it (``chat.actions.latest_seqs``), decided for each socket as
its own statement would have.

The answer stays truthful: the statement starts after every ping it answers arrived, so a pong never
names less than was stored when its ping arrived. And the socket handles nothing else while its ping
waits (its consumer takes one frame or event at a time), so no message stored after the statement read
reaches the client before the pong that does not count it.
"""

from __future__ import annotations

from . import actions
from .batches import Batches, of_this_loop
from .errors import ChatAccessDenied

# How long the first ping of a batch waits for others. Its socket's deliveries wait behind it as long.
PING_WINDOW_SECONDS = 0.02
# At most this many sockets in one statement, two parameters each at most: after a gap in the channel
# layer every socket of a process is told the newest seq at once (chat.consumers, layer_reconnected).
MOST_PER_STATEMENT = 2_000


class Pongs(Batches[actions.Reader, "int | ChatAccessDenied"]):
    def read(self, keys: list[actions.Reader]) -> dict[actions.Reader, int | ChatAccessDenied]:
        return actions.latest_seqs(keys)

    def most(self) -> int:
        return MOST_PER_STATEMENT


async def latest_seq(user_id: int, group_id: int) -> int:
    """The group's newest seq, for a ping (ChatAccessDenied if this person may no longer read it), read with
    every other socket's that pings in the next moments."""
    answer = await of_this_loop(Pongs).answer((user_id, group_id), within=PING_WINDOW_SECONDS)
    if isinstance(answer, ChatAccessDenied):
        raise ChatAccessDenied(answer.code)
    return answer
