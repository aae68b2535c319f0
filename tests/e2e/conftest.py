"""The whole platform as separate processes on a real Kafka-protocol broker, for e2e tests.

``TANSO_TEST_DATABASE=postgresql`` runs every service on its own PostgreSQL database.
"""

from __future__ import annotations

import pytest
from tanso_devstack.broker import broker_for_tests
from tanso_devstack.platform import Platform
from tanso_devstack.testing import GatewayClient as Api
from tanso_devstack.testing import platform_databases


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with broker_for_tests(tmp_path_factory.mktemp("broker")) as bootstrap:
        yield bootstrap


def database_template():
    """A context manager yielding the platform's database URL template (None: SQLite files)."""
    return platform_databases("e2e")


@pytest.fixture(scope="module")
def platform(broker, tmp_path_factory):
    with database_template() as database_url:
        platform = Platform(tmp_path_factory.mktemp("platform"), broker, base_port=None,
                            database_url=database_url, ready_timeout=180)
        platform.start()
        yield platform
        platform.stop()


@pytest.fixture
def new_api(platform):
    """Factory of gateway clients (one per simulated tenant or anonymous caller)."""
    clients: list[Api] = []

    def make(url: str | None = None) -> Api:
        clients.append(Api(url or platform.url))
        return clients[-1]

    yield make
    for client in clients:
        client.client.close()


@pytest.fixture
def api(new_api):
    return new_api()
