"""Reading an uploaded tenant-factor CSV: the shared reader (:mod:`tanso_runtime.uploads`) with the factors limit."""

from __future__ import annotations

from fastapi import Request
from tanso_runtime.uploads import read_upload as _read_upload


async def read_upload(request: Request, limit: int) -> bytes:
    """The CSV's bytes (raw body or the multipart ``file`` part); 413 beyond ``limit`` bytes."""
    data, _ = await _read_upload(request, limit)
    return data
