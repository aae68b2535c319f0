"""Set-based recompute of the lines that depend on a factor code, after a new factor version.

``on_factor_published`` used to recompute each affected activity with :func:`.lines.recompute_activity`:
about ten statements per line, hours for a million lines. :func:`recompute_factor_lines` writes the
same rows in bulk and gives the same bytes:

1. The affected lines (factor code, fiscal-year validity, not voided, only the publishing tenant's
   for a private factor) with their activity inputs are copied into a temporary work table, numbered
   in the order the per-activity path handles them: tenant, activity (the database's order, as the
   old ``ORDER BY tenant_id, activity_id``), then the activity's plan order (primary, market, cat3).
2. The work table is read in pages of ``page_rows``. Each line of the plain case — activity active
   and at the revision the line was computed with, logic version unchanged, the logic still plans
   this line with this factor code, a factor version in force and units that fit — is computed with
   the same pure functions as ``_compute`` (``apply_factor``, ``_formula``, ``factor_result``, ``record_fields``, ``emission_event``,
   ``chain_hash``); a line whose figure, factor version, revisions and status are all unchanged gets
   no record, as there. Any other line (pending, error, voided activity, changed logic …) falls
   back to ``recompute_activity`` for its whole activity, at its place in the order: the rows built
   so far are written first and the tenant's chain head is read again afterwards.
3. Records are serialised through templates made once per (tenant, year, item, line kind, unit) by
   running the real serialisers (``json.dumps`` as SQLAlchemy's JSON type stores it,
   ``canonical_json`` for the hash, ``Envelope.model_dump_json`` for the outbox) on a record whose
   per-line values are placeholders; each line fills the placeholders with its JSON-encoded values.
4. Per page, the rows ``UnitOfWork.append`` + the ``trail`` projection + ``UnitOfWork.publish``
   would write — ``event_store`` (stream ``audit-<tenant>``, version = seq, ``LineComputed``),
   ``audit_records``, ``outbox`` (``EmissionCalculated``) and the ``emission_lines`` update — go to
   the database through :class:`tanso_runtime.bulk.BulkWriter` (COPY on PostgreSQL, executemany on
   SQLite) in the caller's transaction, while the next page is computed.

Lines that do not depend on the factor code are not read: in a consistent state (every input change
recomputes its dependents) the per-activity path leaves them unchanged as well.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from decimal import Decimal
from json.encoder import encode_basestring, encode_basestring_ascii
from operator import itemgetter
from typing import Any

from sqlalchemy import select, text
from tanso_events import catalog
from tanso_events.catalog import PLATFORM_TENANT, topic_for
from tanso_events.envelope import new_envelope
from tanso_events.store import canonical_json
from tanso_events.tracing import current_traceparent
from tanso_events.unit_of_work import UnitOfWork
from tanso_ghg.units import UnitError
from tanso_runtime import metrics
from tanso_runtime.bulk import BulkWriter, processed, uuid4s

from ..adapters import tables
from ..adapters.projections import PROJECTIONS, trail
from ..domain.events import LineComputed
from ..domain.formula import GENESIS_HASH, FactorTerms, apply_factor, factor_terms, fmt
from ..domain.logic import LogicItem
from .lines import (
    EMISSION_LINE,
    LinePlan,
    _formula,
    emission_event,
    factor_result,
    logic_item,
    multiplier_of,
    plan_lines,
    quantity_unit_of,
    reason_label,
    recompute_activity,
    record_fields,
    resolve_factor,
)

log = logging.getLogger(__name__)

WORK = "tanso_recompute_work"
WORK_COLUMNS = (
    ("ord", "INTEGER"), ("tenant_id", "VARCHAR(64)"), ("line_id", "VARCHAR(100)"), ("activity_id", "VARCHAR(64)"),
    ("activity_revision", "INTEGER"), ("line_revision", "INTEGER"), ("status", "VARCHAR(20)"),
    ("logic_version", "INTEGER"), ("factor_version_id", "VARCHAR(64)"), ("co2e_t", "VARCHAR(64)"),
    ("audit_record_id", "VARCHAR(64)"), ("a_revision", "INTEGER"), ("source_event_id", "VARCHAR(64)"),
    ("a_status", "VARCHAR(20)"), ("org_unit_id", "VARCHAR(64)"), ("item_code", "VARCHAR(100)"),
    ("period", "VARCHAR(7)"), ("fiscal_year", "INTEGER"), ("amount", "VARCHAR(64)"), ("unit", "VARCHAR(20)"))
EVENT_COLUMNS = ("event_id", "stream_id", "version", "type", "data", "meta", "tenant_id", "recorded_at")
AUDIT_COLUMNS = ("audit_record_id", "tenant_id", "seq", "line_id", "line_revision", "supersedes", "record",
                 "prev_hash", "hash")
OUTBOX_COLUMNS = ("id", "aggregatetype", "aggregateid", "type", "topic", "payload", "headers", "created_at")
LINE_KEYS = ("tenant_id", "line_id")
LINE_COLUMNS = ("line_revision", "status", "factor_version_id", "co2e_t", "audit_record_id", "message")

_EVENT = catalog.EmissionCalculated
_EVENT_TYPE, _TOPIC = _EVENT.event_type(), topic_for(_EVENT.producer, _EVENT.version)
_RECORD_TYPE = LineComputed.type_name()

# Placeholders of the per-line values in a template, in the order of Template.fill's values.
_SLOTS = ("result_t", "formula", "audit_record_id", "seq", "line_id", "line_revision", "activity_id", "revision",
          "event_id", "org_unit_id", "period", "amount", "supersedes", "prev_hash", "hash", "message_id")
_SLOT = {name: f"@@tanso-slot-{i}@@" for i, name in enumerate(_SLOTS)}
_SLOT_TEXT = re.compile(r'"@@tanso-slot-(\d+)@@"')


@dataclass
class RecomputeResult:
    lines: int = 0  # lines depending on the factor code (read)
    records: int = 0  # new audit records written in bulk
    unchanged: int = 0  # lines whose figure and inputs did not change (no record, as per activity)
    fallback_activities: int = 0  # activities recomputed with recompute_activity
    seconds: float = 0.0


class _Filler:
    """A serialised sample record whose quoted placeholders are replaced by each line's JSON texts."""

    def __init__(self, serialised: str) -> None:
        parts = _SLOT_TEXT.split(serialised)  # literal, slot number, literal, … literal
        slots = [int(n) for n in parts[1::2]]
        self.parts = parts
        self.pick = (lambda values: (values[slots[0]],)) if len(slots) == 1 else itemgetter(*slots)

    def __call__(self, values: tuple) -> str:
        out = self.parts.copy()
        out[1::2] = self.pick(values)
        return "".join(out)


