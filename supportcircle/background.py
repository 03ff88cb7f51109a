"""Background work beside a server process, and the order in which it gives way (Linux priorities).

Two kinds of work run in processes of their own beside each server process, and both must give way to
the chat (the server, PostgreSQL and Redis). Between them, logging in comes first: a person waits at the
login form for each password hash, while the second opinion is advice that already sheds what it
cannot keep up with (the phrase engine decides alone meanwhile).

    LOGINS_NICENESS        10   password hashes (supportcircle/accounts/hashers.py)
    SECOND_OPINION_NICENESS 19  the model's child (moderation/second_opinion/worker.py)

Linux weighs nice only within a scheduling group: each session is one (its autogroup), as is each
cgroup. A child left in the server's session at nice 10 gave way to the server's own threads but not to
anything outside the group: the model's child, always busy under load, kept the server's group at its
full weight, so a hash in a group of its own at nice 10 had a tenth of the core left, and in the bench's
full login storm not one of 300 logins was checked within a minute. So each kind leads a session of its
own (``start_new_session=True``) and lowers that group as a whole (weights 110 and 15 against the
server's 1,024): the chat first, then logins, then the model.

No Django here: the model's child imports this without it.
"""

from __future__ import annotations

import os
import time

LOGINS_NICENESS = 10
SECOND_OPINION_NICENESS = 19
# Linux lets an unprivileged process set an autogroup's nice once per tenth of a second, system-wide.
_AUTOGROUP_TRIES = 5


def give_way(niceness: int) -> None:
    """Lower this process by ``niceness``, and its session's scheduling group too if it leads that session
    (never the server's: a child still in the server's session only lowers itself)."""
    if os.getsid(0) == os.getpid():
        for attempt in range(_AUTOGROUP_TRIES):
            try:
                with open("/proc/self/autogroup", "w") as autogroup:
                    autogroup.write(str(niceness))
                break
            except BlockingIOError:  # another process set one within the last tenth of a second
                time.sleep(0.1 * (attempt + 1))
            except OSError:  # no autogroups here (not Linux, or turned off): a cgroup or nice alone decides
                break
    try:
        os.nice(niceness)
    except (AttributeError, OSError):  # not allowed here: it runs at the server's priority
        pass
