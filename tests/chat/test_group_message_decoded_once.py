"""A cost test: on Redis, a group message reaches a process once, and is decoded there once however
many of that process's sockets receive it (chat.layers.BoundedRedisPubSubChannelLayer)."""

import pytest
from channels.layers import get_channel_layer


@pytest.mark.parametrize("channel_layer", ["redis"], indirect=True)
async def test_a_group_message_reaching_three_local_sockets_is_decoded_once(channel_layer):
    layer = get_channel_layer()
    decoded = []
    serializer_decode = layer._serializer.deserialize

    def counting_decode(data: bytes) -> dict:
        message = serializer_decode(data)
        decoded.append(message["type"])
        return message

    layer._serializer.deserialize = counting_decode
    sockets = [await layer.new_channel() for _ in range(3)]
    for socket in sockets:
        await layer.group_add("group.decode-once", socket)

    await layer.group_send("group.decode-once", {"type": "chat.message", "seq": 1, "frame": "{}"})
    received = [await layer.receive(socket) for socket in sockets]

    assert received == [{"type": "chat.message", "seq": 1, "frame": "{}"}] * 3
    assert decoded == ["chat.message"]
