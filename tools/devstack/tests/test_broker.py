"""TansuBroker: starts, serves topics with partitions, produce/consume, stops and frees its port."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from tanso_devstack._util import port_open
from tanso_devstack.broker import BrokerError, TansuBroker


async def _roundtrip(bootstrap: str) -> bytes:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic("devstack.test", num_partitions=3, replication_factor=1)])
        [described] = await admin.describe_topics(["devstack.test"])
        assert len(described["partitions"]) == 3
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        sent = await producer.send_and_wait("devstack.test", b"hello", key=b"k")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partition = TopicPartition("devstack.test", sent.partition)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        record = await asyncio.wait_for(consumer.getone(), 15)
        return record.value
    finally:
        await consumer.stop()


def test_tansu_broker_roundtrip(tmp_path) -> None:
    with TansuBroker(log_path=tmp_path / "tansu.log") as broker:
        assert broker.running and broker.bootstrap.startswith("127.0.0.1:")
        assert asyncio.run(_roundtrip(broker.bootstrap)) == b"hello"
        port = broker.port
    assert not broker.running
    assert not port_open("127.0.0.1", port)
    assert "tansu" in (tmp_path / "tansu.log").read_text()


def test_tansu_broker_refuses_a_busy_port(tmp_path) -> None:
    with TansuBroker(log_path=tmp_path / "a.log") as first, pytest.raises(BrokerError, match="already in use"):
        TansuBroker(first.port, log_path=tmp_path / "b.log").start()
