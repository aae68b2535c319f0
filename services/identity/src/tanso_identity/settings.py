"""Settings of the identity service (env prefix ``TANSO_IDENTITY_``)."""

from pathlib import Path

from pydantic import Field
from tanso_runtime.settings import service_settings


class Settings(service_settings("identity", 8001, fetch_max_wait_ms=100)):
    #: Lifetime of access tokens; short, because other services cannot revoke them.
    token_lifetime_seconds: int = Field(default=900, ge=60, le=3600)
    #: Public self-service sign-up (``POST /tenants``); operators may switch it off.
    allow_signup: bool = True
    #: PACT client-credentials tokens only over HTTPS (the gateway's ``x-forwarded-proto``); off only in tests.
    pact_require_https: bool = True

    @property
    def signing_key_path(self) -> Path:
        return self.data_dir / "keys" / "identity-ed25519.pem"

    @property
    def previous_signing_key_path(self) -> Path:
        """Where a rotation puts the retired key (docs/operations.md, "Rotating the signing key")."""
        return self.data_dir / "keys" / "identity-ed25519.previous.pem"
