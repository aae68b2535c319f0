"""Fake upstream services (small FastAPI apps behind httpx transports) and signed test tokens."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from tanso_gateway.main import create_app
from tanso_gateway.settings import SERVICE_PORTS, Settings
from tanso_runtime.auth import TokenVerifier

ISSUER, AUDIENCE = "tanso-identity", "tanso"


class Signer:
    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.kid = uuid.uuid4().hex
        jwk = jwt.algorithms.OKPAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.jwks = {"keys": [{**jwk, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]}

    def token(self, tenant_id: str = "tenant-a", roles: tuple[str, ...] = ("admin",)) -> str:
        now = int(time.time())
        claims = {"sub": f"user-{tenant_id}", "tid": tenant_id, "roles": list(roles), "iss": ISSUER,
                  "aud": AUDIENCE, "iat": now, "exp": now + 300}
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"typ": "at+jwt", "kid": self.kid})


class Thing(BaseModel):
    name: str


def fake_service(name: str, asked: list[str] | None = None) -> FastAPI:
    """An upstream that echoes requests; ``app.state.ready`` drives its /health/ready,
    ``app.state.pending`` its /health/processing (each call appends ``name`` to ``asked``)."""
    app = FastAPI(title=f"Tanso {name}", description=f"The {name} service.")
    app.state.ready = True
    app.state.calls = 0
    app.state.pending = 0

    @app.get("/health/processing")
    async def processing() -> dict:
        if asked is not None:
            asked.append(name)
        return {"status": "processing" if app.state.pending else "idle", "unconsumed": app.state.pending,
                "unpublished": 0, "pending": app.state.pending}

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        ok = app.state.ready
        return JSONResponse({"status": "ready" if ok else "not_ready", "checks": {"started": ok}},
                            status_code=200 if ok else 503)

    @app.api_route("/echo/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def echo(rest: str, request: Request) -> dict:
        app.state.calls += 1
        body = await request.body()
        return {"service": name, "method": request.method, "path": request.url.path,
                "raw_path": request.scope["raw_path"].decode(),
                "query": request.url.query, "body": body.decode(), "headers": dict(request.headers)}

    @app.post("/things", response_model=Thing)
    async def create_thing(thing: Thing) -> Thing:
        return thing

    @app.post("/tenants")
    async def sign_up(request: Request) -> dict:
        return {"tenant_id": "t-new", "body": (await request.body()).decode()}

    return app


def down_transport() -> httpx.MockTransport:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    return httpx.MockTransport(refuse)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Harness:
    def __init__(self, down: tuple[str, ...] = (), **settings_overrides) -> None:
        self.signer = Signer()
        self.clock = Clock()
        self.processing_asked: list[str] = []
        self.apps = {name: fake_service(name, self.processing_asked) for name in SERVICE_PORTS}
        mounts = {f"http://{name}.test": down_transport() if name in down else httpx.ASGITransport(app=app)
                  for name, app in self.apps.items()}
        self.upstream_client = httpx.AsyncClient(mounts=mounts)
        self.settings = Settings(
            upstreams={name: f"http://{name}.test" for name in SERVICE_PORTS},
            log_json=False,
            **settings_overrides,
        )
        verifier = TokenVerifier("http://identity.test/.well-known/jwks.json", ISSUER, AUDIENCE)
        verifier.add_jwks(self.signer.jwks)
        self.app = create_app(self.settings, client=self.upstream_client, verifier=verifier, clock=self.clock)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://gateway.test")

    def auth(self, tenant_id: str = "tenant-a") -> dict[str, str]:
        return {"authorization": f"Bearer {self.signer.token(tenant_id)}"}

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.upstream_client.aclose()


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    yield h
    await h.aclose()


@pytest.fixture
async def make_harness():
    made: list[Harness] = []

    def make(**kwargs) -> Harness:
        made.append(Harness(**kwargs))
        return made[-1]

    yield make
    for h in made:
        await h.aclose()
