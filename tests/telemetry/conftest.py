"""Telemetry tests: the platform exporting its spans to an OTLP receiver run by the test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# ``telemetry_support`` sits beside the tests (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))

from tanso_devstack.testing import GatewayClient
from telemetry_support import OtlpReceiver


@pytest.fixture(scope="module")
def otlp():
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def traced_platform(otlp, tmp_path_factory):
    """Every service and the gateway as processes on a real broker, exporting spans to ``otlp``."""
    from tanso_devstack.broker import broker_for_tests
    from tanso_devstack.platform import Platform

    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # ms: the test waits for spans, production keeps 5 s
    }
    with broker_for_tests(tmp_path_factory.mktemp("broker")) as bootstrap:
        platform = Platform(tmp_path_factory.mktemp("platform"), bootstrap, base_port=None, env=env,
                            ready_timeout=180)
        platform.start()
        try:
            yield platform
        finally:
            platform.stop()


@pytest.fixture
def tenant(traced_platform):
    client = GatewayClient(traced_platform.url)
    yield client
    client.client.close()
