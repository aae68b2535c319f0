"""supplier-exchange runs on its own database with health endpoints (features come later)."""

from tanso_supplier_exchange.adapters import tables
from tanso_supplier_exchange.main import create_app
from tanso_supplier_exchange.settings import Settings


def test_it_has_its_own_database_with_the_messaging_tables(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.database_url().endswith("supplier-exchange.sqlite3")
    assert {"event_store", "outbox", "inbox", "dead_letters"} <= set(tables.metadata.tables)


def test_it_serves_the_health_endpoints_on_its_own_port(tmp_path, monkeypatch):
    monkeypatch.setenv("TANSO_SUPPLIER_EXCHANGE_HTTP__PORT", "18105")
    assert Settings().http.port == 18105
    paths = create_app(Settings(data_dir=tmp_path)).openapi()["paths"]
    assert {"/health/live", "/health/ready"} <= set(paths)
