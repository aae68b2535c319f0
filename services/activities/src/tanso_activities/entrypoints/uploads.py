"""Reading an uploaded activity CSV: the shared reader (:mod:`tanso_runtime.uploads`) feeding the import's progress."""

from __future__ import annotations

from fastapi import Request
from tanso_runtime.uploads import read_upload as _read_upload

from ..service_layer.progress import ImportProgress


async def read_upload(request: Request, limit: int, progress: ImportProgress,
                      filename: str | None = None) -> tuple[bytes, str | None]:
    """The file's bytes and name (``filename`` if given, else the multipart part's name)."""

    def received(total: int) -> None:
        progress.bytes_received = total

    data, name = await _read_upload(request, limit, received=received, max_fields=10)
    return data, filename or name
