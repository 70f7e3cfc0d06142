"""The HTTP API, /api/v1 (its OpenAPI schema at /api/v1/openapi.json). The pages use it."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import EllipsisType
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Security
from fastapi.responses import Response, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match
from starlette.types import Scope

from edge.backends import EncoderBackend
from edge.feedback import (
    FeedbackError,
    current_feedback,
    feedback_history,
    mark_normal,
    preview_normal,
    undo_normal,
)
from edge.overlays import cameras_using, overlay_store
from edge.profiles import NoSuchProfile, Profile, ProfileError, behaviour_summary
from edge.review import queries, schemas
from edge.review.alert_log import LogNotOpen
from edge.review.auth import COOKIE, Identity
from edge.review.context import ReviewContext
from edge.review.unreachable import LOG_UNREACHABLE, why_unreachable
from edge.snapshots import read_index
from edge.store.models import MAX_ID, Alert, Event, ReviewStatus
from edge.store.outbox import CursorState, OutboxEvent, cursor_states, pending_events
from edge.store.records import AlertRecord, encode_windows
from edge.store.store import ReviewedMeanwhile, alert_filters
from edge.timeline_holes import timeline_holes
from models import skeleton

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"model": schemas.Problem, "description": "No or wrong token / session."},
    403: {"model": schemas.Problem, "description": "Missing or wrong X-CSRF-Token (session cookie)."},
}
LIVE_POLL_S = 0.5  # how often the live stream looks for new events
log = logging.getLogger("haad.serve")
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": schemas.Problem, "description": "No such thing."}
}


def context(request: Request) -> ReviewContext:
    ctx: ReviewContext = request.app.state.ctx
    return ctx


# Declared in the OpenAPI schema (components.securitySchemes, and on every operation); the checks
# themselves are Auth.identify's.
BEARER = HTTPBearer(auto_error=False, description="A token from `haad serve token --name NAME`.")
SESSION = APIKeyCookie(
    name=COOKIE,
    auto_error=False,
    description="The login page's session cookie; POST and DELETE also need the X-CSRF-Token header.",
)


def identity(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    _session: Annotated[str | None, Security(SESSION)],
) -> Identity:
    """Every API route depends on this: 401 without credentials, 403 without CSRF on a cookie POST."""
    ctx = context(request)
    who = ctx.auth.identify(request)
    if who is None:
        raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
    ctx.auth.check_csrf(request, who)
    return who


Ctx = Annotated[ReviewContext, Depends(context)]
AlertId = Annotated[int, Path(ge=1, le=MAX_ID, description="Alert id.")]
Who = Annotated[Identity, Depends(identity)]


def _not_a_number(value: object) -> object:
    """Pydantic takes a number for a datetime as Unix seconds: ``since=2024`` (a year, meant) was
    1970-01-01T00:33:44Z and matched every alert."""
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError(
            "should be an ISO-8601 date or time (e.g. 2024-05-01 or 2024-05-01T08:00:00Z), not a number"
        )
    return value


Time = Annotated[datetime | None, BeforeValidator(_not_a_number)]


class LiteralFirst(APIRoute):
    """A route with a path parameter leaves a path that another route of this API names literally to
    that route, for every method: ``GET /api/v1/alerts/review`` (a POST route) was taken for alert
    "review", a 422 about its id where 405 (Allow: POST) is due."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match != Match.NONE and self.param_convertors:
            if any(r.matches(scope)[0] != Match.NONE for r in _literal_routes()):
                return Match.NONE, {}
        return match, child


@functools.cache
def _literal_routes() -> tuple[APIRoute, ...]:
    """This API's routes without a parameter (they are all declared at import)."""
    return tuple(r for r in router.routes if isinstance(r, APIRoute) and not r.param_convertors)


router = APIRouter(prefix="/api/v1", responses=PROBLEMS, route_class=LiteralFirst)