@dataclass(frozen=True)
class Template:
    """Everything that is the same for the lines of one (tenant, year, item, line kind, activity unit)."""

    item: LogicItem
    plan: LinePlan
    factor: Any
    logic_version: int
    terms: FactorTerms
    multiplier: Decimal
    quantity_unit: str
    stored: _Filler  # json.dumps(record): event data and audit_records.record
    canonical: _Filler  # canonical_json(record without hash): what the hash covers
    payload: _Filler  # Envelope.model_dump_json() of the EmissionCalculated
    message: str | None


class _Unplain(Exception):
    """The group's lines are not the plain "same item, new factor version" case."""


def _template(uow: UnitOfWork, tenant_id: str, fiscal_year: int, item_code: str, unit: str, item: LogicItem | None,
              logic_version: int, plan: LinePlan | None, factor, factor_code: str, reason: str,
              cause_event_id: str) -> Template:
    if item is None or plan is None or plan.factor_code != factor_code or factor is None:
        raise _Unplain
    try:
        terms = factor_terms(quantity_unit_of(item, plan, unit), factor["value_unit"])
    except UnitError as exc:
        raise _Unplain from exc
    s = _SLOT
    sample_a = {"activity_id": s["activity_id"], "revision": s["revision"], "source_event_id": s["event_id"],
                "org_unit_id": s["org_unit_id"], "item_code": item_code, "period": s["period"],
                "fiscal_year": fiscal_year, "amount": Decimal(1), "unit": unit}
    sample_plan = replace(plan, line_id=s["line_id"])
    # the conversion section depends on the group only; result_t and formula are per line
    result = factor_result(item, sample_plan, sample_a, factor, terms)
    record: dict = {"result_t": s["result_t"], "message": plan.note, "formula": s["formula"],
                    "conversion": result["conversion"]}
    record.update(record_fields(tenant_id, sample_a, item, logic_version, sample_plan, factor, "calculated", None,
                                reason, cause_event_id, computed_at=uow.now.isoformat(),
                                audit_record_id=s["audit_record_id"], seq=s["seq"], prev_hash=s["prev_hash"]))
    for key, slot in (("line_revision", "line_revision"), ("supersedes_audit_record_id", "supersedes")):
        assert key in record, key
        record[key] = s[slot]
    assert "amount" in record["activity"]
    record["activity"]["amount"] = s["amount"]
    canonical = canonical_json(record)
    record["hash"] = s["hash"]
    stored = json.dumps(record)

    event = emission_event(sample_a, item, sample_plan, {**record, "line_revision": 1, "result_t": "0"},
                           "calculated", reason, factor["factor_version_id"])
    data = event.model_dump(mode="json")
    for key, slot in (("line_revision", "line_revision"), ("co2e_t", "result_t"),
                      ("supersedes_audit_record_id", "supersedes")):
        assert key in data, key
        data[key] = s[slot]
    envelope = new_envelope(event, subject=s["line_id"], tenant_id=tenant_id, event_id=s["message_id"], time=uow.now)
    payload = envelope.model_copy(update={"data": data}).model_dump_json()

    texts = (stored, canonical, payload)
    if any(t.count("@@tanso-slot-") != len(_SLOT_TEXT.findall(t)) for t in texts):
        raise _Unplain  # a constant of the group looks like a placeholder: leave it to the per-activity path
    return Template(item, plan, factor, logic_version, terms, multiplier_of(item, plan),
                    quantity_unit_of(item, plan, unit), *map(_Filler, texts), message=plan.note)


