"""The Ed25519 signing key (created once, kept in the data folder) and access-token issuance.

Key rotation (docs/operations.md): the retired key, renamed ``identity-ed25519.previous.pem``, stays
in the JWKS (never used to sign) so tokens it signed stay valid until they expire.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from tanso_runtime.auth import ACCESS_TOKEN_TYPE
from tanso_runtime.keys import SigningKey, load_key, load_or_create_key


def load_or_create_signing_key(path: Path) -> SigningKey:
    """The signing key at ``path``, generated on first start."""
    return SigningKey(load_or_create_key(path))


def load_previous_signing_key(path: Path) -> SigningKey | None:
    """The key retired by the last rotation, if its file is there (never created here)."""
    return SigningKey(load_key(path)) if path.exists() else None


@dataclass(frozen=True)
class TokenIssuer:
    key: SigningKey
    issuer: str
    audience: str
    lifetime_seconds: int = 900
    #: Retired keys: published so that the tokens they signed verify until they expire.
    previous: tuple[SigningKey, ...] = ()

    def jwks(self) -> dict:
        """The signing key first, then the retired ones (other ``kid`` values)."""
        keys = [self.key.jwk()] + [k.jwk() for k in self.previous if k.kid != self.key.kid]
        return {"keys": keys}

    def issue(self, user_id: str, tenant_id: str, roles: list[str], *, now: float | None = None) -> str:
        iat = int(now if now is not None else time.time())
        claims = {"iss": self.issuer, "aud": self.audience, "sub": user_id, "tid": tenant_id,
                  "roles": list(roles), "iat": iat, "nbf": iat, "exp": iat + self.lifetime_seconds,
                  "jti": str(uuid.uuid4())}
        return jwt.encode(claims, self.key.private_key, algorithm="EdDSA",
                          headers={"typ": ACCESS_TOKEN_TYPE, "kid": self.key.kid})
