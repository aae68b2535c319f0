"""The outbox relay as a process of its own (``python -m tanso_runtime.relay``) and the API switch.

On a real Kafka-protocol broker (Tansu unless ``TANSO_KAFKA_BOOTSTRAP`` or Docker says otherwise):

- the relay program, started for ``activities`` against a SQLite file with unpublished outbox rows,
  publishes them in order with their keys and headers, marks them published, keeps polling for new
  rows, reports backlog and published counts on ``/metrics``, and stops cleanly on SIGTERM;
- an API process with ``OUTBOX__RELAY=external`` publishes nothing itself, while the same process
  with the default ``in_process`` does (the control that shows the check can fail).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import MetaData, insert, select
from tanso_devstack._util import free_port
from tanso_devstack.broker import broker_for_tests
from tanso_events.store import add_messaging_tables
from tanso_runtime.app import ServiceSpec, create_service_app
from tanso_runtime.db import make_engine
from tanso_runtime.relay import main as relay_main
from tanso_runtime.settings import service_settings

pytestmark = pytest.mark.xdist_group("kafka")

TOPIC = "tanso.activities.v1"


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory):
    with broker_for_tests(tmp_path_factory.mktemp("kafka")) as address:
        yield address


async def eventually(condition, timeout: float = 20.0, what: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await condition()
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, f"{what} not met within {timeout} s"
        await asyncio.sleep(0.1)


async def new_outbox_database(url: str):
    metadata = MetaData()
    tables = add_messaging_tables(metadata)
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return engine, tables, metadata


async def add_outbox_row(engine, tables, aggregate: str, *, published: bool = False, topic: str = TOPIC) -> str:
    event_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(insert(tables.outbox).values(
            id=event_id, aggregatetype="activity", aggregateid=aggregate, type="tanso.test.RelayProbe.v1",
            topic=topic, payload=json.dumps({"id": event_id, "aggregate": aggregate}),
            headers={"ce_id": event_id}, created_at=now - timedelta(seconds=5),
            published_at=now - timedelta(seconds=1) if published else None))
    return event_id


async def published_at(engine, tables) -> dict[str, datetime | None]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(tables.outbox.c.id, tables.outbox.c.published_at))).all()
    return {r.id: r.published_at for r in rows}


async def records_on(bootstrap: str, topic: str, wanted: set[str], timeout: float = 20.0) -> dict[str, object]:
    """The records of ``topic`` whose payload id is in ``wanted``, by id (all of them, or the test fails)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    found: dict[str, object] = {}
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or {0, 1, 2})]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = asyncio.get_running_loop().time() + timeout
        while not wanted <= found.keys() and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    event_id = json.loads(record.value)["id"]
                    if event_id in wanted:
                        found.setdefault(event_id, []).append(record)
    finally:
        await consumer.stop()
    return found


# --- the relay program --------------------------------------------------------------------------

def start_relay(service: str, env: dict[str, str], log_path) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "tanso_runtime.relay", service],
                                env=env, stdout=log, stderr=subprocess.STDOUT)


