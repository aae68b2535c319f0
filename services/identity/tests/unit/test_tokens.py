"""F1 sign-in and tokens: EdDSA at+jwt that every service verifies from the JWKS; nothing else passes."""

from __future__ import annotations

import base64
import json
import os
import stat
import time

import jwt
import pytest
from tanso_identity.adapters.signing import load_or_create_signing_key
from tanso_identity.domain.commands import RegisterUser, SignIn
from tanso_identity.service_layer import handlers
from tanso_runtime.errors import ProblemError

PASSWORD = "correct horse battery"


async def token_for(engine, issuer, email: str, password: str = PASSWORD) -> str:
    who = await handlers.sign_in(SignIn(email=email, password=password), engine)
    return issuer.issue(who.user_id, who.tenant_id, who.roles)


async def test_password_sign_in_returns_a_token_the_verifier_accepts_with_tenant_and_roles(
        engine, issuer, verifier, sign_up):
    tenant = await sign_up(email="admin@example.co.jp")
    token = await token_for(engine, issuer, "ADMIN@example.co.jp")

    principal = await verifier.verify(token)
    assert (principal.subject, principal.tenant_id, principal.roles) == (
        tenant.user_id, tenant.tenant_id, frozenset({"admin"}))
    header, claims = jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})
    assert header == {"alg": "EdDSA", "typ": "at+jwt", "kid": issuer.key.kid}
    assert (claims["iss"], claims["aud"], claims["exp"] - claims["iat"]) == ("tanso-identity", "tanso", 900)
    assert claims["nbf"] == claims["iat"] and claims["jti"]


async def test_wrong_password_and_unknown_email_get_the_same_401(engine, sign_up):
    await sign_up(email="admin@example.co.jp")
    errors = []
    for email, password in [("admin@example.co.jp", "wrong password!"), ("nobody@example.co.jp", PASSWORD)]:
        with pytest.raises(ProblemError) as err:
            await handlers.sign_in(SignIn(email=email, password=password), engine)
        errors.append((err.value.status, err.value.code, err.value.detail, err.value.detail_ja))
    assert errors[0] == errors[1] and errors[0][0] == 401


async def test_deactivated_user_cannot_sign_in(engine, uow, sign_up, admin_of):
    tenant = await sign_up()
    async with uow() as u:
        user_id = await handlers.register_user(RegisterUser(
            email="staff@example.co.jp", display_name="Staff", roles=["editor"], password=PASSWORD),
            admin_of(tenant), u)
    await handlers.sign_in(SignIn(email="staff@example.co.jp", password=PASSWORD), engine)
    async with uow() as u:
        await handlers.deactivate_user(user_id, admin_of(tenant), u)
    with pytest.raises(ProblemError) as err:
        await handlers.sign_in(SignIn(email="staff@example.co.jp", password=PASSWORD), engine)
    assert (err.value.status, err.value.code) == (403, "account_deactivated")


async def test_an_admin_cannot_deactivate_themselves(uow, sign_up, admin_of):
    tenant = await sign_up()
    with pytest.raises(ProblemError) as err:
        async with uow() as u:
            await handlers.deactivate_user(tenant.user_id, admin_of(tenant), u)
    assert (err.value.status, err.value.code) == (409, "self_deactivation")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_tampered_token_is_refused(engine, issuer, verifier, sign_up):
    await sign_up()
    header, payload, signature = (await token_for(engine, issuer, "admin@example.co.jp")).split(".")
    claims = jwt.decode(f"{header}.{payload}.{signature}", options={"verify_signature": False})
    forged = f"{header}.{_b64({**claims, 'tid': 'someone-else'})}.{signature}"
    with pytest.raises(ProblemError) as err:
        await verifier.verify(forged)
    assert err.value.status == 401


def _claims(issuer) -> dict:
    now = int(time.time())
    return {"iss": issuer.issuer, "aud": issuer.audience, "sub": "u", "tid": "t", "roles": ["admin"],
            "iat": now, "nbf": now, "exp": now + 600}


async def test_unsigned_alg_none_token_is_refused(issuer, verifier):
    token = jwt.encode(_claims(issuer), None, algorithm="none", headers={"typ": "at+jwt", "kid": issuer.key.kid})
    with pytest.raises(ProblemError) as err:
        await verifier.verify(token)
    assert err.value.status == 401


async def test_hs256_token_keyed_with_the_public_key_is_refused(issuer, verifier):
    token = jwt.encode(_claims(issuer), issuer.key.x, algorithm="HS256",
                       headers={"typ": "at+jwt", "kid": issuer.key.kid})
    with pytest.raises(ProblemError) as err:
        await verifier.verify(token)
    assert err.value.status == 401


async def test_expired_token_is_refused(issuer, verifier):
    token = issuer.issue("u", "t", ["viewer"], now=time.time() - 3600)
    with pytest.raises(ProblemError) as err:
        await verifier.verify(token)
    assert "expired" in err.value.detail


def test_signing_key_file_is_created_once_with_mode_0600_and_reused(tmp_path):
    path = tmp_path / "keys" / "identity-ed25519.pem"
    first = load_or_create_signing_key(path)
    content, mode = path.read_bytes(), stat.S_IMODE(os.stat(path).st_mode)
    second = load_or_create_signing_key(path)

    assert mode == 0o600 and content.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert path.read_bytes() == content and second.kid == first.kid
    assert first.jwks()["keys"][0] == {"kty": "OKP", "crv": "Ed25519", "x": first.x, "use": "sig",
                                       "alg": "EdDSA", "kid": first.kid}
