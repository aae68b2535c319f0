"""PACT v3 API of the supplier: footprints only from granted product disclosures of the client's buyer,
v3 filters, Link pagination, PACT error responses, events answered asynchronously."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from tanso_devstack.testing import as_principal as as_
from tanso_runtime.keys import SigningKey
from tanso_supplier_exchange.adapters import pact_mapping, tables
from tanso_supplier_exchange.domain import pact_terms
from tanso_supplier_exchange.service_layer import pact

from .conftest import BUYER, SUPPLIER, SUPPLIER2, connect, new_request

BUYER2 = "tenant-buyer-2"
SUPPLIER_UUID_NAME = "サプライヤー株式会社"
HTTPS = {"x-forwarded-proto": "https", "x-forwarded-host": "pact.example.test", "x-forwarded-prefix": "/pact"}
CREATED = "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3"


@pytest.fixture
def key() -> SigningKey:
    return SigningKey(Ed25519PrivateKey.generate())


@pytest.fixture
def token(app, settings, key):
    app.state.runtime.pact.verifier.add_jwks(key.jwks())

    def make(supplier=SUPPLIER, buyer=BUYER, *, exp_in=600, aud=None, scope="pact", cb="https://buyer.example/api"):
        now = int(time.time())
        claims = {"iss": settings.auth.issuer, "aud": aud or settings.pact.audience, "sub": f"client-{buyer}",
                  "tid": supplier, "buyer": buyer, "scope": scope, "roles": [], "org": SUPPLIER_UUID_NAME, "fys": 4,
                  "iat": now - 1000, "nbf": now - 1000, "exp": now + exp_in}
        if cb:
            claims["cb"] = cb
        jws = jwt.encode(claims, key.private_key, algorithm="EdDSA", headers={"typ": "at+jwt", "kid": key.kid})
        return {"authorization": f"Bearer {jws}", **HTTPS}

    return make


async def grant_products(client, figures, buyer=BUYER, supplier=SUPPLIER, *, fiscal_year=2025) -> dict:
    await connect(client, buyer, supplier)
    req = await new_request(client, buyer, supplier, what=("product_footprint",))
    r = await client.post(f"/requests/{req['request_id']}/grant", headers=as_(supplier), json={"figures": figures})
    assert r.status_code == 201, r.text
    return r.json()


#: What a supplier states for PACT about its steel coil: every mandatory PACT v3 datum, per 1 kg.
STEEL_PACT = {
    "product_name": "熱延鋼板 SPHC", "product_description": "Hot-rolled steel coil SPHC, 2.3 mm, unpacked",
    "product_classifications": ["urn:pact:productclassification:un-cpc:41211"],
    "declared_unit": "kilogram", "declared_unit_amount": "1", "product_mass_per_declared_unit": "1",
    "reference_period_start": "2025-04-01", "reference_period_end": "2026-04-01", "geography": "JP",
    "pcf_excluding_biogenic_uptake": "2.35", "pcf_including_biogenic_uptake": "2.34",
    "fossil_ghg_emissions": "2.3", "fossil_carbon_content": "0.0021", "biogenic_carbon_content": "0",
    "ipcc_characterization_factors": ["AR6"], "cross_sectoral_standards": ["ISO14067", "PACT-3.0"],
    "exempted_emissions_percent": "0.8", "packaging_emissions_included": False,
    "ccs_technological_co2_capture_included": False, "primary_data_share": "42.5",
}
BOLT_PACT = {
    "product_name": "六角ボルト M8", "product_description": "Hex bolt M8x30, zinc plated",
    "declared_unit": "piece", "declared_unit_amount": "1", "product_mass_per_declared_unit": "0.0152",
    "reference_period_start": "2025-01-01T00:00:00+09:00", "reference_period_end": "2026-01-01T00:00:00+09:00",
    "geography": "JP-23", "pcf_excluding_biogenic_uptake": "0.0125", "pcf_including_biogenic_uptake": "0.0125",
    "fossil_ghg_emissions": "0.0124", "fossil_carbon_content": "0", "ipcc_characterization_factors": ["AR5", "AR6"],
    "cross_sectoral_standards": ["GHGP-Product"], "exempted_emissions_percent": "0",
    "packaging_emissions_included": True, "ccs_technological_co2_capture_included": False,
    "primary_data_share": "100",
}
STEEL = {"kind": "product_footprint", "product_id": "urn:gtin:4901234567894", "value": "2.35", "unit": "t-CO2e/t",
         "footprint": STEEL_PACT}
BOLT = {"kind": "product_footprint", "product_id": "BOLT-M8", "value": "0.0125", "unit": "kg-CO2e/piece",
        "footprint": BOLT_PACT}
#: A product footprint as granted before PACT data could be stated: a valid disclosure, never served.
BARE = {"kind": "product_footprint", "product_id": "urn:gtin:4901234567900", "value": "0.82", "unit": "kg-CO2e/kg"}


async def test_footprints_serve_exactly_what_the_supplier_stated(client, token):
    disclosure = await grant_products(client, [STEEL, BOLT])
    r = await client.get("/3/footprints", headers=token())
    assert r.status_code == 200, r.text
    steel, bolt = r.json()["data"]
    assert steel["id"] == pact_mapping.footprint_id(disclosure["disclosure_id"], 0)
    assert uuid.UUID(steel["id"]).version == 5 and steel["specVersion"] == "3.0.0" and steel["status"] == "Active"
    assert steel["productIds"] == ["urn:gtin:4901234567894"] and steel["companyIds"] == [f"urn:uuid:{SUPPLIER}"]
    assert steel["companyName"] == SUPPLIER_UUID_NAME
    assert (steel["productNameCompany"], steel["productDescription"], steel["productClassifications"]) == (
        "熱延鋼板 SPHC", "Hot-rolled steel coil SPHC, 2.3 mm, unpacked", ["urn:pact:productclassification:un-cpc:41211"])
    # every PACT value is the supplier's own, as the decimal string it signed; nothing else is in pcf
    assert steel["pcf"] == {
        "declaredUnitOfMeasurement": "kilogram", "declaredUnitAmount": "1", "productMassPerDeclaredUnit": "1",
        "referencePeriodStart": "2025-04-01T00:00:00Z", "referencePeriodEnd": "2026-04-01T00:00:00Z",
        "geographyCountry": "JP", "pcfExcludingBiogenicUptake": "2.35", "pcfIncludingBiogenicUptake": "2.34",
        "fossilGhgEmissions": "2.3", "fossilCarbonContent": "0.0021", "biogenicCarbonContent": "0",
        "ipccCharacterizationFactors": ["AR6"], "crossSectoralStandards": ["ISO14067", "PACT-3.0"],
        "exemptedEmissionsPercent": "0.8", "packagingEmissionsIncluded": False,
        "ccsTechnologicalCO2CaptureIncluded": False, "primaryDataShare": "42.5"}
    # no validity period was stated: PACT's default applies (3 years from the reference period end)
    assert "validityPeriodStart" not in steel and "validityPeriodEnd" not in steel
    assert bolt["productIds"] == [f"urn:tanso:product:{SUPPLIER}:BOLT-M8"] and "productClassifications" not in bolt
    assert bolt["pcf"]["geographyCountrySubdivision"] == "JP-23" and "geographyCountry" not in bolt["pcf"]
    assert bolt["pcf"]["referencePeriodStart"] == "2024-12-31T15:00:00Z"
    assert "biogenicCarbonContent" not in bolt["pcf"]  # not stated, not invented
    assert (bolt["pcf"]["declaredUnitOfMeasurement"], bolt["pcf"]["productMassPerDeclaredUnit"],
            bolt["pcf"]["ipccCharacterizationFactors"], bolt["pcf"]["packagingEmissionsIncluded"]) == (
        "piece", "0.0152", ["AR5", "AR6"], True)
    assert disclosure["disclosure_id"] in steel["comment"]
    assert [(e["pact_ready"], e["missing"]) for e in disclosure["pact_readiness"]] == [(True, []), (True, [])]
    r = await client.get(f"/3/footprints/{bolt['id']}", headers=token())
    assert r.status_code == 200 and r.json()["data"] == bolt


async def test_a_product_footprint_lacking_a_mandatory_datum_is_not_served_and_the_grant_says_what_is_missing(
        client, token):
    # one figure per mandatory datum, each lacking only that one, plus a complete one and one with none at all
    names = [name for name, _ in pact_terms.REQUIRED]
    lacking = [{**STEEL, "product_id": f"urn:gtin:{n}", "footprint": {k: v for k, v in STEEL_PACT.items() if k != name}}
               for n, name in enumerate(names)]
    disclosure = await grant_products(client, [*lacking, STEEL, BARE])
    readiness = disclosure["pact_readiness"]
    assert [(e["figure_index"], e["pact_ready"], e["missing"]) for e in readiness[:len(names)]] == [
        (n, False, [f"footprint.{name}"]) for n, name in enumerate(names)]
    assert readiness[len(names)] == {"figure_index": len(names), "product_id": STEEL["product_id"],
                                     "pact_ready": True, "missing": []}
    bare = readiness[-1]
    assert (bare["pact_ready"], bare["missing"]) == (False, [f"footprint.{name}" for name in names])
    assert "footprint.geography" in bare["detail"] and "corrections" in bare["detail"] and "訂正" in bare["detail_ja"]
    # the disclosure's API view says the same, to both parties
    for tenant in (SUPPLIER, BUYER):
        view = (await client.get(f"/disclosures/{disclosure['disclosure_id']}", headers=as_(tenant, "viewer"))).json()
        assert view["pact_readiness"] == readiness
    # only the complete figure is served, by list, by id and in answers to requests
    served = (await client.get("/3/footprints", headers=token())).json()["data"]
    assert [pf["productIds"] for pf in served] == [[STEEL["product_id"]]]
    assert served[0]["id"] == pact_mapping.footprint_id(disclosure["disclosure_id"], len(names))
    for index in (0, len(names) + 1):
        r = await client.get(f"/3/footprints/{pact_mapping.footprint_id(disclosure['disclosure_id'], index)}",
                             headers=token())
        assert r.status_code == 404 and r.json()["code"] == "NotFound"


async def test_a_correction_that_states_the_missing_data_makes_the_footprint_served(client, token):
    first = await grant_products(client, [BARE])
    assert (await client.get("/3/footprints", headers=token())).json()["data"] == []
    stated = {**BARE, "footprint": {**STEEL_PACT, "pcf_excluding_biogenic_uptake": "0.82"}}
    r = await client.post(f"/disclosures/{first['disclosure_id']}/corrections", headers=as_(SUPPLIER),
                          json={"figures": [stated]})
    assert r.status_code == 201, r.text
    assert r.json()["pact_readiness"][0]["pact_ready"] is True
    pf, = (await client.get("/3/footprints", headers=token())).json()["data"]
    # the earlier figure was never served, so it is no preceding footprint
    assert pf["status"] == "Active" and "precedingPfIds" not in pf and pf["pcf"]["pcfExcludingBiogenicUptake"] == "0.82"


@pytest.mark.parametrize("change, field, hint", [
    ({"declared_unit": "kg"}, "declared_unit", "kilogram"),
    ({"declared_unit_amount": "0"}, "declared_unit_amount", "greater than 0"),
    ({"product_mass_per_declared_unit": "-1"}, "product_mass_per_declared_unit", "negative"),
    ({"fossil_carbon_content": "-0.1"}, "fossil_carbon_content", "negative"),
    ({"primary_data_share": "100.5"}, "primary_data_share", "0 to 100"),
    ({"exempted_emissions_percent": "-1"}, "exempted_emissions_percent", "0 to 100"),
    ({"reference_period_end": "2025-03-31"}, "reference_period_end", "after reference_period_start"),
    ({"reference_period_start": "FY2025"}, "reference_period_start", "RFC 3339"),
    ({"geography": "Japan"}, "geography", "ISO 3166-1"),
    ({"ipcc_characterization_factors": ["AR6", "GWP100"]}, "ipcc_characterization_factors", "GWP100"),
    ({"ipcc_characterization_factors": []}, "ipcc_characterization_factors", "one or more"),
    ({"cross_sectoral_standards": ["ISO 14067"]}, "cross_sectoral_standards", "ISO14067"),
    ({"product_classifications": ["41211"]}, "product_classifications", "URN"),
    ({"product_name": "  "}, "product_name", "empty"),
    # the figure's value (2.35 t-CO2e/t = 2.35 kg-CO2e/kg) and the stated PACT footprint must agree
    ({"pcf_excluding_biogenic_uptake": "2350"}, "pcf_excluding_biogenic_uptake", "2.35"),
    ({"declared_unit_amount": "1000"}, "pcf_excluding_biogenic_uptake", "2350"),
])
async def test_stated_pact_data_is_checked_at_grant_time_with_bilingual_errors(client, change, field, hint):
    await connect(client)
    req = await new_request(client, what=("product_footprint",))
    figure = {**STEEL, "footprint": {**STEEL_PACT, **change}}
    r = await client.post(f"/requests/{req['request_id']}/grant", headers=as_(SUPPLIER), json={"figures": [figure]})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["title"] == "invalid_footprint" and f"figures[0].footprint.{field}:" in body["detail"]
    assert hint in body["detail"] and f"figures[0].footprint.{field}:" in body["detail_ja"], body
    # nothing was granted
    assert (await client.get(f"/requests/{req['request_id']}", headers=as_(BUYER))).json()["state"] == "requested"


async def test_footprint_details_belong_to_product_footprints_and_decimals_must_be_decimals(client):
    await connect(client)
    req = await new_request(client, what=("product_footprint", "scope_total"))
    scope = {"kind": "scope_total", "scope": 1, "value": "10", "unit": "t-CO2e", "footprint": STEEL_PACT}
    r = await client.post(f"/requests/{req['request_id']}/grant", headers=as_(SUPPLIER), json={"figures": [scope]})
    assert r.status_code == 422 and r.json()["title"] == "footprint_not_allowed" and r.json()["detail_ja"]
    bad = {**STEEL, "footprint": {**STEEL_PACT, "fossil_ghg_emissions": "lots"}}
    r = await client.post(f"/requests/{req['request_id']}/grant", headers=as_(SUPPLIER), json={"figures": [bad]})
    assert r.status_code == 422 and r.json()["detail_ja"]
    assert r.json()["errors"][0]["loc"][-2:] == ["footprint", "fossil_ghg_emissions"]
    unknown = {**STEEL, "footprint": {**STEEL_PACT, "validity": "forever"}}
    r = await client.post(f"/requests/{req['request_id']}/grant", headers=as_(SUPPLIER), json={"figures": [unknown]})
    assert r.status_code == 422


def test_the_mapping_invents_nothing_for_an_unstated_optional_datum():
    payload = {"fiscal_year": 2025, "granted_at": "2025-06-01T00:00:00+00:00", "supersedes_disclosure_id": None,
               "figures": [{**STEEL, "footprint": {**{k: v for k, v in STEEL_PACT.items()
                                                      if k not in ("biogenic_carbon_content",
                                                                   "product_classifications")},
                                                   "geography": "global"}}]}
    pf, = pact_mapping.footprints([{"disclosure_id": "d-1", "payload": payload}], pact_mapping.Supplier("t", "Co"))
    geography = {"geographyCountry", "geographyCountrySubdivision", "geographyRegionOrSubregion"}
    assert not geography & set(pf["pcf"]) and "biogenicCarbonContent" not in pf["pcf"]
    assert "productClassifications" not in pf and "validityPeriodStart" not in pf
    # the same footprint, derived again, has the same id and content
    assert pact_mapping.footprints([{"disclosure_id": "d-1", "payload": payload}],
                                   pact_mapping.Supplier("t", "Co")) == [pf]
    # valid for 3 years from the reference period end (PACT's default), which the filters use
    assert pact_mapping.validity(pf) == (datetime(2026, 4, 1, tzinfo=UTC), datetime(2029, 4, 1, tzinfo=UTC))


def test_units_convert_exactly_to_kg_per_declared_unit():
    """Used to check that a figure's value and its stated PACT footprint are the same statement."""
    assert pact_mapping.declared_unit("kg-CO2e/kWh") == ("kilowatt hour", Decimal(1))
    assert pact_mapping.declared_unit("t-CO2e/kL") == ("liter", Decimal(1))
    assert pact_mapping.declared_unit("g-CO2e/kg") == ("kilogram", Decimal("0.001"))
    assert pact_mapping.declared_unit("kgCO2eq/MWh") == ("kilowatt hour", Decimal("0.001"))
    assert pact_mapping.declared_unit("t-CO2e") is None and pact_mapping.declared_unit("kg-CO2e/furlong") is None


