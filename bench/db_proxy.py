"""A database on another host, on this one: a TCP proxy that holds PostgreSQL's replies back.

Production's PostgreSQL sits across a network, about a millisecond away; the bench's is on
localhost, 20-50 µs away. This proxy forwards every byte between a server and PostgreSQL
unchanged, in order, and delivers what PostgreSQL sends ``--round-trip-ms`` later than it came.
The whole round trip is added on the replies' leg: for a statement and its answer that is the
same as half on each leg. Bytes are not held back by size: it is latency, not bandwidth.
Forwarding and waking up add a little of their own (0.3-0.5 ms a round trip on the bench machine),
so bench/run.py measures what the proxy really adds (``measure_round_trip``) and, when that is
over the asked figure, starts it again asking for less; the results report the measured figure.

    python bench/db_proxy.py --listen 6543 --upstream 127.0.0.1:5432 --round-trip-ms 1

bench/run.py starts it, points the P server's DATABASE_URL at it and measures the round trip it
actually adds (``measure_round_trip``), which the results report beside the asked one.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time


async def _forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy reader to writer, each chunk ``delay`` seconds after it arrived, in order."""
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await chunks.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()

    sender = asyncio.ensure_future(deliver())
    try:
        while data := await reader.read(65_536):
            chunks.put_nowait((loop.time() + delay, data))
    except (ConnectionError, OSError):
        pass
    chunks.put_nowait((0.0, None))
    try:
        await sender
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def serve(listen_port: int, upstream_host: str, upstream_port: int, round_trip_ms: float) -> None:
    delay = round_trip_ms / 1000

    async def on_client(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            db_reader, db_writer = await asyncio.open_connection(upstream_host, upstream_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            _forward(client_reader, db_writer, 0.0),  # requests go straight on
            _forward(db_reader, client_writer, delay),  # replies come back a round trip later
        )

    server = await asyncio.start_server(on_client, "127.0.0.1", listen_port, backlog=1024)
    async with server:
        await server.serve_forever()


def measure_round_trip(direct_url: str, proxied_url: str, samples: int = 50) -> dict:
    """``SELECT 1`` timed directly and through the proxy: the round trip the proxy really adds (ms)."""
    import psycopg

    def median_ms(url: str) -> float:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
            times = []
            for _ in range(samples):
                started = time.perf_counter()
                conn.execute("SELECT 1").fetchone()
                times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    direct, proxied = median_ms(direct_url), median_ms(proxied_url)
    return {
        "select_1_direct_ms": round(direct, 3),
        "select_1_proxied_ms": round(proxied, 3),
        "added_round_trip_ms": round(proxied - direct, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--upstream", default="127.0.0.1:5432", help="PostgreSQL's host:port")
    parser.add_argument("--round-trip-ms", type=float, required=True, help="added to every reply")
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    asyncio.run(serve(args.listen, host, int(port), args.round_trip_ms))


if __name__ == "__main__":
    main()
