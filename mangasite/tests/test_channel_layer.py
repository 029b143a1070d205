"""The channel layer is the one the setup names, and it delivers a message."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings


def test_the_channel_layer_delivers_a_group_message():
    layer = get_channel_layer()
    expected = "RedisChannelLayer" if settings.REDIS_URL else "InMemoryChannelLayer"
    assert type(layer).__name__ == expected

    async def round_trip() -> dict:
        channel = await layer.new_channel()
        await layer.group_add("job-test", channel)
        await layer.group_send("job-test", {"type": "job.started", "seq": 1})
        message = await layer.receive(channel)
        await layer.group_discard("job-test", channel)
        return message

    assert async_to_sync(round_trip)() == {"type": "job.started", "seq": 1}