async def test_a_client_sees_only_what_its_supplier_granted_to_its_buyer(client, token):
    mine = await grant_products(client, [STEEL])
    other_buyer = await grant_products(client, [BOLT], buyer=BUYER2)
    other_supplier = await grant_products(client, [BOLT], supplier=SUPPLIER2)
    ids = [pf["id"] for pf in (await client.get("/3/footprints", headers=token())).json()["data"]]
    assert ids == [pact_mapping.footprint_id(mine["disclosure_id"], 0)]
    for foreign in (other_buyer, other_supplier):
        r = await client.get(f"/3/footprints/{pact_mapping.footprint_id(foreign['disclosure_id'], 0)}", headers=token())
        assert r.status_code == 404 and r.json()["code"] == "NotFound"
    # scope and org-intensity figures never become footprints
    assert len((await client.get("/3/footprints", headers=token(supplier=SUPPLIER, buyer=BUYER2))).json()["data"]) == 1


async def test_no_relationship_is_access_denied(client, token):
    await grant_products(client, [STEEL])
    r = await client.get("/3/footprints", headers=token(buyer="tenant-stranger"))
    assert r.status_code == 403 and r.json()["code"] == "AccessDenied" and r.json()["message_ja"]


async def test_a_correction_deprecates_the_old_footprint_and_names_it_as_preceding(client, token):
    first = await grant_products(client, [STEEL])
    r = await client.post(f"/disclosures/{first['disclosure_id']}/corrections", headers=as_(SUPPLIER),
                          json={"figures": [{**STEEL, "value": "2.1", "footprint": {
                              **STEEL_PACT, "pcf_excluding_biogenic_uptake": "2.1"}}]})
    assert r.status_code == 201, r.text
    old_id = pact_mapping.footprint_id(first["disclosure_id"], 0)
    old, new = (await client.get("/3/footprints", headers=token())).json()["data"]
    assert (old["id"], old["status"], new["status"]) == (old_id, "Deprecated", "Active")
    assert new["precedingPfIds"] == [old_id] and new["pcf"]["pcfExcludingBiogenicUptake"] == "2.1"
    active = (await client.get("/3/footprints?status=Active", headers=token())).json()["data"]
    assert [pf["id"] for pf in active] == [new["id"]]


