"""Ed25519 key of the service and compact JWS over a disclosure's canonical JSON.

The key is generated on first start into ``<data_dir>/keys/supplier-exchange-ed25519.pem`` (directory
0700, file 0600) and never leaves the data folder; its public half is served as JWKS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from tanso_events.store import canonical_json
from tanso_runtime.keys import SigningKey, load_or_create_key

JWS_TYPE = "tanso-disclosure+jws"


@dataclass(frozen=True)
class DisclosureSigner(SigningKey):
    """The service's signing key, used for disclosures."""

    def sign(self, payload: dict[str, Any]) -> str:
        """Compact JWS (EdDSA) whose payload is the canonical JSON of ``payload``."""
        return jwt.api_jws.encode(canonical_json(payload).encode(), self.private_key, algorithm="EdDSA",
                                  headers={"typ": JWS_TYPE, "kid": self.kid})


def verify_disclosure(jws: str, jwks: dict) -> dict[str, Any]:
    """Verify ``jws`` against a JWKS (e.g. from ``GET /.well-known/jwks.json``); returns the payload.

    Raises ``jwt.PyJWTError`` when the signature, algorithm, type or key does not match.
    """
    header = jwt.get_unverified_header(jws)
    if header.get("alg") != "EdDSA" or header.get("typ") != JWS_TYPE:
        raise jwt.InvalidTokenError("not a tanso disclosure JWS (alg EdDSA, typ tanso-disclosure+jws)")
    keys = {k["kid"]: k for k in jwks.get("keys", [])}
    if header.get("kid") not in keys:
        raise jwt.InvalidKeyError(f"unknown key {header.get('kid')!r}")
    key = jwt.PyJWK(keys[header["kid"]]).key
    payload = jwt.api_jws.decode(jws, key, algorithms=["EdDSA"])
    return json.loads(payload)


def load_or_create_signing_key(path: Path) -> DisclosureSigner:
    return DisclosureSigner(load_or_create_key(path))
