"""Small helpers the moderation tests share (the fixtures are in conftest.py)."""

from __future__ import annotations

from groups.models import Agreement


def agreement(group, rule_key: str) -> Agreement:
    """The group's agreement that a rule set enforces, as the group numbered it."""
    return Agreement.objects.get(group=group, version=group.agreement_version, rule_key=rule_key)


def send(client_id: str, body: str, **extra) -> dict:
    return {"type": "send", "client_id": client_id, "body": body, **extra}


# Frames about who is here arrive whenever someone connects; they are not what these tests watch.
_AMBIENT = {"presence", "typing"}


async def nothing_more(socket, timeout: float = 0.3) -> list[dict]:
    """Read until the socket is quiet; every frame that arrived other than presence (empty when none)."""
    arrived = []
    while not await socket.communicator.receive_nothing(timeout=timeout):
        frame = await socket.receive()
        if frame["type"] not in _AMBIENT:
            arrived.append(frame)
    return arrived