def _encode(value: str) -> tuple[str, str]:
    """(ASCII-escaped as json.dumps writes it, UTF-8 as canonical_json and pydantic write it)."""
    utf8 = encode_basestring(value)
    return (utf8 if value.isascii() else encode_basestring_ascii(value)), utf8


async def per_activity(uow: UnitOfWork, factor_code: str, valid_from_fy: int, valid_to_fy: int | None,
                       tenant_id: str | None, reason: str, cause_event_id: str) -> RecomputeResult:
    """The reference path: each affected activity with :func:`recompute_activity` (what the handler did)."""
    started = time.perf_counter()
    t = tables.lines
    query = select(t.c.tenant_id, t.c.activity_id).where(
        t.c.factor_code == factor_code, t.c.fiscal_year >= valid_from_fy, t.c.status != "voided")
    if valid_to_fy is not None:
        query = query.where(t.c.fiscal_year <= valid_to_fy)
    if tenant_id is not None:
        query = query.where(t.c.tenant_id == tenant_id)
    affected = (await uow.conn.execute(query.distinct().order_by(t.c.tenant_id, t.c.activity_id))).all()
    for tenant, activity_id in affected:
        await recompute_activity(uow, tenant, activity_id, reason, cause_event_id)
    return RecomputeResult(fallback_activities=len(affected), seconds=time.perf_counter() - started)


