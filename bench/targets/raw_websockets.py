"""The R target: a plain `websockets` broadcast server, the floor of what Python can do.

Every text frame received on /ws/<room>/ is written to every socket in that room
(the sender included), with websockets.broadcast. Nothing else.

    python bench/targets/raw_websockets.py PORT
"""

import asyncio
import signal
import sys
from collections import defaultdict

from websockets.asyncio.server import broadcast, serve

ROOMS: dict[str, set] = defaultdict(set)


async def handler(websocket):
    room = ROOMS[websocket.request.path]
    room.add(websocket)
    try:
        async for frame in websocket:
            broadcast(room, frame)
    finally:
        room.discard(websocket)


async def main(port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None, max_queue=64):
        await stop


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
