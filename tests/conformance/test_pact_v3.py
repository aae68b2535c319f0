"""PACT Technical Specifications v3.0 conformance: every mandatory test case of the published list
(PACT Tech Specs V3 test cases #1-#17 and #20-#40; #18/#19, OpenID Connect, are not mandatory),
written for Tanso against the platform started as processes with the gateway on HTTPS.

Base URL: ``https://<gateway>/pact`` (token at ``/pact/auth/token``, API at ``/pact/3/…``).
"""

from __future__ import annotations

import base64
import re
import ssl
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("platform")]

CREATED = "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3"
FULFILLED = "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3"
REJECTED = "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3"
PUBLISHED = "org.wbcsd.pact.ProductFootprint.PublishedEvent.3"
CLOUDEVENTS = {"content-type": "application/cloudevents+json; charset=UTF-8"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
STEEL_ID, RESIN_ID = "urn:gtin:4901234567894", "urn:gtin:4901234567900"

PF_REQUIRED = ("id", "specVersion", "created", "status", "companyName", "companyIds", "productDescription",
               "productIds", "productNameCompany", "pcf")
PCF_REQUIRED = ("declaredUnitOfMeasurement", "declaredUnitAmount", "productMassPerDeclaredUnit",
                "referencePeriodStart", "referencePeriodEnd", "pcfExcludingBiogenicUptake",
                "pcfIncludingBiogenicUptake", "fossilGhgEmissions", "fossilCarbonContent",
                "ipccCharacterizationFactors", "crossSectoralStandards", "exemptedEmissionsPercent")
#: "SHALL" (required to report on) in the v3 specification, beyond its schema's required list.
PCF_SHALL = ("packagingEmissionsIncluded", "ccsTechnologicalCO2CaptureIncluded", "primaryDataShare")
PCF_DECIMALS = ("declaredUnitAmount", "productMassPerDeclaredUnit", "pcfExcludingBiogenicUptake",
                "pcfIncludingBiogenicUptake", "fossilGhgEmissions", "fossilCarbonContent", "exemptedEmissionsPercent",
                "primaryDataShare")
GEOGRAPHY = ("geographyCountry", "geographyCountrySubdivision", "geographyRegionOrSubregion")


def check_footprint(pf: dict) -> None:
    """Our reading of the v3 ProductFootprint: required properties, UUID id, decimals as strings."""
    missing = [k for k in PF_REQUIRED if k not in pf] + [f"pcf.{k}" for k in PCF_REQUIRED + PCF_SHALL
                                                           if k not in pf["pcf"]]
    assert not missing, f"footprint lacks {missing}"
    assert sum(k in pf["pcf"] for k in GEOGRAPHY) <= 1  # one geographic granularity (none: global)
    assert str(uuid.UUID(pf["id"])) == pf["id"]
    assert pf["specVersion"].startswith("3.") and pf["status"] in ("Active", "Deprecated")
    assert pf["productIds"] and all(p.startswith("urn:") for p in pf["productIds"])
    assert pf["companyIds"] and all(c.startswith("urn:") for c in pf["companyIds"])
    for key in PCF_DECIMALS:
        assert isinstance(pf["pcf"][key], str) and DECIMAL.match(pf["pcf"][key]), (key, pf["pcf"][key])
    for key in ("created", "validityPeriodStart", "validityPeriodEnd"):
        if key in pf or key == "created":  # no stated validity period: 3 years from the reference period end
            datetime.fromisoformat(pf[key])
    assert pf["pcf"]["referencePeriodStart"] < pf["pcf"]["referencePeriodEnd"]


def basic(client_id: str, secret: str) -> dict:
    return {"authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@pytest.fixture(scope="module")
def http(world):
    with httpx.Client(verify=ssl.create_default_context(cafile=world["ca_file"]), timeout=30) as client:
        yield client


def token_for(http, world, client_key: str = "client") -> str:
    c = world[client_key]
    r = http.post(f"{world['base']}/auth/token", content="grant_type=client_credentials",
                  headers={**basic(c["client_id"], c["client_secret"]), **FORM})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


@pytest.fixture(scope="module")
def auth(http, world) -> dict:
    return {"authorization": f"Bearer {token_for(http, world)}"}


@pytest.fixture(scope="module")
def all_footprints(http, world, auth) -> list[dict]:
    r = http.get(f"{world['base']}/3/footprints", headers=auth)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def listed(http, world, auth, query: str) -> list[dict]:
    r = http.get(f"{world['base']}/3/footprints?{query}", headers=auth)
    assert r.status_code == 200, f"{query}: {r.status_code} {r.text}"
    assert isinstance(r.json()["data"], list)
    return r.json()["data"]


def plain_http(platform, path: str) -> str:
    return f"http://{platform.host}:{platform.ports['gateway']}{path}"


# --- authentication ------------------------------------------------------------------------------


def test_01_auth_token_with_valid_credentials(http, world):
    """TC#1: POST /auth/token, client credentials in HTTP Basic → 200 with a bearer access token."""
    c = world["client"]
    r = http.post(f"{world['base']}/auth/token", content="grant_type=client_credentials",
                  headers={**basic(c["client_id"], c["client_secret"]), **FORM, "accept": "application/json"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["access_token"] and body["token_type"].lower() == "bearer" and body["expires_in"] > 0


def test_02_auth_token_with_invalid_credentials(http, world):
    """TC#2: wrong client secret → 400 or 401, RFC 6749 error ``invalid_client``, no token."""
    r = http.post(f"{world['base']}/auth/token", content="grant_type=client_credentials",
                  headers={**basic(world["client"]["client_id"], "wrong-secret"), **FORM})
    assert r.status_code in (400, 401) and r.json()["error"] == "invalid_client"
    assert "access_token" not in r.json()


# --- GetFootprint / ListFootprints ---------------------------------------------------------------


def test_03_get_footprint(http, world, auth, all_footprints):
    """TC#3: GET /3/footprints/{id} → 200 and ``data`` is that footprint."""
    wanted = next(pf for pf in all_footprints if pf["productIds"] == [STEEL_ID])
    r = http.get(f"{world['base']}/3/footprints/{wanted['id']}", headers=auth)
    assert r.status_code == 200, r.text
    pf = r.json()["data"]
    check_footprint(pf)
    assert pf == wanted
    assert pf["pcf"]["pcfExcludingBiogenicUptake"] == "2.35" and pf["pcf"]["declaredUnitOfMeasurement"] == "kilogram"
    assert pf["companyName"] == "適合試験サプライヤー株式会社"


def test_04_list_footprints(http, world, all_footprints):
    """TC#4: GET /3/footprints → 200/202 with every footprint granted to the client's buyer, no one else's."""
    for pf in all_footprints:
        check_footprint(pf)
    # the washer was granted without the PACT data, so it is not served
    assert sorted(p for pf in all_footprints for p in pf["productIds"]) == sorted(
        [STEEL_ID, RESIN_ID, f"urn:tanso:product:{world['supplier'].tenant_id}:BOLT-M8"])
    assert "urn:gtin:4909999999999" not in str(all_footprints)  # granted to the other buyer only


def test_05_pagination_link(http, world, auth, all_footprints):
    """TC#5: ``limit`` pages with an absolute ``Link: <…>; rel="next"`` on the request's host until the end."""
    url, seen, pages = f"{world['base']}/3/footprints?limit=1", [], 0
    host = urlsplit(world["base"]).netloc
    while url:
        r = http.get(url, headers=auth)
        assert r.status_code == 200, r.text
        assert len(r.json()["data"]) <= 1
        seen += [pf["id"] for pf in r.json()["data"]]
        pages += 1
        link = r.headers.get("link")
        if link is None:
            break
        match = re.fullmatch(r'<([^>]+)>;\s*rel="next"', link.strip())
        assert match, link
        target = urlsplit(match.group(1))
        assert (target.scheme, target.netloc) == ("https", host)  # absolute, same host
        again = http.get(match.group(1), headers=auth)  # a pagination link can be called again
        assert again.status_code == 200
        url = match.group(1)
    assert pages == len(all_footprints) and seen == [pf["id"] for pf in all_footprints]


def test_06_list_footprints_with_invalid_token(http, world):
    """TC#6: an invalid bearer token → 400 or 401 with a PACT error body."""
    r = http.get(f"{world['base']}/3/footprints", headers={"authorization": "Bearer invalid-access-token"})
    assert r.status_code in (400, 401) and r.json()["code"] in ("BadRequest", "TokenExpired") and "data" not in r.json()


def test_07_get_footprint_with_invalid_token(http, world, all_footprints):
    """TC#7: GetFootprint with an invalid bearer token → 400 or 401."""
    r = http.get(f"{world['base']}/3/footprints/{all_footprints[0]['id']}",
                 headers={"authorization": "Bearer invalid-access-token"})
    assert r.status_code in (400, 401) and r.json()["code"] == "BadRequest" and "data" not in r.json()


def test_08_get_footprint_with_non_existent_id(http, world, auth):
    """TC#8: an unknown footprint id → 400 or 404 (here 404, code NotFound)."""
    for pf_id in ("non-existent-id", str(uuid.uuid4())):
        r = http.get(f"{world['base']}/3/footprints/{pf_id}", headers=auth)
        assert r.status_code in (400, 404) and r.json()["code"] == "NotFound" and "data" not in r.json()


# --- plain HTTP ----------------------------------------------------------------------------------


def _refused_or_without(key: str, send) -> None:
    try:
        r = send()
    except httpx.HTTPError:
        return  # the TLS port refuses the plain-HTTP connection
    assert r.status_code >= 400
    try:
        assert key not in r.json()
    except ValueError:
        pass


def test_09_authentication_over_plain_http_is_refused(platform, world):
    """TC#9: /auth/token over http:// → connection refused or no token."""
    c = world["client"]
    _refused_or_without("access_token", lambda: httpx.post(
        plain_http(platform, "/pact/auth/token"), content="grant_type=client_credentials",
        headers={**basic(c["client_id"], c["client_secret"]), **FORM}, timeout=10))
    # identity itself refuses too when reached without TLS (defence in depth)
    r = httpx.post(f"{platform.service_url('identity')}/auth/token", content="grant_type=client_credentials",
                   headers={**basic(c["client_id"], c["client_secret"]), **FORM})
    assert r.status_code == 400 and "access_token" not in r.json()


def test_10_list_footprints_over_plain_http_is_refused(platform, auth):
    """TC#10: ListFootprints over http:// → connection refused or no ``data``."""
    _refused_or_without("data", lambda: httpx.get(plain_http(platform, "/pact/3/footprints"), headers=auth,
                                                  timeout=10))
    r = httpx.get(f"{platform.service_url('supplier-exchange')}/3/footprints", headers=auth)
    assert r.status_code == 400 and "data" not in r.json()


def test_11_get_footprint_over_plain_http_is_refused(platform, auth, all_footprints):
    """TC#11: GetFootprint over http:// → connection refused or no ``data``."""
    path = f"/pact/3/footprints/{all_footprints[0]['id']}"
    _refused_or_without("data", lambda: httpx.get(plain_http(platform, path), headers=auth, timeout=10))
    r = httpx.get(f"{platform.service_url('supplier-exchange')}{path.removeprefix('/pact')}", headers=auth)
    assert r.status_code == 400 and "data" not in r.json()


# --- events --------------------------------------------------------------------------------------


def request_event(product_ids: list[str]) -> dict:
    return {"specversion": "1.0", "id": f"conformance-{uuid.uuid4()}", "source": "https://webhook.example.com",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "type": CREATED,
            "data": {"productId": product_ids, "comment": "Please send PCF data for this year."}}


def test_12_request_created_event_is_accepted(http, world, auth):
    """TC#12: POST /3/events with a RequestCreated event → 200, empty body."""
    r = http.post(f"{world['base']}/3/events", json=request_event([STEEL_ID]), headers={**auth, **CLOUDEVENTS})
    assert r.status_code == 200 and r.content == b""


def test_13_request_fulfilled_callback(http, world, auth, receiver):
    """TC#13: the accepted request is answered by a RequestFulfilled event POSTed to the requester's /3/events."""
    event = request_event([STEEL_ID])
    assert http.post(f"{world['base']}/3/events", json=event, headers={**auth, **CLOUDEVENTS}).status_code == 200
    got = receiver.answer_to(event["id"])
    assert got["path"] == "/buyer/3/events" and got["content_type"].startswith("application/cloudevents+json")
    answer = got["event"]
    assert (answer["type"], answer["specversion"]) == (FULFILLED, "1.0") and answer["id"] and answer["source"]
    assert answer["data"]["requestEventId"] == event["id"]
    assert [pf["productIds"] for pf in answer["data"]["pfs"]] == [[STEEL_ID]]
    for pf in answer["data"]["pfs"]:
        check_footprint(pf)


def test_14a_request_for_unknown_product_is_accepted(http, world, auth):
    """TC#14.A: a RequestCreated event for a product that does not exist is still accepted (200)."""
    r = http.post(f"{world['base']}/3/events", json=request_event(["urn:null"]), headers={**auth, **CLOUDEVENTS})
    assert r.status_code == 200 and r.content == b""


def test_14b_request_rejected_callback(http, world, auth, receiver):
    """TC#14.B: a request for a non-existent product is answered by a RequestRejected event."""
    event = request_event(["urn:null"])
    assert http.post(f"{world['base']}/3/events", json=event, headers={**auth, **CLOUDEVENTS}).status_code == 200
    answer = receiver.answer_to(event["id"])["event"]
    assert answer["type"] == REJECTED and answer["data"]["requestEventId"] == event["id"]
    assert answer["data"]["error"]["code"] and answer["data"]["error"]["message"]


def test_15_published_event_is_accepted(http, world, auth):
    """TC#15: a Published event (notification of updated footprints) → 200, empty body."""
    event = {"type": PUBLISHED, "specversion": "1.0", "id": str(uuid.uuid4()), "source": "https://webhook.example.com",
             "time": "2023-05-19T11:30:00Z", "data": {}}
    r = http.post(f"{world['base']}/3/events", json=event, headers={**auth, **CLOUDEVENTS})
    assert r.status_code == 200 and r.content == b""


def test_16_events_with_invalid_token(http, world):
    """TC#16: POST /3/events with an invalid bearer token → 400 or 401."""
    event = {"type": PUBLISHED, "specversion": "1.0", "id": "test-run-id-16", "source": "https://webhook.example.com",
             "data": {}}
    r = http.post(f"{world['base']}/3/events", json=event,
                  headers={"authorization": "Bearer invalid-access-token", **CLOUDEVENTS})
    assert r.status_code in (400, 401) and r.json()["code"] == "BadRequest"


def test_17_events_over_plain_http_are_refused(platform, auth):
    """TC#17: POST /3/events over http:// → connection refused or rejected."""
    event = {"type": PUBLISHED, "specversion": "1.0", "id": "test-run-id-17", "source": "https://webhook.example.com",
             "data": {}}
    _refused_or_without("data", lambda: httpx.post(plain_http(platform, "/pact/3/events"), json=event,
                                                   headers={**auth, **CLOUDEVENTS}, timeout=10))
    r = httpx.post(f"{platform.service_url('supplier-exchange')}/3/events", json=event, headers={**auth, **CLOUDEVENTS})
    assert r.status_code == 400


# --- v3 filters ----------------------------------------------------------------------------------


def test_20_filter_by_product_id(http, world, auth):
    """TC#20: productId=… → exactly the footprints of that product."""
    assert [pf["productIds"] for pf in listed(http, world, auth, f"productId={STEEL_ID}")] == [[STEEL_ID]]


def test_21_filter_by_company_id(http, world, auth, all_footprints):
    """TC#21: companyId=… → the footprints of that company."""
    company = f"urn:uuid:{world['supplier'].tenant_id}"
    assert listed(http, world, auth, f"companyId={company}") == all_footprints


def test_22_filter_by_geography(http, world, auth, all_footprints):
    """TC#22: geography=<country> → the footprints within that country (its subdivisions included)."""
    assert listed(http, world, auth, "geography=JP") == all_footprints
    assert [pf["productIds"] for pf in listed(http, world, auth, "geography=JP-13")] == [[RESIN_ID]]


def test_23_filter_by_classification(http, world, auth, all_footprints):
    """TC#23: classification=… → only footprints with that classification (the resin's, as its supplier stated)."""
    found = listed(http, world, auth, "classification=urn:eclass:0173-1%2301-AAA123%23005")
    assert [pf["productIds"] for pf in found] == [[RESIN_ID]]
    assert found[0]["productClassifications"] == ["urn:eclass:0173-1#01-AAA123#005"]


def test_24_filter_by_valid_on(http, world, auth, all_footprints):
    """TC#24: validOn=<time inside the validity period> → the footprints valid then."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert listed(http, world, auth, f"validOn={now}") == all_footprints


def test_25_filter_by_valid_after(http, world, auth, all_footprints):
    """TC#25: validAfter=<before the validity start> → the footprints whose validity starts later."""
    assert listed(http, world, auth, "validAfter=2023-01-14T10:15:30Z") == all_footprints


def test_26_filter_by_valid_before(http, world, auth, all_footprints):
    """TC#26: validBefore=<after the validity end> → the footprints whose validity ended before."""
    assert listed(http, world, auth, "validBefore=2099-01-01T00:00:00Z") == all_footprints


def test_27_filter_by_status(http, world, auth, all_footprints):
    """TC#27: status=Active → the active footprints."""
    assert listed(http, world, auth, "status=Active") == [pf for pf in all_footprints if pf["status"] == "Active"]


def test_28_filter_by_status_and_product_id(http, world, auth):
    """TC#28: status=Active&productId=… → both criteria apply (AND)."""
    found = listed(http, world, auth, f"status=Active&productId={STEEL_ID}")
    assert [(pf["status"], pf["productIds"]) for pf in found] == [("Active", [STEEL_ID])]


def test_29_filter_by_several_company_ids_or(http, world, auth, all_footprints):
    """TC#29: companyId repeated → any of the values matches (OR)."""
    company = f"urn:uuid:{world['supplier'].tenant_id}"
    query = f"companyId={company}&companyId=urn:uuid:other-company&companyId=urn:uuid:another-company"
    assert listed(http, world, auth, query) == all_footprints


@pytest.mark.parametrize("case, query", [
    ("30", "productId=urn:bogus:product:nonexistent123"),
    ("31", "companyId=urn:bogus:company:nonexistent456"),
    ("32", "geography=XX"),
    ("33", "classification=urn:bogus:classification:nonexistent789"),
    ("34", "validOn=1900-01-01T00:00:00Z"),
    ("35", "validAfter=2099-12-31T23:59:59Z"),
    ("36", "validBefore=1900-01-01T00:00:00Z"),
    ("37", "status=BogusStatusValue"),
    ("38", f"companyId=urn:bogus:company:5FIi8zS3&productId={STEEL_ID}"),
    ("39", ("companyId=urn:bogus:company:nonexistent1&companyId=urn:bogus:company:nonexistent2"
            "&companyId=urn:bogus:company:nonexistent3")),
])
def test_30_to_39_filters_without_matches_return_empty_data(http, world, auth, case, query):
    """TC#30-#39 (negative filter cases): no footprint matches → 200 with ``{"data": []}``."""
    assert listed(http, world, auth, query) == [], f"test case #{case}"


def test_40_odata_filter_is_a_bad_request(http, world, auth):
    """TC#40: the v2 OData ``$filter`` is not part of v3 → 400."""
    r = http.get(f"{world['base']}/3/footprints", params={"$filter": "created ge '2023-01-15T10:15:30Z'"},
                 headers=auth)
    assert r.status_code == 400 and r.json()["code"] == "BadRequest" and "data" not in r.json()


# --- beyond the list: the supplier's data only, isolation ------------------------------------------


def test_served_footprints_carry_exactly_what_the_supplier_stated(world, all_footprints):
    """Tanso rule: every PACT datum is the supplier's own statement, nothing is filled in for it; a product
    footprint granted without them is not served, and the grant said what was missing."""
    resin = next(pf for pf in all_footprints if pf["productIds"] == [RESIN_ID])
    stated = world["granted"][RESIN_ID]["footprint"]
    assert (resin["productNameCompany"], resin["productDescription"]) == (stated["product_name"],
                                                                          stated["product_description"])
    assert resin["pcf"] == {
        "declaredUnitOfMeasurement": "kilogram", "declaredUnitAmount": "1", "productMassPerDeclaredUnit": "1",
        "referencePeriodStart": "2025-04-01T00:00:00Z", "referencePeriodEnd": "2026-04-01T00:00:00Z",
        "geographyCountrySubdivision": "JP-13", "pcfExcludingBiogenicUptake": "0.82",
        "pcfIncludingBiogenicUptake": "0.82", "fossilGhgEmissions": "0.82", "fossilCarbonContent": "0",
        "biogenicCarbonContent": "0", "ipccCharacterizationFactors": ["AR6"],
        "crossSectoralStandards": ["ISO14067", "PACT-3.0"], "exemptedEmissionsPercent": "0",
        "packagingEmissionsIncluded": True, "ccsTechnologicalCO2CaptureIncluded": False, "primaryDataShare": "35"}
    washer_id = "urn:gtin:4901234567917"
    washer, = [e for e in world["disclosure"]["pact_readiness"] if e["product_id"] == washer_id]
    assert washer["pact_ready"] is False and "footprint.fossil_carbon_content" in washer["missing"]
    assert [e["pact_ready"] for e in world["disclosure"]["pact_readiness"]] == [True, True, True, False]
    assert washer_id in world["granted"] and washer_id not in str(all_footprints)


def test_a_client_never_sees_another_buyers_footprints(http, world, all_footprints):
    """Tanso rule (F23): the other buyer's client sees only its own footprint, and none of the first buyer's."""
    other = {"authorization": f"Bearer {token_for(http, world, 'other_client')}"}
    theirs = http.get(f"{world['base']}/3/footprints", headers=other).json()["data"]
    assert [pf["productIds"] for pf in theirs] == [["urn:gtin:4909999999999"]]
    r = http.get(f"{world['base']}/3/footprints/{all_footprints[0]['id']}", headers=other)
    assert r.status_code == 404
    # a PACT token opens nothing else on the platform
    assert http.get(f"{world['base'].removesuffix('/pact')}/api/supplier-exchange/disclosures",
                    headers=other).status_code == 401
