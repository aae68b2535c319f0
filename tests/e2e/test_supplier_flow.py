"""Supplier collaboration end to end through the gateway on a real Kafka-protocol broker.

A supplier computes its organisation intensity (F10) from its own emissions and the revenue it records in
identity (company and site, carried to reporting by RevenueRecorded); its buyer
invites it, requests a disclosure, the supplier grants it (F13); the buyer then sees the supplier in
its supplier analysis (F19) and gets a private factor with the supplier's intensity (F5), which its
Scope 3 category 1 calculation uses. A third tenant, and the supplier itself, see nothing of it (F23).
The data crosses supplier-exchange → factors → calculation → reporting as Kafka events.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("platform")]


def eventually(api, path: str, predicate, timeout: float = 30.0) -> dict:
    """GET until it answers 200 and ``predicate`` holds (the revenue travels identity → Kafka → reporting)."""
    deadline = time.monotonic() + timeout
    while True:
        response = api("GET", path)
        if response.status_code == 200 and predicate(response.json()):
            return response.json()
        assert time.monotonic() < deadline, f"GET {path} → {response.status_code}: {response.text}"
        time.sleep(0.1)


def test_a_granted_disclosure_reaches_the_buyers_analysis_and_factors_only(platform, new_api):
    buyer, supplier, stranger = new_api(), new_api(), new_api()
    buyer_tenant = buyer.sign_up("買い手製造株式会社")
    supplier_tenant = supplier.sign_up("部品サプライ株式会社")
    stranger.sign_up("第三者商事株式会社")
    supplier_id = supplier_tenant["tenant_id"]
    code = f"supplier:{supplier_id}:intensity"

    # The supplier's own FY2025: 12,000 kWh = 4.992 t-CO2e over revenue of 2 百万円 → 2.496 t-CO2e/百万円 (F10).
    # Revenue is recorded in identity (company and site) and reaches reporting as RevenueRecorded.
    site = supplier.add_site(supplier_tenant["org_unit_id"], "長野工場")
    supplier.record(site, "12000")
    supplier.wait_for("/api/reporting/reports/2025", lambda r: Decimal(r["total_t"]) == Decimal("4.992"))
    supplier.ok("PUT", "/api/identity/revenues/2025", json={"revenue_million_yen": "2"})
    supplier.ok("PUT", "/api/identity/revenues/2025", json={"revenue_million_yen": "1.6", "org_unit_id": site})
    intensity = eventually(supplier, "/api/reporting/intensity/2025", lambda b: b["disclosable_figure"])
    assert intensity["disclosable_figure"] == {"kind": "org_intensity", "value": "2.496", "unit": "t-CO2e/百万円"}
    at_site = eventually(supplier, f"/api/reporting/intensity/2025?org_units={site}", lambda b: True)
    assert (at_site["emissions"]["total_t"], at_site["disclosable_figure"]["value"]) == ("4.992", "3.12")

    # Invitation, request (DisclosureRequested), grant of the figures the supplier chooses.
    code_ = buyer.ok("POST", "/api/supplier-exchange/invitations", json={"supplier_tenant_id": supplier_id})["code"]
    supplier.ok("POST", f"/api/supplier-exchange/invitations/{code_}/accept")
    request = buyer.ok("POST", "/api/supplier-exchange/requests", json={
        "supplier_tenant_id": supplier_id, "what": ["scope_total", "org_intensity"], "fiscal_year": 2025,
        "deadline": (date.today() + timedelta(days=30)).isoformat(), "message": "2025年度の開示をお願いします"})
    [received] = supplier.ok("GET", "/api/supplier-exchange/requests", params={"role": "supplier"})
    assert received["request_id"] == request["request_id"]
    disclosure = supplier.ok("POST", f"/api/supplier-exchange/requests/{request['request_id']}/grant", json={
        "figures": [{"kind": "scope_total", "scope": 2, "value": "4.992", "unit": "t-CO2e"},
                    intensity["disclosable_figure"]]})

    # F19: the buyer sees the supplier in its supplier analysis.
    analysis = buyer.wait_for("/api/reporting/supplier-analysis/2025", lambda a: a["suppliers"])
    [row] = analysis["suppliers"]
    assert (row["supplier_tenant_id"], row["company_name"], row["disclosure_ids"]) == (
        supplier_id, "部品サプライ株式会社", [disclosure["disclosure_id"]])
    assert row["scope_totals_t"] == {"2": "4.992"}
    assert row["intensities"] == [{"value": "2.496", "unit": "t-CO2e/百万円"}]

    # F5: a buyer-private factor version with the supplier's intensity, the disclosure as its source.
    page = buyer.wait_for(f"/api/factors/factors?tenant_only=true&q={code}", lambda p: p["total"] == 1)
    [factor] = page["items"]
    assert (factor["code"], factor["value"], factor["value_unit"], factor["edition"], factor["tenant_scope"]) == (
        code, "2.496", "t-CO2e/百万円", "2025", buyer_tenant["tenant_id"])
    assert factor["source_id"] == f"disclosure-{disclosure['disclosure_id']}"
    assert f"disclosure:{disclosure['disclosure_id']}" in factor["sources"]

    # ... which the buyer's Scope 3 category 1 uses: 40 百万円 purchased × 2.496 = 99.84 t-CO2e.
    buyer_site = buyer.add_site(buyer_tenant["org_unit_id"], "本社工場")
    buyer.ok("PUT", "/api/calculation/logic/2025/items/purchases_supplier", json={
        "item_code": "purchases_supplier", "name_ja": "部品サプライからの購入", "name_en": "Purchases from the supplier",
        "unit": "百万円", "scope": 3, "scope3_category": 1, "method": "supplier_specific", "factor_code": code})
    buyer.wait_for("/api/activities/items?fiscal_year=2025",
                   lambda items: "purchases_supplier" in {i["code"] for i in items})
    buyer.record(buyer_site, "40", item="purchases_supplier", unit="百万円", period="2025-06")
    report = buyer.wait_for("/api/reporting/reports/2025", lambda r: Decimal(r["total_t"]) > 0)
    assert report["by_scope"] == {"3": "99.84"}

    # F23: neither a third tenant nor the supplier itself sees the disclosure or the buyer's factor.
    for other in (stranger, supplier):
        assert other.ok("GET", "/api/reporting/supplier-analysis/2025")["suppliers"] == []
        assert other.ok("GET", "/api/factors/factors", params={"q": code})["total"] == 0
        assert other("GET", f"/api/factors/factors/{factor['factor_version_id']}").status_code == 404
    assert stranger("GET", f"/api/supplier-exchange/disclosures/{disclosure['disclosure_id']}").status_code == 404
