"""Prometheus metrics (prometheus_client), served at /metrics.

What is counted, and the one line that counts it:

- ``supportcircle_open_sockets``: chat sockets open now (chat.middleware.CloseCleanlyOnFailure,
  on accept and when the socket's application ends).
- ``supportcircle_socket_closes_total{code}``: sockets the server closed, by close code: 4408 too
  slow, 4409 membership ended, 4429 too many sockets, ... (the same middleware, on every close it
  sends; and chat.layers for a 4408 daphne sends itself when a client stops reading).
- ``supportcircle_chat_messages_stored_total``: chat messages stored (chat.actions.post_message, once
  its transaction commits).
- ``supportcircle_chat_messages_delivered_total``: chat messages handed to an open socket live
  (chat.consumers.GroupChatConsumer.chat_message); history and backfill are not counted.
- ``supportcircle_db_statements_total``: SQL statements run on PostgreSQL (every connection, from
  supportcircle.operations.apps; not on SQLite, where counting would cost a fifth of a statement).
- ``supportcircle_second_opinion_shed_total``: messages the second opinion's worker shed because
  its bounded queue was full (moderation.follow_up.ask_second_opinion); each kept the engine's decision.
- Anything a part of the product reads when asked, through ``gauge_read_at_scrape``:
  ``supportcircle_second_opinion_queue_depth``, the messages waiting in the answering process's
  second-opinion worker (moderation.follow_up.worker).

Several server processes: with ``PROMETHEUS_MULTIPROC_DIR`` set (the stack and the systemd units set
it), each process writes its values to files there and whichever process answers /metrics adds them
all up (prometheus_client's multiprocess mode), so one scrape through nginx sees the whole machine.
Without it (development, tests) each process answers for itself.

/metrics answers a request made on this machine straight to a server process (not through nginx),
or one bringing ``Authorization: Bearer <METRICS_TOKEN>``; anyone else gets a 404.
"""

from __future__ import annotations

import glob
import hmac
import ipaddress
import os
import re
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

OPEN_SOCKETS = Gauge("supportcircle_open_sockets", "Chat sockets open now.", multiprocess_mode="livesum")
SOCKET_CLOSES = Counter(
    "supportcircle_socket_closes", "Chat sockets the server closed, by close code (docs/protocol.md).", ["code"]
)
MESSAGES_STORED = Counter("supportcircle_chat_messages_stored", "Chat messages stored.")
MESSAGES_DELIVERED = Counter(
    "supportcircle_chat_messages_delivered", "Chat messages handed to an open socket live (not history or backfill)."
)
DB_STATEMENTS = Counter("supportcircle_db_statements", "SQL statements run on PostgreSQL.")
SECOND_OPINION_SHED = Counter(
    "supportcircle_second_opinion_shed",
    "Messages the second opinion's full queue shed under overload (they kept the phrase engine's decision).",
)

# Shown at 0 before the first one, so an alert on their rate has a series to read.
for _code in ("4408", "4409", "4429", "4503"):
    SOCKET_CLOSES.labels(_code)


def socket_opened() -> None:
    OPEN_SOCKETS.inc()


def socket_gone() -> None:
    OPEN_SOCKETS.dec()


def socket_closed_with(code: int) -> None:
    SOCKET_CLOSES.labels(str(code) if 1000 <= code <= 4999 else "other").inc()


def count_statement(execute, sql, params, many, context):
    """A database execute wrapper (connection.execute_wrappers): one more statement."""
    DB_STATEMENTS.inc()
    return execute(sql, params, many, context)


# Read when /metrics is asked ----------------------------------------------------------------

_read_at_scrape: dict[str, tuple[str, Callable[[], float]]] = {}


def gauge_read_at_scrape(name: str, documentation: str, read: Callable[[], float]) -> None:
    """A gauge whose value ``read()`` gives when /metrics is asked, in the process that answers: for
    what lives in the database and is the same whichever process looks, such as a queue's depth.
    For instance, once the second-opinion queue exists::

        metrics.gauge_read_at_scrape(
            "supportcircle_second_opinion_queue_depth",
            "Messages waiting for a second opinion.",
            lambda: SecondOpinion.objects.waiting().count(),
        )
    """
    _read_at_scrape[name] = (documentation, read)


class _ReadAtScrape:
    def collect(self):
        for name, (documentation, read) in list(_read_at_scrape.items()):
            yield GaugeMetricFamily(name, documentation, value=float(read()))


def _multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def _forget_dead_processes(path: str) -> None:
    """A killed process cannot say it is gone: its open sockets would be counted for ever. Its
    live gauge files go (prometheus_client's own bookkeeping); its counters stay in the sums."""
    for file in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        match = re.search(r"_(\d+)\.db$", file)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, path)
        except PermissionError:
            pass  # alive, someone else's


def exposition() -> bytes:
    """Every metric, in Prometheus's text format: this machine's processes added up in multiprocess
    mode, this process's otherwise."""
    path = _multiprocess_dir()
    if path:
        _forget_dead_processes(path)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry = CollectorRegistry()
        registry.register(_AllOf(REGISTRY))
    registry.register(_ReadAtScrape())
    return generate_latest(registry)


class _AllOf:
    def __init__(self, registry) -> None:
        self.registry = registry

    def collect(self):
        return self.registry.collect()


# Who may read them --------------------------------------------------------------------------


def may_read_metrics(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if given.startswith("Bearer ") and hmac.compare_digest(given.removeprefix("Bearer ").encode(), token.encode()):
            return True
    # Straight from this machine: a loopback peer, and no proxy saying it passed the request on.
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def metrics_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    if not may_read_metrics(request):
        raise Http404  # as if there were nothing here
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
