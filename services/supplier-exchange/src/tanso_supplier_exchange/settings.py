"""Settings of the supplier-exchange service (env prefix ``TANSO_SUPPLIER_EXCHANGE_``)."""

from pathlib import Path

from tanso_runtime.settings import service_settings


class Settings(service_settings("supplier-exchange", 8005)):
    @property
    def signing_key_path(self) -> Path:
        """The Ed25519 key that signs disclosures; generated on first start (0600), never committed."""
        return self.data_dir / "keys" / "supplier-exchange-ed25519.pem"
