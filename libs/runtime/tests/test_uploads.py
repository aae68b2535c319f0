"""read_upload: raw and multipart bodies, the byte limit before and while reading, and bad forms."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, Request
from tanso_runtime.errors import install_error_handlers
from tanso_runtime.uploads import read_upload

LIMIT = 1000


def make_app(seen: list[int]) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/upload")
    async def upload(request: Request) -> dict:
        data, name = await read_upload(request, LIMIT, received=seen.append)
        return {"data": data.decode(), "name": name}

    return app


@pytest.fixture
def seen() -> list[int]:
    return []


@pytest.fixture
async def client(seen):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app(seen)), base_url="http://t") as c:
        yield c


async def chunks(*parts: bytes):
    for part in parts:
        yield part


async def test_a_raw_body_is_returned_whole_without_a_name_and_progress_counts_its_bytes(client, seen):
    r = await client.post("/upload", content=chunks(b"a,b\r\n", b"1,2\r\n"), headers={"content-type": "text/csv"})
    assert r.status_code == 200 and r.json() == {"data": "a,b\r\n1,2\r\n", "name": None}
    assert seen[-1] == 10 and seen == sorted(seen)


async def test_multipart_returns_the_file_field_and_its_name(client):
    r = await client.post("/upload", data={"note": "x"}, files={"file": ("活動.csv", b"a,b\r\n", "text/csv")})
    assert r.status_code == 200 and r.json() == {"data": "a,b\r\n", "name": "活動.csv"}


async def test_multipart_takes_the_first_file_when_no_field_is_called_file(client):
    r = await client.post("/upload", files={"upload": ("x.csv", b"1,2", "text/csv")})
    assert r.json() == {"data": "1,2", "name": "x.csv"}


async def test_a_declared_length_over_the_limit_is_refused_before_reading(client, seen):
    r = await client.post("/upload", content=b"x" * (LIMIT + 1), headers={"content-type": "text/csv"})
    body = r.json()
    assert (r.status_code, body["title"], body["max_bytes"]) == (413, "file_too_large", LIMIT)
    assert "split" in body["detail"] and "分割" in body["detail_ja"]
    assert seen == []  # nothing was read


@pytest.mark.parametrize("multipart", [False, True])
async def test_a_body_without_length_is_cut_off_once_it_passes_the_limit(client, seen, multipart):
    if multipart:
        boundary = "b0undary"
        head = (f"--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
                "content-type: text/csv\r\n\r\n").encode()
        parts = (head, *[b"y" * 400] * 5, f"\r\n--{boundary}--\r\n".encode())
        content_type = f"multipart/form-data; boundary={boundary}"
    else:
        parts, content_type = [b"y" * 400] * 5, "text/csv"
    r = await client.post("/upload", content=chunks(*parts), headers={"content-type": content_type})
    assert r.status_code == 413 and r.json()["title"] == "file_too_large"
    assert seen[-1] > LIMIT and seen[-1] <= LIMIT + 400 + len(parts[0])  # stopped at the first chunk over


async def test_a_form_without_a_file_is_refused_with_what_to_send(client):
    r = await client.post("/upload", files={"note": (None, "only text")})  # multipart, no file part
    body = r.json()
    assert (r.status_code, body["title"]) == (422, "no_file")
    assert "'file'" in body["detail"] and "'file'" in body["detail_ja"]


async def test_a_broken_multipart_body_is_a_400_that_says_how_to_send_the_file(client):
    r = await client.post("/upload", content=b"--x\r\nno headers here", headers={
        "content-type": "multipart/form-data; boundary=x"})
    body = r.json()
    assert (r.status_code, body["title"]) == (400, "invalid_multipart")
    assert "'file'" in body["detail"] and "'file'" in body["detail_ja"]
