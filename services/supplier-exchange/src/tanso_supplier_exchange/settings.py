"""Settings of the supplier-exchange service (env prefix ``TANSO_SUPPLIER_EXCHANGE_``)."""

from pathlib import Path

from pydantic import BaseModel
from tanso_runtime.settings import service_settings


class PactSettings(BaseModel):
    """PACT v3 API (``TANSO_SUPPLIER_EXCHANGE_PACT__<FIELD>``), see docs/supplier-exchange.md."""

    #: Audience of machine-client tokens (identity issues them with this audience).
    audience: str = "tanso-pact"
    #: Refuse calls that did not arrive over HTTPS (the gateway's ``x-forwarded-proto``).
    require_https: bool = True
    #: Answer ``RequestCreated`` events in the background (off in unit tests, which drive it by hand).
    callback_worker: bool = True
    callback_poll_seconds: float = 1.0
    #: CA bundle to verify the buyers' callback hosts with (empty: the system's trusted CAs).
    callback_ca_file: str = ""
    callback_timeout_seconds: float = 10.0
    #: Stop retrying an answer after this long (the specification: not more than 3 days).
    callback_give_up_seconds: int = 3 * 24 * 3600


class Settings(service_settings("supplier-exchange", 8005, fetch_max_wait_ms=100)):
    pact: PactSettings = PactSettings()

    @property
    def signing_key_path(self) -> Path:
        """The Ed25519 key that signs disclosures; generated on first start (0600), never committed."""
        return self.data_dir / "keys" / "supplier-exchange-ed25519.pem"
