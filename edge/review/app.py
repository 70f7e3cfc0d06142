"""The review server's FastAPI app: /api/v1 (:mod:`edge.review.api`), the pages
(:mod:`edge.review.pages`) and their static files, built from explicit parts (no globals), behind
:class:`~edge.review.guards.RequestGuard` (Host, body size, framing). A request that fails validation
gets 422 with where and why, never its own input back; an alert log that does not answer, 503 and one
log line; outside /api/ an error is an HTML page."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route

from edge.review import api, pages
from edge.review.alert_log import LogNotOpen
from edge.review.context import ReviewContext
from edge.review.guards import RequestGuard
from edge.review.unreachable import LOG_UNREACHABLE, why_unreachable

STATIC = Path(__file__).parent / "static"
RETRY_PAGE_S = 5  # a 503 page's reload, as the pages' own first reads (static/app.js firstRead)
log = logging.getLogger("haad.serve")


def create_app(ctx: ReviewContext) -> FastAPI:
    app = FastAPI(
        title="haad review API",
        version="1",
        description=(
            "Alerts of abnormal human actions, their skeleton windows, review and 'mark as normal' "
            "feedback, behaviour profiles, live streams. Authenticate with `Authorization: Bearer <token>`."
        ),
        # The schema is served by api.py behind the token like every route; no docs page, whose
        # Swagger UI would load from a CDN (the server works offline).
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    for error in LOG_UNREACHABLE:
        app.add_exception_handler(error, _log_unreachable)  # type: ignore[arg-type]
    app.add_middleware(RequestGuard, cfg=ctx.cfg)
    return app


async def _invalid(request: Request, e: RequestValidationError) -> Response:
    if not request.url.path.startswith("/api/"):
        if any(err["loc"][0] == "path" for err in e.errors()):  # /alerts/abc: no such page
            return _error_page(request, 404, "There is no such page.")
        fields = ", ".join(f"{err['loc'][-1]} ({err['msg'].lower()})" for err in e.errors())
        return _error_page(request, 400, f"The form lacks or has a bad field: {fields}.")  # a login script's
    errors = [{k: v for k, v in err.items() if k in ("type", "loc", "msg")} for err in e.errors()]
    return JSONResponse({"detail": errors}, status_code=422)


def _allowed(request: Request) -> str | None:
    """Every method the request's path takes, for a 405's Allow: the router named those of the first
    route on the path only (PUT /api/v1/alerts/1/normal said "GET", not its POST and DELETE). HEAD
    with GET, which edge.review.guards answers. None for a path none of these routes holds (the
    static files name their own)."""
    methods = {
        m for r in (*api.router.routes, *pages.router.routes)
        if isinstance(r, Route) and r.methods and r.matches(request.scope)[0] != Match.NONE
        for m in r.methods
    }  # fmt: skip
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods)) or None


async def _http_error(request: Request, e: HTTPException) -> Response:
    if e.status_code == 405 and (allow := _allowed(request)):
        e = HTTPException(405, e.detail, headers={**(e.headers or {}), "Allow": allow})
    if request.url.path.startswith("/api/"):
        if e.status_code == 400 and isinstance(e.__cause__, UnicodeDecodeError):
            # FastAPI's 400 "error parsing the body" (no where, and in no operation's schema) for a
            # JSON body that is not UTF-8; malformed JSON is a 422 of its own.
            error = {"type": "json_invalid", "loc": ["body"], "msg": "The body is not JSON text (UTF-8)."}
            return JSONResponse({"detail": [error]}, status_code=422)
        return await http_exception_handler(request, e)
    message = "There is no such page." if e.status_code == 404 else str(e.detail)
    return _error_page(request, e.status_code, message, e.headers)


async def _log_unreachable(request: Request, e: Exception) -> Response:
    if not isinstance(e, LogNotOpen):  # not yet opened since start: logged then and once it opens
        log.warning("alert log unreachable (%s %s): %s", request.method, request.url.path, why_unreachable(e))
    return await _http_error(request, HTTPException(503, "alert log unreachable; try again shortly"))


def _error_page(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    # A page the alert log could not serve (down, slow) loads itself again until it can: the reviewer
    # who opened an alert from a link or reloaded it as the log went down was left on this page.
    retry_s = RETRY_PAGE_S if status == 503 and request.method in ("GET", "HEAD") else None
    return pages.TEMPLATES.TemplateResponse(
        request, "error.html", {"status": status, "title": title, "message": message, "retry_s": retry_s},
        status_code=status, headers=headers,
    )  # fmt: skip