async def recompute_factor_lines(uow: UnitOfWork, factor_code: str, valid_from_fy: int, valid_to_fy: int | None,
                                 tenant_id: str | None, reason: str, cause_event_id: str, *,
                                 page_rows: int = 20_000, progress_every: int = 100_000) -> RecomputeResult:
    """Recompute every line of ``factor_code`` valid for the years, of ``tenant_id`` (None: every tenant)."""
    if [p for p in PROJECTIONS if _RECORD_TYPE in p.handlers] != [trail]:  # pragma: no cover - wiring guard
        raise RuntimeError("another projection handles LineComputed; teach bulk_recompute.py its rows")
    started, cpu_started = time.perf_counter(), time.process_time()
    conn = uow.conn
    result = RecomputeResult()
    result.lines = await _fill_work_table(uow, factor_code, valid_from_fy, valid_to_fy, tenant_id)
    if result.lines == 0:
        await _drop_work_table(uow)
        return result
    log.info("recompute after %s: %d lines depend on %s", reason, result.lines, factor_code)
    writer = await BulkWriter.open(conn)
    dialect = conn.dialect
    messaging = tables.messaging
    meta = processed(messaging.events.c.meta, {"traceparent": current_traceparent(),
                                               "causation_id": uow.causation_id, "actor": None}, dialect)
    headers = {"content-type": "application/cloudevents+json"}
    if tp := current_traceparent():
        headers["traceparent"] = tp
    headers = processed(messaging.outbox.c.headers, headers, dialect)
    recorded_at = processed(messaging.events.c.recorded_at, uow.now, dialect)
    created_at = processed(messaging.outbox.c.created_at, uow.now, dialect)

    pending: Awaitable[None] | None = None

    async def drain() -> None:
        nonlocal pending
        if pending is not None:
            task, pending = pending, None
            await task

    logic_cache: dict[tuple, tuple[LogicItem | None, int]] = {}
    factor_cache: dict[tuple, Any] = {}
    templates: dict[tuple, Template | None] = {}
    heads: dict[str, list] = {}  # tenant -> [seq, hash]
    encoded: dict[str, tuple[str, str]] = {}
    sha256 = hashlib.sha256
    next_progress = progress_every
    last_ord = 0
    page = await _page(conn, last_ord, page_rows)
    try:
        while page:
            last_ord = page[-1][0]
            events, audits, outbox, updates = [], [], [], []
            ids = iter(uuid4s(3 * len(page)))
            skip_activity = None
            for n, (_, tenant, line_id, activity_id, line_activity_revision, line_revision, status, line_logic_version,
                    line_factor_version_id, co2e_t, prev_audit_id, revision, event_id, a_status, org_unit_id,
                    item_code, period, fiscal_year, amount_text, unit) in enumerate(page):
                if n % 500 == 0:
                    await asyncio.sleep(0)  # let the writes of the previous page stream meanwhile
                if (tenant, activity_id) == skip_activity:
                    continue
                suffix = line_id[len(activity_id):] if line_id.startswith(activity_id) else None
                key = (tenant, fiscal_year, item_code, suffix, unit)
                template = templates.get(key, False)
                if template is False:
                    await drain()
                    template = templates[key] = await _group(
                        uow, logic_cache, factor_cache, key, factor_code, reason, cause_event_id)
                plain = (template is not None and a_status == "active" and revision == line_activity_revision
                         and line_logic_version == template.logic_version)
                if not plain:
                    # write what is built so far, let the per-activity path handle this activity in its place
                    await drain()
                    await _write(writer, events, audits, outbox, updates)
                    events, audits, outbox, updates = [], [], [], []
                    await recompute_activity(uow, tenant, activity_id, reason, cause_event_id)
                    heads.pop(tenant, None)
                    result.fallback_activities += 1
                    skip_activity = (tenant, activity_id)
                    continue
                amount = Decimal(amount_text)
                # factor_result's figure and formula (its conversion section is the template's)
                calc = apply_factor(amount * template.multiplier, template.quantity_unit, template.factor["value"],
                                    template.factor["value_unit"], template.terms)
                result_t = fmt(calc.co2e_t)
                formula = _formula(template.item, template.plan, {"amount": amount, "unit": unit},
                                   template.multiplier, calc.formula)
                factor_version_id = template.factor["factor_version_id"]
                if status == "calculated" and line_factor_version_id == factor_version_id \
                        and fmt(Decimal(co2e_t)) == result_t:
                    result.unchanged += 1  # revisions and logic version are equal too (checked above)
                    continue
                head = heads.get(tenant)
                if head is None:
                    await drain()
                    head = heads[tenant] = list(await _head(conn, tenant))
                seq, prev_hash = head[0] + 1, head[1]
                audit_id, event_store_id, message_id = next(ids), next(ids), next(ids)
                line_a, line_u = _encode(line_id)
                act_a, act_u = _encode(activity_id)
                ev_a, ev_u = _encode(event_id)
                org = encoded.get(org_unit_id)
                if org is None:
                    if len(encoded) > 10_000:
                        encoded.clear()
                    org = encoded[org_unit_id] = _encode(org_unit_id)
                org_a, org_u = org
                per = encoded.get(period)
                if per is None:
                    per = encoded[period] = _encode(period)
                per_a, per_u = per
                formula_a, formula_u = _encode(formula)
                quoted_result = f'"{result_t}"'
                quoted_amount = f'"{fmt(amount)}"'
                q_audit, q_prev_audit, q_prev_hash = f'"{audit_id}"', f'"{prev_audit_id}"', f'"{prev_hash}"'
                new_revision = str(line_revision + 1)
                q_message = f'"{message_id}"'
                seq_text, revision_text = str(seq), str(revision)
                # values in _SLOTS order: JSON texts as json.dumps writes them (ASCII) and as UTF-8
                canonical = template.canonical((
                    quoted_result, formula_u, q_audit, seq_text, line_u, new_revision, act_u, revision_text, ev_u, org_u,
                    per_u, quoted_amount, q_prev_audit, q_prev_hash, None, q_message))
                digest = sha256((prev_hash + canonical).encode()).hexdigest()
                stored = template.stored((
                    quoted_result, formula_a, q_audit, seq_text, line_a, new_revision, act_a, revision_text, ev_a, org_a,
                    per_a, quoted_amount, q_prev_audit, q_prev_hash, f'"{digest}"', q_message))
                head[0], head[1] = seq, digest
                events.append((event_store_id, "audit-" + tenant, seq, _RECORD_TYPE, '{"record": ' + stored + "}",
                               meta, tenant, recorded_at))
                audits.append((audit_id, tenant, seq, line_id, line_revision + 1, prev_audit_id, stored, prev_hash,
                               digest))
                payload = template.payload((
                    quoted_result, formula_u, q_audit, seq_text, line_u, new_revision, act_u, revision_text, ev_u, org_u,
                    per_u, quoted_amount, q_prev_audit, q_prev_hash, None, q_message))
                outbox.append((message_id, EMISSION_LINE, line_id, _EVENT_TYPE, _TOPIC, payload, headers,
                               created_at))
                updates.append((tenant, line_id, line_revision + 1, "calculated", factor_version_id, result_t,
                                audit_id, template.message))
                result.records += 1
            await drain()
            page = await _page(conn, last_ord, page_rows) if len(page) == page_rows else []
            pending = asyncio.ensure_future(_write(writer, events, audits, outbox, updates))
            if progress_every and result.records + result.unchanged >= next_progress:
                elapsed = time.perf_counter() - started
                log.info("recompute after %s: %d of %d lines, %d records, %.0f lines/s", reason,
                         result.records + result.unchanged, result.lines, result.records,
                         (result.records + result.unchanged) / max(elapsed, 1e-9))
                next_progress += progress_every
        await drain()
    finally:
        if pending is not None:
            await asyncio.gather(pending, return_exceptions=True)  # the driver must be done before a rollback
    await writer.close()
    await _drop_work_table(uow)
    if result.records:
        metrics.count_recalculation(reason_label(reason), result.records, uow=uow)
        uow.wrote_outbox_rows(result.records)  # the relay is woken after the commit
    result.seconds = time.perf_counter() - started
    log.info("recompute after %s: %d lines, %d records, %d unchanged, %d activities per activity, %.1f s "
             "(%.0f lines/s, %.1f s CPU)", reason, result.lines, result.records, result.unchanged,
             result.fallback_activities, result.seconds, result.lines / max(result.seconds, 1e-9),
             time.process_time() - cpu_started)
    return result


