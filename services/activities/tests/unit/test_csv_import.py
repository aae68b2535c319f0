"""CSV import through the service layer, on SQLite and PostgreSQL: encodings, the error report, all or
nothing, duplicates, dry runs, and bulk rows that equal the unit of work's (HTTP: test_csv_http.py)."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from sqlalchemy import Text, cast, delete, event, func, select
from sqlalchemy.exc import IntegrityError
from tanso_activities.adapters import bulk, tables
from tanso_activities.adapters.projections import PROJECTIONS
from tanso_activities.domain.commands import RecordActivity
from tanso_activities.service_layer import handlers
from tanso_activities.service_layer.csv_import import import_csv
from tanso_activities.service_layer.progress import ImportProgress, ProgressBoard
from tanso_activities.settings import CsvSettings
from tanso_events.envelope import Envelope
from tanso_events.projections import checksum, rebuild
from tanso_events.store import EventStore
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.auth import Principal
from tanso_runtime.errors import ProblemError

EDITOR = Principal(subject="user-1", tenant_id="t1", roles=frozenset({"editor"}))
OTHER = Principal(subject="user-9", tenant_id="t2", roles=frozenset({"editor"}))
HEADER = "拠点ID/org_unit_id,項目コード/item_code,年月/period,数量/amount,単位/unit,備考/note"


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\r\n".join([header, *rows]) + "\r\n"


async def rejected(run_import, data: bytes, **kw) -> ProblemError:
    with pytest.raises(ProblemError) as err:
        await run_import(data, **kw)
    return err.value


def cells(problem: ProblemError) -> list[tuple]:
    return [(e["row"], e["column"], e["code"]) for e in problem.extra["errors"]]


async def outbox(engine) -> list[Envelope]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(tables.messaging.outbox.c.payload)
                                   .order_by(tables.messaging.outbox.c.position))).all()
    return [Envelope.model_validate_json(r[0]) for r in rows]


async def test_a_cp932_file_with_nec_and_ibm_characters_imports(run_import, csv_engine, count):
    note = "髙橋商店 請求書①〜③ ㈱"
    with pytest.raises(UnicodeEncodeError):
        note.encode("shift_jis")
    data = csv_text(f"site-1,electricity,2025-04,12000,kWh,{note}", "site-1,city_gas,2025-05,3.5,千ｍ３,").encode("cp932")
    result = await run_import(data)
    assert (result.encoding, result.row_count, result.fiscal_years, result.duplicate) == ("cp932", 2, [2025], False)
    first, second = await outbox(csv_engine)
    assert first.data["note"] == note.replace("〜", "～")  # CP932 stores 〜 as 81 60, read back as ～
    assert (first.data["amount"], first.type, first.tenantid) == ("12000", "tanso.activities.ActivityRecorded.v1", "t1")
    assert (second.data["unit"], second.data["note"]) == ("千m3", None)
    assert await count() == 2


async def test_a_utf8_bom_file_imports_and_its_header_is_read_despite_the_bom(run_import, count):
    data = ("\ufeff" + csv_text("site-1,electricity,2026-03,1.5,MWh,")).encode("utf-8")
    result = await run_import(data)
    assert (result.encoding, result.row_count, result.fiscal_years) == ("utf-8-sig", 1, [2025])
    assert await count() == 1


async def test_formula_cells_are_rejected_with_their_row_and_column(run_import, count):
    data = csv_text("site-1,electricity,2025-04,100,kWh,=HYPERLINK(\"http://x\")",
                    "@site-1,electricity,2025-04,100,kWh,",
                    "site-1,electricity,2025-04,-5,kWh,",
                    "site-1,electricity,2025-04,+5,kWh,",
                    "site-1,electricity,2025-04,100,kWh,\"\t=cmd|' /C calc'!A0\"",
                    "site-1,electricity,2025-04,100,kWh,＝1+1",
                    "site-1,electricity,2025-04,100,kWh,a\0b").encode()
    problem = await rejected(run_import, data)
    assert cells(problem) == [(2, "note", "formula"), (3, "org_unit_id", "formula"), (4, "amount", "formula"),
                              (5, "amount", "formula"), (6, "note", "formula"), (7, "note", "formula"),
                              (8, "note", "nul")]
    assert "formula" in problem.extra["errors"][0]["reason_en"] and "数式" in problem.extra["errors"][0]["reason_ja"]
    assert await count() == 0


async def test_wrong_units_unknown_items_and_sites_of_other_tenants_are_reported(run_import, count):
    data = csv_text("site-1,electricity,2025-04,100,kL,", "site-1,electricity,2025-04,100,kwatt,",
                    "site-9,electricity,2025-04,100,kWh,", "nowhere,electricity,2025-04,100,kWh,",
                    "site-1,coal,2025-04,100,t,", "ＳＩＴＥ－１,電力（購入）,2025年4月,100,ｋｗｈ,").encode()
    problem = await rejected(run_import, data)
    assert cells(problem) == [(2, "unit", "unit_mismatch"), (3, "unit", "unknown_unit"),
                              (4, "org_unit_id", "unknown_org_unit"), (5, "org_unit_id", "unknown_org_unit"),
                              (6, "item_code", "unknown_item")]
    assert "kWh" in problem.extra["errors"][0]["reason_en"] and problem.extra["errors"][0]["value"] == "kL"
    assert problem.extra["bad_rows"] == 5 and await count() == 0


async def test_blank_amounts_are_skipped_and_malformed_numbers_are_errors(run_import, csv_engine):
    bad = ["abc", "1.200,5", "1,20", "1.2E+07", "¥100", "12 kWh", "0x10", "NaN", "1,,200"]
    rows = [f"site-1,electricity,2025-04,\"{amount}\",kWh," for amount in bad]
    problem = await rejected(run_import, csv_text(*rows, "site-1,electricity,2025-04,,kWh,invoice 7").encode())
    assert [(e["row"], e["value"], e["code"]) for e in problem.extra["errors"]] == [
        (2, "abc", "bad_amount"), (3, "1.200,5", "ambiguous_amount"), (4, "1,20", "ambiguous_amount"),
        (5, "1.2E+07", "bad_amount"), (6, "¥100", "bad_amount"), (7, "12 kWh", "bad_amount"),
        (8, "0x10", "bad_amount"), (9, "NaN", "bad_amount"), (10, "1,,200", "ambiguous_amount"),
        (11, "", "note_without_amount")]

    good = csv_text("site-1,electricity,2025-04,\"1,200\",kWh,", "site-1,electricity,2025-05,１２００．５,kWh,",
                    "site-1,electricity,2025-06,,kWh,", "site-1,electricity,2025-07,0,kWh,", ",,,,,", "")
    result = await run_import(good.encode())
    assert (result.row_count, result.skipped_rows) == (3, 1)
    assert [e.data["amount"] for e in await outbox(csv_engine)] == ["1200", "1200.5", "0"]


async def test_the_report_lists_every_bad_row_and_nothing_is_imported(run_import, csv_engine, count):
    rows = [f"site-1,electricity,2025-{m:02d},{m * 100},kWh," for m in range(1, 13)]
    rows[2] = "site-1,electricity,2025-13,100,kWh,"
    rows[7] = "site-1,electricity,2025-08,100,kWh,x,extra"
    rows[10] = "site-1,electricity,2025-11,1,200,kWh,"
    problem = await rejected(run_import, csv_text(*rows).encode())
    assert problem.status == 422 and problem.code == "invalid_csv" and problem.detail_ja
    assert cells(problem) == [(4, "period", "bad_period"), (9, None, "cell_count"), (12, None, "cell_count")]
    assert (problem.extra["error_count"], problem.extra["truncated"]) == (3, False)
    assert await count() == 0 and await outbox(csv_engine) == []
    async with csv_engine.connect() as conn:
        types = (await conn.execute(select(tables.messaging.events.c.type))).scalars().all()
    assert "ActivityRecorded" not in types and "ActivitiesImported" not in types


async def test_the_report_is_capped_but_the_error_count_is_exact(run_import):
    rows = ["site-1,electricity,2025-04,oops,kWh,"] * 50
    problem = await rejected(run_import, csv_text(*rows).encode(), limits=CsvSettings(max_reported_errors=10))
    assert (len(problem.extra["errors"]), problem.extra["error_count"], problem.extra["truncated"]) == (10, 50, True)


async def test_the_same_file_uploaded_twice_imports_nothing_the_second_time(run_import, csv_engine, count):
    data = csv_text("site-1,electricity,2025-04,100,kWh,").encode()
    first = await run_import(data)
    again = await run_import(data)
    dry = await run_import(data, dry_run=True)
    assert (again.duplicate, again.import_id, again.row_count) == (True, first.import_id, 1)
    assert dry.duplicate and await count() == 1 and len(await outbox(csv_engine)) == 1
    other_tenant = await run_import(data.replace(b"site-1", b"site-9"), principal=OTHER)
    assert not other_tenant.duplicate


async def test_a_second_upload_of_a_file_still_being_imported_answers_409(run_import, count):
    data = csv_text("site-1,electricity,2025-04,100,kWh,").encode()
    board = ProgressBoard()
    running = board.start(ImportProgress("first", "t1", file_sha256=hashlib.sha256(data).hexdigest()))
    problem = await rejected(run_import, data, board=board)
    assert (problem.status, problem.code, problem.extra["import_id"]) == (409, "import_running", "first")
    assert (await run_import(data, board=board, dry_run=True)).row_count == 1
    running.finish("failed")
    assert (await run_import(data, board=board)).row_count == 1 and await count() == 1


async def test_a_dry_run_validates_and_writes_nothing(run_import, csv_engine, count):
    data = csv_text("site-1,electricity,2025-04,100,kWh,", "site-2,kerosene,2025-05,0.2,L,").encode()
    result = await run_import(data, dry_run=True)
    assert (result.dry_run, result.row_count, result.duplicate) == (True, 2, False)
    assert await count() == 0 and await count(tables.csv_imports) == 0 and await outbox(csv_engine) == []
    assert (await run_import(data)).row_count == 2


async def test_header_problems_and_limits_are_clear_errors(run_import):
    problem = await rejected(run_import, csv_text("x", header="拠点ID,項目コード,年月,数量,単位,色,数量").encode())
    assert cells(problem) == [(1, None, "unknown_column"), (1, "amount", "duplicate_column")]
    problem = await rejected(run_import, csv_text("site-1,electricity", header="org_unit_id,item_code").encode())
    assert [c[1] for c in cells(problem)] == ["period", "amount", "unit"]
    many = csv_text(*["site-1,electricity,2025-04,1,kWh,"] * 4).encode()
    assert (await rejected(run_import, many, limits=CsvSettings(max_rows=3))).status == 413
    long_note = csv_text("site-1,electricity,2025-04,1,kWh," + "注" * 21).encode()
    assert cells(await rejected(run_import, long_note, limits=CsvSettings(max_field_chars=20))) == [
        (2, "note", "too_long")]
    wide = csv_text("1", header=",".join(["x"] * 30)).encode()
    assert cells(await rejected(run_import, wide)) == [(1, None, "too_many_columns")]
    assert (await rejected(run_import, "\ufeffa\r\n".encode("utf-16"))).code == "undecodable_csv"
    assert (await rejected(run_import, b"\xff\xfe\xfd\x80\x81")).code == "undecodable_csv"
    assert (await rejected(run_import, b"")).code == "empty_csv"
    assert (await rejected(run_import, csv_text("site-1,electricity,2025-04,,kWh,").encode())).code == "no_rows"


async def test_ten_thousand_rows_are_written_with_a_bounded_number_of_statements(run_import, csv_engine, count):
    rows = [f"site-{1 + i % 2},electricity,{2025 + (i % 24) // 12}-{1 + i % 12:02d},{i}.5,kWh,n{i}"
            for i in range(10_000)]
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])
    event.listen(csv_engine.sync_engine, "before_cursor_execute", listener)
    try:
        result = await run_import(csv_text(*rows).encode())
    finally:
        event.remove(csv_engine.sync_engine, "before_cursor_execute", listener)
    assert result.row_count == 10_000
    assert len(statements) <= 20, statements
    assert await count() == 10_000 and await count(tables.messaging.outbox) == 10_000


async def _stored_text(engine) -> dict[str, list[tuple]]:
    """Every column but ``position`` of the rows an ActivityRecorded leaves, as the database holds them."""
    out = {}
    for table in (tables.messaging.events, tables.activities, tables.messaging.outbox):
        query = select(*[cast(c, Text) for c in table.c if c.name != "position"])
        if table is tables.messaging.events:
            query = query.where(table.c.type == "ActivityRecorded")
        async with engine.connect() as conn:
            out[table.name] = [tuple(r) for r in (await conn.execute(query)).all()]
    return out


async def test_bulk_rows_are_byte_for_byte_what_the_unit_of_work_writes(csv_engine):
    note = '髙 "quoted" back\\slash\nnew line ① 😀 \x01 </script>'
    cmd = RecordActivity(org_unit_id="site-1", item_code="electricity", period="2026-03", amount=Decimal("1200.50"),
                         unit="ｋＷｈ", note=note)
    async with UnitOfWork(csv_engine, tables.messaging, PROJECTIONS) as uow:
        activity = await handlers.record_activity(cmd, EDITOR, uow)
        now = uow.now
    by_unit_of_work = await _stored_text(csv_engine)
    [event_row], [outbox_row] = by_unit_of_work["event_store"], by_unit_of_work["outbox"]
    ids = ([activity.activity_id], [event_row[0]], [outbox_row[0]])
    async with csv_engine.begin() as conn:
        for table in (tables.messaging.outbox, tables.activities):
            await conn.execute(delete(table))
        await conn.execute(delete(tables.messaging.events).where(tables.messaging.events.c.type == "ActivityRecorded"))
    facts = [("site-1", "electricity", "2026-03", 2025, Decimal("1200.50"), "kWh", note)]
    async with UnitOfWork(csv_engine, tables.messaging, PROJECTIONS) as uow:
        await bulk.append_recorded(uow.conn, uow.tables, facts, bulk.BulkContext("t1", "user-1", now), ids)
    assert await _stored_text(csv_engine) == by_unit_of_work
    [envelope] = await outbox(csv_engine)
    assert envelope.data["note"] == note and envelope.data["amount"] == "1200.50"


async def test_a_projection_rebuild_reproduces_the_imported_rows(run_import, csv_engine):
    rows = [f"site-1,{item},2025-{m:02d},{m}.25,{unit},note {m}" for m in range(1, 13)
            for item, unit in (("electricity", "kWh"), ("diesel", "L"))]
    await run_import(csv_text(*rows).encode())
    tables_ = [tables.activities, tables.csv_imports]
    async with csv_engine.connect() as conn:
        before = await checksum(conn, tables_)
    await rebuild(csv_engine, EventStore(tables.messaging), PROJECTIONS)
    async with csv_engine.connect() as conn:
        assert await checksum(conn, tables_) == before


async def test_every_row_of_a_chunked_import_is_one_event_one_outbox_message_and_one_activity(csv_engine):
    rows = [f"site-{1 + i % 2},diesel,2025-{1 + i % 12:02d},{i}.125,L,n{i}" for i in range(50)]
    data = csv_text(*rows).encode()
    seen: list[int] = []

    class Watched(ImportProgress):
        def __setattr__(self, name, value):  # every value rows_written takes while the rows are written
            if name == "rows_written" and value:
                seen.append(value)
            super().__setattr__(name, value)

    progress = Watched("00000000-0000-4000-8000-000000000050", "t1")
    result = await import_csv(csv_engine, lambda: UnitOfWork(csv_engine, tables.messaging, PROJECTIONS), EDITOR,
                              data, "f.csv", CsvSettings(chunk_rows=7), progress)
    assert result.row_count == 50 and progress.status == "completed"
    assert seen == [7, 14, 21, 28, 35, 42, 49, 50]  # after each chunk of 7 has been written
    async with csv_engine.connect() as conn:
        activity_ids = (await conn.execute(select(tables.activities.c.activity_id))).scalars().all()
        streams = (await conn.execute(select(tables.messaging.events.c.stream_id).where(
            tables.messaging.events.c.type == "ActivityRecorded"))).scalars().all()
    messages = await outbox(csv_engine)
    assert len(set(activity_ids)) == len(activity_ids) == 50
    assert sorted(streams) == sorted(f"activity-{a}" for a in activity_ids)
    assert sorted(m.subject for m in messages) == sorted(activity_ids) and len({m.id for m in messages}) == 50
    # the outbox keeps the file's row order (the relay publishes by position)
    assert [m.data["amount"] for m in messages] == [f"{i}.125" for i in range(50)]
    assert {m.data["note"] for m in messages} == {f"n{i}" for i in range(50)}


async def test_a_chunk_that_fails_half_way_leaves_nothing_of_the_file(csv_engine, count):
    facts = [("site-1", "electricity", "2025-04", 2025, Decimal(i), "kWh", None) for i in range(10)]
    ids = tuple(bulk.uuid4s(10) for _ in range(3))
    ids[2][8] = ids[2][1]  # the ninth outbox message repeats the second one's id: the third chunk fails
    written: list[int] = []
    with pytest.raises(IntegrityError):
        async with UnitOfWork(csv_engine, tables.messaging, PROJECTIONS) as uow:
            await bulk.write_recorded(uow.conn, uow.tables, facts, bulk.BulkContext("t1", "user-1", uow.now),
                                      chunk_rows=4, written=written.append, ids=ids)
    assert written == [4, 4]  # the chunks before the failing one were counted, the failing one not
    assert await count() == 0 and await outbox(csv_engine) == []
    async with csv_engine.connect() as conn:
        types = (await conn.execute(select(tables.messaging.events.c.type))).scalars().all()
    assert "ActivityRecorded" not in types


async def test_bulk_writes_on_a_plain_aiosqlite_connection_too(tmp_path):
    """The bulk writer finds the sqlite3 connection under aiosqlite (SQLAlchemy's default driver) as well."""
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'plain.sqlite3'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(tables.metadata.create_all)
        facts = [("site-1", "electricity", "2025-04", 2025, Decimal(i), "kWh", None) for i in range(7)]
        async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
            assert (await uow.conn.get_raw_connection()).driver_connection.__class__.__module__ == "aiosqlite.core"
            await bulk.write_recorded(uow.conn, uow.tables, facts, bulk.BulkContext("t1", "u", uow.now), chunk_rows=3)
        ids = tuple(bulk.uuid4s(7) for _ in range(3))
        ids[0][5] = ids[0][0]  # a repeated event id in the second chunk
        with pytest.raises(IntegrityError):
            async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
                await bulk.write_recorded(uow.conn, uow.tables, facts, bulk.BulkContext("t1", "u", uow.now),
                                          chunk_rows=3, ids=ids)
        async with engine.connect() as conn:
            counts = [(await conn.execute(select(func.count()).select_from(t))).scalar_one()
                      for t in (tables.activities, tables.messaging.outbox, tables.messaging.events)]
        assert counts == [7, 7, 7]  # the first file's rows; nothing of the failed one
    finally:
        await engine.dispose()


async def test_a_cancelled_import_waits_for_the_chunk_in_flight_then_rolls_back(csv_engine, count):
    """A client that goes away cancels the request: nothing is kept, and the connection stays usable."""
    import asyncio

    facts = [("site-1", "electricity", "2025-04", 2025, Decimal(i), "kWh", f"n{i}") for i in range(3000)]

    async def import_all():
        async with UnitOfWork(csv_engine, tables.messaging, PROJECTIONS) as uow:
            await bulk.write_recorded(uow.conn, uow.tables, facts, bulk.BulkContext("t1", "u", uow.now),
                                      chunk_rows=500, written=lambda n: task.cancel())

    task = asyncio.create_task(import_all())
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await count() == 0 and await outbox(csv_engine) == []
    async with UnitOfWork(csv_engine, tables.messaging, PROJECTIONS) as uow:
        await bulk.write_recorded(uow.conn, uow.tables, facts[:10], bulk.BulkContext("t1", "u", uow.now))
    assert await count() == 10 and await count(tables.messaging.outbox) == 10
