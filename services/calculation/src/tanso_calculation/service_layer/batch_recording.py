"""Set-based recording of new activities: a CSV import's backlog reaching calculation.

The consumer hands a run of consecutive ``ActivityRecorded`` events to
:func:`.handlers.on_activities_recorded` in one unit of work. An activity seen for the first time is
computed with the same pure functions as the per-event path (``evaluate``, ``seal``,
``emission_event``) and its rows — the ``ActivityInput`` and ``LineComputed`` events, their
projections (``activity_inputs``, ``audit_records``, ``emission_lines``) and the
``EmissionCalculated`` outbox rows — are written with :func:`tanso_runtime.bulk.insert_all` instead
of about ten statements per activity. The tests compare both paths row for row.
"""

from __future__ import annotations

import uuid

from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta
from tanso_events.store import present
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime import metrics
from tanso_runtime.bulk import insert_all

from ..adapters import tables
from ..adapters.projections import PROJECTIONS, activity_row, audit_row, inputs, line_row, trail
from ..domain.events import ActivityInput, LineComputed
from .lines import (
    EMISSION_LINE,
    RECORDED,
    announces,
    chain_head,
    emission_event,
    evaluate,
    factor_for,
    plans_for,
    reason_label,
    seal,
)

if [p for p in PROJECTIONS if {"ActivityInput", "LineComputed"} & set(p.handlers)] != [inputs, trail]:
    raise RuntimeError("another projection handles ActivityInput or LineComputed: teach batch_recording.py its rows")


async def known_activities(uow: UnitOfWork, activity_ids: list[str]) -> set[str]:
    """Which of ``activity_ids`` have an input stream here already."""
    streams = await present(uow.conn, tables.messaging.events.c.stream_id, [f"activity-{i}" for i in activity_ids])
    return {stream.removeprefix("activity-") for stream in streams}


class NewActivities:
    """The rows of the new activities handled so far, written together by :meth:`write`."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.events: list[dict] = []
        self.activities: list[dict] = []
        self.audits: list[dict] = []
        self.lines: list[dict] = []
        self.outbox: list[dict] = []

    async def add(self, event: catalog.ActivityRecorded, meta: EnvelopeMeta, item, logic_version: int) -> None:
        """Compute the lines of a first recording under ``item`` (None: not in the logic) and queue its rows."""
        uow, tenant_id = self.uow, meta.tenant_id
        fact = ActivityInput(activity_id=event.activity_id, revision=1, source_event_id=meta.id, status="active",
                             org_unit_id=event.org_unit_id, item_code=event.item_code, period=event.period,
                             fiscal_year=event.fiscal_year, amount=event.amount, unit=event.unit)
        row = uow.event_row(f"activity-{event.activity_id}", 1, tenant_id, fact, causation_id=meta.id)
        self.events.append(row)
        self.activities.append(activity_row(tenant_id, row["data"]))
        a = {"tenant_id": tenant_id, **fact.model_dump(), "amount": fact.amount}
        for plan in plans_for(event.activity_id, item, {}):
            factor = await factor_for(uow, tenant_id, a, item, plan)
            status, record = evaluate(a, item, plan, factor)
            seq, prev_hash = await chain_head(uow, tenant_id)
            seal(record, tenant_id, a, item, logic_version, plan, factor, status, None, RECORDED, meta.id,
                 computed_at=uow.now.isoformat(), audit_record_id=str(uuid.uuid4()), seq=seq + 1,
                 prev_hash=prev_hash)
            uow.cache[("head", tenant_id)] = (seq + 1, record["hash"])
            self.events.append(uow.event_row(f"audit-{tenant_id}", seq + 1, tenant_id, LineComputed(record=record),
                                             causation_id=meta.id))
            self.audits.append(audit_row(tenant_id, record))
            self.lines.append(line_row(tenant_id, record))
            if announces(status, None):
                factor_version_id = factor["factor_version_id"] if factor is not None else None
                self.outbox.append(uow.outbox_row(
                    emission_event(a, item, plan, record, status, RECORDED, factor_version_id), subject=plan.line_id,
                    tenant_id=tenant_id, aggregate_type=EMISSION_LINE))

    async def write(self) -> None:
        """Write the queued rows in the unit of work's transaction."""
        if not self.events:
            return
        # event-store positions follow the list: each activity's input, then its lines, in event order
        await insert_all(self.uow.conn, [(tables.messaging.events, self.events),
                                         (tables.activity_inputs, self.activities), (tables.audit_records, self.audits),
                                         (tables.lines, self.lines), (tables.messaging.outbox, self.outbox)])
        metrics.count_recalculation(reason_label(RECORDED), len(self.audits), uow=self.uow)
        self.uow.wrote_outbox_rows(len(self.outbox))
        self.events, self.activities, self.audits, self.lines, self.outbox = [], [], [], [], []