async def _group(uow: UnitOfWork, logic_cache: dict, factor_cache: dict, key: tuple, factor_code: str, reason: str,
                 cause_event_id: str) -> Template | None:
    tenant, fiscal_year, item_code, suffix, unit = key
    if suffix is None:
        return None
    found = logic_cache.get((tenant, fiscal_year, item_code))
    if found is None:
        found = logic_cache[(tenant, fiscal_year, item_code)] = await logic_item(uow, tenant, fiscal_year, item_code)
    item, logic_version = found
    if (tenant, fiscal_year) not in factor_cache:
        factor_cache[(tenant, fiscal_year)] = await resolve_factor(uow, tenant, factor_code, fiscal_year)
    factor = factor_cache[(tenant, fiscal_year)]
    plan = None
    if item is not None:
        plan = next((p for p in plan_lines("", item) if p.line_id == suffix), None)
    try:
        return _template(uow, tenant, fiscal_year, item_code, unit, item, logic_version, plan, factor, factor_code,
                         reason, cause_event_id)
    except _Unplain:
        return None


async def _write(writer: BulkWriter, events: list, audits: list, outbox: list, updates: list) -> None:
    messaging = tables.messaging
    await writer.insert(messaging.events, EVENT_COLUMNS, events)
    await writer.insert(tables.audit_records, AUDIT_COLUMNS, audits)
    await writer.insert(messaging.outbox, OUTBOX_COLUMNS, outbox)
    await writer.update(tables.lines, LINE_KEYS, LINE_COLUMNS, updates)


