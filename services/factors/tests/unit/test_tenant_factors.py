"""F4: tenant-private factors (one by one and a licensed list by CSV), visible to their tenant only."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from tanso_events.projections import checksum, rebuild
from tanso_events.store import EventStore
from tanso_factors.adapters import tables
from tanso_factors.adapters.projections import PROJECTIONS
from tanso_factors.bootstrap import upgrade_read_models
from tanso_factors.domain.catalogue_files import COLUMNS, LEGACY_COLUMNS

STEEL = {
    "code": "tenant.idea.steel_hot_rolled", "name_ja": "熱間圧延鋼材（IDEA）", "name_en": "Hot-rolled steel (IDEA)",
    "scope": 3, "scope3_category": 1, "unit": "t", "value": "2.31", "value_unit": "t-CO2e/t",
    "source_id": "tenant-idea-v3", "source_description": "IDEA v3.4（当社ライセンス）",
    "licence": "IDEA v3.4 licence held by the tenant; not redistributed", "valid_from_fy": 2024,
}
HEADER = ",".join(COLUMNS)
ROW1 = "tenant.idea.copper,電気銅,Electrolytic copper,scope3,3,1,t,3.52,t-CO2e/t,CO2e,,,SECONDARY,IDEA,"
ROW2 = "tenant.idea.pp,ポリプロピレン,Polypropylene,scope3,3,1,kg,1.48,kg-CO2e/kg,CO2e,,,SECONDARY,IDEA,"
IMPORT = {"source_id": "tenant-idea-v3", "edition": "3.4", "title_ja": "IDEA v3.4 抜粋",
          "licence": "Licensed to the tenant by SuMPO; not redistributed", "valid_from_fy": 2024}


@pytest.fixture
def admin_a(auth):
    return auth("tenant-a", "admin")


@pytest.fixture
def viewer_b(auth):
    return auth("tenant-b", "viewer")


async def outbox(engine) -> list[dict]:
    o = tables.messaging.outbox
    async with engine.connect() as conn:
        rows = (await conn.execute(select(o).order_by(o.c.position))).all()
    return [json.loads(r.payload) for r in rows]


async def search(client, headers, **params) -> dict:
    response = await client.get("/factors", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def upload(client, headers, body: bytes, **params):
    return await client.post("/factors/import", params={**IMPORT, **params}, content=body,
                             headers={**headers, "content-type": "text/csv"})


async def test_a_tenant_admin_adds_a_factor_published_to_that_tenant_only(client, engine, admin_a, auth, viewer_b):
    response = await client.post("/factors", json=STEEL, headers=admin_a)

    assert response.status_code == 201, response.text
    factor = response.json()
    assert (factor["code"], factor["value"], factor["value_unit"], factor["tenant_scope"]) == (
        "tenant.idea.steel_hot_rolled", "2.31", "t-CO2e/t", "tenant-a")
    assert (factor["scope"], factor["scope3_category"], factor["category"], factor["status"]) == (3, 1, "scope3",
                                                                                                   "UNVERIFIED")
    assert factor["source_title_ja"] == "IDEA v3.4（当社ライセンス）"
    [envelope] = await outbox(engine)
    assert (envelope["tenantid"], envelope["subject"], envelope["type"]) == (
        "tenant-a", "tenant.idea.steel_hot_rolled", "tanso.factors.FactorPublished.v1")
    assert envelope["data"]["factor_version_id"] == factor["factor_version_id"]

    viewer_a = auth("tenant-a", "viewer")
    assert (await search(client, viewer_a, q="熱間圧延"))["total"] == 1
    assert (await search(client, viewer_a, tenant_only=True))["total"] == 1
    sources = {(s["tenant_scope"], s["source_id"]): s for s in (await client.get("/sources", headers=viewer_a)).json()}
    own = sources["tenant-a", "tenant-idea-v3"]
    assert (own["title_ja"], own["licence"]) == ("IDEA v3.4（当社ライセンス）", STEEL["licence"])
    assert list(sources)[-1] == ("tenant-a", "tenant-idea-v3")  # the tenant's own sources come last

    # tenant B sees none of it
    assert (await search(client, viewer_b, q="熱間圧延"))["total"] == 0
    assert (await search(client, viewer_b, tenant_only=True))["total"] == 0
    assert (await client.get(f"/factors/{factor['factor_version_id']}", headers=viewer_b)).status_code == 404
    assert (await client.get(f"/factors/by-code/{STEEL['code']}/versions", headers=viewer_b)).status_code == 404
    assert all(s["tenant_scope"] != "tenant-a" for s in (await client.get("/sources", headers=viewer_b)).json())


async def test_a_new_value_is_a_new_version_and_the_same_value_adds_nothing(client, engine, admin_a):
    first = (await client.post("/factors", json=STEEL, headers=admin_a)).json()
    same = await client.post("/factors", json=STEEL, headers=admin_a)
    assert same.status_code == 200 and same.json()["factor_version_id"] == first["factor_version_id"]

    second = await client.post("/factors", json={**STEEL, "value": "2.40"}, headers=admin_a)

    assert second.status_code == 201
    newer = second.json()
    assert (newer["revision"], newer["supersedes"], newer["value"]) == (2, first["factor_version_id"], "2.40")
    history = (await client.get(f"/factors/by-code/{STEEL['code']}/versions", headers=admin_a)).json()
    assert [(v["value"], v["superseded_by"]) for v in history] == [("2.31", newer["factor_version_id"]),
                                                                  ("2.40", None)]
    assert [e["data"]["value"] for e in await outbox(engine)] == ["2.31", "2.40"]
    current = await search(client, admin_a, tenant_only=True, current_only=True)
    assert [f["value"] for f in current["items"]] == ["2.40"]


async def test_two_tenants_may_use_the_same_code_without_seeing_each_other(client, admin_a, auth):
    admin_b = auth("tenant-b", "admin")
    a = (await client.post("/factors", json=STEEL, headers=admin_a)).json()
    b = (await client.post("/factors", json={**STEEL, "value": "1.99"}, headers=admin_b)).json()

    assert a["factor_version_id"] != b["factor_version_id"] and b["revision"] == 1 and b["supersedes"] is None
    assert [f["value"] for f in (await search(client, admin_a, q=STEEL["code"]))["items"]] == ["2.31"]
    assert [f["value"] for f in (await search(client, admin_b, q=STEEL["code"]))["items"]] == ["1.99"]


async def test_only_admins_add_factors(client, auth):
    for roles in (("viewer",), ("editor",), ("auditor",)):
        response = await client.post("/factors", json=STEEL, headers=auth("tenant-a", *roles))
        assert response.status_code == 403, roles
    assert (await client.post("/factors", json=STEEL, headers={"authorization": ""})).status_code == 401


async def test_an_invalid_factor_names_every_field_in_english_and_japanese(client, engine, admin_a):
    bad = {**STEEL, "code": "idea.steel", "value": "2,31", "value_unit": "t-CO2e/kWh", "name_ja": "=cmd()",
           "source_id": "idea", "status": "OK"}
    response = await client.post("/factors", json=bad, headers=admin_a)

    assert response.status_code == 422
    problem = response.json()
    by_column = {e["column"]: e for e in problem["errors"]}
    assert set(by_column) == {"code", "name_ja", "value", "value_unit", "status", "source_id"}
    assert "tenant." in by_column["code"]["reason_en"] and "tenant." in by_column["code"]["reason_ja"]
    assert by_column["value"]["reason_ja"] and by_column["value"]["value"] == "2,31"
    assert by_column["name_ja"]["code"] == "formula"
    assert await outbox(engine) == []


async def test_units_are_accepted_in_common_spellings_and_stored_canonically(client, admin_a):
    response = await client.post("/factors", json={**STEEL, "unit": "ｔ", "value_unit": "tCO2eq/トン"},
                                 headers=admin_a)
    assert response.status_code == 201, response.text
    assert (response.json()["activity_unit"], response.json()["value_unit"]) == ("t", "t-CO2e/t")


async def test_a_licensed_list_is_imported_from_a_cp932_csv(client, engine, admin_a, auth):
    body = "\r\n".join([HEADER, ROW1.replace("電気銅", "電気銅（髙純度①）"), ROW2, ""]).encode("cp932")

    response = await upload(client, admin_a, body)

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["encoding"], report["rows"], report["new"], report["changed"], report["unchanged"]) == (
        "cp932", 2, 2, 0, 0)
    assert {e["tenantid"] for e in await outbox(engine)} == {"tenant-a"}
    found = await search(client, admin_a, q="髙純度")
    assert [(f["code"], f["value"], f["edition"], f["source_title_ja"]) for f in found["items"]] == [
        ("tenant.idea.copper", "3.52", "3.4", "IDEA v3.4 抜粋")]
    assert (await search(client, auth("tenant-b"), q="髙純度"))["total"] == 0
    sources = {(s["tenant_scope"], s["source_id"]): s for s in (await client.get("/sources", headers=admin_a)).json()}
    assert [(e["edition"], e["rows"]) for e in sources["tenant-a", "tenant-idea-v3"]["editions"]] == [("3.4", 2)]

    again = (await upload(client, admin_a, body)).json()
    assert again["already_imported"] and again["new"] == 0 and again["unchanged"] == 2
    assert len(await outbox(engine)) == 2


async def test_a_utf8_bom_csv_with_the_legacy_header_and_a_correction(client, engine, admin_a):
    legacy = ",".join(LEGACY_COLUMNS)
    row = "tenant.idea.copper,電気銅,Electrolytic copper,scope3,3,t,3.52,t-CO2e/t,CO2e,,,SECONDARY,IDEA,"
    first = await upload(client, admin_a, ("\ufeff" + legacy + "\n" + row + "\n").encode("utf-8"))
    assert first.status_code == 200 and first.json()["encoding"] == "utf-8-sig"

    corrected = (legacy + "\n" + row.replace("3.52", "3.60") + "\n").encode("utf-8")
    report = (await upload(client, admin_a, corrected)).json()

    assert (report["new"], report["changed"], report["changed_codes"]) == (0, 1, ["tenant.idea.copper"])
    history = (await client.get("/factors/by-code/tenant.idea.copper/versions", headers=admin_a)).json()
    assert [(v["value"], v["revision"]) for v in history] == [("3.52", 1), ("3.60", 2)]


async def test_a_csv_with_errors_reports_every_row_and_imports_nothing(client, engine, admin_a):
    rows = [
        HEADER,
        ROW1,
        ROW1.replace("tenant.idea.copper", "idea.zinc"),  # not in the tenant namespace
        ROW2.replace(",1.48,", ",1.4.8,").replace(",kg-CO2e/kg,", ",kg-CO2e/kWh,"),  # two bad cells
        ROW1,  # duplicate code
        "tenant.idea.x,x,x,scope3,3,1,t,1",  # too few cells
        ROW2.replace("ポリプロピレン", "+SUM(A1)").replace("tenant.idea.pp", "tenant.idea.pp2").replace(",3,1,", ",3,16,"),
    ]
    response = await upload(client, admin_a, ("\n".join(rows) + "\n").encode("utf-8"))

    assert response.status_code == 422
    problem = response.json()
    assert "nothing was imported" in problem["detail"] and "何も取り込んでいません" in problem["detail_ja"]
    found = [(e["row"], e["line"], e["column"], e["code"]) for e in problem["errors"]]
    assert found == [
        (2, 3, "code", "not_tenant_code"),
        (3, 4, "value", "bad_decimal"),
        (3, 4, "value_unit", "unit_mismatch"),
        (4, 5, "code", "duplicate_code"),
        (5, 6, None, "cell_count"),
        (6, 7, "name_ja", "formula"),
        (6, 7, "scope3_category", "bad_scope3_category"),
    ]
    assert all(e["reason_en"] and e["reason_ja"] for e in problem["errors"])
    assert problem["errors"][1]["value"] == "1.4.8"
    assert await outbox(engine) == []
    assert (await search(client, admin_a, tenant_only=True))["total"] == 0


async def test_bad_headers_encodings_and_parameters_are_reported(client, admin_a, auth):
    wrong = await upload(client, admin_a, b"code,name,value\nx,y,1\n")
    assert wrong.status_code == 422
    [error] = wrong.json()["errors"]
    assert (error["row"], error["code"]) == (0, "bad_header") and "missing columns" in error["reason_en"]

    binary = await upload(client, admin_a, b"\xff\xfe\x00\x81\x00")
    assert binary.status_code == 422 and binary.json()["errors"][0]["code"] in ("encoding", "bad_header")

    bad_source = await upload(client, admin_a, (HEADER + "\n" + ROW1 + "\n").encode(), source_id="moe-idb")
    assert bad_source.status_code == 422 and bad_source.json()["errors"][0]["column"] == "source_id"

    viewer = await upload(client, auth("tenant-a", "editor"), (HEADER + "\n" + ROW1 + "\n").encode())
    assert viewer.status_code == 403


async def test_a_dry_run_reports_without_importing(client, engine, admin_a):
    body = (HEADER + "\n" + ROW1 + "\n" + ROW2 + "\n").encode()
    report = (await upload(client, admin_a, body, dry_run="true")).json()

    assert (report["dry_run"], report["new"], report["new_codes"]) == (True, 2, ["tenant.idea.copper", "tenant.idea.pp"])
    assert await outbox(engine) == [] and (await search(client, admin_a, tenant_only=True))["total"] == 0


async def test_an_oversized_file_is_refused_before_it_is_read(client, admin_a, settings):
    settings.max_upload_bytes = 1000  # the app's settings object
    big = (HEADER + "\n" + (ROW1 + "\n") * 50).encode()
    response = await upload(client, admin_a, big)
    assert response.status_code == 413 and response.json()["max_bytes"] == 1000


async def test_multipart_uploads_are_accepted(client, admin_a):
    body = (HEADER + "\n" + ROW1 + "\n").encode("utf-8")
    response = await client.post("/factors/import", params=IMPORT, headers=admin_a,
                                 files={"file": ("idea.csv", body, "text/csv")})
    assert response.status_code == 200, response.text
    assert response.json()["new"] == 1


async def test_tenant_factors_rebuild_identically_and_survive_a_read_model_upgrade(client, engine, admin_a, auth):
    await client.post("/factors", json=STEEL, headers=admin_a)
    await client.post("/factors", json={**STEEL, "value": "2.40", "source_description": "IDEA v3.4 改訂"},
                      headers=admin_a)
    await upload(client, auth("tenant-b", "admin"), (HEADER + "\n" + ROW1 + "\n").encode())
    owned = [t for p in PROJECTIONS for t in p.tables]
    async with engine.connect() as conn:
        before = await checksum(conn, owned)
    retitled = await search(client, admin_a, q="改訂")
    assert retitled["total"] == 2  # the new description re-titled the earlier version too

    await rebuild(engine, EventStore(tables.messaging), PROJECTIONS)
    async with engine.connect() as conn:
        assert await checksum(conn, owned) == before

    async with engine.begin() as conn:  # a database from before this version of the read models
        await conn.execute(text("ALTER TABLE factor_versions DROP COLUMN name_key"))
    assert await upgrade_read_models(engine) is True
    assert await upgrade_read_models(engine) is False
    async with engine.connect() as conn:
        assert await checksum(conn, owned) == before
