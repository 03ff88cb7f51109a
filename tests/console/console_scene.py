"""Small helpers the console tests share: a clock moved by hand, and a reader that skips ambient frames."""

from __future__ import annotations

# Frames that arrive whenever someone connects or types; the console tests watch other things.
_AMBIENT = {"presence", "typing"}


async def nothing_more(socket, timeout: float = 0.3) -> list[dict]:
    """Read until the socket is quiet; every frame that arrived other than presence (empty when none)."""
    arrived = []
    while not await socket.communicator.receive_nothing(timeout=timeout):
        frame = await socket.receive()
        if frame["type"] not in _AMBIENT:
            arrived.append(frame)
    return arrived


def send(client_id: str, body: str, **extra) -> dict:
    return {"type": "send", "client_id": client_id, "body": body, **extra}
