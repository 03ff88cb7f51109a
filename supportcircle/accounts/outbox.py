"""Recovery emails leave after the page has answered, so the time a page takes never tells anyone
whether an account has the email they typed.

Talking to a mail server takes from a tenth of a second to several. Had the recovery page waited for
it, a known address would answer slowly and an unknown one at once: a stopwatch would say who is here.
So the form hands the sending to this process's one mail thread and the page answers straight away,
the same for both. A failed send is logged (without the address) and never shown to the person asking;
the page already told them to check their inbox and spam folder, and they may ask again.

    send_later(form_send_mail, *args)   # returns at once
    wait_until_sent()                   # the queue drained (tests; the interpreter also waits at exit)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from django.db import connections

log = logging.getLogger(__name__)

_mail_thread = ThreadPoolExecutor(1, thread_name_prefix="outbox")
_pending: set[Future] = set()
_lock = threading.Lock()


def _send(func: Callable[..., object], args: tuple, kwargs: dict) -> None:
    try:
        func(*args, **kwargs)
    except Exception:
        log.exception("A recovery email could not be sent; the person can ask again.")
    finally:
        connections.close_all()  # this thread's own, if rendering the email opened one


def send_later(func: Callable[..., object], *args: object, **kwargs: object) -> Future:
    """Run ``func(*args, **kwargs)`` on the mail thread; return at once."""
    future = _mail_thread.submit(_send, func, args, kwargs)
    with _lock:
        _pending.add(future)
    future.add_done_callback(_forget)
    return future


def _forget(future: Future) -> None:
    with _lock:
        _pending.discard(future)


def wait_until_sent(timeout: float = 30.0) -> bool:
    """Wait for every email handed over so far; True when none is still waiting."""
    with _lock:
        waiting = set(_pending)
    return not wait(waiting, timeout=timeout).not_done
