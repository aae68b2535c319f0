"""Tenant-private factors: added one by one or imported from a licensed list the tenant holds.

Each version is immutable and published as FactorPublished with ``tenantid`` = the tenant, so only
that tenant's calculation resolves it. A new value for a code is a new version superseding the
previous one; the same value again publishes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from tanso_events.store import ConcurrencyError
from tanso_events.unit_of_work import UnitOfWork

from ..domain.catalogue_files import COLUMNS, FactorRow
from ..domain.model import FactorVersionPublished, SourceDeclared, source_stream
from ..domain.tenant_factors import ParsedCsv, TenantSource
from .handlers import ImportReport, Progress, append_version, import_edition, load_history

log = logging.getLogger(__name__)


@dataclass
class AddResult:
    version: FactorVersionPublished
    created: bool


def _declaration(source: TenantSource) -> SourceDeclared:
    return SourceDeclared(source_id=source.source_id, publisher_ja=source.publisher_ja,
                          publisher_en=source.publisher_en, title_ja=source.title_ja, title_en=source.title_en,
                          licence=source.licence, url=source.url, edition=source.edition,
                          valid_from_fy=source.valid_from_fy)


async def _declare_source(uow: UnitOfWork, tenant_id: str, source: TenantSource, actor: str) -> None:
    """Append SourceDeclared when the source is new or its description changed."""
    stream = await uow.load(source_stream(source.source_id, tenant_id))
    declared = _declaration(source)
    if stream and stream[-1].data == declared.model_dump(mode="json"):
        return
    await uow.append(source_stream(source.source_id, tenant_id), len(stream), tenant_id, [declared], actor=actor)


def _cells_of(row: FactorRow) -> list[str]:
    values = {
        "code": row.code, "name_ja": row.name_ja, "name_en": row.name_en, "category": row.category,
        "scope": "" if row.scope is None else str(row.scope),
        "scope3_category": "" if row.scope3_category is None else str(row.scope3_category),
        "activity_unit": row.activity_unit, "value": format(row.value, "f"), "value_unit": row.value_unit,
        "gas": row.gas, "heat_value_gj_per_unit": "" if row.heat_value_gj_per_unit is None else
        format(row.heat_value_gj_per_unit, "f"), "carbon_tc_per_gj": "" if row.carbon_tc_per_gj is None else
        format(row.carbon_tc_per_gj, "f"), "status": row.status, "sources": ";".join(row.sources), "note": row.note,
    }
    return [values[c] for c in COLUMNS]


async def add_tenant_factor(uow_factory: Callable[[], UnitOfWork], tenant_id: str, row: FactorRow,
                            source: TenantSource, actor: str, attempts: int = 3) -> AddResult:
    """Publish ``row`` as the tenant's newest version of its code (or return the current version
    when it already has this content). Retried when a concurrent request appended first."""
    edition = source.edition_of([row], [_cells_of(row)])
    attempt = 1
    while True:
        try:
            async with uow_factory() as uow:
                await _declare_source(uow, tenant_id, source, actor)
                history, length = await load_history(uow, row.code, tenant_id)
                version = history.publish(row, edition, tenant_id)
                if version is None:
                    current = history.of_edition(source.source_id, source.edition)[-1]
                    return AddResult(current, created=False)
                await append_version(uow, version, length, tenant_id, source.title_ja, source.title_en, actor)
                return AddResult(version, created=True)
        except ConcurrencyError:
            if attempt >= attempts:
                raise
            attempt += 1


async def import_tenant_csv(uow_factory: Callable[[], UnitOfWork], tenant_id: str, parsed: ParsedCsv,
                            source: TenantSource, actor: str, *, dry_run: bool = False,
                            progress: Progress | None = None, attempts: int = 3) -> ImportReport:
    """Import a checked upload (``parsed.errors`` must be empty) in ONE transaction: all rows or none."""
    assert not parsed.errors, "a file with errors imports nothing"
    edition = source.edition_of(parsed.rows, parsed.canonical, parsed.columns)
    attempt = 1
    while True:
        try:
            async with uow_factory() as uow:
                return await import_edition(edition, uow, progress, tenant_id=tenant_id, actor=actor,
                                            dry_run=dry_run)
        except ConcurrencyError:
            if attempt >= attempts:
                raise
            attempt += 1
            log.info("tenant %s import of %s %s raced; retrying", tenant_id, source.source_id, source.edition)
