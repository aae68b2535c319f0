"""Importing an activity CSV: check every row, then record all of them in one transaction, or nothing.

1. The SHA-256 of the file's bytes is looked up in the tenant's accepted imports: a file already
   imported is answered with the first import (``duplicate``) and nothing is written.
2. Decode (UTF-8 / UTF-8 BOM / CP932), parse with the stdlib ``csv`` module and validate every row
   (:class:`~tanso_activities.domain.csv_rows.RowValidator`). Any error → 422 with the report; the
   loop yields to the event loop every ``_YIELD_EVERY`` rows so progress can be polled meanwhile.
3. Unless it is a dry run, one unit of work appends the ``ActivitiesImported`` event to
   ``import-<id>`` (its projection's unique (tenant, SHA-256) settles concurrent uploads of one file),
   then the rows in chunks with :func:`~tanso_activities.adapters.bulk.write_recorded` (COPY on
   PostgreSQL, raw executemany on SQLite; ``rows_written`` follows the chunks).
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tanso_events.store import ConcurrencyError
from tanso_events.tracing import current_traceparent
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime import metrics
from tanso_runtime.auth import Principal
from tanso_runtime.errors import ProblemError

from ..adapters import tables
from ..adapters.bulk import BulkContext, write_recorded
from ..adapters.logic import items_by_year
from ..domain.csv_errors import cell_error
from ..domain.csv_rows import RowValidator, UndecodableFile, decode, delimiter_of
from ..domain.imports import CsvImport
from ..domain.model import DomainRuleViolated
from ..settings import CsvSettings
from .progress import ImportProgress, ProgressBoard

_YIELD_EVERY = 5000


@dataclass
class ImportResult:
    import_id: str
    duplicate: bool
    dry_run: bool
    file_sha256: str
    encoding: str | None
    row_count: int
    skipped_rows: int
    fiscal_years: list[int]

    def as_dict(self) -> dict:
        return asdict(self)


async def previous_import(conn: AsyncConnection, tenant_id: str, sha256: str) -> dict | None:
    t = tables.csv_imports
    row = (await conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.file_sha256 == sha256))).mappings()
    return dict(found) if (found := row.first()) else None


def _duplicate(row: dict, dry_run: bool) -> ImportResult:
    years = [int(y) for y in row["fiscal_years"].split(",") if y]
    return ImportResult(row["import_id"], True, dry_run, row["file_sha256"], row["encoding"], row["row_count"],
                        row["skipped_rows"], years)


async def reference_facts(conn: AsyncConnection, tenant_id: str) -> tuple[int, list[str]]:
    start = (await conn.execute(select(tables.tenants.c.fiscal_year_start_month)
                                .where(tables.tenants.c.tenant_id == tenant_id))).scalar()
    if start is None:
        raise ProblemError(409, "tenant_not_ready", "Your tenant is still being set up; retry in a second.",
                           "テナントの準備中です。少し待ってから再試行してください。", retry_after=1)
    units = (await conn.execute(select(tables.org_units.c.org_unit_id)
                                .where(tables.org_units.c.tenant_id == tenant_id))).scalars().all()
    return start, list(units)


async def validate(data: bytes, org_units: list[str], start_month: int, limits: CsvSettings,
                   progress: ImportProgress, year_items: dict | None = None) -> tuple[RowValidator, str]:
    """Decode, parse and check every row; raises the 422/413 problem when the file cannot be imported."""
    try:
        text, encoding = decode(data)
    except UndecodableFile as exc:
        raise ProblemError(422, "undecodable_csv", str(exc), exc.detail_ja) from None
    progress.status = "validating"
    checker = RowValidator(org_units, start_month, max_field_chars=limits.max_field_chars,
                           max_columns=limits.max_columns, max_reported_errors=limits.max_reported_errors,
                           year_items=year_items)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text))
    number = 1
    try:
        header = next(reader, None)
        if header is None:
            raise ProblemError(422, "empty_csv", "The file is empty; download the template from GET /csv-template.",
                               "ファイルが空です。GET /csv-template からテンプレートを取得してください。")
        if checker.header(header):
            for number, cells in enumerate(reader, start=2):
                if number > limits.max_rows + 1:
                    raise ProblemError(413, "too_many_rows", f"The file has more than {limits.max_rows} rows; "
                                       "split it into several files.",
                                       f"行数が上限 {limits.max_rows} を超えています。ファイルを分割してください。")
                checker.row(number, cells)
                if number % _YIELD_EVERY == 0:
                    progress.rows_validated, progress.error_count = number - 1, checker.error_count
                    await asyncio.sleep(0)
    except csv.Error as exc:
        checker.fail(cell_error(number + 1, None, None, "csv_syntax", detail=str(exc)))
    progress.rows_validated, progress.error_count = number - 1, checker.error_count
    return checker, encoding


def _rejected(checker: RowValidator, encoding: str) -> ProblemError:
    n = checker.error_count
    return ProblemError(
        422, "invalid_csv",
        f"{n} problem(s) in {checker.bad_rows} row(s); nothing was imported. Fix them and upload the file again.",
        f"{checker.bad_rows} 行に {n} 件の誤りがあります。何も取り込んでいません。修正して再度アップロードしてください。",
        error_count=n, bad_rows=checker.bad_rows, truncated=len(checker.errors) < n, encoding=encoding,
        errors=[e.as_dict() for e in checker.errors])


async def import_csv(engine: AsyncEngine, uow_factory: Callable[[], UnitOfWork], principal: Principal,
                     data: bytes, filename: str | None, limits: CsvSettings, progress: ImportProgress,
                     *, dry_run: bool = False, board: ProgressBoard | None = None) -> ImportResult:
    """Import (or with ``dry_run`` only check) one file; ``progress`` follows it.

    With ``board``, a second upload of a file whose import is still running answers 409 at once
    (instead of validating it again and then waiting for the first one's write lock).
    """
    progress.file_sha256 = hashlib.sha256(data).hexdigest()
    if board is not None and not dry_run and (running := board.same_file_running(progress)) is not None:
        progress.finish("rejected")
        raise ProblemError(409, "import_running", f"This file is being imported right now (import "
                           f"{running.import_id}); follow GET /imports/{running.import_id}.",
                           f"このファイルは取込中です（取込ID {running.import_id}）。完了までお待ちください。",
                           import_id=running.import_id)
    try:
        return await _import(engine, uow_factory, principal, data, filename, limits, progress, dry_run)
    except ProblemError as exc:
        if progress.running:
            progress.finish("rejected" if exc.status < 500 else "failed")
        raise
    finally:
        if progress.running:
            progress.finish("failed")


async def _import(engine: AsyncEngine, uow_factory: Callable[[], UnitOfWork], principal: Principal,
                  data: bytes, filename: str | None, limits: CsvSettings, progress: ImportProgress,
                  dry_run: bool) -> ImportResult:
    tenant_id, sha256 = principal.tenant_id, progress.file_sha256
    async with engine.connect() as conn:
        if (row := await previous_import(conn, tenant_id, sha256)) is not None:
            progress.finish("duplicate")
            return _duplicate(row, dry_run)
        start_month, org_units = await reference_facts(conn, tenant_id)
        year_items = await items_by_year(conn, tenant_id)
    checker, encoding = await validate(data, org_units, start_month, limits, progress, year_items)
    if checker.error_count:
        metrics.count_csv_import("rejected")
        raise _rejected(checker, encoding)
    rows = checker.rows
    years = sorted({r[3] for r in rows})
    result = ImportResult(progress.import_id, False, dry_run, sha256, encoding, len(rows), checker.skipped, years)
    if not rows:
        raise ProblemError(422, "no_rows", "No row has an amount; fill in the amount column (数量/amount).",
                           "数量が入力された行がありません。数量の列を入力してください。")
    if dry_run:
        progress.finish("validated")
        metrics.count_csv_import("dry_run")
        return result
    progress.status, progress.rows_to_write = "writing", len(rows)
    try:
        async with uow_factory() as uow:
            if (row := await previous_import(uow.conn, tenant_id, sha256)) is not None:
                progress.finish("duplicate")
                return _duplicate(row, dry_run)
            event = CsvImport(progress.import_id).complete(
                file_sha256=sha256, filename=filename, encoding=encoding, row_count=len(rows),
                skipped_rows=checker.skipped, fiscal_years=years, imported_by=principal.subject,
                imported_at=uow.now)
            [stored] = await uow.append(f"import-{progress.import_id}", 0, tenant_id, [event],
                                        actor=principal.subject)
            ctx = BulkContext(tenant_id, principal.subject, uow.now, stored.event_id, current_traceparent())

            def written(n: int) -> None:
                progress.rows_written += n

            await write_recorded(uow.conn, uow.tables, rows, ctx, chunk_rows=limits.chunk_rows, written=written)
            metrics.count_csv_rows_imported(tenant_id, len(rows), uow=uow)
    except (IntegrityError, ConcurrencyError, DomainRuleViolated) as exc:
        async with engine.connect() as conn:
            if (row := await previous_import(conn, tenant_id, sha256)) is not None:
                progress.finish("duplicate")
                return _duplicate(row, dry_run)
        raise ProblemError(409, "import_conflict", f"The import could not be recorded: {exc}. Upload again.",
                           "取込を記録できませんでした。もう一度アップロードしてください。") from exc
    progress.finish("completed")
    metrics.count_csv_import("imported")
    return result
