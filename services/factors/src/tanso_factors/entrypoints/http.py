"""HTTP API of the factors service (exposed by the gateway under /api/factors).

Reading (any signed-in user): sources and their editions, factor search, one version, a code's
history. Writing (tenant admins): the tenant's own factors, one by one (``POST /factors``) or as a
CSV of a licensed list (``POST /factors/import``). Everything a tenant adds is visible to it only.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from tanso_ghg.units import UnitError, normalise_unit
from tanso_runtime.auth import CurrentPrincipal, Principal, require_roles
from tanso_runtime.errors import ProblemError, not_found

from ..adapters import queries
from ..domain.catalogue_files import CATEGORIES, STATUSES
from ..domain.tenant_factors import (
    DEFAULT_EDITION,
    DEFAULT_SOURCE_ID,
    TenantSource,
    parse_tenant_csv,
    tenant_row_problems,
)
from ..service_layer.tenant_factors import add_tenant_factor, import_tenant_csv
from .uploads import read_upload

log = logging.getLogger(__name__)
router = APIRouter(tags=["factors"])
DEFAULT_LICENCE = "Tenant's own value, not redistributed (テナント独自の値・再配布なし)"
TenantAdmin = Annotated[Principal, require_roles("admin")]


class FactorOut(BaseModel):
    factor_version_id: str
    code: str
    revision: int
    name_ja: str
    name_en: str
    category: str
    scope: int | None
    scope3_category: int | None
    activity_unit: str
    value: Decimal
    value_unit: str
    gas: str
    heat_value_gj_per_unit: Decimal | None
    carbon_tc_per_gj: Decimal | None
    source_id: str
    source_title_ja: str
    source_title_en: str
    edition: str
    valid_from_fy: int
    valid_to_fy: int | None
    status: str
    supersedes: str | None
    superseded_by: str | None
    sources: str
    note: str
    tenant_scope: str
    content_sha256: str
    published_at: datetime


class FactorPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[FactorOut]


class EditionOut(BaseModel):
    edition: str
    title_ja: str
    title_en: str
    published: str | None
    valid_from_fy: int
    valid_to_fy: int | None
    content_sha256: str
    rows: int
    imports: int
    imported_at: datetime


class SourceOut(BaseModel):
    source_id: str
    tenant_scope: str
    publisher_ja: str
    publisher_en: str
    title_ja: str
    title_en: str
    licence: str
    url: str
    latest_edition: str | None
    editions: list[EditionOut]


class TenantFactorIn(BaseModel):
    """A tenant's own factor. Send ``value`` as a string ("0.00525") to keep its printed digits."""

    code: str = Field(description="Namespaced under 'tenant.', e.g. tenant.idea.steel_hot_rolled")
    name_ja: str
    name_en: str = Field(default="", description="Defaults to name_ja")
    category: str | None = Field(default=None, description=f"One of {', '.join(CATEGORIES)}; "
                                 "default scope3 for Scope 3 factors, else other")
    scope: int = Field(ge=1, le=3)
    scope3_category: int | None = Field(default=None, ge=1, le=15)
    unit: str = Field(description="Activity unit, e.g. 円, t, kWh, 人・年")
    value: Decimal | str
    value_unit: str = Field(description="'<emission unit>/<activity unit>', e.g. kg-CO2e/円")
    gas: str = "CO2e"
    status: str = Field(default="UNVERIFIED", description=f"One of {', '.join(STATUSES)}")
    sources: str = Field(default="tenant", description="Source keys separated by ';'")
    note: str = ""
    source_id: str = DEFAULT_SOURCE_ID
    source_description: str = Field(default="", description="What the source is (出典の説明); default: "
                                    "the source's current description, else 'own factors'")
    source_description_en: str = ""
    publisher: str = ""
    licence: str = Field(default="", description="Licence note: under which rights the tenant uses the value; "
                         f"default: the source's current note, else '{DEFAULT_LICENCE}'")
    url: str = ""
    edition: str = DEFAULT_EDITION
    valid_from_fy: int
    valid_to_fy: int | None = None


class ImportOut(BaseModel):
    source_id: str
    edition: str
    encoding: str | None
    rows: int
    dry_run: bool
    already_imported: bool
    new: int
    changed: int
    unchanged: int
    new_codes: list[str]
    changed_codes: list[str]


def _engine(request: Request):
    return request.app.state.runtime.engine


def _unit(unit: str | None) -> str | None:
    try:
        return normalise_unit(unit) if unit else unit
    except UnitError:
        return unit  # e.g. a factor unit "t-CO2/kL": matched as written


def _invalid(errors: list[dict], en: str, ja: str) -> ProblemError:
    return ProblemError(422, "invalid_factors", en, ja, errors=errors)


