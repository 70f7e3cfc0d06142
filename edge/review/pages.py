"""The pages: server-rendered shells (Jinja2) whose data comes from /api/v1 via static/app.js.
Every page but /login needs a logged-in session (or auth off); the static files carry no data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from edge.review.auth import COOKIE, Identity
from edge.review.context import ReviewContext
from edge.review.guards import over_https
from edge.store.models import MAX_ID, Alert

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
FAVICON = Path(__file__).parent / "static" / "favicon.ico"
router = APIRouter(include_in_schema=False)


def _ctx(request: Request) -> ReviewContext:
    ctx: ReviewContext = request.app.state.ctx
    return ctx


def _page(request: Request, template: str, who: Identity, **values: Any) -> HTMLResponse:
    ctx = _ctx(request)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"who": who, "auth": ctx.auth.enabled, "page_size": ctx.cfg.page_size, **values},
        headers={"Cache-Control": "no-store"},
    )


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def _who(request: Request) -> Identity | None:
    return _ctx(request).auth.identify(request)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    if not _ctx(request).auth.enabled:
        return RedirectResponse(_safe_next(next), status_code=303)
    # No error from the URL: a link could put any words there, as the server's ("send your token to…").
    return TEMPLATES.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": ""})


@router.post("/login")
def login(request: Request, token: str = Form(...), next: str = Form("/")) -> Response:
    ctx = _ctx(request)
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.url.netloc:  # a login form posted from elsewhere
        return Response("cross-site login refused", status_code=403)
    done = ctx.auth.login(token.strip(), request)
    if done is None:
        return TEMPLATES.TemplateResponse(
            request, "login.html", {"next": _safe_next(next), "error": "Unknown token."}, status_code=401
        )
    sid, _ = done
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE, sid, max_age=int(ctx.cfg.session_hours * 3600), httponly=True, samesite="strict",
        secure=ctx.cfg.secure_cookies == "always" or over_https(ctx.cfg, request), path="/",
    )  # fmt: skip
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    ctx = _ctx(request)
    who = ctx.auth.identify(request)
    if who is not None and who.via == "session":
        ctx.auth.check_csrf(request, who)  # raises 403: a cross-site page cannot log a user out
        ctx.auth.logout(request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    # Only a cookie that came with the request: a form posted from another site comes without it
    # (SameSite=Strict), and a browser takes this answer's Set-Cookie all the same (a top-level
    # navigation), which logged the reviewer out.
    if COOKIE in request.cookies:
        response.delete_cookie(COOKIE, path="/")
    return response


def _signed_in_page(request: Request, template: str, nav: str, **context: Any) -> Response:
    """The page for a signed-in user, else the way to sign in."""
    who = _who(request)
    return _login_redirect(request) if who is None else _page(request, template, who, nav=nav, **context)


@router.get("/healthz")
def healthz(request: Request) -> Response:
    """Liveness without a token (load balancers, container health checks): 200 while the server runs
    and its alert log answers, else 503; it says nothing about the alerts."""
    try:
        with _ctx(request).store.reading() as s:
            s.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "database unreachable"}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/favicon.ico")
def favicon() -> Response:
    """The icon every browser asks for on each page (a 404 put an error in every page's console);
    no token, as the static files: it carries no data."""
    return FileResponse(
        FAVICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/", response_class=HTMLResponse)
def alerts_page(request: Request) -> Response:
    return _signed_in_page(request, "alerts.html", "alerts")


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, alert_id: Annotated[int, PathParam(ge=1, le=MAX_ID)]) -> Response:
    if _who(request) is not None:
        with _ctx(request).store.reading() as s:
            if s.scalar(select(Alert.id).where(Alert.id == alert_id)) is None:
                raise HTTPException(404, f"no alert with id {alert_id}")  # an HTML page (edge.review.app)
    return _signed_in_page(request, "alert.html", "alerts", alert_id=alert_id)


@router.get("/timeline", response_class=HTMLResponse)
def timeline_page(request: Request) -> Response:
    return _signed_in_page(request, "timeline.html", "timeline")


@router.get("/live", response_class=HTMLResponse)
def live_page(request: Request) -> Response:
    return _signed_in_page(request, "live.html", "live")


@router.get("/profiles", response_class=HTMLResponse)
def profiles_page(request: Request) -> Response:
    return _signed_in_page(request, "profiles.html", "profiles")


@router.get("/api")
def api_schema_page(request: Request) -> Response:
    """The nav's "API": the API's schema, reached through the login as a page is. The schema itself
    answers a signed-out browser as it answers any API client, 401 JSON (which stranded a reviewer whose
    session had expired there)."""
    if _who(request) is None:
        return _login_redirect(request)
    return RedirectResponse("/api/v1/openapi.json", status_code=303)


@router.get("/profiles/{name}", response_class=HTMLResponse)
def profile_page(request: Request, name: str) -> Response:
    if _who(request) is not None and name not in _ctx(request).profiles.names():
        raise HTTPException(404, f"no profile named {name!r}")  # an HTML page, as an unknown alert's
    return _signed_in_page(request, "profile.html", "profiles", name=name)


def _safe_next(target: str) -> str:
    """Only a path on this server (no open redirect to another site)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"