async def test_filters_or_within_and_across_criteria(client, token):
    await grant_products(client, [STEEL, BOLT])
    h = token()

    async def ids(query: str) -> list[str]:
        r = await client.get(f"/3/footprints?{query}", headers=h)
        assert r.status_code == 200, r.text
        return [pf["productIds"][0] for pf in r.json()["data"]]

    bolt_urn = f"urn:tanso:product:{SUPPLIER}:BOLT-M8"
    assert await ids("productId=urn:gtin:4901234567894") == ["urn:gtin:4901234567894"]
    assert await ids(f"productId=urn:gtin:4901234567894&productid={bolt_urn}") == ["urn:gtin:4901234567894", bolt_urn]
    assert await ids(f"companyId=urn:uuid:{SUPPLIER}&companyId=urn:x") == ["urn:gtin:4901234567894", bolt_urn]
    assert await ids(f"companyId=urn:uuid:{SUPPLIER}&productId=urn:nope") == []
    assert len(await ids("geography=JP")) == 2 and await ids("geography=DE") == []
    assert await ids("classification=urn:x") == []
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(await ids(f"validOn={now}")) == 2 and await ids("validOn=1900-01-01T00:00:00Z") == []
    assert len(await ids("validAfter=2000-01-01T00:00:00Z")) == 2 and await ids("validAfter=2099-12-31T00:00:00Z") == []
    assert len(await ids("validBefore=2099-12-31T00:00:00Z")) == 2 and await ids("validBefore=2026-01-01") == []
    assert await ids("status=Bogus") == []


