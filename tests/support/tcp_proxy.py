"""A TCP proxy between a server process and its database, for fault tests: it forwards faithfully
until told to refuse (every connection through it is cut, and new ones are closed at once, as when a
database restarts or fails over) or to stall (connections stay open but nothing passes, as when a
database hangs), and forwards again once restored.

Only the server under test goes through it; pytest keeps its own direct connection, so a test can
still read what was stored while the server cannot.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

from tests.support.servers import free_port, wait_for_port

FORWARDING, REFUSING, STALLING = "forwarding", "refusing", "stalling"


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.state = FORWARDING
        self.accepted = 0  # connections the server opened through the proxy
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._flowing = threading.Event()
        self._flowing.set()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    # What a test does -----------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.1)
        self._spawn(self._accept)
        wait_for_port(self.port)
        return self

    def refuse(self) -> None:
        """Cut every connection through the proxy and close each new one at once."""
        with self._lock:
            self.state = REFUSING
            pairs, self._pairs = self._pairs, []
        self._flowing.set()
        for pair in pairs:
            self._close(pair)

    def stall(self) -> None:
        """Keep every connection open, and let nothing through either way."""
        with self._lock:
            self.state = STALLING
        self._flowing.clear()

    def restore(self) -> None:
        with self._lock:
            self.state = FORWARDING
        self._flowing.set()

    def stop(self) -> None:
        self._stop.set()
        self.refuse()
        for thread in self._threads:
            thread.join(5)
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # The proxy ------------------------------------------------------------------------------------

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            if self.state == REFUSING:
                client.close()
                continue
            self._spawn(self._connect, client)

    def _connect(self, client: socket.socket) -> None:
        self._flowing.wait()  # a stalled database does not answer a new connection either
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        with self._lock:
            if self.state == REFUSING or self._stop.is_set():
                self._close((client, upstream))
                return
            self.accepted += 1
            pair = (client, upstream)
            self._pairs.append(pair)
        self._pump(pair)

    def _pump(self, pair: tuple[socket.socket, socket.socket]) -> None:
        client, upstream = pair
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            while not self._stop.is_set():
                self._flowing.wait()
                try:
                    ready = selector.select(timeout=0.1)
                except (OSError, ValueError):
                    break
                if not self._flowing.is_set():
                    continue  # stalled while waiting: what arrived stays in the kernel's buffers
                try:
                    for key, _ in ready:
                        data = key.fileobj.recv(65536)
                        if not data:
                            raise ConnectionError
                        key.data.sendall(data)
                except OSError:
                    break
        with self._lock:
            if pair in self._pairs:
                self._pairs.remove(pair)
        self._close(pair)

    @staticmethod
    def _close(pair) -> None:
        for end in pair:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                end.close()
