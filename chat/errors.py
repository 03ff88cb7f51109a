from __future__ import annotations

from .protocol import CloseCode, ErrorCode


class ChatAccessDenied(Exception):
    """The socket may not be (or stay) open; carries the documented close code."""

    def __init__(self, code: CloseCode) -> None:
        super().__init__(code.name)
        self.code = code


class ChatRefused(Exception):
    """A frame that was understood but cannot be carried out; carries the documented error code."""

    def __init__(self, code: ErrorCode, **extra) -> None:
        super().__init__(code.value)
        self.code = code
        self.extra = extra
