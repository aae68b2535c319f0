"""Token verification every service does itself (RFC 8725 practices).

identity signs short-lived access tokens with Ed25519 and publishes the public keys as JWKS. A
service accepts only ``EdDSA``, ``typ: at+jwt``, its issuer and audience, and takes the tenant from
the ``tid`` claim — never from a path or body.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

import httpx
import jwt
from fastapi import Depends, Request

from .errors import ProblemError

ROLES = ("admin", "editor", "contributor", "viewer", "auditor")
ACCESS_TOKEN_TYPE = "at+jwt"


@dataclass(frozen=True)
class Principal:
    subject: str
    tenant_id: str
    roles: frozenset[str]
    token: str = ""

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def _unauthorized(detail: str, detail_ja: str) -> ProblemError:
    return ProblemError(401, "unauthorized", detail, detail_ja)


class TokenVerifier:
    """Verifies bearer tokens against identity's JWKS, refetching keys when an unknown ``kid`` appears."""

    def __init__(self, jwks_url: str, issuer: str, audience: str, *, min_refresh_seconds: float = 10.0) -> None:
        self.jwks_url, self.issuer, self.audience = jwks_url, issuer, audience
        self.min_refresh_seconds = min_refresh_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0

    def add_jwks(self, jwks: dict) -> None:
        for jwk in jwks.get("keys", []):
            self._keys[jwk["kid"]] = jwt.PyJWK(jwk)

    async def _refresh(self) -> None:
        if time.monotonic() - self._fetched_at < self.min_refresh_seconds and self._keys:
            return
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(self.jwks_url)
            response.raise_for_status()
        self._fetched_at = time.monotonic()
        self.add_jwks(response.json())

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"Malformed token: {exc}.", "トークンの形式が不正です。") from exc
        if header.get("alg") != "EdDSA" or header.get("typ") != ACCESS_TOKEN_TYPE:
            raise _unauthorized("Token must be an EdDSA-signed at+jwt access token.",
                                "アクセストークンの種類または署名方式が不正です。")
        kid = header.get("kid", "")
        if kid not in self._keys:
            try:
                await self._refresh()
            except httpx.HTTPError as exc:
                raise ProblemError(503, "auth_unavailable", f"Cannot fetch signing keys from {self.jwks_url}: {exc}. "
                                   "Check that the identity service is running.",
                                   "署名鍵を取得できません。identity サービスの稼働を確認してください。") from exc
        key = self._keys.get(kid)
        if key is None:
            raise _unauthorized("Token signed with an unknown key; sign in again.", "不明な鍵で署名されています。再度サインインしてください。")
        try:
            claims = jwt.decode(
                token, key.key, algorithms=["EdDSA"], audience=self.audience, issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud", "tid"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise _unauthorized("Token expired; sign in again.", "トークンの有効期限が切れています。再度サインインしてください。") from exc
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"Invalid token: {exc}.", "トークンが無効です。") from exc
        return Principal(subject=claims["sub"], tenant_id=claims["tid"],
                         roles=frozenset(claims.get("roles", [])), token=token)


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("Sign in first: send 'Authorization: Bearer <token>' from POST /api/identity/token.",
                            "サインインしてください（Authorization: Bearer <トークン>）。")
    return token


async def current_principal(request: Request) -> Principal:
    return await request.app.state.runtime.verifier.verify(bearer_token(request))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str):
    """Dependency: the caller must hold one of ``roles``."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(*roles):
            raise ProblemError(403, "forbidden", f"This action needs one of the roles {list(roles)}.",
                               f"この操作には次のいずれかのロールが必要です: {list(roles)}")
        return principal

    return Depends(check)
