"""Reading an uploaded file with a byte limit: refused from Content-Length before reading, else while streaming.

The body is a raw CSV (``text/csv``, ``application/octet-stream`` …) or ``multipart/form-data`` with
one file part (field ``file``, or the first file). Multipart goes through Starlette's parser fed by
the same limited stream, so neither form can make the service read more than ``max_bytes``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from tanso_runtime.errors import ProblemError

from ..service_layer.progress import ImportProgress


def too_large(limit: int) -> ProblemError:
    mib = limit / 1024 / 1024
    return ProblemError(413, "file_too_large", f"The upload is larger than {mib:g} MiB; split the file.",
                        f"ファイルが上限 {mib:g} MiB を超えています。ファイルを分割してください。", max_bytes=limit)


def check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)


async def _limited(request: Request, limit: int, progress: ImportProgress) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        progress.bytes_received += len(chunk)
        if progress.bytes_received > limit:
            raise too_large(limit)
        yield chunk


async def read_upload(request: Request, limit: int, progress: ImportProgress,
                      filename: str | None = None) -> tuple[bytes, str | None]:
    """The file's bytes and name."""
    check_declared_length(request, limit)
    stream = _limited(request, limit, progress)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return b"".join([chunk async for chunk in stream]), filename
    try:
        form = await MultiPartParser(request.headers, stream, max_files=1, max_fields=10).parse()
    except MultiPartException as exc:
        raise ProblemError(400, "invalid_multipart", f"The multipart body cannot be read: {exc.message}",
                           "multipart 形式の本文を読めません。") from exc
    try:
        files = [v for v in form.values() if isinstance(v, UploadFile)]
        upload = form.get("file") if isinstance(form.get("file"), UploadFile) else (files[0] if files else None)
        if upload is None:
            raise ProblemError(422, "no_file", "Send the CSV as the form field 'file'.",
                               "CSV ファイルをフォーム項目 'file' で送ってください。")
        return await upload.read(), filename or upload.filename
    finally:
        await form.close()