@pytest.mark.parametrize("query", ["$filter=created ge '2023-01-15'", "validOn=yesterday", "limit=0", "limit=x",
                                   "colour=red"])
async def test_bad_queries_are_bad_requests(client, token, query):
    await grant_products(client, [STEEL])
    r = await client.get(f"/3/footprints?{query}", headers=token())
    assert r.status_code == 400 and r.json()["code"] == "BadRequest" and r.json()["message"], r.text


async def test_pagination_link_is_absolute_on_the_callers_host_and_repeatable(client, token):
    await grant_products(client, [STEEL, BOLT, {**STEEL, "product_id": "urn:gtin:3"}])
    h = token()
    r = await client.get("/3/footprints?limit=2&geography=JP", headers=h)
    assert len(r.json()["data"]) == 2
    link = r.headers["link"]
    url = link[link.index("<") + 1:link.index(">")]
    assert link.endswith('rel="next"')
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "pact.example.test", "/pact/3/footprints")
    assert parse_qs(parts.query) == {"geography": ["JP"], "limit": ["2"], "offset": ["2"]}
    for _ in range(2):  # a pagination link can be called more than once
        r = await client.get(f"/3/footprints?{parts.query}", headers=h)
        assert [pf["productIds"][0] for pf in r.json()["data"]] == ["urn:gtin:3"] and "link" not in r.headers


