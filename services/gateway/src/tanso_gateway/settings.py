"""Gateway settings (env ``TANSO_GATEWAY_…``).

``TANSO_GATEWAY_UPSTREAMS`` is JSON, e.g. ``{"identity": "http://10.0.0.5:8001", ...}``;
``TANSO_GATEWAY_RATE_LIMIT__REQUESTS_PER_SECOND=50``; ``TANSO_GATEWAY_MAX_BODY_BYTES=52428800``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from tanso_runtime.settings import service_settings

#: The services behind the gateway and their default local ports.
SERVICE_PORTS: dict[str, int] = {
    "identity": 8001,
    "factors": 8002,
    "activities": 8003,
    "calculation": 8004,
    "supplier-exchange": 8005,
    "reporting": 8006,
}


class RateLimitSettings(BaseModel):
    #: Sustained requests per second per tenant, and the burst a tenant may spend at once.
    requests_per_second: float = 50.0
    burst: int = 100


class TlsSettings(BaseModel):
    """HTTPS for the gateway: PEM certificate chain and private key (``TANSO_GATEWAY_TLS__CERTFILE`` …).

    Both empty: plain HTTP (behind a TLS-terminating ingress). The PACT API refuses plain HTTP.
    """

    certfile: str = ""
    keyfile: str = ""
    keyfile_password: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.certfile and self.keyfile)


class Settings(service_settings("gateway", 8000)):
    tls: TlsSettings = TlsSettings()
    upstreams: dict[str, str] = Field(
        default_factory=lambda: {name: f"http://127.0.0.1:{port}" for name, port in SERVICE_PORTS.items()})
    rate_limit: RateLimitSettings = RateLimitSettings()
    #: Routes that need no token, as ``"METHOD /api/<service>/<path>"``.
    public_paths: list[str] = Field(default_factory=lambda: [
        "POST /api/identity/tenants",
        "POST /api/identity/token",
        "GET /api/identity/.well-known/jwks.json",
        "GET /api/supplier-exchange/.well-known/jwks.json",  # disclosure signatures, checked offline
    ])
    #: PACT v3 base URL ``/pact``: ``/pact/auth/token`` → identity, ``/pact/3/…`` → supplier-exchange.
    #: The services check the machine-client credentials and tokens themselves (PACT error bodies).
    pact_prefix: str = "/pact"
    #: Above the activities CSV limit (100 MiB), so the service can answer with its own row-level errors.
    max_body_bytes: int = 110 * 1024 * 1024
    connect_timeout_seconds: float = 3.0
    #: Long enough for a large CSV import, which runs inside its request.
    upstream_timeout_seconds: float = 600.0
    health_timeout_seconds: float = 2.0
    #: ``/health/processing`` asks each service for broker offsets: slower than a readiness probe.
    processing_timeout_seconds: float = 10.0
    openapi_cache_seconds: float = 15.0
