"""Factor versions and edition imports.

Every factor version is immutable. All versions of one factor code live in one stream
(``factor-<code>``) in publication order; each import of an edition file is recorded on
``edition-<source_id>-<edition>``. Version ids are ``uuid5`` names, so re-importing a file maps to
the same ids; a corrected row of the same edition gets the next revision (and a new id).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from tanso_events.catalog import PLATFORM_TENANT
from tanso_events.envelope import DecimalStr
from tanso_events.unit_of_work import DomainEvent

from .catalogue_files import CatalogueEdition, FactorRow

#: Namespace of factor version ids (uuid5 of the project URL: stable forever).
FACTOR_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://tanso.dev/factors")


def factor_stream(code: str, tenant_id: str = PLATFORM_TENANT) -> str:
    """``factor-<code>`` for the official lists; ``tenant-factor-<tenant>-<code>`` for a tenant's own
    factors (two tenants may use the same ``tenant.`` code without sharing a stream)."""
    return f"factor-{code}" if tenant_id == PLATFORM_TENANT else f"tenant-factor-{tenant_id}-{code}"


def edition_stream(source_id: str, edition: str, tenant_id: str = PLATFORM_TENANT) -> str:
    if tenant_id == PLATFORM_TENANT:
        return f"edition-{source_id}-{edition}"
    return f"tenant-edition-{tenant_id}-{source_id}-{edition}"


def source_stream(source_id: str, tenant_id: str) -> str:
    return f"tenant-source-{tenant_id}-{source_id}"


def version_id(code: str, source_id: str, edition: str, revision: int = 1,
               tenant_id: str = PLATFORM_TENANT) -> str:
    """``uuid5(NS, "code|source_id|edition")``; corrections of the same edition add ``|r<n>``;
    a tenant's own factors are prefixed with ``tenant:<id>|`` so tenants never share an id."""
    name = f"{code}|{source_id}|{edition}" + ("" if revision == 1 else f"|r{revision}")
    if tenant_id != PLATFORM_TENANT:
        name = f"tenant:{tenant_id}|{name}"
    return str(uuid.uuid5(FACTOR_NAMESPACE, name))


class EditionImported(DomainEvent):
    """An edition file was imported (again, if its content changed)."""

    source_id: str
    edition: str
    content_sha256: str
    rows: int
    new: int
    changed: int
    unchanged: int
    publisher_ja: str
    publisher_en: str
    title_ja: str
    title_en: str
    licence: str
    url: str
    published: str | None = None
    valid_from_fy: int
    valid_to_fy: int | None = None


class SourceDeclared(DomainEvent):
    """A tenant described one of its own factor sources (e.g. a licensed database it holds rights
    to) when adding a factor by hand; appended again only when the description changes."""

    source_id: str
    publisher_ja: str
    publisher_en: str
    title_ja: str
    title_en: str
    licence: str
    url: str = ""
    edition: str
    valid_from_fy: int


class FactorVersionPublished(DomainEvent):
    """One immutable factor version; ``content_sha256`` hashes the version's content fields."""

    factor_version_id: str
    code: str
    revision: int
    name_ja: str
    name_en: str
    category: str
    scope: int | None = None
    scope3_category: int | None = None
    activity_unit: str
    value: DecimalStr
    value_unit: str
    gas: str
    heat_value_gj_per_unit: DecimalStr | None = None
    carbon_tc_per_gj: DecimalStr | None = None
    status: str
    sources: list[str]
    note: str = ""
    source_id: str
    edition: str
    valid_from_fy: int
    valid_to_fy: int | None = None
    supersedes_version_id: str | None = None
    content_sha256: str
    edition_sha256: str
    #: The edition's titles when the version was published (not part of the content hash; older
    #: events have none and take them from the edition's EditionImported).
    source_title_ja: str = ""
    source_title_en: str = ""


def version_content(row: FactorRow, edition: CatalogueEdition) -> dict[str, Any]:
    """The fields that make a version: the row plus the edition's identity and validity.

    ``scope3_category`` is part of the content only when set, so versions published before the
    field existed keep their hash (re-importing an unchanged list publishes nothing)."""
    content = {
        "code": row.code, "name_ja": row.name_ja, "name_en": row.name_en, "category": row.category,
        "scope": row.scope, "activity_unit": row.activity_unit, "value": row.value,
        "value_unit": row.value_unit, "gas": row.gas, "heat_value_gj_per_unit": row.heat_value_gj_per_unit,
        "carbon_tc_per_gj": row.carbon_tc_per_gj, "status": row.status, "sources": list(row.sources),
        "note": row.note, "source_id": edition.source_id, "edition": edition.edition,
        "valid_from_fy": edition.valid_from_fy, "valid_to_fy": edition.valid_to_fy,
    }
    if row.scope3_category is not None:
        content["scope3_category"] = row.scope3_category
    return content


def content_sha256(content: dict[str, Any]) -> str:
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=lambda d: format(d, "f"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class FactorHistory:
    """All versions of one factor code, oldest first (the ``factor-<code>`` stream)."""

    code: str
    versions: list[FactorVersionPublished] = field(default_factory=list)

    @property
    def latest(self) -> FactorVersionPublished | None:
        return self.versions[-1] if self.versions else None

    def of_edition(self, source_id: str, edition: str) -> list[FactorVersionPublished]:
        return [v for v in self.versions if (v.source_id, v.edition) == (source_id, edition)]

    def publish(self, row: FactorRow, edition: CatalogueEdition,
                tenant_id: str = PLATFORM_TENANT) -> FactorVersionPublished | None:
        """The new version for ``row`` of ``edition``; ``None`` if the edition's current version
        already has this content. A new version supersedes the newest version of the code."""
        content = version_content(row, edition)
        digest = content_sha256(content)
        earlier = self.of_edition(edition.source_id, edition.edition)
        if earlier and earlier[-1].content_sha256 == digest:
            return None
        revision = len(earlier) + 1
        event = FactorVersionPublished(
            factor_version_id=version_id(row.code, edition.source_id, edition.edition, revision, tenant_id),
            revision=revision,
            supersedes_version_id=self.latest.factor_version_id if self.latest else None,
            content_sha256=digest,
            edition_sha256=edition.content_sha256,
            source_title_ja=edition.title_ja,
            source_title_en=edition.title_en,
            **content,
        )
        self.versions.append(event)
        return event


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    e.type_name(): e for e in (EditionImported, FactorVersionPublished, SourceDeclared)
}
