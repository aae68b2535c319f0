"""The import, the search and tenant factors on each database backend (SQLite, PostgreSQL)."""

from __future__ import annotations

import httpx
import pytest
from tanso_events.unit_of_work import UnitOfWork
from tanso_factors.adapters import tables
from tanso_factors.adapters.projections import PROJECTIONS
from tanso_factors.bootstrap import build_spec, upgrade_read_models
from tanso_factors.domain.catalogue_files import COLUMNS
from tanso_factors.service_layer.handlers import editions_to_import, import_edition
from tanso_factors.settings import Settings
from tanso_runtime.app import ServiceRuntime, create_service_app
from tanso_runtime.db import make_engine


@pytest.fixture
async def backend_client(database_url, tmp_path, token):
    settings = Settings(data_dir=tmp_path, database={"url": database_url}, log_json=False, import_on_start=False)
    engine = make_engine(settings.database_url())
    async with engine.begin() as conn:
        await conn.run_sync(tables.metadata.create_all)
    for edition in editions_to_import():
        async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
            await import_edition(edition, uow)
    spec = build_spec(settings)
    app = create_service_app(spec)
    app.state.runtime = ServiceRuntime(spec, engine, token.verifier)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://factors") as client:
        yield client, engine
    await engine.dispose()


async def test_search_tenant_factors_and_upgrade_on_each_backend(backend_client, auth):
    client, engine = backend_client
    admin = auth("tenant-a", "admin")

    page = (await client.get("/factors", params={"q": "航空 国内線"}, headers=admin)).json()
    assert [f["code"] for f in page["items"]] == ["moe.idb.travel.air_domestic"]
    literal = (await client.get("/factors", params={"q": "100%_"}, headers=admin)).json()
    assert literal["total"] == 0  # LIKE wildcards in a query are matched literally
    exact = (await client.get("/factors", params={"q": "shk.fuel.diesel"}, headers=admin)).json()
    assert [f["edition"] for f in exact["items"]] == ["R6-2024", "H22-2010"]
    methane = (await client.get("/factors", params={"q": "メタン", "edition": "AR5"}, headers=admin)).json()
    assert methane["items"][0]["code"] == "gwp.ar5.ch4"

    body = ",".join(COLUMNS) + "\ntenant.x.copper,電気銅,Copper,scope3,3,1,t,3.52,t-CO2e/t,CO2e,,,SECONDARY,IDEA,\n"
    imported = await client.post("/factors/import", content=body.encode("cp932"), headers=admin, params={
        "source_id": "tenant-idea", "edition": "3.4", "title_ja": "IDEA", "licence": "licensed", "valid_from_fy": 2024})
    assert imported.status_code == 200, imported.text
    added = await client.post("/factors", headers=admin, json={
        "code": "tenant.x.copper", "name_ja": "電気銅", "scope": 3, "unit": "t", "value": "3.60",
        "value_unit": "t-CO2e/t", "source_id": "tenant-idea", "edition": "3.4", "valid_from_fy": 2024})
    assert added.status_code == 201 and added.json()["revision"] == 2
    own = (await client.get("/factors", params={"tenant_only": True}, headers=admin)).json()
    assert [(f["value"], f["superseded_by"] is None) for f in own["items"]] == [("3.60", True), ("3.52", False)]
    other = (await client.get("/factors", params={"q": "電気銅"}, headers=auth("tenant-b"))).json()
    assert other["total"] == 0
    sources = (await client.get("/sources", headers=admin)).json()
    assert (sources[-1]["source_id"], sources[-1]["tenant_scope"]) == ("tenant-idea", "tenant-a")
    assert (sources[-1]["title_ja"], sources[-1]["licence"]) == ("IDEA", "licensed")  # kept by the POST

    assert await upgrade_read_models(engine) is False
