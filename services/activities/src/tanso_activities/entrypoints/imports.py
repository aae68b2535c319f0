"""HTTP API of CSV activity import: template, upload (or dry run), and the tenant's imports."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from tanso_runtime.auth import CurrentPrincipal, Principal, require_roles
from tanso_runtime.errors import ProblemError, not_found

from ..adapters import tables
from ..domain import csv_format, csv_rows
from ..service_layer import csv_template
from ..service_layer.csv_import import import_csv
from ..service_layer.progress import ImportProgress, ProgressBoard
from .uploads import read_upload

router = APIRouter(tags=["csv import"])
IMPORTERS = require_roles("admin", "editor")
UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _runtime(request: Request):
    return request.app.state.runtime


def _board(request: Request) -> ProgressBoard:
    if not hasattr(request.app.state, "csv_progress"):
        request.app.state.csv_progress = ProgressBoard()
    return request.app.state.csv_progress


@router.get("/csv-template", summary="CSV template of a fiscal year",
            description="\n\n".join(m.__doc__ for m in (csv_template, csv_format, csv_rows)),
            response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def download_template(request: Request, principal: CurrentPrincipal, fiscal_year: int | None = Query(
        default=None, ge=1990, le=2100), encoding: Literal["utf-8", "cp932"] = "utf-8") -> Response:
    async with _runtime(request).engine.connect() as conn:
        body, fy = await csv_template.template_csv(conn, principal.tenant_id, fiscal_year, encoding)
    charset = "windows-31j" if encoding == "cp932" else "utf-8"
    return Response(body, media_type=f"text/csv; charset={charset}", headers={
        "content-disposition": f'attachment; filename="activities_FY{fy}.csv"'})


_UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                       "properties": {"file": {"type": "string", "format": "binary"}}}}}}}


@router.post("/imports", summary="Import activities from a CSV file (all rows or none)", responses={
    200: {"description": "Dry run passed, or the same file was imported before (duplicate: true)"},
    201: {"description": "Imported"}, 413: {"description": "File too large or too many rows"},
    422: {"description": "Error report: every bad cell with row, column, value and reasons (en/ja)"}},
    openapi_extra=_UPLOAD_BODY)
async def upload(request: Request, principal: Principal = IMPORTERS, dry_run: bool = False,
                 import_id: str | None = Query(default=None, pattern=UUID, description=(
                     "Choose the id to poll GET /imports/{id} while the upload runs")),
                 filename: str | None = Query(default=None, max_length=255)) -> JSONResponse:
    """Body: the CSV itself (``text/csv``) or ``multipart/form-data`` with a ``file`` field.

    Runs inside the request: parse, validate every row, then write all rows in one transaction
    (nothing is imported from a file with any error). Progress (bytes received, rows validated,
    rows written) is at ``GET /imports/{id}`` meanwhile. The same file (SHA-256 of its bytes)
    imports once per tenant; later uploads answer 200 with the first import and ``duplicate: true``.
    Rules for cells: see ``GET /csv-template``.
    """
    runtime, board = _runtime(request), _board(request)
    settings = runtime.settings.csv
    import_id = (import_id or str(uuid.uuid4())).lower()
    if import_id in board:
        raise ProblemError(409, "import_id_taken", "This import id is in use; choose another.",
                           "この取込IDは使用中です。別のIDを指定してください。")
    progress = board.start(ImportProgress(import_id, principal.tenant_id, filename, dry_run))
    try:
        data, name = await read_upload(request, settings.max_bytes, progress, filename)
    except BaseException:
        progress.finish("rejected")
        raise
    progress.filename = name
    result = await import_csv(runtime.engine, runtime.uow, principal, data, name, settings, progress,
                              dry_run=dry_run, board=board)
    if not dry_run and not result.duplicate and runtime.relay:
        runtime.relay.wake()
    status = 201 if not (dry_run or result.duplicate) else 200
    return JSONResponse(result.as_dict(), status_code=status)


def _completed(row) -> dict:
    imported_at = row["imported_at"]
    return {"import_id": row["import_id"], "status": "completed", "filename": row["filename"],
            "encoding": row["encoding"], "file_sha256": row["file_sha256"], "row_count": row["row_count"],
            "skipped_rows": row["skipped_rows"],
            "fiscal_years": [int(y) for y in row["fiscal_years"].split(",") if y],
            "imported_by": row["imported_by"], "imported_at": imported_at.isoformat() if imported_at else None}


@router.get("/imports", summary="Your tenant's imports: running and recent ones first, then completed")
async def list_imports(request: Request, principal: CurrentPrincipal,
                       limit: int = Query(default=100, ge=1, le=1000)) -> list[dict]:
    t = tables.csv_imports
    async with _runtime(request).engine.connect() as conn:
        rows = (await conn.execute(select(t).where(t.c.tenant_id == principal.tenant_id)
                                   .order_by(t.c.imported_at.desc()).limit(limit))).mappings().all()
    completed = [_completed(r) for r in rows]
    done = {r["import_id"] for r in completed}
    live = [p.view() for p in _board(request).of_tenant(principal.tenant_id) if p.import_id not in done]
    return (live + completed)[:limit]


@router.get("/imports/{import_id}", summary="One import: its progress while it runs, its record when done")
async def get_import(import_id: str, request: Request, principal: CurrentPrincipal) -> dict:
    progress = _board(request).get(principal.tenant_id, import_id)
    t = tables.csv_imports
    async with _runtime(request).engine.connect() as conn:
        row = (await conn.execute(select(t).where(t.c.tenant_id == principal.tenant_id,
                                                  t.c.import_id == import_id))).mappings().first()
    if progress is None and row is None:
        raise not_found("Import", "取込", import_id)
    return {**(progress.view() if progress else {}), **(_completed(row) if row else {})}
