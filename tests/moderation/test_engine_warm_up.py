"""A socket opening warms its group's moderation engine on a worker thread once per process and rule
sets, not once per socket: in a crowd arriving, each hand-off to a thread cost every socket."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from chat.extensions import reviewer
from moderation import review
from moderation.review import engine_for


class CountingExecutor(ThreadPoolExecutor):
    submitted = 0

    def submit(self, fn, /, *args, **kwargs):
        CountingExecutor.submitted += 1
        return super().submit(fn, *args, **kwargs)


def test_the_engine_is_warmed_once_for_many_sockets_and_is_then_ready():
    rulesets = ("curiosity", "no_advice", "self_kindness")
    review._WARMED.discard(rulesets)

    async def many_sockets_open():
        loop = asyncio.get_running_loop()
        executor = CountingExecutor(max_workers=1)
        loop.set_default_executor(executor)
        for _ in range(50):
            reviewer().warm(rulesets)  # what each socket does as it opens
        await loop.run_in_executor(None, lambda: None)  # the warm-up before it has finished

    CountingExecutor.submitted = 0
    asyncio.run(many_sockets_open())
    assert CountingExecutor.submitted == 2  # the one warm-up, and the wait for it above
    assert engine_for(rulesets).check("I hear you, that sounds hard.") is not None