@router.get("/openapi.json", include_in_schema=False)
def openapi_schema(request: Request, who: Who) -> dict[str, Any]:
    """This API's OpenAPI schema."""
    schema: dict[str, Any] = request.app.openapi()
    return schema


@router.get("/me", response_model=schemas.Me)
def me(who: Who, ctx: Ctx) -> dict[str, Any]:
    return {"name": who.name, "csrf_token": who.csrf, "auth": ctx.auth.enabled}


@router.get("/health", response_model=schemas.Health)
def health(who: Who, ctx: Ctx) -> dict[str, Any]:
    with ctx.store.reading() as s:
        sinks = [c.to_dict() for c in cursor_states(s)]
    _, total, unreviewed, _ = queries.page_alerts(ctx.store, [], offset=0, limit=1)
    live = sum(r["age_s"] < 3 * ctx.status_every_s for r in queries.stream_statuses(ctx.store))
    failing = any(c["failures"] > 0 for c in sinks)
    return {
        "status": "degraded" if failing else "ok",
        "database": ctx.store.url,
        "alerts": total,
        "unreviewed": unreviewed,
        "streams_live": live,
        "sinks": sinks,
    }


@router.get("/skeleton", response_model=schemas.Skeleton)
def skeleton_layout(who: Who) -> dict[str, Any]:
    """The canonical 20-joint skeleton (models/skeleton.py) the windows are in."""
    return {
        "joints": list(skeleton.JOINT_NAMES),
        "parents": list(skeleton.PARENTS),
        "bones": [list(b) for b in skeleton.BONES],
        "root": skeleton.ROOT,
    }


