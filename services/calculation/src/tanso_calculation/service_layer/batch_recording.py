"""Set-based recording of new activities: a CSV import's backlog reaching calculation.

The consumer hands a run of consecutive ``ActivityRecorded`` events to
:func:`.handlers.on_activities_recorded` in one unit of work. An activity seen for the first time is computed with the same pure functions as
the per-event path (``evaluate``, ``seal``, ``emission_event``) and its rows — the ``ActivityInput``
and ``LineComputed`` events, their projections (``activity_inputs``, ``audit_records``,
``emission_lines``) and the ``EmissionCalculated`` outbox rows — are written with
:class:`tanso_runtime.bulk.BulkWriter` instead of about ten statements per activity. Anything else (an
activity already known here, a copy arriving late) goes through :func:`.handlers.on_activity_recorded`
at its place in the run, after the rows built so far are written, so audit sequence numbers follow
the order of the events exactly as one event at a time would give them.
"""

from __future__ import annotations

from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta, new_envelope
from tanso_events.tracing import current_traceparent
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime import metrics
from tanso_runtime.bulk import BulkWriter, uuid4s

from ..adapters import tables
from ..adapters.projections import PROJECTIONS, activity_row, audit_row, inputs, line_row, trail
from ..domain.events import ActivityInput, LineComputed
from .lines import (
    _reason_label,
    announces,
    chain_head,
    emission_event,
    evaluate,
    factor_for,
    logic_item,
    plans_for,
    seal,
)

REASON = "activity recorded"
_IN_CHUNK = 500  # ids per IN (…) list, under SQLite's bound-parameter limit


class NewActivities:
    """The rows of the new activities handled so far, written together by :meth:`write`."""

    def __init__(self, uow: UnitOfWork) -> None:
        if [p for p in PROJECTIONS if {"ActivityInput", "LineComputed"} & set(p.handlers)] != [inputs, trail]:
            raise RuntimeError("another projection handles ActivityInput or LineComputed: "
                               "teach batch_recording.py its rows")  # pragma: no cover - wiring guard
        self.uow = uow
        self.events: list[dict] = []
        self.activities: list[dict] = []
        self.audits: list[dict] = []
        self.lines: list[dict] = []
        self.outbox: list[dict] = []
        self.records = 0

    async def add(self, event: catalog.ActivityRecorded, meta: EnvelopeMeta, item, logic_version: int) -> None:
        uow, tenant_id = self.uow, meta.tenant_id
        fact = ActivityInput(activity_id=event.activity_id, revision=1, source_event_id=meta.id, status="active",
                             org_unit_id=event.org_unit_id, item_code=event.item_code, period=event.period,
                             fiscal_year=event.fiscal_year, amount=event.amount, unit=event.unit)
        event_meta = {"traceparent": current_traceparent(), "causation_id": meta.id, "actor": None}
        data = fact.model_dump(mode="json")
        self._event(f"activity-{event.activity_id}", 1, fact.type_name(), data, event_meta, tenant_id)
        self.activities.append(activity_row(tenant_id, data))
        a = {"tenant_id": tenant_id, **fact.model_dump(), "amount": fact.amount}
        for plan in plans_for(event.activity_id, item, {}):
            factor = await factor_for(uow, tenant_id, a, item, plan)
            status, record = evaluate(a, item, plan, factor)
            seq, prev_hash = await chain_head(uow, tenant_id)
            audit_id, message_id = uuid4s(2)
            seal(record, tenant_id, a, item, logic_version, plan, factor, status, None, REASON, meta.id,
                 computed_at=uow.now.isoformat(), audit_record_id=audit_id, seq=seq + 1, prev_hash=prev_hash)
            uow.cache[("head", tenant_id)] = (seq + 1, record["hash"])
            self._event(f"audit-{tenant_id}", seq + 1, LineComputed.type_name(), {"record": record}, event_meta,
                        tenant_id)
            self.audits.append(audit_row(tenant_id, record))
            self.lines.append(line_row(tenant_id, record))
            self.records += 1
            if announces(status, None):
                factor_version_id = factor["factor_version_id"] if factor is not None else None
                self._publish(emission_event(a, item, plan, record, status, REASON, factor_version_id),
                              plan.line_id, tenant_id, message_id)

    def _event(self, stream_id: str, version: int, type_: str, data: dict, meta: dict, tenant_id: str) -> None:
        self.events.append({"event_id": None, "stream_id": stream_id, "version": version, "type": type_,
                            "data": data, "meta": meta, "tenant_id": tenant_id, "recorded_at": self.uow.now})

    def _publish(self, event: catalog.EmissionCalculated, subject: str, tenant_id: str, event_id: str) -> None:
        """The outbox row ``UnitOfWork.publish`` would write."""
        envelope = new_envelope(event, subject=subject, tenant_id=tenant_id, event_id=event_id, time=self.uow.now)
        headers = {"content-type": "application/cloudevents+json"}
        if tp := current_traceparent():
            headers["traceparent"] = tp
        self.outbox.append({"id": envelope.id, "aggregatetype": "emission_line", "aggregateid": subject,
                            "type": envelope.type, "topic": catalog.topic_for(event.producer, event.version),
                            "payload": envelope.model_dump_json(), "headers": headers, "created_at": self.uow.now,
                            "published_at": None})

    async def write(self) -> None:
        if not self.events:
            return
        for row, event_id in zip(self.events, uuid4s(len(self.events)), strict=True):
            row["event_id"] = event_id
        writer = await BulkWriter.open(self.uow.conn)
        # event-store positions follow the list: each activity's input, then its lines, in event order
        await writer.insert_dicts(tables.messaging.events, self.events)
        await writer.insert_dicts(tables.activity_inputs, self.activities)
        await writer.insert_dicts(tables.audit_records, self.audits)
        await writer.insert_dicts(tables.lines, self.lines)
        await writer.insert_dicts(tables.messaging.outbox, self.outbox)
        await writer.close()
        if self.records:
            metrics.count_recalculation(_reason_label(REASON), self.records, uow=self.uow)
        self.uow.wrote_outbox_rows(len(self.outbox))
        self.events, self.activities, self.audits, self.lines, self.outbox = [], [], [], [], []
        self.records = 0


async def existing_streams(uow: UnitOfWork, streams: list[str]) -> set[str]:
    """Which of ``streams`` have events already."""
    e = tables.messaging.events
    found: set[str] = set()
    for start in range(0, len(streams), _IN_CHUNK):
        chunk = streams[start:start + _IN_CHUNK]
        found.update((await uow.conn.execute(
            e.select().with_only_columns(e.c.stream_id).where(e.c.stream_id.in_(chunk)).distinct())).scalars())
    return found
