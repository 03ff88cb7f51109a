"""chat/layers.py bounds a slow socket with small overrides of channels-redis, Channels and daphne, and
reads Twisted's write buffer: none of them offers a public hook for it. Those packages are pinned
exactly in requirements.txt, and this test fails when the code the overrides stand on changes, so an
upgrade re-proves the bounds (tests/chat/test_slow_reader.py) before the pin and these lines move."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import re
from pathlib import Path

import pytest

# The code each override copies or relies on, as of the pinned versions below.
FINGERPRINTS = {
    "channels_redis.pubsub.RedisPubSubLoopLayer._subscribe_to_channel": "3da2e955db06450f",
    "channels_redis.pubsub.RedisPubSubChannelLayer._get_layer": "1862b87a25ac72b2",
    # chat.inbox stands in for its asyncio.Queue: it must still ask an inbox for get() alone.
    "channels_redis.pubsub.RedisPubSubLoopLayer.receive": "2d3fa7938ba6e0a6",
    "channels_redis.pubsub.RedisSingleShardConnection._receive_message": "2f5f46af28e8ed76",
    "channels.layers.InMemoryChannelLayer.send": "a4dab1cd8aff886e",
    "daphne.ws_protocol.WebSocketProtocol.serverSend": "345f21330d2a18ce",
    "twisted.internet.abstract.FileDescriptor.write": "3e46c97fc173bc7e",
    "twisted.internet.abstract.FileDescriptor.doWrite": "a986d7b1b1054e43",
}
PINNED = {"channels": "4.3.2", "channels-redis": "4.3.0", "daphne": "4.2.3", "twisted": "26.10.0"}
REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"


@pytest.mark.parametrize("name", sorted(FINGERPRINTS))
def test_the_code_the_slow_reader_bounds_stand_on_is_unchanged(name):
    module, owner, attribute = name.rsplit(".", 2)
    owner = getattr(importlib.import_module(module), owner)
    # daphne's serverSend as daphne wrote it, even once chat.layers has wrapped it in this process.
    code = getattr(owner, f"_supportcircle_original_{attribute.removeprefix('server').lower()}", None)
    source = inspect.getsource(code or getattr(owner, attribute))
    assert hashlib.sha256(source.encode()).hexdigest()[:16] == FINGERPRINTS[name], (
        f"{name} changed: re-prove chat/layers.py against it, then update the fingerprint and the pin"
    )


@pytest.mark.parametrize("package", sorted(PINNED))
def test_those_packages_are_pinned_exactly(package):
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==([0-9.]+)", REQUIREMENTS.read_text(), flags=re.MULTILINE))
    assert pins.get(package) == PINNED[package]
