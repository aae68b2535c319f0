"""The platform over TLS (a local CA from ``trustme``) for the PACT v3 conformance suite.

The gateway serves HTTPS with a certificate for 127.0.0.1 issued by a throw-away CA; the test
client and supplier-exchange's callback sender trust that CA only. A small HTTPS server plays the
buyer's PACT host that receives the asynchronous answers (``POST /3/events``).
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import trustme
from tanso_devstack.broker import broker_for_tests
from tanso_devstack.platform import Platform, PlatformError
from tanso_devstack.testing import platform_databases

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    """(CA bundle path, certificate chain path, key path) for 127.0.0.1 / localhost."""
    folder = tmp_path_factory.mktemp("tls")
    authority = trustme.CA()
    cert = authority.issue_cert("127.0.0.1", "localhost")
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    authority.cert_pem.write_to_path(str(paths[0]))
    cert.private_key_and_cert_chain_pem.write_to_path(str(paths[1]))
    cert.private_key_pem.write_to_path(str(paths[2]))
    return tuple(str(p) for p in paths)


class Receiver:
    """The buyer's PACT host: records every CloudEvent POSTed to ``/buyer/3/events``."""

    def __init__(self, certfile: str, keyfile: str) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                received.append({"path": self.path, "content_type": self.headers.get("content-type"),
                                 "event": json.loads(body)})
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certfile, keyfile)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/buyer"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer_to(self, request_event_id: str, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for item in self.received:
                if item["event"].get("data", {}).get("requestEventId") == request_event_id:
                    return item
            time.sleep(0.1)
        raise AssertionError(f"no answer to {request_event_id} within {timeout} s; received: {self.received}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def receiver(ca):
    r = Receiver(ca[1], ca[2])
    yield r
    r.close()


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with broker_for_tests(tmp_path_factory.mktemp("broker")) as bootstrap:
        yield bootstrap


@pytest.fixture(scope="module")
def database_url():
    """Like the e2e tests: ``TANSO_TEST_DATABASE=postgresql`` puts every service on its own PostgreSQL database."""
    with platform_databases("pact") as url:
        yield url


@pytest.fixture(scope="module")
def platform(broker, ca, database_url, tmp_path_factory):
    """The whole platform as processes; the gateway on HTTPS only."""
    ca_file, certfile, keyfile = ca
    platform = Platform(tmp_path_factory.mktemp("platform"), broker, base_port=None, ready_timeout=180,
                        database_url=database_url, env={
        "TANSO_GATEWAY_TLS__CERTFILE": certfile, "TANSO_GATEWAY_TLS__KEYFILE": keyfile,
        "TANSO_SUPPLIER_EXCHANGE_PACT__CALLBACK_CA_FILE": ca_file,
        "TANSO_SUPPLIER_EXCHANGE_PACT__CALLBACK_POLL_SECONDS": "0.2"})
    platform.start(wait=False)
    try:
        url = f"https://{platform.host}:{platform.ports['gateway']}"
        deadline = time.monotonic() + platform.ready_timeout
        with httpx.Client(verify=ssl.create_default_context(cafile=ca_file), timeout=3) as client:
            while True:
                try:
                    if client.get(f"{url}/health/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                for name, process in platform.processes.items():
                    if process.poll() is not None:
                        raise PlatformError(f"{name} exited while starting:\n{platform._log_section(name)}")
                if time.monotonic() > deadline:
                    raise PlatformError("the platform did not become ready over HTTPS:\n"
                                        + platform._log_section("gateway"))
                time.sleep(0.25)
        platform.https_url = url
        yield platform
    finally:
        platform.stop()


class Tenant:
    """A tenant's admin on the gateway over HTTPS."""

    def __init__(self, base_url: str, ca_file: str, company: str) -> None:
        self.client = httpx.Client(base_url=base_url, verify=ssl.create_default_context(cafile=ca_file), timeout=30)
        email = f"admin-{uuid.uuid4().hex[:8]}@example.test"
        created = self.ok("POST", "/api/identity/tenants", json={
            "company_name": company, "admin_email": email, "admin_password": PASSWORD, "admin_display_name": "Admin"})
        self.tenant_id = created["tenant_id"]
        token = self.ok("POST", "/api/identity/token", json={"email": email, "password": PASSWORD})["access_token"]
        self.client.headers["authorization"] = f"Bearer {token}"

    def ok(self, method: str, path: str, **kwargs):
        r = self.client.request(method, path, **kwargs)
        assert r.status_code < 300, f"{method} {path} → {r.status_code}: {r.text}"
        return r.json()


def disclose(buyer: Tenant, supplier: Tenant, figures: list[dict]) -> dict:
    """Invitation, acceptance, a product-footprint request and its grant: the signed disclosure."""
    code = buyer.ok("POST", "/api/supplier-exchange/invitations",
                    json={"supplier_tenant_id": supplier.tenant_id})["code"]
    supplier.ok("POST", f"/api/supplier-exchange/invitations/{code}/accept")
    request = buyer.ok("POST", "/api/supplier-exchange/requests", json={
        "supplier_tenant_id": supplier.tenant_id, "what": ["product_footprint"], "fiscal_year": 2025,
        "deadline": (date.today() + timedelta(days=30)).isoformat(), "message": "PCF をお願いします"})
    return supplier.ok("POST", f"/api/supplier-exchange/requests/{request['request_id']}/grant",
                       json={"figures": figures})


def pact_data(name: str, description: str, pcf: str, **more) -> dict:
    """What a supplier states for PACT v3 with a product footprint (every mandatory datum), per 1 declared unit."""
    return {"product_name": name, "product_description": description, "declared_unit": "kilogram",
            "declared_unit_amount": "1", "product_mass_per_declared_unit": "1",
            "reference_period_start": "2025-04-01", "reference_period_end": "2026-04-01", "geography": "JP",
            "pcf_excluding_biogenic_uptake": pcf, "pcf_including_biogenic_uptake": pcf, "fossil_ghg_emissions": pcf,
            "fossil_carbon_content": "0", "ipcc_characterization_factors": ["AR6"],
            "cross_sectoral_standards": ["ISO14067", "PACT-3.0"], "exempted_emissions_percent": "0",
            "packaging_emissions_included": False, "ccs_technological_co2_capture_included": False,
            "primary_data_share": "35", **more}


STEEL = {"kind": "product_footprint", "product_id": "urn:gtin:4901234567894", "value": "2.35", "unit": "t-CO2e/t",
         "footprint": pact_data("熱延鋼板", "Hot-rolled steel coil, unpacked", "2.35")}
RESIN = {"kind": "product_footprint", "product_id": "urn:gtin:4901234567900", "value": "0.82", "unit": "kg-CO2e/kg",
         "footprint": pact_data("PP 樹脂", "Polypropylene resin pellets, 25 kg bags", "0.82", geography="JP-13",
                                product_classifications=["urn:eclass:0173-1#01-AAA123#005"],
                                biogenic_carbon_content="0", packaging_emissions_included=True)}
BOLT = {"kind": "product_footprint", "product_id": "BOLT-M8", "value": "0.0125", "unit": "kg-CO2e/piece",
        "footprint": pact_data("六角ボルト M8", "Hex bolt M8x30", "0.0125", declared_unit="piece",
                               product_mass_per_declared_unit="0.0152")}
#: Granted as before PACT data could be stated: a valid disclosure that the PACT API does not serve.
WASHER = {"kind": "product_footprint", "product_id": "urn:gtin:4901234567917", "value": "0.003",
          "unit": "kg-CO2e/piece"}
OTHER = {"kind": "product_footprint", "product_id": "urn:gtin:4909999999999", "value": "9.9", "unit": "kg-CO2e/kg",
         "footprint": pact_data("Other", "Granted to the other buyer only", "9.9")}


@pytest.fixture(scope="module")
def world(platform, ca, receiver):
    """A supplier that granted four product footprints to a buyer, three of them with the PACT data
    stated (and one to another buyer), and the PACT client credentials the supplier's admin issued
    for each buyer."""
    ca_file = ca[0]
    supplier = Tenant(platform.https_url, ca_file, "適合試験サプライヤー株式会社")
    buyer = Tenant(platform.https_url, ca_file, "Conformance Buyer")
    other = Tenant(platform.https_url, ca_file, "Other Buyer")
    disclosure = disclose(buyer, supplier, [STEEL, RESIN, BOLT, WASHER])
    disclose(other, supplier, [OTHER])
    client = supplier.ok("POST", "/api/identity/machine-clients", json={
        "name": "Conformance Buyer PACT", "buyer_tenant_id": buyer.tenant_id, "callback_url": receiver.url})
    other_client = supplier.ok("POST", "/api/identity/machine-clients", json={
        "name": "Other Buyer PACT", "buyer_tenant_id": other.tenant_id})
    yield {"supplier": supplier, "buyer": buyer, "other": other, "disclosure": disclosure, "client": client,
           "granted": {f["product_id"]: f for f in (STEEL, RESIN, BOLT, WASHER)},
           "other_client": other_client, "base": f"{platform.https_url}/pact", "ca_file": ca_file}
    for tenant in (supplier, buyer, other):
        tenant.client.close()
