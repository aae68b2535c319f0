"""Platform with stand-in services (tests/fake_service.py) and the real gateway."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tanso_devstack._util import port_open
from tanso_devstack.platform import SERVICES, Platform, PlatformError

HERE = Path(__file__).parent
FAKES = {name: "fake_service" for name in SERVICES}


def test_platform_starts_kills_restarts_and_stops(tmp_path) -> None:
    platform = Platform(tmp_path / "data", "127.0.0.1:1", base_port=None, services=["identity", "calculation"],
                        modules=FAKES, env={"PYTHONPATH": str(HERE)}, ready_timeout=90)
    with platform:
        assert httpx.get(f"{platform.url}/health/ready").status_code == 200
        paths = httpx.get(f"{platform.url}/openapi.json").json()["paths"]
        assert {"/api/identity/hello", "/api/calculation/hello"} <= set(paths)
        assert (tmp_path / "data" / "logs" / "calculation.log").exists()

        platform.kill("calculation")
        assert not platform.is_running("calculation")
        body = httpx.get(f"{platform.url}/health/ready").json()
        assert body["status"] == "not_ready" and body["services"]["calculation"]["status"] == "unreachable"

        platform.start("calculation")
        assert httpx.get(f"{platform.url}/health/ready").status_code == 200
        ports = list(platform.ports.values())
    assert not any(port_open("127.0.0.1", p) for p in ports)


def test_platform_names_the_service_that_fails(tmp_path) -> None:
    platform = Platform(tmp_path, "127.0.0.1:1", base_port=None,
                        modules=FAKES | {"factors": "tanso_no_such_module"}, env={"PYTHONPATH": str(HERE)})
    with pytest.raises(PlatformError, match="factors exited") as failure:
        platform.start()
    assert "No module named tanso_no_such_module" in str(failure.value)
    assert not platform.processes


def test_service_environment(tmp_path) -> None:
    platform = Platform(tmp_path, "127.0.0.1:9092",
                        database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/{db}")
    env = platform.env_for("supplier-exchange")
    assert env["TANSO_SUPPLIER_EXCHANGE_HTTP__PORT"] == "8005"
    assert env["TANSO_SUPPLIER_EXCHANGE_KAFKA__BOOTSTRAP_SERVERS"] == "127.0.0.1:9092"
    assert env["TANSO_SUPPLIER_EXCHANGE_DATABASE__URL"].endswith("/tanso_supplier_exchange")
    assert env["TANSO_SUPPLIER_EXCHANGE_AUTH__JWKS_URL"] == "http://127.0.0.1:8001/.well-known/jwks.json"
    assert env["TANSO_SUPPLIER_EXCHANGE_DATA_DIR"] == str(tmp_path.resolve() / "supplier-exchange")
    assert '"reporting": "http://127.0.0.1:8006"' in platform.env_for("gateway")["TANSO_GATEWAY_UPSTREAMS"]
    assert platform.url == "http://127.0.0.1:8000"
