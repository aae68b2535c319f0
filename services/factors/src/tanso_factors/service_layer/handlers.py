"""Importing catalogue editions: new factor versions into the event store, FactorPublished into the outbox."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tanso_events import catalog
from tanso_events.catalog import PLATFORM_TENANT
from tanso_events.store import ConcurrencyError
from tanso_events.unit_of_work import UnitOfWork

from ..domain.catalogue_files import CatalogueEdition, CatalogueFileError, iter_editions
from ..domain.gwp import gwp_editions
from ..domain.model import (
    FACTOR_NAMESPACE,
    EditionImported,
    FactorHistory,
    FactorVersionPublished,
    edition_stream,
    factor_stream,
)

log = logging.getLogger(__name__)

#: ``progress(rows_done, rows_total)``, called after each row.
Progress = Callable[[int, int], None]
ACTOR = "catalogue-import"


@dataclass
class ImportReport:
    source_id: str
    edition: str
    content_sha256: str
    #: The newest import of this edition had the same content hash: nothing was looked at.
    already_imported: bool = False
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {"new": len(self.new), "changed": len(self.changed), "unchanged": len(self.unchanged)}

    def summary(self) -> str:
        c = self.counts
        note = " (same file as the last import)" if self.already_imported else ""
        return (f"{self.source_id} {self.edition}: {c['new']} new, {c['changed']} changed, "
                f"{c['unchanged']} unchanged{note}")


#: Fields of FactorPublished that only newer versions of the event catalogue have; filled when the
#: installed catalogue knows them (e.g. ``scope3_category``), left out otherwise.
_OPTIONAL_CONTRACT_FIELDS = ("scope3_category",)


def factor_published(v: FactorVersionPublished, title_ja: str, title_en: str) -> catalog.FactorPublished:
    extra = {f: getattr(v, f) for f in _OPTIONAL_CONTRACT_FIELDS
             if f in catalog.FactorPublished.model_fields and getattr(v, f) is not None}
    return catalog.FactorPublished(
        factor_version_id=v.factor_version_id, factor_code=v.code, name_ja=v.name_ja, name_en=v.name_en,
        category=v.category, scope=v.scope, activity_unit=v.activity_unit, value=v.value,
        value_unit=v.value_unit, gas=v.gas, source_id=v.source_id, source_title_ja=title_ja,
        source_title_en=title_en, edition=v.edition, valid_from_fy=v.valid_from_fy,
        valid_to_fy=v.valid_to_fy, status=v.status, supersedes_version_id=v.supersedes_version_id,
        content_sha256=v.content_sha256, **extra)


async def load_history(uow: UnitOfWork, code: str, tenant_id: str = PLATFORM_TENANT) -> tuple[FactorHistory, int]:
    """The versions of ``code`` (of ``tenant_id``'s namespace) and the stream's length."""
    stream = await uow.load(factor_stream(code, tenant_id))
    history = FactorHistory(code, [FactorVersionPublished.model_validate(s.data)
                                   for s in stream if s.type == FactorVersionPublished.type_name()])
    return history, len(stream)


async def append_version(uow: UnitOfWork, version: FactorVersionPublished, expected: int, tenant_id: str,
                         title_ja: str, title_en: str, actor: str) -> None:
    """Store one version and queue its FactorPublished (``tenantid`` = ``tenant_id``), keyed by code."""
    await uow.append(factor_stream(version.code, tenant_id), expected, tenant_id, [version], actor=actor)
    event_id = uuid.uuid5(FACTOR_NAMESPACE, f"FactorPublished|{version.factor_version_id}")
    await uow.publish(factor_published(version, title_ja, title_en), subject=version.code,
                      tenant_id=tenant_id, aggregate_type="factor", event_id=str(event_id))


async def import_edition(edition: CatalogueEdition, uow: UnitOfWork,
                         progress: Progress | None = None, *, tenant_id: str = PLATFORM_TENANT,
                         actor: str = ACTOR, dry_run: bool = False) -> ImportReport:
    """Publish a new version for every row whose content is new for its (source, edition).

    The same file again publishes nothing; a corrected file publishes only the rows that differ.
    Each FactorPublished is keyed by the factor code, so one code's versions stay in order.
    ``tenant_id`` other than ``platform`` imports a tenant's private edition (its own streams, its
    own version ids, ``tenantid`` = the tenant). ``dry_run`` reports without writing anything.
    """
    report = ImportReport(edition.source_id, edition.edition, edition.content_sha256)
    total = len(edition.rows)
    imports = await uow.load(edition_stream(edition.source_id, edition.edition, tenant_id))
    if imports and imports[-1].data["content_sha256"] == edition.content_sha256:
        report.already_imported = True
        report.unchanged = [row.code for row in edition.rows]
        return report
    for done, row in enumerate(edition.rows, start=1):
        history, length = await load_history(uow, row.code, tenant_id)
        version = history.publish(row, edition, tenant_id)
        if version is None:
            report.unchanged.append(row.code)
        else:
            (report.changed if version.revision > 1 else report.new).append(row.code)
            if not dry_run:
                await append_version(uow, version, length, tenant_id, edition.title_ja, edition.title_en, actor)
        if progress:
            progress(done, total)
    if dry_run:
        return report
    imported = EditionImported(
        source_id=edition.source_id, edition=edition.edition, content_sha256=edition.content_sha256,
        rows=total, **report.counts, publisher_ja=edition.publisher_ja,
        publisher_en=edition.publisher_en, title_ja=edition.title_ja, title_en=edition.title_en,
        licence=edition.licence, url=edition.url,
        published=edition.published.isoformat() if edition.published else None,
        valid_from_fy=edition.valid_from_fy, valid_to_fy=edition.valid_to_fy)
    await uow.append(edition_stream(edition.source_id, edition.edition, tenant_id), len(imports), tenant_id,
                     [imported], actor=actor)
    return report


async def import_in_own_transaction(edition: CatalogueEdition, uow_factory: Callable[[], UnitOfWork],
                                    progress: Progress | None = None, attempts: int = 3, *,
                                    tenant_id: str = PLATFORM_TENANT, actor: str = ACTOR,
                                    dry_run: bool = False) -> ImportReport:
    """:func:`import_edition` in a fresh unit of work, retried when another importer (a second
    replica, the CLI) appended to the same streams first; the retry sees what it wrote."""
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
            log.info("%s %s was imported concurrently; retrying", edition.source_id, edition.edition)


def editions_to_import(extra_dirs: Iterable[Path] = (), *, strict: bool = False) -> list[CatalogueEdition]:
    """The shipped editions, the IPCC GWP sets read from the ``globalwarmingpotentials`` package, plus
    those under ``extra_dirs`` (which replace an edition with the same source and edition), in
    (source_id, valid_from_fy, edition) order, so a newer edition supersedes an older one. A bad extra
    folder raises when ``strict``, else it is logged and skipped."""
    chosen = {(e.source_id, e.edition): e for e in [*iter_editions(), *gwp_editions()]}
    for root in extra_dirs:
        try:
            extra = list(iter_editions(root))
        except CatalogueFileError as exc:
            if strict:
                raise
            log.error("skipping extra factor folder %s: %s", root, exc)
            continue
        for e in extra:
            if (e.source_id, e.edition) in chosen:
                log.warning("%s %s from %s replaces the one found earlier", e.source_id, e.edition, root)
            chosen[e.source_id, e.edition] = e
    return sorted(chosen.values(), key=lambda e: (e.source_id, e.valid_from_fy, e.edition))


# Integration events the factors service consumes (F5: supplier intensities from disclosures).
from .supplier_intensity import on_disclosure_granted  # after append_version: it imports it

EVENT_HANDLERS = {
    catalog.DisclosureGranted: on_disclosure_granted,
}
