"""The recompute engine: the emission lines of one activity under the logic and factors in force.

One activity gives one primary line; a Scope 2 item also gives a market-based line (its market
factor, or the location factor when the tenant has none — the audit record says so); an energy item
with an upstream factor also gives a derived Scope 3 category 3 line. A line gets a new audit record
only when something it depends on changed; lines the logic no longer produces are voided.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select
from tanso_events import catalog
from tanso_events.catalog import PLATFORM_TENANT
from tanso_events.unit_of_work import UnitOfWork
from tanso_ghg.units import UnitMismatchError, UnknownUnitError, emission_to_tonnes
from tanso_runtime import metrics

from ..adapters import tables
from ..domain.events import LineComputed
from ..domain.formula import GENESIS_HASH, FactorTerms, apply_factor, chain_hash, factor_terms, fmt
from ..domain.logic import DEFAULT_LOGIC, LogicItem
from ..domain.methods import METHODS

#: ``aggregatetype`` of the outbox rows of emission lines.
EMISSION_LINE = "emission_line"
#: The reason recorded for the lines of an activity's first recording.
RECORDED = "activity recorded"


@dataclass(frozen=True)
class LinePlan:
    line_id: str
    kind: str  # primary | market | upstream
    scope: int
    scope3_category: int | None
    scope2_method: str | None
    method: str
    factor_code: str | None
    note: str | None = None


def plan_lines(activity_id: str, item: LogicItem) -> list[LinePlan]:
    scope2 = "location" if item.scope == 2 else None
    plans = [LinePlan(activity_id, "primary", item.scope, item.scope3_category, scope2, item.method, item.factor_code)]
    if item.scope == 2:
        note = None if item.market_factor_code else "no market instrument: market-based uses the location factor"
        plans.append(LinePlan(f"{activity_id}:market", "market", 2, None, "market", item.method,
                              item.market_factor_code or item.factor_code, note))
    if item.upstream_factor_code:
        plans.append(LinePlan(f"{activity_id}:cat3", "upstream", 3, 3, None, "fuel_upstream",
                              item.upstream_factor_code))
    return plans


def plans_for(activity_id: str, item: LogicItem | None, existing: dict) -> list[LinePlan]:
    """The lines of an activity; an item missing from the logic gives one line in error."""
    if item is None:
        return [LinePlan(activity_id, "primary", existing.get(activity_id, {}).get("scope") or 1, None, None,
                         "quantity_x_factor", None)]
    return plan_lines(activity_id, item)


async def logic_item(uow: UnitOfWork, tenant_id: str, fiscal_year: int, item_code: str
                     ) -> tuple[LogicItem | None, int]:
    """The item in force and the logic version (0 = the built-in logic)."""
    v = tables.logic_versions
    version = (await uow.conn.execute(select(v.c.version).where(
        v.c.tenant_id == tenant_id, v.c.fiscal_year == fiscal_year))).scalar()
    if version is None:
        return DEFAULT_LOGIC.get(item_code), 0
    i = tables.logic_items
    definition = (await uow.conn.execute(select(i.c.definition).where(
        i.c.tenant_id == tenant_id, i.c.fiscal_year == fiscal_year, i.c.item_code == item_code))).scalar()
    return (LogicItem.model_validate(definition) if definition else None), version


async def resolve_factor(uow: UnitOfWork, tenant_id: str, factor_code: str, fiscal_year: int):
    """The newest version of ``factor_code`` valid for ``fiscal_year`` (tenant-private ones included)."""
    key = ("factor", tenant_id, factor_code, fiscal_year)
    if key not in uow.cache:  # a Scope 2 line's market twin usually resolves the same factor
        uow.cache[key] = await _resolve_factor(uow, tenant_id, factor_code, fiscal_year)
    return uow.cache[key]


async def _resolve_factor(uow: UnitOfWork, tenant_id: str, factor_code: str, fiscal_year: int):
    f = tables.factor_versions
    query = (select(f).where(
        f.c.factor_code == factor_code,
        f.c.tenant_scope.in_([PLATFORM_TENANT, tenant_id]),
        f.c.valid_from_fy <= fiscal_year,
        or_(f.c.valid_to_fy.is_(None), f.c.valid_to_fy >= fiscal_year),
    ).order_by(f.c.seq.desc()).limit(1))
    return (await uow.conn.execute(query)).mappings().first()


async def recompute_activity(uow: UnitOfWork, tenant_id: str, activity_id: str, reason: str,
                             cause_event_id: str, *, inputs: dict | None = None) -> None:
    """Recompute every line of one activity; ``inputs``: its activity_inputs row if the caller has it."""
    a = inputs or (await uow.conn.execute(select(tables.activity_inputs).where(
        tables.activity_inputs.c.tenant_id == tenant_id,
        tables.activity_inputs.c.activity_id == activity_id))).mappings().one()
    item, logic_version = await logic_item(uow, tenant_id, a["fiscal_year"], a["item_code"])
    existing = {r["line_id"]: r for r in (await uow.conn.execute(select(tables.lines).where(
        tables.lines.c.tenant_id == tenant_id, tables.lines.c.activity_id == activity_id))).mappings()}
    plans = plans_for(activity_id, item, existing)
    for plan in plans:
        await _compute(uow, tenant_id, a, item, logic_version, plan, existing.get(plan.line_id), reason,
                       cause_event_id)
    planned = {p.line_id for p in plans}
    for line_id, prev in sorted(existing.items()):
        if line_id not in planned and prev["status"] != "voided":
            retired = LinePlan(line_id, "retired", prev["scope"], prev["scope3_category"], prev["scope2_method"],
                               prev["method"], prev["factor_code"], "the logic no longer produces this line")
            await _compute(uow, tenant_id, {**a, "status": "voided"}, item, logic_version, retired, prev, reason,
                           cause_event_id)


async def _compute(uow: UnitOfWork, tenant_id: str, a, item: LogicItem | None, logic_version: int, plan: LinePlan,
                   prev, reason: str, cause_event_id: str) -> None:
    factor = await factor_for(uow, tenant_id, a, item, plan)
    status, record = evaluate(a, item, plan, factor)
    factor_version_id = factor["factor_version_id"] if factor is not None else None
    signature = (status, factor_version_id, a["revision"], logic_version, record["result_t"])
    if prev is not None and (prev["status"], prev["factor_version_id"], prev["activity_revision"],
                             prev["logic_version"], fmt(prev["co2e_t"])) == signature:
        return  # same inputs, same figure: nothing to record

    seq, prev_hash = await chain_head(uow, tenant_id)
    seal(record, tenant_id, a, item, logic_version, plan, factor, status, prev, reason, cause_event_id,
         computed_at=uow.now.isoformat(), audit_record_id=str(uuid.uuid4()), seq=seq + 1, prev_hash=prev_hash)
    await uow.append(f"audit-{tenant_id}", seq, tenant_id, [LineComputed(record=record)])
    uow.cache[("head", tenant_id)] = (seq + 1, record["hash"])
    metrics.count_recalculation(reason_label(reason), uow=uow)
    if announces(status, prev):
        await uow.publish(emission_event(a, item, plan, record, status, reason, factor_version_id),
                          subject=plan.line_id, tenant_id=tenant_id, aggregate_type=EMISSION_LINE)


async def factor_for(uow: UnitOfWork, tenant_id: str, a, item: LogicItem | None, plan: LinePlan):
    """The factor version the line is computed with (None when it needs none or none is valid yet)."""
    if a["status"] != "voided" and item is not None and plan.factor_code:
        return await resolve_factor(uow, tenant_id, plan.factor_code, a["fiscal_year"])
    return None


def evaluate(a, item: LogicItem | None, plan: LinePlan, factor) -> tuple[str, dict]:
    """The line's status and result fields (result_t, message, formula, conversion); no I/O."""
    record: dict = {"result_t": "0", "message": plan.note, "formula": None, "conversion": None}
    if a["status"] == "voided":
        status, record["formula"] = "voided", "line voided: 0 t-CO2e"
    elif item is None:
        status = "error"
        record["message"] = f"item {a['item_code']!r} is not in the calculation logic of FY{a['fiscal_year']}"
    elif plan.factor_code and factor is None:
        status = "pending_factor"
        record["message"] = f"no version of factor {plan.factor_code} is valid for FY{a['fiscal_year']} yet"
    else:
        status = "calculated"
        multiplier = item.multiplier() if plan.kind != "upstream" else Decimal(1)
        quantity_unit = (item.quantity_unit or a["unit"]) if plan.kind != "upstream" else a["unit"]
        try:
            if factor is None:  # the amount already is an emission (investment share): no factor
                to_tonnes = emission_to_tonnes(quantity_unit)
                co2e = a["amount"] * multiplier * to_tonnes
                record.update(result_t=fmt(co2e), conversion={"from_unit": quantity_unit, "to_unit": "t-CO2e",
                                                              "multiplier": fmt(to_tonnes)},
                              formula=_formula(item, plan, a, multiplier, f"{fmt(co2e)} t-CO2e"))
            else:
                record.update(factor_result(item, plan, a, factor))
        except (UnitMismatchError, UnknownUnitError) as exc:
            status, record["message"] = "error", str(exc)
    return status, record


