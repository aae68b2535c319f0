"""Reading an uploaded CSV with a byte limit: refused from Content-Length before reading, else while
streaming. The body is the raw CSV (``text/csv``, ``application/octet-stream`` …) or
``multipart/form-data`` with one file part (field ``file``, or the first file)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from tanso_runtime.errors import ProblemError


def too_large(limit: int) -> ProblemError:
    mib = limit / 1024 / 1024
    return ProblemError(413, "file_too_large", f"The upload is larger than {mib:g} MiB; split the file.",
                        f"ファイルが上限 {mib:g} MiB を超えています。ファイルを分割してください。", max_bytes=limit)


async def _limited(request: Request, limit: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise too_large(limit)
        yield chunk


async def read_upload(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    stream = _limited(request, limit)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return b"".join([chunk async for chunk in stream])
    try:
        form = await MultiPartParser(request.headers, stream, max_files=1, max_fields=20).parse()
    except MultiPartException as exc:
        raise ProblemError(400, "invalid_multipart", f"The multipart body cannot be read: {exc.message}",
                           "multipart 形式の本文を読めません。") from exc
    try:
        files = [v for v in form.values() if isinstance(v, UploadFile)]
        upload = form.get("file") if isinstance(form.get("file"), UploadFile) else (files[0] if files else None)
        if upload is None:
            raise ProblemError(422, "no_file", "Send the CSV as the form field 'file'.",
                               "CSV ファイルをフォーム項目 'file' で送ってください。")
        return await upload.read()
    finally:
        await form.close()
