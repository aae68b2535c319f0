"""Errors that tell the user what was wrong and what to do, in English and Japanese (RFC 9457)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


class ProblemError(Exception):
    """An error answered as ``application/problem+json`` with a bilingual detail."""

    def __init__(self, status: int, code: str, detail: str, detail_ja: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.detail_ja, self.extra = status, code, detail, detail_ja, extra


def not_found(what: str, what_ja: str, ident: str) -> ProblemError:
    return ProblemError(404, "not_found", f"{what} {ident!r} does not exist in your tenant.",
                        f"{what_ja} {ident!r} はこのテナントに存在しません。")


def problem_response(status: int, code: str, detail: str, detail_ja: str, **extra: Any) -> JSONResponse:
    body = {"type": f"https://tanso.dev/problems/{code}", "title": code, "status": status,
            "detail": detail, "detail_ja": detail_ja, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.status, exc.code, exc.detail, exc.detail_ja, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return problem_response(422, "invalid_request", "The request body or parameters are invalid; see errors.",
                                "リクエストの内容が不正です。errors を確認してください。", errors=errors)