def seal(record: dict, tenant_id: str, a, item: LogicItem | None, logic_version: int, plan: LinePlan, factor,
         status: str, prev, reason: str, cause_event_id: str, *, computed_at: str, audit_record_id: str, seq: int,
         prev_hash: str) -> dict:
    """Complete ``record`` (the result fields of :func:`evaluate`) as audit record ``seq`` and chain it."""
    record.update(record_fields(tenant_id, a, item, logic_version, plan, factor, status, prev, reason,
                                cause_event_id, computed_at=computed_at, audit_record_id=audit_record_id,
                                seq=seq, prev_hash=prev_hash))
    record["hash"] = chain_hash(prev_hash, record)
    return record


def announces(status: str, prev) -> bool:
    """Whether reporting hears of the record: a figure, a void, or a figure withdrawn (now pending or error)."""
    return status in ("calculated", "voided") or (prev is not None and prev["status"] == "calculated")


async def chain_head(uow: UnitOfWork, tenant_id: str) -> tuple[int, str]:
    """(seq, hash) of the tenant's newest audit record; known without a query once this transaction wrote one."""
    if (cached := uow.cache.get(("head", tenant_id))) is not None:
        return cached
    t = tables.audit_records
    head = (await uow.conn.execute(select(t.c.seq, t.c.hash).where(
        t.c.tenant_id == tenant_id,
        t.c.seq == select(func.max(t.c.seq)).where(t.c.tenant_id == tenant_id).scalar_subquery()))).first()
    return (head[0], head[1]) if head else (0, GENESIS_HASH)


