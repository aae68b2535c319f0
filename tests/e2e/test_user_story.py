"""The walking skeleton, end to end through the gateway on a real Kafka-protocol broker.

A user signs in, records 12,000 kWh at a site, sees its emission in the fiscal-year report, opens the
audit record behind it; a new factor version recomputes the line with a superseding audit record.
The data crosses identity → activities → calculation → reporting as Kafka events.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from tanso_devstack.platform import env_prefix

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("platform")]

SUBSTITUTE_EDITION = (Path(__file__).resolve().parents[2] / "services/factors/src/tanso_factors/data"
                      / "jp-electricity-shk-defaults/R6-actual")


def total(report: dict) -> Decimal:
    return Decimal(report["total_t"])


def test_recorded_electricity_appears_in_the_report_with_its_audit_record(platform, api):
    tenant = api.sign_up("e2e 株式会社")
    site = api.add_site(tenant["org_unit_id"], "東京工場")

    started = time.monotonic()
    recorded = api.record(site, "12000")
    report = api.wait_for("/api/reporting/reports/2025", lambda r: total(r) > 0)
    elapsed = time.monotonic() - started
    print(f"activity → report visible in {elapsed:.2f}s")
    assert recorded["fiscal_year"] == 2025
    assert total(report) == Decimal("4.992")  # 12,000 kWh × 0.000416 t-CO2/kWh (代替値, R6年度実績)
    assert report["by_scope"] == {"2": "4.992"}
    assert report["by_org_unit"] == [{"org_unit_id": site, "name_ja": "東京工場", "name_en": None, "scope": 2,
                                      "co2e_t": "4.992"}]

    [line] = api.ok("GET", "/api/reporting/reports/2025/lines")
    record = api.ok("GET", line["audit_record_url"])
    assert record["result_t"] == "4.992" and record["status"] == "calculated"
    assert record["activity"]["activity_id"] == recorded["activity_id"] and record["activity"]["event_id"]
    assert record["factor"]["factor_code"] == "shk.electricity.substitute"
    assert record["factor"]["edition"] == "R6-actual" and record["factor"]["event_id"]
    assert "12000 kWh" in record["formula"] and record["supersedes_audit_record_id"] is None


def test_a_new_factor_version_recomputes_the_line_and_supersedes_its_audit_record(platform, api, tmp_path):
    tenant = api.sign_up("factor update KK")
    site = api.add_site(tenant["org_unit_id"], "大阪工場")
    api.record(site, "12000")
    api.wait_for("/api/reporting/reports/2025", lambda r: total(r) == Decimal("4.992"))

    revised = tmp_path / "R6-actual-rev"
    shutil.copytree(SUBSTITUTE_EDITION, revised)
    meta = (revised / "meta.toml").read_text(encoding="utf-8")
    (revised / "meta.toml").write_text(meta.replace('edition = "R6-actual"', 'edition = "R6-actual-rev"'),
                                       encoding="utf-8")
    csv = (revised / "factors.csv").read_text(encoding="utf-8")
    assert "0.000416" in csv
    (revised / "factors.csv").write_text(csv.replace("0.000416", "0.000452"), encoding="utf-8")
    prefix = env_prefix("factors")
    factors_env = {k: v for k, v in platform.env_for("factors").items() if k.startswith(prefix)}
    result = subprocess.run([sys.executable, "-m", "tanso_factors.entrypoints.cli", "import", str(revised)],
                            env={**os.environ, **factors_env}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr

    report = api.wait_for("/api/reporting/reports/2025", lambda r: total(r) == Decimal("5.424"))
    assert report["lines"] == 1
    [line] = api.ok("GET", "/api/reporting/reports/2025/lines")
    newest, first = api.ok("GET", f"/api/calculation/lines/{line['line_id']}/audit-records")
    assert newest["supersedes_audit_record_id"] == first["audit_record_id"]
    assert newest["factor"]["edition"] == "R6-actual-rev" and newest["reason"].startswith("new factor version")
    assert api.ok("GET", f"/api/calculation/audit-records/{first['audit_record_id']}")["superseded_by"] == \
        newest["audit_record_id"]
    assert api.ok("GET", "/api/calculation/audit-trail/verify")["valid"] is True


def test_corrections_and_voids_flow_through_and_tenants_stay_apart(api, new_api):
    tenant = api.sign_up("correction KK")
    site = api.add_site(tenant["org_unit_id"], "名古屋工場")
    diesel = api.record(site, "1.5", item="diesel", unit="kL")
    api.wait_for("/api/reporting/reports/2025", lambda r: total(r) == Decimal("3.93"))  # 1.5 kL × 2.62
    api.ok("POST", f"/api/activities/activities/{diesel['activity_id']}/corrections",
           json={"amount": "2000", "unit": "L", "reason": "delivery note was in litres"})
    api.wait_for("/api/reporting/reports/2025", lambda r: total(r) == Decimal("5.24"))
    api.ok("POST", f"/api/activities/activities/{diesel['activity_id']}/void", json={"reason": "duplicate"})
    report = api.wait_for("/api/reporting/reports/2025", lambda r: total(r) == 0)
    assert report["lines"] == 0
    history = api.ok("GET", f"/api/activities/activities/{diesel['activity_id']}")["history"]
    assert [h["type"] for h in history] == ["ActivityRecorded", "ActivityCorrected", "ActivityVoided"]
    records = api.ok("GET", f"/api/calculation/lines/{diesel['activity_id']}/audit-records")
    assert [r["status"] for r in records] == ["voided", "calculated", "calculated"]

    stranger = new_api()
    stranger.sign_up("stranger KK")
    assert total(stranger.ok("GET", "/api/reporting/reports/2025")) == 0
    assert stranger("GET", f"/api/activities/activities/{diesel['activity_id']}").status_code == 404
    assert stranger("GET", f"/api/calculation/audit-records/{records[0]['audit_record_id']}").status_code == 404
    assert stranger("POST", f"/api/activities/activities/{diesel['activity_id']}/void",
                    json={"reason": "x"}).status_code == 404
    anonymous = new_api()
    assert anonymous("GET", "/api/reporting/reports/2025").status_code == 401


def test_a_scope_3_item_added_to_the_logic_can_be_recorded_and_is_reported_by_category(api):
    tenant = api.sign_up("scope3 KK")
    site = api.add_site(tenant["org_unit_id"], "本社")
    api.ok("PUT", "/api/calculation/logic/2025/items/investee_x", json={
        "item_code": "investee_x", "name_ja": "出資先X社", "name_en": "Investee X", "unit": "t-CO2e", "scope": 3,
        "scope3_category": 15, "method": "investment_share", "params": {"ownership_share": "0.3"}})
    logic = api.ok("GET", "/api/calculation/logic/2025")
    assert logic["version"] == 2 and "investee_x" in {i["item_code"] for i in logic["items"]}
    api.wait_for("/api/activities/items?fiscal_year=2025",
                 lambda items: "investee_x" in {i["code"] for i in items})  # CalculationLogicChanged arrived
    api.record(site, "10000", item="investee_x", unit="t-CO2e", period="2025-09")
    report = api.wait_for("/api/reporting/reports/2025", lambda r: total(r) == Decimal(3000))
    assert report["by_scope"] == {"3": "3000"}
    by_category = api.ok("GET", "/api/reporting/reports/2025/breakdown", params={"by": "scope3_category"})
    assert by_category["rows"] == [{"key": 15, "co2e_t": "3000"}]


def test_after_a_csv_import_the_platform_says_up_to_date_only_once_every_row_is_in_the_report(api):
    tenant = api.sign_up("集計状況 株式会社")
    site = api.add_site(tenant["org_unit_id"], "本社")
    api.record(site, "1000", item="city_gas", unit="千m3")  # waits until activities knows the site
    api.wait_for("/api/reporting/reports/2025", lambda r: r["lines"] == 1)
    rows = 3000
    csv = "拠点ID/org_unit_id,項目コード/item_code,年月/period,数量/amount,単位/unit,備考/note\r\n" + "".join(
        f"{site},city_gas,2025-{4 + i % 9:02d},{i % 97 + 1}.5,千m3,row {i}\r\n" for i in range(rows))
    imported = api("POST", "/api/activities/imports", content=csv.encode("utf-8"),
                   headers={"content-type": "text/csv"})
    assert imported.status_code in (200, 201), imported.text

    seen_busy, deadline = False, time.monotonic() + 90
    while (status := api.ok("GET", "/health/processing"))["up_to_date"] is not True:
        assert status["up_to_date"] is False, status  # every service answers
        seen_busy = True
        assert time.monotonic() < deadline, f"still processing after 90 s: {status}"
        time.sleep(0.05)
    # read once, no waiting: "up to date" must mean every imported row is in the report already
    assert api.ok("GET", "/api/reporting/reports/2025")["lines"] == 1 + rows
    print(f"processing seen busy before up to date: {seen_busy}")
