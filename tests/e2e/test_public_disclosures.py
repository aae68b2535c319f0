"""The public disclosure topic, end to end: what a buyer's own system receives from the real broker.

A buyer requests, the supplier opens the request (the buyer sees it "viewed") and grants two of
the figures it has — the public topic then carries exactly those, signed, addressed to that buyer,
and the example subscriber in ``examples/`` verifies them with the published key. (The PACT API
serving granted product footprints is proven by ``tests/conformance`` on the same platform setup.)
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("platform")]

EXAMPLE = Path(__file__).parents[2] / "examples" / "disclosure_subscriber.py"


def load_example():
    spec = importlib.util.spec_from_file_location("disclosure_subscriber", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def public_records(bootstrap: str, topic: str, wanted: int, timeout: float = 30.0) -> list[bytes]:
    """Every record on the public topic, read from the beginning, until ``wanted`` or the timeout."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"buyer-{uuid.uuid4().hex[:8]}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    values: list[bytes] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline and len(values) < wanted:
            batch = await consumer.getmany(timeout_ms=500)
            values += [r.value for records in batch.values() for r in records]
    finally:
        await consumer.stop()
    return values


def test_the_public_topic_carries_only_the_granted_figures_to_the_buyers_system(platform, broker, new_api):
    example = load_example()
    buyer, supplier = new_api(), new_api()
    buyer_id = buyer.sign_up("公開トピック買い手株式会社")["tenant_id"]
    supplier_id = supplier.sign_up("公開トピック部品株式会社")["tenant_id"]

    code = buyer.ok("POST", "/api/supplier-exchange/invitations", json={"supplier_tenant_id": supplier_id})["code"]
    supplier.ok("POST", f"/api/supplier-exchange/invitations/{code}/accept")
    request = buyer.ok("POST", "/api/supplier-exchange/requests", json={
        "supplier_tenant_id": supplier_id, "what": ["scope_total", "product_footprint"], "fiscal_year": 2025,
        "deadline": (date.today() + timedelta(days=14)).isoformat(), "message": "製品フットプリントをお願いします"})
    rid = request["request_id"]
    assert buyer.ok("GET", f"/api/supplier-exchange/requests/{rid}")["state"] == "requested"
    supplier.ok("GET", f"/api/supplier-exchange/requests/{rid}")  # the supplier opens it
    assert buyer.ok("GET", f"/api/supplier-exchange/requests/{rid}")["state"] == "viewed"

    granted = [{"kind": "scope_total", "scope": 1, "value": "120.5", "unit": "t-CO2e"},
               {"kind": "product_footprint", "product_id": "BOLT-M8", "value": "0.0123", "unit": "kg-CO2e/piece"}]
    disclosure = supplier.ok("POST", f"/api/supplier-exchange/requests/{rid}/grant", json={"figures": granted})
    assert buyer.ok("GET", f"/api/supplier-exchange/requests/{rid}")["state"] == "granted"

    jwks = httpx.get(f"{platform.url}/api/supplier-exchange/.well-known/jwks.json", timeout=10).json()
    ours = []
    for _ in range(30):  # the relay publishes right after the grant's commit; allow for the hop
        values = asyncio.run(public_records(broker, example.TOPIC, wanted=1, timeout=5))
        ours = [v for v in values if json.loads(v)["data"]["disclosure_id"] == disclosure["disclosure_id"]]
        if ours:
            break
    assert len(ours) == 1, "the grant did not reach the public topic"
    event = json.loads(ours[0])
    assert event["tenantid"] == buyer_id and event["data"]["buyer_tenant_id"] == buyer_id

    signed = example.handle(ours[0], jwks, buyer_id)
    assert [(f["kind"], f["value"]) for f in signed["figures"]] == [("scope_total", "120.5"),
                                                                     ("product_footprint", "0.0123")]
    assert example.handle(ours[0], jwks, supplier_id) is None  # another tenant's consumer skips it
    # Nothing beyond what was granted: no request message, no other figure, no internal ids.
    assert "製品フットプリント" not in ours[0].decode()
    assert {f["kind"] for f in event["data"]["figures"]} == {"scope_total", "product_footprint"}
