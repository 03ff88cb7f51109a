"""Where P's time goes: the CPU cost of its hot paths, called directly in this process.

The socket scenarios say how fast the whole stack is; these say which part costs what, so the
next optimisation goes where the time is. Each figure is CPU time per call (``process_time``),
median of a few rounds, on the bench database, without the event loop or the network. It runs in
bench/world.py's process (``--costs``), with the production column's settings. The functions it
calls are the app's own and move as the app changes: one that is gone is reported as not measured,
and the rest of the bench carries on.
"""

from __future__ import annotations

import statistics
import time
import uuid


def _cpu_ms(call, repeat: int, rounds: int = 3) -> float:
    medians = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(repeat):
            call()
        medians.append((time.process_time() - started) / repeat * 1000)
    return round(statistics.median(medians), 3)


def measure(world_info: dict, quick: bool) -> dict:
    try:
        return _measure(world_info, quick)
    except (ImportError, AttributeError, TypeError) as gone:
        return {"not_measured": f"the app's hot paths moved: {type(gone).__name__}: {gone}"[:300]}


def _measure(world_info: dict, quick: bool) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from chat import actions
    from chat.recheck import verdicts
    from groups.models import Group, Membership
    from supportcircle.accounts.sessions import session_user_id

    repeat = 20 if quick else 100
    group = Group.objects.get(slug=world_info["home_slugs"][-1])
    size = world_info["group_size"]
    first = (len(world_info["home_slugs"]) - 1) * size
    members = list(range(first, first + size))
    User = get_user_model()
    author = User.objects.get(pseudonym=world_info["members"][members[0]])
    tag = uuid.uuid4().hex[:8]
    counter = iter(range(10**9))
    body = "Checking in: today was heavy, but I went for a short walk and it helped a little."

    def post():
        actions.post_message(author.pk, group.pk, client_id=f"cost-{tag}-{next(counter)}", body=body)

    def queries(call) -> int:
        with CaptureQueriesContext(connection) as captured:
            call()
        return len(captured.captured_queries)

    sockets = []
    for index in range(100):
        member = index % len(world_info["members"])
        membership = Membership.objects.filter(user__pseudonym=world_info["members"][member]).first()
        sockets.append((world_info["sessions"][member], membership.user_id, membership.group_id))

    def one_socket_at_a_time():
        # What every socket did before chat.recheck: its session, then its membership, alone.
        for session_key, user_id, group_id in sockets:
            session_user_id(session_key)
            Membership.objects.filter(user_id=user_id, group_id=group_id, user__is_active=True).exists()
            Membership.objects.select_related("group", "user").filter(user_id=user_id, group_id=group_id).first()

    history_after = lambda: actions.history_after(author.pk, group.pk, max(group.last_seq - 200, 0))  # noqa: E731
    return {
        "note": "CPU ms per call in the load generator process, bench database, no event loop or network; "
        "post_message here also starts a thread to publish (async_to_sync), which a server does not",
        "post_message_ms": _cpu_ms(post, repeat),
        "post_message_queries": queries(post),
        "open_chat_ms": _cpu_ms(lambda: actions.open_chat(author, group.slug), repeat),
        "recent_history_50_ms": _cpu_ms(lambda: actions.recent_history(author.pk, group.pk), repeat),
        "recent_history_queries": queries(lambda: actions.recent_history(author.pk, group.pk)),
        "history_after_200_ms": _cpu_ms(history_after, max(repeat // 5, 4)),
        "recheck_100_sockets_batched_ms": _cpu_ms(lambda: verdicts(sockets), max(repeat // 10, 3)),
        "recheck_100_sockets_one_by_one_ms": _cpu_ms(one_socket_at_a_time, max(repeat // 10, 3)),
    }
