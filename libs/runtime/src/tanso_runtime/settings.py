"""Settings shared by every service: one pydantic-settings class per service, nested sections.

Environment names are ``TANSO_<SERVICE>_<SECTION>__<FIELD>``, e.g.
``TANSO_CALCULATION_DATABASE__URL`` or ``TANSO_ACTIVITIES_KAFKA__BOOTSTRAP_SERVERS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel
from pydantic_settings import BaseSettings, SettingsConfigDict


class DatabaseSettings(BaseModel):
    #: SQLAlchemy async URL; empty means a SQLite file ``<data_dir>/<service>.sqlite3``.
    url: str = ""


class KafkaSettings(BaseModel):
    bootstrap_servers: str = "127.0.0.1:9092"
    partitions: int = 3
    #: Replication factor of the topics a service creates when they are missing (3 on a production
    #: cluster with min.insync.replicas=2; 1 on a single development broker).
    replication_factor: int = 1
    #: On start, republish outbox rows of this many seconds before the newest published row
    #: (needed with the memory-only development broker; harmless with Kafka: consumers dedupe).
    republish_window_seconds: int = 900
    #: How long a fetch may wait for data. Tansu answers only when the wait ends (no wake-up on new
    #: data), so a short wait keeps latency low there; with Apache Kafka 500 costs nothing.
    fetch_max_wait_ms: int = 20
    #: Most records a consumer applies in one transaction with one offset commit (a backlog drains
    #: in batches of this size; a failing batch is retried one record at a time). Large enough for
    #: the set-based batch handlers (calculation, reporting) to pay off on an import's backlog.
    consume_batch_max: int = 500


class AuthSettings(BaseModel):
    jwks_url: str = "http://127.0.0.1:8001/.well-known/jwks.json"
    issuer: str = "tanso-identity"
    audience: str = "tanso"


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000


class OutboxSettings(BaseModel):
    poll_interval_seconds: float = 0.5
    batch_size: int = 500
    #: Where the outbox relay runs. ``in_process``: inside the service's API process (``make run``,
    #: tests, docker-compose). ``external``: the API only writes the outbox and a separate
    #: ``python -m tanso_runtime.relay <service>`` publishes it (Helm), so the API may scale out.
    relay: Literal["in_process", "external"] = "in_process"
    #: HTTP port of the external relay's ``/health/*`` and ``/metrics``; unset: the service's
    #: HTTP port + 1000 (e.g. 9003 for activities). Read by the relay process only.
    relay_port: int | None = None


class ServiceSettings(BaseSettings):
    """Base settings; each service subclasses it with its own ``env_prefix`` and default port."""

    service_name: ClassVar[str] = "service"

    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Path("data")
    log_level: str = "INFO"
    log_json: bool = True
    database: DatabaseSettings = DatabaseSettings()
    kafka: KafkaSettings = KafkaSettings()
    auth: AuthSettings = AuthSettings()
    http: HttpSettings = HttpSettings()
    outbox: OutboxSettings = OutboxSettings()

    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.service_name}.sqlite3').resolve()}"


def service_settings(name: str, port: int, *, fetch_max_wait_ms: int = 20) -> type[ServiceSettings]:
    """Build the settings class of one service: env prefix ``TANSO_<NAME>_``, default port.

    ``fetch_max_wait_ms``: services whose events are not on a user's critical path poll less
    often (each empty fetch costs the broker and the service CPU).
    """
    prefix = "TANSO_" + name.upper().replace("-", "_") + "_"

    class _Settings(ServiceSettings):
        service_name: ClassVar[str] = name
        model_config = SettingsConfigDict(env_prefix=prefix, env_nested_delimiter="__", extra="ignore")
        http: HttpSettings = HttpSettings(port=port)
        kafka: KafkaSettings = KafkaSettings(fetch_max_wait_ms=fetch_max_wait_ms)

    _Settings.__name__ = _Settings.__qualname__ = name.title().replace("-", "") + "Settings"
    return _Settings