async def test_tokens_expired_invalid_of_another_audience_or_over_http_get_pact_errors(client, token):
    await grant_products(client, [STEEL])
    r = await client.get("/3/footprints", headers=token(exp_in=-10))
    assert r.status_code == 401 and r.json()["code"] == "TokenExpired" and "www-authenticate" in r.headers
    r = await client.get("/3/footprints", headers={"authorization": "Bearer invalid-access-token", **HTTPS})
    assert r.status_code == 400 and r.json()["code"] == "BadRequest"
    r = await client.get("/3/footprints", headers=token(aud="tanso"))  # a user's token is not a PACT token
    assert r.status_code == 400 and r.json()["code"] == "BadRequest"
    r = await client.get("/3/footprints", headers=token(scope="other"))
    assert r.status_code == 403 and r.json()["code"] == "AccessDenied"
    r = await client.get("/3/footprints", headers={**token(), "x-forwarded-proto": "http"})
    assert r.status_code == 400 and "data" not in r.json() and "HTTPS" in r.json()["message"]


async def test_request_created_is_answered_once_with_the_matching_footprints(app, client, token, engine):
    await grant_products(client, [STEEL, BOLT])
    event = {"specversion": "1.0", "id": "req-1", "source": "https://buyer.example/api", "type": CREATED,
             "time": "2025-05-01T00:00:00Z", "data": {"productId": ["urn:gtin:4901234567894"], "comment": "please"}}
    for _ in range(2):  # the same event twice is one request
        r = await client.post("/3/events", headers={**token(), "content-type": "application/cloudevents+json"},
                              json=event)
        assert r.status_code == 200 and r.content == b""
    sent: list[tuple[str, dict]] = []

    async def send(url, answer):
        sent.append((url, answer))

    ctx = app.state.runtime.pact
    assert await pact.deliver_due(engine, send, give_up_seconds=60) == 1
    assert await pact.deliver_due(engine, send, give_up_seconds=60) == 0
    (url, answer), = sent
    assert url == "https://buyer.example/api/3/events" and ctx is not None
    assert answer["type"] == "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3"
    assert answer["source"] == "https://pact.example.test/pact/3/events"
    assert answer["data"]["requestEventId"] == "req-1"
    assert [pf["productIds"] for pf in answer["data"]["pfs"]] == [["urn:gtin:4901234567894"]]