async def _head(conn, tenant_id: str) -> tuple[int, str]:
    t = tables.audit_records
    row = (await conn.execute(select(t.c.seq, t.c.hash).where(t.c.tenant_id == tenant_id)
                              .order_by(t.c.seq.desc()).limit(1))).first()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)


async def _drop_work_table(uow: UnitOfWork) -> None:
    schema = "pg_temp" if uow.conn.dialect.name == "postgresql" else "temp"
    await uow.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {schema}.{WORK}")


async def _fill_work_table(uow: UnitOfWork, factor_code: str, valid_from_fy: int, valid_to_fy: int | None,
                           tenant_id: str | None) -> int:
    conn = uow.conn
    await _drop_work_table(uow)
    await conn.exec_driver_sql(f"CREATE TEMP TABLE {WORK} ({', '.join(f'{c} {t}' for c, t in WORK_COLUMNS)})")
    conditions = ["l.factor_code = :code", "l.fiscal_year >= :fy_from", "l.status <> 'voided'"]
    params: dict[str, Any] = {"code": factor_code, "fy_from": valid_from_fy}
    if valid_to_fy is not None:
        conditions.append("l.fiscal_year <= :fy_to")
        params["fy_to"] = valid_to_fy
    if tenant_id is not None:
        conditions.append("l.tenant_id = :tenant")
        params["tenant"] = tenant_id
    # the plan order of an activity's lines (lines.plan_lines): primary, market-based, upstream
    params.update(market=":market", cat3=":cat3")
    rank = ("CASE WHEN l.line_id = l.activity_id THEN 0 WHEN l.line_id = l.activity_id || :market THEN 1 "
            "WHEN l.line_id = l.activity_id || :cat3 THEN 2 ELSE 3 END")
    columns = ", ".join(c for c, _ in WORK_COLUMNS)
    inserted = await conn.execute(text(
        f"INSERT INTO {WORK} ({columns}) "
        f"SELECT row_number() OVER (ORDER BY l.tenant_id, l.activity_id, {rank}, l.line_id), "
        "l.tenant_id, l.line_id, l.activity_id, l.activity_revision, l.line_revision, l.status, l.logic_version, "
        "l.factor_version_id, l.co2e_t, l.audit_record_id, a.revision, a.source_event_id, a.status, a.org_unit_id, "
        "a.item_code, a.period, a.fiscal_year, a.amount, a.unit "
        "FROM emission_lines l LEFT JOIN activity_inputs a ON a.tenant_id = l.tenant_id "
        f"AND a.activity_id = l.activity_id WHERE {' AND '.join(conditions)}"), params)
    count = inserted.rowcount
    await conn.exec_driver_sql(f"CREATE INDEX {WORK}_ord ON {WORK} (ord)")
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql(f"ANALYZE {WORK}")
    return count


async def _page(conn, after: int, rows: int) -> list[tuple]:
    columns = ", ".join(c for c, _ in WORK_COLUMNS)
    result = await conn.execute(text(f"SELECT {columns} FROM {WORK} WHERE ord > :after ORDER BY ord LIMIT :n"),
                                {"after": after, "n": rows})
    return [tuple(r) for r in result]


def tenant_scope(publishing_tenant: str) -> str | None:
    """The tenant whose lines a factor published by ``publishing_tenant`` can affect (None: every tenant)."""
    return None if publishing_tenant == PLATFORM_TENANT else publishing_tenant
