"""A chat client over a real socket that does what static/js/chat.js does.

It keeps the highest gap-free ``seq``, reconnects with backoff and
``?last_seq=``, resends every unacknowledged ``send`` with its original
``client_id`` (and a refused one, or a refused backfill, once after ``retry_after``),
pings and backfills on any sign of a gap. Fault tests drive
servers through it and then compare transcripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import Callable

import websockets

PERMANENT_CLOSE_CODES = {4401, 4403, 4404, 4409, 4410}


class ChatClient:
    def __init__(
        self,
        url: Callable[[], str],
        headers: dict[str, str],
        *,
        ping_every: float = 0.3,
        connect_options: dict | None = None,
    ) -> None:
        self.url = url
        self.headers = headers
        self.ping_every = ping_every
        self.connect_options = connect_options or {}  # e.g. ssl= for wss:// to a self-signed certificate
        self.transcript: dict[int, dict] = {}
        self.arrived_at: dict[int, float] = {}  # seq: when this client first held it
        self.contiguous = 0
        self.outbox: dict[str, str] = {}
        self.acked: dict[str, int] = {}
        self.ack_latency: dict[str, float] = {}
        self.sent_at: dict[str, float] = {}
        self.close_codes: list[int | None] = []
        self.http_statuses: list[int] = []
        self.errors: list[dict] = []
        self.connections = 0
        self.stopped = False
        self.ws = None
        self.backfill_pending = False
        self._task: asyncio.Task | None = None

    # What a test does ------------------------------------------------------

    def start(self) -> ChatClient:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        self.stopped = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def say(self, body: str) -> str:
        client_id = uuid.uuid4().hex
        self.outbox[client_id] = body
        self.sent_at[client_id] = time.monotonic()
        await self._send({"type": "send", "client_id": client_id, "body": body})
        return client_id

    async def until(self, predicate: Callable[[], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"not reached in {timeout}s: {self.summary()}")
            await asyncio.sleep(0.05)

    def bodies(self) -> list[str]:
        return [self.transcript[seq]["body"] for seq in sorted(self.transcript)]

    def summary(self) -> str:
        return (
            f"contiguous={self.contiguous} held={sorted(self.transcript)[-5:]} outbox={len(self.outbox)} "
            f"closes={self.close_codes[-5:]} http={self.http_statuses[-5:]} errors={self.errors[-3:]}"
        )

    # What chat.js does -------------------------------------------------------

    async def _send(self, frame: dict) -> None:
        ws = self.ws
        if ws is None:
            return
        try:
            await ws.send(json.dumps(frame))
        except websockets.ConnectionClosed:
            pass

    def _hold(self, message: dict) -> None:
        self.transcript.setdefault(message["seq"], message)
        self.arrived_at.setdefault(message["seq"], time.monotonic())
        self._advance()

    def _advance(self) -> None:
        while self.contiguous + 1 in self.transcript:
            self.contiguous += 1

    async def _backfill(self) -> None:
        if not self.backfill_pending:
            self.backfill_pending = True
            await self._send({"type": "backfill", "after_seq": self.contiguous})

    async def _on_frame(self, frame: dict) -> None:
        kind = frame["type"]
        if kind == "ready":
            for client_id, body in list(self.outbox.items()):
                await self._send({"type": "send", "client_id": client_id, "body": body})
        elif kind == "history":
            self.backfill_pending = False
            for message in frame["messages"]:
                self._hold(message)
            self.contiguous = max(self.contiguous, frame["through_seq"])
            self._advance()
            if frame["more"]:
                await self._backfill()
        elif kind in ("message", "ack"):
            self._hold(frame["message"])
            if kind == "ack":
                client_id = frame["client_id"]
                if client_id in self.outbox:
                    del self.outbox[client_id]
                    self.acked[client_id] = frame["message"]["seq"]
                    self.ack_latency[client_id] = time.monotonic() - self.sent_at[client_id]
            if frame["message"]["seq"] > self.contiguous:
                await self._backfill()
        elif kind == "pong":
            if frame["latest_seq"] > self.contiguous:
                await self._backfill()
        elif kind == "error":
            self.errors.append(frame)
            if frame.get("frame") == "backfill":
                # No longer on its way: asked again after a refusal, and by the next gap otherwise.
                self.backfill_pending = False
                if frame["code"] == "try_again":
                    asyncio.create_task(self._backfill_later(frame.get("retry_after", 1)))
            if frame["code"] == "try_again" and frame.get("ref") in self.outbox:
                client_id = frame["ref"]

                async def resend() -> None:
                    await asyncio.sleep(min(frame.get("retry_after", 1), 0.5))
                    if client_id in self.outbox:
                        await self._send({"type": "send", "client_id": client_id, "body": self.outbox[client_id]})

                asyncio.create_task(resend())

    async def _backfill_later(self, retry_after: float) -> None:
        await asyncio.sleep(min(retry_after, 0.5))
        await self._backfill()

    async def _pinger(self) -> None:
        while True:
            await asyncio.sleep(self.ping_every)
            await self._send({"type": "ping"})

    async def _run(self) -> None:
        attempt = 0
        while not self.stopped:
            url = f"{self.url()}?last_seq={self.contiguous}"
            pinger = None
            try:
                async with websockets.connect(
                    url, additional_headers=self.headers, open_timeout=5, **self.connect_options
                ) as ws:
                    self.ws = ws
                    self.connections += 1
                    self.backfill_pending = False
                    pinger = asyncio.create_task(self._pinger())
                    async for raw in ws:
                        frame = json.loads(raw)
                        if frame["type"] == "ready":
                            attempt = 0
                        await self._on_frame(frame)
                self.close_codes.append(ws.close_code)
            except websockets.InvalidStatus as refused:
                self.http_statuses.append(refused.response.status_code)
            except websockets.ConnectionClosed as closed:
                self.close_codes.append(closed.rcvd.code if closed.rcvd else None)
            except (OSError, TimeoutError, websockets.InvalidHandshake):
                pass
            finally:
                self.ws = None
                if pinger:
                    pinger.cancel()
            if self.close_codes and self.close_codes[-1] in PERMANENT_CLOSE_CODES:
                return
            attempt += 1
            # Exponential backoff with jitter, capped low so tests stay quick.
            await asyncio.sleep(min(1.0, 0.05 * 2**attempt) * (0.5 + random.random()))