async def test_unmatched_request_is_rejected_and_failed_deliveries_are_retried_with_backoff(client, token, engine):
    await grant_products(client, [STEEL])
    event = {"specversion": "1.0", "id": "req-2", "source": "https://buyer.example/api", "type": CREATED,
             "data": {"productId": ["urn:null"]}}
    assert (await client.post("/3/events", headers=token(), json=event)).status_code == 200
    calls: list[dict] = []

    async def failing(url, answer):
        calls.append(answer)
        raise RuntimeError("connection refused")

    now = datetime.now(UTC)
    assert await pact.deliver_due(engine, failing, give_up_seconds=3600, now=now) == 0
    # not due again before the back-off has passed
    assert await pact.deliver_due(engine, failing, give_up_seconds=3600, now=now) == 0
    assert len(calls) == 1
    sent: list[dict] = []

    async def ok(url, answer):
        sent.append(answer)

    later = now + timedelta(seconds=6)
    assert await pact.deliver_due(engine, ok, give_up_seconds=3600, now=later) == 1
    assert sent[0]["type"] == "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3"
    assert sent[0]["data"] == {"requestEventId": "req-2", "error": {
        "code": "NotFound", "message": "No footprint granted to you matches the request."}}
    assert sent[0]["id"] == calls[0]["id"]  # a retry sends the same event id
    async with engine.connect() as conn:
        row = (await conn.execute(select(tables.pact_requests))).mappings().one()
    assert (row["state"], row["attempts"], row["answer_type"]) == ("delivered", 2, sent[0]["type"])