@router.get("/alerts", response_model=schemas.AlertPage)
def list_alerts(
    who: Who,
    ctx: Ctx,
    stream: Annotated[str | None, Query(pattern=schemas.NO_NUL)] = None,
    profile: Annotated[str | None, Query(pattern=schemas.NO_NUL)] = None,
    host: Annotated[
        str | None, Query(pattern=schemas.NO_NUL, description="Raised by this host (config `host`).")
    ] = None,
    person: Annotated[
        int | None,
        Query(
            ge=0, le=MAX_ID, description="Of this person track within the stream (0: a one-person camera's)."
        ),
    ] = None,
    status: ReviewStatus | None = None,
    since: Annotated[Time, Query(description="Started at or after (ISO-8601).")] = None,
    until: Annotated[Time, Query(description="Started before (ISO-8601).")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Alerts matching the filters, newest first, a page at a time, with the counts."""
    since, until = _aware(since, "since"), _aware(until, "until")
    conditions = alert_filters(
        stream=stream, profile=profile, host=host, person=person, status=status, since=since, until=until
    )
    items, total, unreviewed, has = queries.page_alerts(ctx.store, conditions, offset=offset, limit=limit)
    return {
        "total": total,
        "unreviewed": unreviewed,
        "offset": offset,
        "limit": limit,
        "items": [{**queries.alert_out(a, has[a.id]), "snapshots": _snapshot_count(ctx, a)} for a in items],
    }


@router.get("/timeline", response_model=schemas.Timeline)
def timeline(
    who: Who,
    ctx: Ctx,
    since: Annotated[Time, Query(description="Start (ISO-8601); default: until - 24 h.")] = None,
    until: Annotated[Time, Query(description="End (ISO-8601); default: now.")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 2000,
) -> dict[str, Any]:
    """Every camera's alerts over a period, each with its score moment by moment (its timeline)."""
    until = _aware(until, "until") or datetime.now(UTC)
    earliest = datetime.min.replace(tzinfo=UTC)  # the default day starts no earlier (an OverflowError)
    since = _aware(since, "since") or until - min(timedelta(hours=24), until - earliest)
    found = queries.timeline_alerts(ctx.store, since, until, limit + 1) if since < until else []
    alerts = found[-limit:]  # the newest (one more was read to tell whether there are more)
    configured = list(_streams(ctx))
    streams = configured + sorted({a["stream_id"] for a in alerts} - set(configured))
    return {"since": since, "until": until, "streams": streams, "alerts": alerts,
            "truncated": len(found) > limit}  # fmt: skip


@router.post("/alerts/review", response_model=schemas.BulkReviewOut)
def review_alerts(body: schemas.BulkReviewIn, who: Who, ctx: Ctx) -> dict[str, Any]:
    """Set the review status of several alerts at once (the list's multi-select); without ``note``
    each keeps its own. Ids that do not exist come back in ``missing``; with ``if_status``, those
    reviewed meanwhile in ``changed``."""
    updated, missing, changed = [], [], []
    for alert_id in dict.fromkeys(body.ids):
        try:
            ctx.store.set_status(
                alert_id, body.status, body.note, reviewer=who.name, if_status=body.if_status
            )
            updated.append(alert_id)
        except ReviewedMeanwhile:
            changed.append(alert_id)
        except KeyError:  # no such alert, or deleted meanwhile (retention)
            missing.append(alert_id)
    return {"updated": updated, "missing": missing, "changed": changed}


# A live stream's place: "<event id>:<event uid>" (a plain id, as older pages sent, is taken as given).
RESUME = re.compile(r"([0-9]{1,19})(?::([0-9a-f-]{36}))?")


def _resume_point(value: str | None) -> tuple[int, str | None] | None:
    m = RESUME.fullmatch(value or "")
    return (int(m[1]), m[2]) if m and int(m[1]) <= MAX_ID else None


@router.get("/events/live", include_in_schema=False)
async def live_events(
    request: Request,
    who: Who,
    ctx: Ctx,
    after: Annotated[str | None, Query(max_length=60, pattern=RESUME.pattern)] = None,
) -> StreamingResponse:
    """Server-sent events: every alert change from the events outbox (``id:`` the event's id and
    uid), so a browser that reconnects with ``Last-Event-ID`` misses none; without one (or one no
    event id can be: PostgreSQL would refuse it), changes from now on."""
    start = _resume_point(request.headers.get("last-event-id"))
    if start is None and after is not None:
        start = _resume_point(after)
        if start is None:
            raise HTTPException(422, f"after: no event id can be {after}")
    resumed = start is not None
    if start is None:
        with ctx.store.reading() as s:
            start = _newest(s)
    return StreamingResponse(
        _event_stream(request, ctx, who, start, resumed),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _event_stream(
    request: Request, ctx: ReviewContext, who: Identity, start: tuple[int, str | None], resumed: bool
) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    quiet = 0.0
    log_down = False
    last, uid = start
    while not await request.is_disconnected() and not ctx.stopping.is_set():
        try:
            at, events = await run_in_threadpool(_events_after, ctx, last, uid)
            if at != (last, uid) and not resumed:
                # The log was made afresh under the open stream: it ends, the browser reconnects
                # and the page catches up on what it shows, as after any drop. (A page's place,
                # resumed, may be in the old log: the stream goes on from the new one's newest.)
                return
            if log_down:  # the page catches up (it reloads what it shows)
                yield "event: log-up\ndata: {}\n\n"
            (last, uid), resumed, log_down = at, False, False
        except LOG_UNREACHABLE as err:
            # The stream waits for the log to come back: broken off, it logged a traceback, and so did
            # each open page's reconnect, every 2 s (one with Last-Event-ID reads nothing first).
            if not log_down and not isinstance(err, LogNotOpen):  # that one is logged at start
                log.warning("live updates: alert log unreachable (%s); waiting for it", why_unreachable(err))
            if not log_down:  # said to the page: it went on saying "live" with nothing to come
                yield "event: log-down\ndata: {}\n\n"
            log_down, events = True, []
        # A session logged out or expired ends its streams, saying so (a page goes to the login
        # without a reconnect, refused 401); asked after reading, so no change written after the
        # logout goes out.
        if who.via == "session" and ctx.auth.identify(request) is None:
            yield "event: signed-out\ndata: {}\n\n"
            return
        for e in events:
            data = {"event_id": e.id, "event_uid": e.uid, "type": e.kind, "alert": e.payload["alert"]}
            yield f"id: {e.id}:{e.uid}\nevent: alert\ndata: {json.dumps(data)}\n\n"
            last, uid = e.id, e.uid
        quiet = 0.0 if events else quiet + LIVE_POLL_S
        if quiet >= 15.0:  # a comment now and then keeps proxies from closing an idle stream
            yield ": keep-alive\n\n"
            quiet = 0.0
        await asyncio.sleep(LIVE_POLL_S)


def _newest(s: Session) -> tuple[int, str | None]:
    row = s.execute(select(Event.id, Event.uid).order_by(Event.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, None)


def _events_after(
    ctx: ReviewContext, last: int, uid: str | None
) -> tuple[tuple[int, str | None], list[OutboxEvent]]:
    with ctx.store.reading() as s:
        # Event ``last`` is another one (or none) in a log deleted and made afresh, a backup put
        # back, a new database: its ids repeat the old log's, and the stream, waiting for one past
        # ``last``, said nothing until the new log's ids got there. It goes on from the newest
        # event instead (a page catches up on what it shows as after any reconnect).
        if uid is not None and s.scalar(select(Event.uid).where(Event.id == last)) != uid:
            last, uid = _newest(s)
        return (last, uid), pending_events(s, last, 100)


@router.get("/alerts/{alert_id}", response_model=schemas.AlertDetail, responses=NOT_FOUND)
def get_alert(alert_id: AlertId, who: Who, ctx: Ctx) -> dict[str, Any]:
    # First: it settles a version a killed mark or undo left unrecorded (the alert's status, its
    # feedback row), so the alert read after is as that version says (it showed the old status once).
    in_profile = current_feedback(ctx.store, ctx.profiles, alert_id)
    a = _get(ctx, alert_id)
    index = _snapshot_index(ctx, a.episode_key)
    return {
        **queries.alert_out(a, a.windows is not None),
        "snapshots": len(index["frames"]) if index else 0,
        "snapshot_mode": index["mode"] if index else None,
        "snapshot_frames": index["frames"] if index else [],
        "windows": queries.window_summaries(a),
        "timeline": [] if a.timeline is None else a.timeline.astype(float).tolist(),
        "timeline_holes": timeline_holes(a.timeline),
        "feedback": feedback_history(ctx.store, alert_id),
        "in_profile": in_profile,
    }


JPEG: dict[int | str, dict[str, Any]] = {**NOT_FOUND, 200: {"content": {"image/jpeg": {}}}}


@router.get("/alerts/{alert_id}/snapshots/{name}", responses=JPEG, response_class=Response)
def get_snapshot(
    request: Request,
    alert_id: AlertId,
    name: Annotated[str, Path(pattern=r"^[0-9]{2}\.jpg$")],
    who: Who,
    ctx: Ctx,
) -> Response:
    """One picture of the scene the alert kept (downscaled, the person's box drawn)."""
    return _jpeg(request, ctx, alert_id, name)


@router.get("/alerts/{alert_id}/thumbnail.jpg", responses=JPEG, response_class=Response)
def get_thumbnail(request: Request, alert_id: AlertId, who: Who, ctx: Ctx) -> Response:
    """The alert's picture nearest its peak score."""
    return _jpeg(request, ctx, alert_id, None)


def _jpeg(request: Request, ctx: ReviewContext, alert_id: int, name: str | None) -> Response:
    with ctx.store.reading() as s:
        key = s.scalar(select(Alert.episode_key).where(Alert.id == alert_id))
    if key is None:
        raise HTTPException(404, f"no alert with id {alert_id}")
    index = _snapshot_index(ctx, key)
    names = {f["name"] for f in index["frames"]} if index else set()
    name = name or (index["thumbnail"] if index else None)
    if ctx.snapshots_dir is None or name is None or name not in names:
        raise HTTPException(404, f"alert {alert_id} kept no such picture")
    try:
        data = (ctx.snapshots_dir / key / name).read_bytes()
    except OSError:
        raise HTTPException(404, f"alert {alert_id}: the picture is gone (retention)") from None
    # Kept by the browser but asked for again each time (304 while unchanged): a picture of people
    # held fresh would be shown from the cache to whoever uses the browser after a logout.
    headers = {
        "Cache-Control": "private, no-cache",
        "ETag": f'"{hashlib.blake2b(data, digest_size=16).hexdigest()}"',
    }
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="image/jpeg", headers=headers)


def _snapshot_index(ctx: ReviewContext, episode_key: str) -> dict[str, Any] | None:
    """The alert's index of pictures, less those no longer on disk (deleted by hand or by a partial
    clean-up): the pages would show them broken. None when it kept none."""
    if ctx.snapshots_dir is None or (index := read_index(ctx.snapshots_dir, episode_key)) is None:
        return None
    folder = ctx.snapshots_dir / episode_key
    frames = [f for f in index["frames"] if (folder / f["name"]).is_file()]
    if not frames:
        return None
    names = {f["name"] for f in frames}
    return {
        **index,
        "frames": frames,
        "thumbnail": index["thumbnail"] if index["thumbnail"] in names else frames[0]["name"],
    }


def _snapshot_count(ctx: ReviewContext, a: AlertRecord) -> int:
    index = _snapshot_index(ctx, a.episode_key)
    return len(index["frames"]) if index else 0


@router.get(
    "/alerts/{alert_id}/windows",
    response_model=schemas.AlertWindows,
    responses={**NOT_FOUND, 200: {"content": {"application/octet-stream": {}}}},
)
def get_windows(alert_id: AlertId, who: Who, ctx: Ctx, format: Literal["json", "npz"] = "json") -> Any:
    """The stored skeleton windows as JSON (for playback) or as the npz ``haad alerts export`` writes."""
    a = _get(ctx, alert_id)
    if a.windows is None or a.window_times is None:
        raise HTTPException(404, f"alert {alert_id}: its windows were dropped by retention")
    if format == "npz":
        return Response(
            encode_windows(a.windows, a.window_times, a.window_scores, a.timeline),
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="alert-{alert_id}.npz"'},
        )
    return queries.windows_json(a)


@router.get(
    "/alerts/{alert_id}/timeline.{kind}",
    responses={**NOT_FOUND, 200: {"content": {"image/png": {}, "image/svg+xml": {}}}},
    response_class=Response,
)
async def get_timeline(alert_id: AlertId, kind: Literal["png", "svg"], who: Who, ctx: Ctx) -> Response:
    """The episode's window scores against the threshold, as a picture (matplotlib)."""
    from edge.plots import alert_timeline

    a = _get(ctx, alert_id)
    buf = io.BytesIO()
    await run_in_threadpool(alert_timeline, a, buf, kind)
    return Response(buf.getvalue(), media_type="image/png" if kind == "png" else "image/svg+xml")


@router.post(
    "/alerts/{alert_id}/review",
    response_model=schemas.AlertOut,
    responses={**NOT_FOUND, 409: {"model": schemas.Problem}},
)
def review_alert(alert_id: AlertId, body: schemas.ReviewIn, who: Who, ctx: Ctx) -> dict[str, Any]:
    """Set the review status (new / confirmed / dismissed) with a note (without one, it keeps its own)."""
    seen = _check_unchanged(ctx, alert_id, body)
    try:
        ctx.store.set_status(alert_id, body.status, body.note, reviewer=who.name, if_reviewed_at=seen)
    except ReviewedMeanwhile:  # reviewed between the check and this write
        _check_unchanged(ctx, alert_id, body)  # names that review (409)
        raise HTTPException(409, f"alert {alert_id} was reviewed meanwhile: nothing was changed") from None
    except KeyError:
        raise HTTPException(404, f"no alert with id {alert_id}") from None
    a = _get(ctx, alert_id)
    return queries.alert_out(a, a.windows is not None)


@router.get(
    "/alerts/{alert_id}/normal",
    response_model=schemas.NormalPreview,
    responses={**NOT_FOUND, 409: {"model": schemas.Problem}},
)
def preview_alert_normal(alert_id: AlertId, who: Who, ctx: Ctx, profile: str | None = None) -> dict[str, Any]:
    """What marking the alert normal would change: its profile, and the cameras each scope reaches."""
    _get(ctx, alert_id, windows=False)
    try:
        out = preview_normal(ctx.store, alert_id, _streams(ctx), profile)
    except FeedbackError as e:
        raise HTTPException(409, str(e)) from None
    return {**out, "enrolled": out["profile"] in ctx.profiles.names()}


def _feedback_conflict(e: FeedbackError | ProfileError) -> HTTPException:
    """409 with the reason, but a missing profile without the server's profiles folder its message
    names (for the operator at a terminal, not for a browser)."""
    if isinstance(e, NoSuchProfile):
        return HTTPException(409, f"profile {e.name!r} is not enrolled on this host")
    return HTTPException(409, str(e))


@router.post(
    "/alerts/{alert_id}/normal",
    response_model=schemas.FeedbackOut,
    responses={**NOT_FOUND, 409: {"model": schemas.Problem}, 503: {"model": schemas.Problem}},
)
async def mark_alert_normal(alert_id: AlertId, body: schemas.NormalIn, who: Who, ctx: Ctx) -> dict[str, Any]:
    """Make the alert's action normal: a behaviour of the profile for the alert's camera only
    (``scope: camera``) or for every camera using the profile (``all``), as a new version a running
    daemon picks up. The alert is dismissed with a note saying so."""
    _check_unchanged(ctx, alert_id, body)
    backend = await _backend(ctx)
    try:
        result = await run_in_threadpool(
            mark_normal, ctx.store, ctx.profiles, backend, ctx.calibration, [alert_id],
            reviewer=who.name, scope=body.scope, streams=_streams(ctx), note=body.note, profile=body.profile,
            behaviour=body.behaviour, stride=ctx.stride, reach=ctx.feedback_reach,
        )  # fmt: skip
    except (FeedbackError, ProfileError) as e:
        raise _feedback_conflict(e) from None
    return result.to_dict()


@router.delete(
    "/alerts/{alert_id}/normal",
    response_model=schemas.FeedbackOut,
    responses={**NOT_FOUND, 409: {"model": schemas.Problem}, 503: {"model": schemas.Problem}},
)
async def undo_alert_normal(
    alert_id: AlertId,
    who: Who,
    ctx: Ctx,
    if_reviewed_at: Annotated[
        datetime | None, Query(description=schemas.Unchanged.model_fields["if_reviewed_at"].description)
    ] = None,
) -> dict[str, Any]:
    """Take the alert's windows out of the profile or overlay they went to (a new version of it); the
    alert is reopened."""
    # As the other reviews: a page open for a while undid a colleague's later review unseen.
    _check_unchanged(
        ctx,
        alert_id,
        schemas.Unchanged(**({} if if_reviewed_at is None else {"if_reviewed_at": if_reviewed_at})),
    )
    backend = await _backend(ctx)
    try:
        result = await run_in_threadpool(
            undo_normal, ctx.store, ctx.profiles, backend, ctx.calibration, alert_id, reviewer=who.name,
            streams=_streams(ctx),
        )  # fmt: skip
    except (FeedbackError, ProfileError) as e:
        raise _feedback_conflict(e) from None
    return result.to_dict()


@router.get("/profiles", response_model=list[schemas.ProfileOut])
def list_profiles(who: Who, ctx: Ctx) -> list[dict[str, Any]]:
    return [_profile_out(ctx, name) for name in ctx.profiles.names()]


@router.get("/profiles/{name}", response_model=schemas.ProfileDetail, responses=NOT_FOUND)
def get_profile(name: str, who: Who, ctx: Ctx) -> dict[str, Any]:
    if name not in ctx.profiles.names():
        raise HTTPException(404, f"no profile named {name!r}")
    history = []
    for v in reversed(ctx.profiles.versions(name)):
        try:
            history.append(_version_out(ctx.profiles.load(name, v)))
        except ProfileError:
            continue
    return {**_profile_out(ctx, name), "history": history}


@router.post(
    "/profiles/{name}/rollback",
    response_model=schemas.ProfileOut,
    responses={**NOT_FOUND, 409: {"model": schemas.Problem}},
)
def rollback_profile(name: str, body: schemas.RollbackIn, who: Who, ctx: Ctx) -> dict[str, Any]:
    """Make an earlier version current again, as a new version equal to it (nothing is deleted)."""
    from edge.profiles import profile_lock

    if name not in ctx.profiles.names():
        raise HTTPException(404, f"no profile named {name!r}")
    if body.version not in ctx.profiles.versions(name):
        raise HTTPException(409, f"profile {name} has no version {body.version}")
    # A damaged version file, or a profiles folder full or read-only (a 500 before), as marking
    # normal says it.
    try:
        with profile_lock(ctx.profiles, name):
            old = ctx.profiles.load(name, body.version)
            entry = {"action": "rollback", "to_version": body.version, "reviewer": who.name, "note": body.note,
                     "at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
            ctx.profiles.save(
                replace(old, meta={**old.meta, "feedback": [*old.meta.get("feedback", []), entry]})
            )
    except ProfileError as e:
        raise HTTPException(409, str(e)) from None
    return _profile_out(ctx, name)


@router.get("/alert-profiles", response_model=list[str])
def list_alert_profiles(who: Who, ctx: Ctx) -> list[str]:
    """Every profile named on an alert (``a+b`` as is), enrolled here or not: a review-only host
    may hold none of the fleet's profiles, and a deleted profile's alerts stay."""
    return queries.profile_names_in_alerts(ctx.store)


@router.get("/hosts", response_model=list[str])
def list_hosts(who: Who, ctx: Ctx) -> list[str]:
    """The hosts (config `host`) that raised alerts or report live status into this alert log."""
    return queries.hosts(ctx.store)


@router.get("/streams", response_model=list[schemas.StreamOut])
def list_streams(who: Who, ctx: Ctx, last: Annotated[int, Query(ge=0, le=50)] = 5) -> list[dict[str, Any]]:
    """Every stream: configured, with a live status row, or with alerts; live score vs threshold, fps,
    open alerts and its last alerts."""
    statuses = queries.stream_statuses(ctx.store)
    open_counts = queries.open_alert_counts(ctx.store)
    ids = sorted({*ctx.streams, *(r["stream_id"] for r in statuses), *queries.stream_ids(ctx.store)})
    stale_s = 3 * ctx.status_every_s
    out = []
    for sid in ids:
        rows = [r for r in statuses if r["stream_id"] == sid]
        live = [r for r in rows if r["age_s"] < stale_s]
        last_alerts = []
        if last:
            items, _, _, has = queries.page_alerts(ctx.store, alert_filters(stream=sid), offset=0, limit=last)
            last_alerts = [queries.alert_out(a, has[a.id]) for a in items]
        out.append(
            {
                "stream_id": sid,
                "configured_profiles": list(ctx.streams.get(sid, [])),
                "fps": max((r["fps"] for r in live), default=None),
                "host": rows[0]["host"] if rows else None,
                "live": bool(live),
                "profiles": [{**r, "live": r["age_s"] < stale_s} for r in rows],
                "open_alerts": open_counts.get(sid, 0),
                "last_alerts": last_alerts,
            }
        )
    return out


@router.get("/events/sinks", response_model=list[CursorState])
def event_sinks(who: Who, ctx: Ctx) -> list[dict[str, Any]]:
    """How far each events sink (MQTT, webhooks) got through the outbox, and its retry state."""
    with ctx.store.reading() as s:
        return [c.to_dict() for c in cursor_states(s)]


# --- helpers -------------------------------------------------------------------------------------


def _get(ctx: ReviewContext, alert_id: int, *, windows: bool = True) -> Any:
    try:
        return ctx.store.get_alert(alert_id)
    except KeyError:
        raise HTTPException(404, f"no alert with id {alert_id}") from None


def _check_unchanged(
    ctx: ReviewContext, alert_id: int, body: schemas.Unchanged
) -> datetime | None | EllipsisType:
    """404 without the alert; 409 when the client said which review it saw and another came since.
    That review (``...`` when it said none), for the write to check again."""
    with ctx.store.reading() as s:
        row = s.execute(
            select(Alert.status, Alert.reviewed_at, Alert.reviewed_by).where(Alert.id == alert_id)
        ).first()
    if row is None:
        raise HTTPException(404, f"no alert with id {alert_id}")
    if "if_reviewed_at" not in body.model_fields_set:
        return ...
    if row.reviewed_at == (seen := _aware(body.if_reviewed_at, "if_reviewed_at")):
        return seen
    if row.reviewed_at is None:  # a client's mistake, not another reviewer's doing
        raise HTTPException(409, f"alert {alert_id} has not been reviewed: if_reviewed_at is null for it")
    raise HTTPException(
        409, f"alert {alert_id} was reviewed meanwhile ({row.status}, by {row.reviewed_by or '?'}): "
        "nothing was changed; see its review and act again",
    )  # fmt: skip


def _aware(t: datetime | None, name: str) -> datetime | None:
    """``t`` in UTC (as the CLI: no zone means UTC); 422 when that is before year 1 or after 9999,
    which the query could not hold (a 500)."""
    if t is None:
        return None
    if t.tzinfo is None or t.utcoffset() is None:
        return t.replace(tzinfo=UTC)
    try:
        return t.astimezone(UTC)
    except OverflowError:
        raise HTTPException(422, f"{name} is out of range in UTC (years 1 to 9999)") from None


def _version_out(p: Profile) -> dict[str, Any]:
    return {
        "version": p.version,
        "threshold": p.threshold,
        "support_windows": int(len(p.windows)),
        "clips": int(len(set(p.groups.tolist()))),
        "model_version": p.model_version,
        "vigour": p.meta.get("vigour"),  # the most vigorous enrolled second (edge/vigour.py)
        "created_at": p.meta.get("created_at"),
        "behaviours": behaviour_summary(p),
        "feedback": list(p.meta.get("feedback", [])),
    }


def _streams(ctx: ReviewContext) -> dict[str, list[str]]:
    """Stream -> the profiles it is scored against: the configured streams, or without a stream
    configuration those the alert log shows."""
    if ctx.streams:
        return {s: list(names) for s, names in ctx.streams.items()}
    return queries.known_streams(ctx.store)


def _profile_out(ctx: ReviewContext, name: str) -> dict[str, Any]:
    versions = ctx.profiles.versions(name)
    try:
        latest = _version_out(ctx.profiles.load(name)) if versions else None
    except ProfileError:
        latest = None
    overlays = []
    store = overlay_store(ctx.profiles, name)
    for stream in store.names():
        try:
            o = store.load(stream)
        except ProfileError:
            continue
        if len(o.windows):
            overlays.append({"stream": stream, "version": o.version, "behaviours": behaviour_summary(o)})
    return {
        "name": name, "versions": versions, "latest": latest, "streams": cameras_using(name, _streams(ctx)),
        "overlays": overlays,
    }  # fmt: skip


async def _backend(ctx: ReviewContext) -> EncoderBackend:
    """The encoder that re-embeds a profile's windows (loaded on first use); 503 if it cannot load."""
    try:
        return await run_in_threadpool(ctx.backend)
    except Exception as e:  # noqa: BLE001 - a missing or damaged encoder (its loaders' own types): not a 500
        raise HTTPException(503, f"cannot re-embed: {type(e).__name__}: {e}") from None