@router.get("/sources", response_model=list[SourceOut],
            summary="Factor sources (出典) and their editions: official ones, then your tenant's own")
async def list_sources(request: Request, principal: CurrentPrincipal) -> list[dict]:
    async with _engine(request).connect() as conn:
        return await queries.list_sources(conn, principal.tenant_id)


@router.get("/factors", response_model=FactorPage, summary="Search factor versions")
async def search_factors(
    request: Request, principal: CurrentPrincipal,
    q: str | None = Query(default=None, description=(
        "Words that must all occur (AND) in the code, the Japanese or English name or the source title; "
        "matched after NFKC normalisation, case-insensitively (ＣＨ４ = ch4). An exact code comes first.")),
    source_id: str | None = None, edition: str | None = None, category: str | None = None,
    scope: int | None = None,
    scope3_category: int | None = Query(default=None, ge=1, le=15, description="Scope 3 category 1–15"),
    unit: str | None = Query(default=None, description="Activity unit (kL, kWh …) or factor unit"),
    fiscal_year: int | None = Query(default=None, description="Versions valid in this fiscal year"),
    status: str | None = None,
    current_only: bool = Query(default=False, description="Only versions not superseded yet"),
    tenant_only: bool = Query(default=False, description="Only your tenant's own factors"),
    limit: int = Query(default=100, ge=1, le=500), offset: int = Query(default=0, ge=0),
) -> FactorPage:
    flt = queries.FactorFilter(q=q, source_id=source_id, edition=edition, category=category, scope=scope,
                               scope3_category=scope3_category, unit=_unit(unit), fiscal_year=fiscal_year,
                               status=status, current_only=current_only, tenant_only=tenant_only)
    async with _engine(request).connect() as conn:
        total, rows = await queries.search_factors(conn, principal.tenant_id, flt, limit=limit, offset=offset)
    return FactorPage(total=total, limit=limit, offset=offset, items=[FactorOut(**r) for r in rows])


def _normalised(text: str) -> str:
    try:
        return normalise_unit(text)
    except UnitError:
        return text  # reported by the row check with the accepted units


@router.post("/factors", response_model=FactorOut, status_code=201,
             summary="Add a tenant-private factor (a new value for a code is a new version)",
             responses={200: {"description": "The code already has this content: nothing was added"},
                        422: {"description": "Invalid fields, each with the reason in English and Japanese"}})
async def add_factor(body: TenantFactorIn, request: Request, response: Response, principal: TenantAdmin) -> dict:
    value = body.value if isinstance(body.value, str) else format(body.value, "f")
    category = body.category or ("scope3" if body.scope == 3 else "other")
    cells = {
        "code": body.code.strip(), "name_ja": body.name_ja.strip(), "name_en": (body.name_en or body.name_ja).strip(),
        "category": category, "scope": str(body.scope),
        "scope3_category": "" if body.scope3_category is None else str(body.scope3_category),
        "activity_unit": _normalised(body.unit.strip()), "value": value.strip(),
        "value_unit": _normalised(body.value_unit.strip()), "gas": body.gas.strip(), "heat_value_gj_per_unit": "",
        "carbon_tc_per_gj": "", "status": body.status.strip(), "sources": body.sources.strip(),
        "note": body.note.strip(),
    }
    row, problems = tenant_row_problems(cells)
    async with _engine(request).connect() as conn:  # fields left out keep the source's current ones
        known = await queries.get_own_source(conn, principal.tenant_id, body.source_id.strip()) or {}
    if body.source_description.strip():
        description = body.source_description.strip()
        description_en = body.source_description_en.strip() or description
    else:
        description = known.get("title_ja") or f"テナント独自の排出係数（{principal.tenant_id}）"
        description_en = (body.source_description_en.strip() or known.get("title_en")
                          or f"Own factors of tenant {principal.tenant_id}")
    publisher = body.publisher.strip()
    source = TenantSource(
        source_id=body.source_id.strip(), edition=body.edition.strip(), title_ja=description,
        title_en=description_en, publisher_ja=publisher or known.get("publisher_ja") or principal.tenant_id,
        publisher_en=publisher or known.get("publisher_en") or principal.tenant_id,
        licence=body.licence.strip() or known.get("licence") or DEFAULT_LICENCE,
        url=body.url.strip() or known.get("url") or "", valid_from_fy=body.valid_from_fy,
        valid_to_fy=body.valid_to_fy)
    errors = [{"column": c, "code": code, "value": cells.get(c), "reason_en": en, "reason_ja": ja}
              for c, code, en, ja in problems]
    errors += [{"column": f, "code": code, "value": None, "reason_en": en, "reason_ja": ja}
               for f, code, en, ja in source.problems()]
    if errors:
        raise _invalid(errors, "The factor is invalid; see errors (one per field).",
                       "係数の内容に誤りがあります。errors を確認してください。")
    assert row is not None
    result = await add_tenant_factor(request.app.state.runtime.uow, principal.tenant_id, row, source,
                                     actor=principal.subject)
    if not result.created:
        response.status_code = 200
    async with _engine(request).connect() as conn:
        stored = await queries.get_factor(conn, principal.tenant_id, result.version.factor_version_id)
    return stored  # type: ignore[return-value]