async def test_answers_are_abandoned_after_the_give_up_time(client, token, engine):
    await grant_products(client, [STEEL])
    event = {"specversion": "1.0", "id": "req-3", "source": "https://b", "type": CREATED, "data": {}}
    assert (await client.post("/3/events", headers=token(), json=event)).status_code == 200

    async def failing(url, answer):
        raise RuntimeError("down")

    later = datetime.now(UTC) + timedelta(days=4)
    await pact.deliver_due(engine, failing, give_up_seconds=3 * 24 * 3600, now=later)
    async with engine.connect() as conn:
        assert (await conn.execute(select(tables.pact_requests.c.state))).scalar_one() == "abandoned"


@pytest.mark.parametrize("event, why", [
    ({"specversion": "1.0", "id": "x", "source": "s", "type": "com.example.Other"}, "Unsupported"),
    ({"specversion": "1.0", "id": "x", "source": "s"}, "type"),
    ({"specversion": "0.3", "id": "x", "source": "s", "type": CREATED}, "specversion"),
    ({"specversion": "1.0", "id": "x", "source": "s", "type": CREATED, "data": {"productId": "not-a-list"}}, "array"),
    ({"specversion": "1.0", "id": "x", "source": "s", "type": CREATED, "data": {"validOn": "soon"}}, "RFC 3339"),
    ({"specversion": "1.0", "id": "x", "source": "s",
      "type": "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3", "data": {}}, "requestEventId"),
])
async def test_invalid_events_are_bad_requests(client, token, event, why):
    await grant_products(client, [STEEL])
    r = await client.post("/3/events", headers=token(), json=event)
    assert r.status_code == 400 and r.json()["code"] == "BadRequest" and why in r.json()["message"], r.text


async def test_published_events_are_accepted_and_requests_need_a_callback(client, token):
    await grant_products(client, [STEEL])
    published = {"specversion": "1.0", "id": "p1", "source": "https://buyer.example", "data": {},
                 "type": "org.wbcsd.pact.ProductFootprint.PublishedEvent.3"}
    assert (await client.post("/3/events", headers=token(), json=published)).status_code == 200
    r = await client.post("/3/events", headers=token(cb=None), json={
        "specversion": "1.0", "id": "r", "source": "https://b", "type": CREATED, "data": {}})
    assert r.status_code == 400 and "callback" in r.json()["message"]
    r = await client.post("/3/events", headers={"authorization": "Bearer invalid-access-token", **HTTPS},
                          json=published)
    assert r.status_code == 400 and r.json()["code"] == "BadRequest"