def record_fields(tenant_id: str, a, item: LogicItem | None, logic_version: int, plan: LinePlan, factor, status: str,
                  prev, reason: str, cause_event_id: str, *, computed_at: str, audit_record_id: str, seq: int,
                  prev_hash: str) -> dict:
    """The fields an audit record has after its result fields (result_t, message, formula, conversion)."""
    method = METHODS[plan.method]
    return {
        "audit_record_id": audit_record_id,
        "tenant_id": tenant_id,
        "seq": seq,
        "line_id": plan.line_id,
        "line_kind": plan.kind,
        "line_revision": (prev["line_revision"] + 1) if prev else 1,
        "status": status,
        "scope": plan.scope,
        "scope3_category": plan.scope3_category,
        "scope2_method": plan.scope2_method,
        "reason": reason,
        "cause_event_id": cause_event_id,
        "computed_at": computed_at,
        "activity": {"activity_id": a["activity_id"], "revision": a["revision"], "event_id": a["source_event_id"],
                     "org_unit_id": a["org_unit_id"], "item_code": a["item_code"], "period": a["period"],
                     "fiscal_year": a["fiscal_year"], "amount": fmt(a["amount"]), "unit": a["unit"]},
        "logic": {"version": logic_version, "item_code": a["item_code"], "method": plan.method,
                  "method_name_en": method.name_en, "factor_code": plan.factor_code or "none",
                  "energy_type": item.energy_type if item else None,
                  "params": {k: fmt(v) for k, v in item.params.items()} if item else {},
                  "quantity_unit": item.quantity_unit if item else None},
        "factor": None if factor is None else {
            "factor_version_id": factor["factor_version_id"], "factor_code": factor["factor_code"],
            "value": fmt(factor["value"]), "value_unit": factor["value_unit"], "event_id": factor["source_event_id"],
            "source_id": factor["source_id"], "source_title_ja": factor["source_title_ja"],
            "source_title_en": factor["source_title_en"], "edition": factor["edition"], "status": factor["status"]},
        "supersedes_audit_record_id": prev["audit_record_id"] if prev else None,
        "prev_hash": prev_hash,
    }


