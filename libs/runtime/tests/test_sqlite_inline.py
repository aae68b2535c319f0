"""SQLite statements run on the event loop without ever blocking it on a lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from tanso_runtime.db import make_engine

metadata = MetaData()
items = Table("items", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))


async def engine_for(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.sqlite3'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return engine


async def test_concurrent_write_transactions_of_one_process_queue_instead_of_failing(tmp_path):
    engine = await engine_for(tmp_path)

    async def writer(n: int) -> None:
        async with engine.begin() as conn:
            count = (await conn.execute(select(func.count()).select_from(items))).scalar()
            await asyncio.sleep(0.01)  # hold the transaction across an await
            await conn.execute(insert(items).values(id=count + 1, name=f"w{n}"))

    await asyncio.gather(*(writer(n) for n in range(10)))  # read-modify-write: no lost update
    async with engine.connect() as conn:
        ids = (await conn.execute(select(items.c.id).order_by(items.c.id))).scalars().all()
    assert ids == list(range(1, 11))
    await engine.dispose()


async def test_a_lock_held_by_another_process_is_awaited_without_blocking_the_loop(tmp_path):
    engine = await engine_for(tmp_path)
    locked, release = threading.Event(), threading.Event()

    def other_process() -> None:  # another connection, as another process would hold it
        conn = sqlite3.connect(tmp_path / "inline.sqlite3", isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO items (id, name) VALUES (100, 'other')")
        locked.set()
        release.wait(5)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=other_process)
    thread.start()
    await asyncio.to_thread(locked.wait, 5)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(ticker())
    asyncio.get_running_loop().call_later(0.5, release.set)
    started = time.monotonic()
    async with engine.begin() as conn:
        await conn.execute(insert(items).values(id=1, name="ours"))
    waited = time.monotonic() - started
    ticking.cancel()
    thread.join()
    assert waited >= 0.4  # it did wait for the other writer ...
    # ... while the loop kept running other tasks: ~50 ticks on a quiet machine, 1 if the wait blocked
    # the loop; 5 leaves room for a loaded CI machine
    assert ticks >= 5
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(items))).scalar() == 2
    await engine.dispose()


async def test_bulk_inserts_and_rollback(tmp_path):
    engine = await engine_for(tmp_path)
    async with engine.begin() as conn:
        await conn.execute(insert(items), [{"id": i, "name": f"n{i}"} for i in range(1, 1001)])
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(items).values(id=5000, name="rolled back"))
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(items))).scalar() == 1000
    async with engine.begin() as conn:  # the write lock was released by the rollback
        await conn.execute(insert(items).values(id=5001, name="after"))
    await engine.dispose()
