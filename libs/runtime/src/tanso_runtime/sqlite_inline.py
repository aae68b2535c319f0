"""SQLite for asyncio without a thread hop per call.

aiosqlite runs every call — cursor creation, execute, fetch, close — on a helper thread and hands
the result back through the event loop: four thread hops per statement, which cost more CPU than
the statement itself (an indexed read or a one-row insert in WAL mode takes microseconds). This
module gives SQLAlchemy's ``sqlite+aiosqlite`` dialect a connection with aiosqlite's interface that
runs ordinary statements inline on the event loop and only bulk work (``executemany``,
``executescript``) on a thread.

Running inline means a statement must never wait for a lock on the loop thread, because the holder
may be another coroutine of the same loop. So write transactions are serialised in-process first:
``BEGIN`` awaits an :class:`asyncio.Lock` per database file (released by ``COMMIT``/``ROLLBACK``),
and only then asks SQLite for its lock, retrying asynchronously while another process holds it.
Statements inside a transaction find the lock already held; WAL readers never wait.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from collections.abc import Iterable
from typing import Any

#: How long ``BEGIN`` keeps trying while another process writes (the old busy timeout).
LOCK_TIMEOUT_SECONDS = 30.0
#: A transaction that changed more rows than this commits on a thread (the WAL write takes a while).
LARGE_COMMIT_ROWS = 10_000
#: SQLite's own busy wait for the rare statement that meets another process's lock (blocks the loop).
BUSY_TIMEOUT_MS = 50

_write_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary())


def _write_lock(path: str) -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    return _write_locks.setdefault(loop, {}).setdefault(path, asyncio.Lock())


class _InlineQueue:
    """Stands in for aiosqlite's request queue, which SQLAlchemy uses to set ``isolation_level``."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future, Any]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # noqa: BLE001 — handed to the awaiting caller
            future.set_exception(exc)


class InlineCursor:
    """aiosqlite's ``Cursor`` interface over a ``sqlite3.Cursor``, run inline."""

    def __init__(self, connection: InlineConnection, cursor: sqlite3.Cursor) -> None:
        self._owner = connection
        self._cursor = cursor

    def __await__(self):  # ``await connection.cursor()`` works as with aiosqlite
        return self._itself().__await__()

    async def _itself(self) -> InlineCursor:
        return self

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> InlineCursor:
        return self

    async def __anext__(self) -> Any:
        row = self._cursor.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    async def execute(self, sql: str, parameters: Iterable[Any] = ()) -> InlineCursor:
        if _is_begin(sql):
            await self._owner._begin(self._cursor, sql)
            return self
        self._cursor.execute(sql, parameters)
        if _ends_transaction(sql):
            self._owner._release()
        return self

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> InlineCursor:
        # Bulk writes can take seconds: run them on a thread so the loop keeps serving.
        await self._owner._offload(self._cursor.executemany, sql, parameters)
        return self

    async def executescript(self, script: str) -> InlineCursor:
        await self._owner._offload(self._cursor.executescript, script)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineConnection:
    """aiosqlite's ``Connection`` interface over a ``sqlite3.Connection``, run inline."""

    def __init__(self, path: str, connection: sqlite3.Connection) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = connection
        self._tx = _InlineQueue()
        self._write_lock: asyncio.Lock | None = None
        self._bulk_lock: asyncio.Lock | None = None
        self._changes_at_begin = 0

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    @property
    def total_changes(self) -> int:
        return self._conn.total_changes

    async def _offload(self, function: Any, *args: Any) -> Any:
        """Run one bulk call on a thread; one at a time per connection, in call order."""
        if self._bulk_lock is None:
            self._bulk_lock = asyncio.Lock()
        async with self._bulk_lock:
            return await asyncio.to_thread(function, *args)

    def cursor(self) -> InlineCursor:
        """A new cursor; like aiosqlite's, usable with ``await`` and ``async with``."""
        return InlineCursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Iterable[Any] = ()) -> InlineCursor:
        cursor = self.cursor()
        return await cursor.execute(sql, parameters)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> InlineCursor:
        cursor = self.cursor()
        return await cursor.executemany(sql, parameters)

    async def executescript(self, script: str) -> InlineCursor:
        cursor = self.cursor()
        return await cursor.executescript(script)

    async def commit(self) -> None:
        try:
            if self._conn.total_changes - self._changes_at_begin > LARGE_COMMIT_ROWS:
                await self._offload(self._conn.commit)  # writing out a bulk import takes seconds
            else:
                self._conn.commit()
        finally:
            self._release()

    async def rollback(self) -> None:
        try:
            self._conn.rollback()
        finally:
            self._release()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None
                self._release()

    def stop(self) -> None:
        """Forced close (SQLAlchemy's terminate)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._release()

    async def _begin(self, cursor: sqlite3.Cursor, sql: str) -> None:
        """Take this process's write lock for the file, then SQLite's (retrying, never blocking)."""
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        if self._write_lock is None:
            lock = _write_lock(self._path)
            try:
                await asyncio.wait_for(lock.acquire(), LOCK_TIMEOUT_SECONDS)
            except TimeoutError:
                raise sqlite3.OperationalError(
                    f"database is locked: no transaction on {self._path} could start within "
                    f"{LOCK_TIMEOUT_SECONDS:g} s") from None
            self._write_lock = lock
        delay = 0.001
        try:
            while True:
                try:
                    cursor.execute(sql)
                    self._changes_at_begin = self._conn.total_changes
                    return
                except sqlite3.OperationalError as exc:  # another process holds SQLite's lock
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        lock, self._write_lock = self._write_lock, None
        if lock is not None:
            lock.release()


def _is_begin(sql: str) -> bool:
    return sql.lstrip()[:5].upper() == "BEGIN"


def _ends_transaction(sql: str) -> bool:
    head = " ".join(sql.split()[:2]).upper()
    return head.startswith(("COMMIT", "END")) or (head.startswith("ROLLBACK") and head != "ROLLBACK TO")


async def connect(path: str) -> InlineConnection:
    """Open ``path`` for use on this event loop (autocommit mode: transactions are explicit)."""
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                 check_same_thread=False)
    return InlineConnection(path, connection)
