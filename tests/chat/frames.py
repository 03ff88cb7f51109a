"""Small readers for socket tests: wait for a particular frame, skipping the ones in between."""


async def frame_where(socket, frame_type: str, **fields) -> dict:
    """The next frame of ``frame_type`` whose top-level fields match, skipping others."""
    while True:
        frame = await socket.receive_until(frame_type)
        if all(frame.get(key) == value for key, value in fields.items()):
            return frame


async def message_numbered(socket, seq: int, frame_type: str = "message") -> dict:
    while True:
        frame = await socket.receive_until(frame_type)
        if frame["message"]["seq"] == seq:
            return frame["message"]


async def sees_arrival(socket, pseudonym: str) -> dict:
    """Wait until ``socket`` has been told ``pseudonym`` is here now (so later frames are not mixed with it)."""
    while True:
        frame = await socket.receive_until("presence")
        if pseudonym in [person["pseudonym"] for person in frame["here"]]:
            return frame
