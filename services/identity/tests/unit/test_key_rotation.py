"""Rotating the signing key (docs/operations.md): the retired key stays in the JWKS, so the tokens it
signed keep verifying until they expire, while new tokens carry the new key's ``kid``.
"""

from __future__ import annotations

import httpx
import jwt
from tanso_identity.adapters.signing import TokenIssuer, load_or_create_signing_key
from tanso_identity.bootstrap import build_spec
from tanso_runtime.app import create_service_app
from tanso_runtime.auth import TokenVerifier


async def published_keys(settings) -> list[dict]:
    app = create_service_app(build_spec(settings))  # a restart of identity, without Kafka
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://identity") as client:
        return (await client.get("/.well-known/jwks.json")).raise_for_status().json()["keys"]


async def test_a_rotated_key_is_published_beside_the_new_one_until_its_file_is_removed(settings):
    old_key = load_or_create_signing_key(settings.signing_key_path)
    old_token = TokenIssuer(old_key, settings.auth.issuer, settings.auth.audience).issue("u-1", "t-1", ["admin"])
    assert [k["kid"] for k in await published_keys(settings)] == [old_key.kid]

    settings.signing_key_path.rename(settings.previous_signing_key_path)  # step 1 of the procedure
    keys = await published_keys(settings)  # step 2: restart; a new key is created
    new_key = load_or_create_signing_key(settings.signing_key_path)
    assert [k["kid"] for k in keys] == [new_key.kid, old_key.kid] and new_key.kid != old_key.kid

    verifier = TokenVerifier("http://127.0.0.1:9/unreachable", settings.auth.issuer, settings.auth.audience)
    verifier.add_jwks({"keys": keys})
    new_token = TokenIssuer(new_key, settings.auth.issuer, settings.auth.audience).issue("u-2", "t-2", ["viewer"])
    assert jwt.get_unverified_header(new_token)["kid"] == new_key.kid
    assert (await verifier.verify(old_token)).tenant_id == "t-1"
    assert (await verifier.verify(new_token)).tenant_id == "t-2"

    settings.previous_signing_key_path.unlink()  # step 3, once the old tokens have expired
    assert [k["kid"] for k in await published_keys(settings)] == [new_key.kid]