def emission_event(a, item: LogicItem | None, plan: LinePlan, record: dict, status: str, reason: str,
                   factor_version_id: str | None) -> catalog.EmissionCalculated:
    """The integration event announcing the line's figure of ``record``."""
    return catalog.EmissionCalculated(
        line_id=plan.line_id, line_revision=record["line_revision"], activity_id=a["activity_id"],
        org_unit_id=a["org_unit_id"], fiscal_year=a["fiscal_year"], period=a["period"],
        item_code=a["item_code"], scope=plan.scope, scope3_category=plan.scope3_category,
        scope2_method=plan.scope2_method, energy_type=item.energy_type if item else None,
        co2e_t=record["result_t"], status="calculated" if status == "calculated" else "voided",
        reason=reason, audit_record_id=record["audit_record_id"],
        supersedes_audit_record_id=record["supersedes_audit_record_id"], factor_version_id=factor_version_id)


def factor_result(item: LogicItem, plan: LinePlan, a, factor, terms: FactorTerms | None = None) -> dict:
    """result_t, formula and conversion of a line computed with ``factor``; ``terms`` may be kept by a caller
    applying one factor to many amounts (:func:`factor_terms` of the same units). Raises on units that do not fit."""
    multiplier = multiplier_of(item, plan)
    quantity_unit = quantity_unit_of(item, plan, a["unit"])
    if terms is None:
        terms = factor_terms(quantity_unit, factor["value_unit"])
    calc = apply_factor(a["amount"] * multiplier, quantity_unit, factor["value"], factor["value_unit"], terms)
    return {"result_t": fmt(calc.co2e_t), "formula": _formula(item, plan, a, multiplier, calc.formula),
            "conversion": {"from_unit": quantity_unit, "to_unit": calc.factor_activity_unit,
                           "multiplier": fmt(calc.conversion), "emission_unit_to_t": fmt(calc.to_tonnes)}}


def multiplier_of(item: LogicItem, plan: LinePlan) -> Decimal:
    """Π(item parameters) applied to the amount (not to a derived upstream line)."""
    return item.multiplier() if plan.kind != "upstream" else Decimal(1)


def quantity_unit_of(item: LogicItem, plan: LinePlan, a_unit: str) -> str:
    """The unit of amount × parameters that the factor is applied to (see :func:`factor_result`)."""
    return (item.quantity_unit or a_unit) if plan.kind != "upstream" else a_unit


def reason_label(reason: str) -> str:
    """The bounded metric label of a recalculation reason (the audit record keeps the full text)."""
    for prefix, label in ((RECORDED, "initial"), ("activity corrected", "activity_corrected"),
                          ("activity voided", "activity_voided"), ("new factor version", "factor_published"),
                          ("logic ", "logic_changed")):
        if reason.startswith(prefix):
            return label
    return "other"


def _formula(item: LogicItem, plan: LinePlan, a, multiplier: Decimal, calculation: str) -> str:
    if plan.kind == "upstream" or multiplier == 1 and not item.params:
        return calculation
    params = " × ".join(f"{name} {fmt(item.params[name])}" for name, _ in METHODS[item.method].params)
    return f"{fmt(a['amount'])} {a['unit']} × {params} → {calculation}"
