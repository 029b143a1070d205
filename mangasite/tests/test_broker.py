"""django-q2 talks to the broker the setup names: the ORM in the embedded default, Redis with REDIS_URL."""

from __future__ import annotations

import pytest
from django.conf import settings
from django_q.signing import SignedPackage
from django_q.tasks import async_task


@pytest.mark.django_db
def test_the_broker_is_the_one_the_setup_names(broker):
    expected = "Redis" if settings.REDIS_URL else "ORM"
    assert type(broker).__name__ == expected
    assert broker.ping() is True


@pytest.mark.django_db
def test_a_task_round_trips_through_the_broker(broker):
    task_id = async_task("math.floor", 2.5, task_name="floor-test")
    assert broker.queue_size() == 1
    (ack_id, payload), *rest = broker.dequeue()
    assert rest == []
    task = SignedPackage.loads(payload)
    assert task["id"] == task_id
    assert task["func"] == "math.floor"
    assert task["args"] == (2.5,)
    broker.acknowledge(ack_id)
    assert broker.queue_size() == 0