@router.post("/factors/import", response_model=ImportOut,
             summary="Import a tenant-private factor list (CSV with the factors.csv columns)",
             responses={413: {"description": "The file is larger than the limit (refused before reading it all)"},
                        422: {"description": "Row-level errors (row, line, column, value, reason en/ja); "
                                              "nothing was imported"}})
async def import_factors(
    request: Request, principal: TenantAdmin,
    source_id: str = Query(description="Your source id, starting with 'tenant-', e.g. tenant-idea-v3"),
    edition: str = Query(description="Edition of the list, e.g. 3.4"),
    title_ja: str = Query(description="Source description (出典の説明)"),
    licence: str = Query(description="Licence note: the rights under which your tenant uses this list"),
    valid_from_fy: int = Query(description="First fiscal year the values apply to"),
    valid_to_fy: int | None = Query(default=None, description="Last fiscal year (open-ended if omitted)"),
    title_en: str = "", publisher_ja: str = "", publisher_en: str = "", url: str = "",
    dry_run: bool = Query(default=False, description="Check and report without importing"),
) -> ImportOut:
    """The body is the CSV itself or multipart/form-data with the field ``file``. Encoding: UTF-8,
    UTF-8 with BOM or CP932 (Excel's Japanese CSV). Header: the columns of the shipped factors.csv
    (``scope3_category`` may be left out). Codes must start with ``tenant.``. A file with any error
    imports nothing; the same file again imports nothing (all rows unchanged)."""
    settings = request.app.state.runtime.settings
    source = TenantSource(
        source_id=source_id.strip(), edition=edition.strip(), title_ja=title_ja.strip(),
        title_en=title_en.strip() or title_ja.strip(), publisher_ja=publisher_ja.strip() or principal.tenant_id,
        publisher_en=publisher_en.strip() or publisher_ja.strip() or principal.tenant_id,
        licence=licence.strip(), url=url.strip(), valid_from_fy=valid_from_fy, valid_to_fy=valid_to_fy)
    if problems := source.problems():
        raise _invalid([{"row": 0, "line": None, "column": f, "value": None, "code": code, "reason_en": en,
                         "reason_ja": ja} for f, code, en, ja in problems],
                       "The source parameters are invalid; see errors.", "出典の指定に誤りがあります。errors を確認してください。")
    data = await read_upload(request, settings.max_upload_bytes)
    parsed = parse_tenant_csv(data, max_rows=settings.max_upload_rows)
    if parsed.errors:
        raise _invalid([e.as_dict() for e in parsed.errors],
                       f"The file has {len(parsed.errors)} error(s); nothing was imported. Fix them and upload again.",
                       f"ファイルに {len(parsed.errors)} 件の誤りがあるため、何も取り込んでいません。修正して再度アップロードしてください。")

    def progress(done: int, total: int) -> None:
        if done % 1000 == 0 or done == total:
            log.info("tenant %s factor import %s %s: %d/%d rows", principal.tenant_id, source.source_id,
                     source.edition, done, total)

    report = await import_tenant_csv(request.app.state.runtime.uow, principal.tenant_id, parsed, source,
                                     actor=principal.subject, dry_run=dry_run, progress=progress)
    return ImportOut(source_id=source.source_id, edition=source.edition, encoding=parsed.encoding,
                     rows=len(parsed.rows), dry_run=dry_run, already_imported=report.already_imported,
                     **report.counts, new_codes=report.new, changed_codes=report.changed)


@router.get("/factors/by-code/{code}/versions", response_model=list[FactorOut],
            summary="Every version of one factor code, oldest first")
async def factor_history(code: str, request: Request, principal: CurrentPrincipal) -> list[dict]:
    async with _engine(request).connect() as conn:
        rows = await queries.versions_of(conn, principal.tenant_id, code)
    if not rows:
        raise not_found("Factor code", "排出係数コード", code)
    return rows


@router.get("/factors/{factor_version_id}", response_model=FactorOut, summary="One factor version")
async def get_factor(factor_version_id: str, request: Request, principal: CurrentPrincipal) -> dict:
    async with _engine(request).connect() as conn:
        row = await queries.get_factor(conn, principal.tenant_id, factor_version_id)
    if row is None:
        raise not_found("Factor version", "排出係数バージョン", factor_version_id)
    return row
