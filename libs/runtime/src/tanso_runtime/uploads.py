"""Reading an uploaded file with a byte limit: refused from Content-Length before reading, else while streaming.

The body is the raw file (``text/csv``, ``application/octet-stream`` …) or ``multipart/form-data``
with one file part (field ``file``, or the first file). Multipart goes through Starlette's parser
fed by the same limited stream, so neither form can make a service read more than ``limit`` bytes.
Multipart needs ``python-multipart`` installed: services that accept uploads depend on it.

Used by the activities CSV import (``POST /imports``) and tenant factor imports (factors).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from .errors import ProblemError


def too_large(limit: int) -> ProblemError:
    """413 ``file_too_large``: what the limit is and what to do (split the file)."""
    mib = limit / 1024 / 1024
    return ProblemError(413, "file_too_large", f"The upload is larger than {mib:g} MiB; split the file.",
                        f"ファイルが上限 {mib:g} MiB を超えています。ファイルを分割してください。", max_bytes=limit)


def check_declared_length(request: Request, limit: int) -> None:
    """Refuse at once when the request's Content-Length already says it is over ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)


async def _limited(request: Request, limit: int, received: Callable[[int], None] | None) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if received is not None:
            received(total)
        if total > limit:
            raise too_large(limit)
        yield chunk


async def read_upload(request: Request, limit: int, *, received: Callable[[int], None] | None = None,
                      max_fields: int = 20) -> tuple[bytes, str | None]:
    """The uploaded file's bytes and, for multipart, its file name (``None`` for a raw body).

    ``received(total)`` is called with the bytes read so far after every chunk (progress).
    Raises ``ProblemError``: 413 ``file_too_large``, 400 ``invalid_multipart``, 422 ``no_file``.
    """
    check_declared_length(request, limit)
    stream = _limited(request, limit, received)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return b"".join([chunk async for chunk in stream]), None
    try:
        form = await MultiPartParser(request.headers, stream, max_files=1, max_fields=max_fields).parse()
    except MultiPartException as exc:
        raise ProblemError(400, "invalid_multipart", f"The multipart body cannot be read: {exc.message}. Send the file as "
                           "the form field 'file', or as the raw request body.",
                           f"multipart 形式の本文を読めません（{exc.message}）。ファイルをフォーム項目 'file' "
                           "で送るか、本文にそのまま入れて送ってください。") from exc
    try:
        files = [v for v in form.values() if isinstance(v, UploadFile)]
        upload = form.get("file") if isinstance(form.get("file"), UploadFile) else (files[0] if files else None)
        if upload is None:
            raise ProblemError(422, "no_file", "Send the file as the form field 'file'.",
                               "ファイルをフォーム項目 'file' で送ってください。")
        return await upload.read(), upload.filename
    finally:
        await form.close()
