"""Outbound PACT answers: POST a CloudEvent to the buyer's ``<callback_url>/3/events`` over HTTPS."""

from __future__ import annotations

import json
import ssl

import httpx

CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"


class CallbackError(Exception):
    pass


class CallbackSender:
    """One shared client; ``ca_file`` adds a private CA (e.g. a test CA) instead of the system's."""

    def __init__(self, *, ca_file: str = "", timeout: float = 10.0, transport: httpx.AsyncBaseTransport | None = None):
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self.client = httpx.AsyncClient(timeout=timeout, verify=verify, transport=transport, follow_redirects=False)

    async def __call__(self, url: str, event: dict) -> None:
        if not url.startswith("https://"):
            raise CallbackError(f"refusing to send a PACT answer over plain HTTP to {url}")
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        response = await self.client.post(url, content=body, headers={"content-type": CONTENT_TYPE})
        if not 200 <= response.status_code < 300:
            raise CallbackError(f"{url} answered HTTP {response.status_code}: {response.text[:300]}")

    async def aclose(self) -> None:
        await self.client.aclose()