async def test_the_relay_program_publishes_a_services_outbox_and_stops_on_sigterm(bootstrap, tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'activities.sqlite3'}"
    engine, tables, _ = await new_outbox_database(url)
    already_published = await add_outbox_row(engine, tables, "a-0", published=True)
    pending = [await add_outbox_row(engine, tables, aggregate) for aggregate in ("a-1", "a-1", "a-2")]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANSO_")} | {
        "TANSO_ACTIVITIES_DATABASE__URL": url,
        "TANSO_ACTIVITIES_DATA_DIR": str(tmp_path / "data"),
        "TANSO_ACTIVITIES_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "TANSO_ACTIVITIES_KAFKA__REPUBLISH_WINDOW_SECONDS": "0",
        "TANSO_ACTIVITIES_OUTBOX__POLL_INTERVAL_SECONDS": "0.1",
        "TANSO_ACTIVITIES_OUTBOX__RELAY_PORT": str(port),
        "TANSO_ACTIVITIES_LOG_JSON": "false",
    }
    log_path = tmp_path / "relay.log"
    process = start_relay("activities", env, log_path)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            async def ready():
                assert process.poll() is None, f"the relay exited early:\n{log_path.read_text()}"
                try:
                    response = await http.get("/health/ready")
                except httpx.TransportError:
                    return None
                return response if response.status_code == 200 else None

            await eventually(ready, timeout=60, what="the relay's readiness")
            assert (await http.get("/health/live")).status_code == 200

            # The pending rows arrive on Kafka, keyed by aggregate, in outbox order; then they are marked.
            records = await records_on(bootstrap, TOPIC, set(pending))
            assert set(records) == set(pending), f"missing on Kafka: {set(pending) - set(records)}"
            assert [r.key for i in pending for r in records[i][:1]] == [b"a-1", b"a-1", b"a-2"]
            first, second = records[pending[0]][0], records[pending[1]][0]
            assert first.partition == second.partition and first.offset < second.offset, "one aggregate, in order"
            assert any(k == "traceparent" for k, _ in first.headers), f"no trace context: {first.headers}"

            async def all_marked():
                state = await published_at(engine, tables)
                return all(state[i] is not None for i in pending)

            await eventually(all_marked, what="outbox rows marked published")

            # A row committed later is published by the polling loop (no wake-up from another process).
            later = await add_outbox_row(engine, tables, "a-3")
            assert set(await records_on(bootstrap, TOPIC, {later})) == {later}
            await eventually(lambda: _marked(engine, tables, later), what="the later row marked published")

            # Republish window 0: the row published before the relay started was not sent again.
            assert not await records_on(bootstrap, TOPIC, {already_published}, timeout=2)

            body = (await http.get("/metrics")).text
            published = sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                            if line.startswith("tanso_events_published_total{") and 'service="activities"' in line)
            assert published == 4, f"tanso_events_published_total says {published}:\n{body}"
            assert 'tanso_outbox_backlog{service="activities"} 0.0' in body
            assert 'tanso_outbox_oldest_unpublished_age_seconds{service="activities"} 0.0' in body
            ready_body = (await http.get("/health/ready")).json()
            assert ready_body["checks"]["outbox_backlog"] == 0
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            returncode = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"the relay ignored SIGTERM:\n{log_path.read_text()}") from None
        await engine.dispose()
    output = log_path.read_text()
    # uvicorn shuts down gracefully, then re-raises the signal it caught (exit by SIGTERM).
    assert returncode in (0, -signal.SIGTERM), f"the relay exited with {returncode}:\n{output}"
    assert "outbox relay of activities stopped" in output, output
    assert "Application shutdown complete" in output, output


async def _marked(engine, tables, event_id: str) -> bool:
    return (await published_at(engine, tables))[event_id] is not None


def test_the_relay_program_names_the_service_it_cannot_find(capsys) -> None:
    with pytest.raises(SystemExit, match="no service 'no-such-service'.*tanso_no_such_service.settings"):
        relay_main(["no-such-service"])


# --- the API process with OUTBOX__RELAY=external --------------------------------------------------

RelayTestSettings = service_settings("relay-switch", 18_999)


@pytest.mark.parametrize("mode, publishes", [("external", False), ("in_process", True)])
async def test_an_api_process_with_an_external_relay_publishes_nothing_itself(
        bootstrap, tmp_path, mode: str, publishes: bool) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'api.sqlite3'}"
    engine, tables, metadata = await new_outbox_database(url)
    settings = RelayTestSettings(
        data_dir=tmp_path, log_json=False, database={"url": url},
        kafka={"bootstrap_servers": bootstrap, "republish_window_seconds": 0},
        outbox={"relay": mode, "poll_interval_seconds": 0.05})
    app = create_service_app(ServiceSpec(settings=settings, title="relay switch", description="test",
                                         metadata=metadata, tables=tables))
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        assert (runtime.relay is not None) == publishes, f"{mode}: relay {runtime.relay!r}"
        event_id = await add_outbox_row(engine, tables, f"switch-{mode}")
        await asyncio.sleep(1.5)  # 30 poll intervals
        marked = await _marked(engine, tables, event_id)
        on_kafka = await records_on(bootstrap, TOPIC, {event_id}, timeout=3 if not publishes else 20)
    await engine.dispose()
    assert marked == publishes, f"{mode}: the outbox row is {'' if marked else 'not '}marked published"
    assert bool(on_kafka) == publishes, f"{mode}: the event is {'' if on_kafka else 'not '}on Kafka"
