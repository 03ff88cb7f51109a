"""Every client frame the protocol documents has exactly one handler, in the one registry
(chat.extensions.FRAME_HANDLERS): the chat's own, moderation's and the console's alike."""

from typing import get_args

from chat.extensions import FRAME_HANDLERS
from chat.protocol import CLIENT_FRAME_TYPES, ClientFrame


def test_every_documented_frame_has_a_handler_and_nothing_else_does():
    documented = set(get_args(ClientFrame))
    assert set(FRAME_HANDLERS) == documented
    assert sorted(frame.type for frame in FRAME_HANDLERS) == sorted(CLIENT_FRAME_TYPES)
