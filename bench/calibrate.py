"""How fast this machine runs plain Python right now: a fixed piece of work, timed on a given core.

The machines here are virtual, and the same code has run two to four times slower in one hour than
in another (bench/results: the in-process costs of one commit, ``p_costs``, measured both ways).
A figure from one run can only be compared with another's next to this one: the run records it on
the server's core before the targets start and after they stop, and the report prints it.

The work is the kind a server does for a message: JSON in and out, an HMAC, a regular expression,
small dicts and objects. Nothing here touches the network or the disk. Run as a script, it prints
the milliseconds (CPU time, the median of five rounds) for one round.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import statistics
import subprocess
import sys
import time

ROUNDS = 5
WORDS = re.compile(r"\b(?:hurt|alone|tired|hope|kind)\w*\b", re.IGNORECASE)


class _Frame:
    __slots__ = ("kind", "seq", "body", "author")

    def __init__(self, kind: str, seq: int, body: str, author: dict) -> None:
        self.kind, self.seq, self.body, self.author = kind, seq, body, author


def one_round() -> None:
    key = b"calibration-key-not-secret"
    for seq in range(2_000):
        author = {"id": seq % 97, "pseudonym": f"member-{seq % 97}", "role": "member"}
        frame = _Frame("message", seq, f"a kind word number {seq}, feeling tired but hopeful today", author)
        text = json.dumps({"type": frame.kind, "seq": frame.seq, "body": frame.body, "author": frame.author})
        back = json.loads(text)
        hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
        WORDS.findall(back["body"])
        {name: value for name, value in back.items() if name != "author"}


def milliseconds() -> float:
    """CPU milliseconds for one round, the median of ROUNDS (after one round to warm up)."""
    one_round()
    times = []
    for _ in range(ROUNDS):
        started = time.process_time()
        one_round()
        times.append((time.process_time() - started) * 1000)
    return round(statistics.median(times), 1)


def on_core(core: int) -> float | None:
    """The figure measured in a fresh process pinned to ``core`` (None if it could not run)."""
    try:
        done = subprocess.run(
            ["taskset", "-c", str(core), sys.executable, __file__],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return float(done.stdout.strip())
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


if __name__ == "__main__":
    print(milliseconds())
