"""Read models of the factors service, folded from its own event store.

Every row carries ``tenant_scope``: ``platform`` for the official lists, the tenant id for a
tenant's own sources and factors. Source titles are copied onto the factor versions (and into their
search text) so the search can match them; an edition's titles arrive after its versions
(``EditionImported`` is appended last), so that event refreshes the versions of its edition.
"""

from sqlalchemy import insert, or_, select, update
from tanso_events.projections import Projection

from ..domain.search import name_document, search_document
from . import tables

source_list = Projection("sources", [tables.sources, tables.editions])
factor_list = Projection("factor_versions", [tables.factor_versions])

_SOURCE_FIELDS = ("publisher_ja", "publisher_en", "title_ja", "title_en", "licence", "url")


async def _upsert_source(conn, tenant: str, d: dict) -> None:
    s = tables.sources
    key = (s.c.tenant_scope == tenant, s.c.source_id == d["source_id"])
    latest = (await conn.execute(select(s.c.latest_valid_from_fy, s.c.latest_edition).where(*key))).first()
    fields = {k: d.get(k) or "" for k in _SOURCE_FIELDS} | {
        "latest_edition": d["edition"], "latest_valid_from_fy": d["valid_from_fy"]}
    if latest is None:
        await conn.execute(insert(s).values(source_id=d["source_id"], tenant_scope=tenant, **fields))
    elif latest[0] is None or (d["valid_from_fy"], d["edition"]) >= tuple(latest):
        await conn.execute(update(s).where(*key).values(**fields))


async def _titles(conn, tenant: str, source_id: str, edition: str) -> tuple[str, str]:
    """The edition's titles, else the source's (a tenant's hand-added factors have no edition row)."""
    ed, s = tables.editions, tables.sources
    row = (await conn.execute(select(ed.c.title_ja, ed.c.title_en).where(
        ed.c.tenant_scope == tenant, ed.c.source_id == source_id, ed.c.edition == edition))).first()
    if row is None:
        row = (await conn.execute(select(s.c.title_ja, s.c.title_en).where(
            s.c.tenant_scope == tenant, s.c.source_id == source_id))).first()
    return (row[0], row[1]) if row else ("", "")


async def _refresh_titles(conn, tenant: str, source_id: str, edition: str | None,
                          title_ja: str, title_en: str) -> None:
    t = tables.factor_versions
    where = [t.c.tenant_scope == tenant, t.c.source_id == source_id,
             or_(t.c.source_title_ja != title_ja, t.c.source_title_en != title_en)]
    if edition is not None:
        where.append(t.c.edition == edition)
    rows = (await conn.execute(select(t.c.factor_version_id, t.c.code, t.c.name_ja, t.c.name_en)
                               .where(*where).order_by(t.c.factor_version_id))).all()
    for row in rows:
        await conn.execute(update(t).where(t.c.factor_version_id == row.factor_version_id).values(
            source_title_ja=title_ja, source_title_en=title_en,
            search_text=search_document(row.code, row.name_ja, row.name_en, title_ja, title_en)))


@source_list.on("EditionImported")
async def _edition_imported(conn, e):
    d, ed, tenant = e.data, tables.editions, e.tenant_id
    await _upsert_source(conn, tenant, d)
    edition = {"title_ja": d["title_ja"], "title_en": d["title_en"], "published": d.get("published"),
               "valid_from_fy": d["valid_from_fy"], "valid_to_fy": d.get("valid_to_fy"),
               "content_sha256": d["content_sha256"], "rows": d["rows"], "imported_at": e.recorded_at}
    key = (ed.c.tenant_scope == tenant, ed.c.source_id == d["source_id"], ed.c.edition == d["edition"])
    imports = (await conn.execute(select(ed.c.imports).where(*key))).scalar()
    if imports is None:
        await conn.execute(insert(ed).values(tenant_scope=tenant, source_id=d["source_id"], edition=d["edition"],
                                             imports=1, **edition))
    else:
        await conn.execute(update(ed).where(*key).values(imports=imports + 1, **edition))
    await _refresh_titles(conn, tenant, d["source_id"], d["edition"], d["title_ja"], d["title_en"])


@source_list.on("SourceDeclared")
async def _source_declared(conn, e):
    await _upsert_source(conn, e.tenant_id, e.data)


@factor_list.on("SourceDeclared")
async def _source_retitled(conn, e):
    """A tenant's hand-added factors take their titles from the source (they have no edition row)."""
    d, ed = e.data, tables.editions
    editions = {r[0] for r in await conn.execute(select(ed.c.edition).where(
        ed.c.tenant_scope == e.tenant_id, ed.c.source_id == d["source_id"]))}
    t = tables.factor_versions
    rows = (await conn.execute(select(t.c.edition).distinct().where(
        t.c.tenant_scope == e.tenant_id, t.c.source_id == d["source_id"]))).all()
    for (edition,) in sorted(rows):
        if edition not in editions:
            await _refresh_titles(conn, e.tenant_id, d["source_id"], edition, d["title_ja"], d["title_en"])


@factor_list.on("FactorVersionPublished")
async def _version_published(conn, e):
    d, t = e.data, tables.factor_versions
    title_ja, title_en = d.get("source_title_ja") or "", d.get("source_title_en") or ""
    if not (title_ja or title_en):  # published before versions carried their titles
        title_ja, title_en = await _titles(conn, e.tenant_id, d["source_id"], d["edition"])
    await conn.execute(insert(t).values(
        factor_version_id=d["factor_version_id"], tenant_scope=e.tenant_id, code=d["code"],
        stream_version=e.version, revision=d["revision"], name_ja=d["name_ja"], name_en=d["name_en"],
        category=d["category"], scope=d.get("scope"), scope3_category=d.get("scope3_category"),
        activity_unit=d["activity_unit"], value=d["value"],
        value_unit=d["value_unit"], gas=d["gas"], heat_value_gj_per_unit=d.get("heat_value_gj_per_unit"),
        carbon_tc_per_gj=d.get("carbon_tc_per_gj"), source_id=d["source_id"], edition=d["edition"],
        valid_from_fy=d["valid_from_fy"], valid_to_fy=d.get("valid_to_fy"), status=d["status"],
        supersedes=d.get("supersedes_version_id"), superseded_by=None, sources=";".join(d["sources"]),
        note=d.get("note") or "", content_sha256=d["content_sha256"], published_at=e.recorded_at,
        source_title_ja=title_ja, source_title_en=title_en,
        search_text=search_document(d["code"], d["name_ja"], d["name_en"], title_ja, title_en),
        name_key=name_document(d["name_ja"], d["name_en"])))
    if d.get("supersedes_version_id"):
        await conn.execute(update(t).where(t.c.factor_version_id == d["supersedes_version_id"])
                           .values(superseded_by=d["factor_version_id"]))


PROJECTIONS = [source_list, factor_list]
