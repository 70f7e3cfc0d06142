"""The shapes the HTTP API returns and takes (they make its OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema

from edge.profiles import NAME_PATTERN, check_name
from edge.store.models import MAX_ID, ReviewStatus
from edge.store.outbox import CursorState

# PostgreSQL text cannot hold a NUL: compared with one, or written, the query fails (a 500); 422 instead.
NO_NUL = r"^[^\x00]*$"


class Problem(BaseModel):
    detail: str


class AlertOut(BaseModel):
    id: int
    stream_id: str
    person: int = Field(0, description="The person track within the stream (0: a single-person frontend's).")
    box: list[float] | None = Field(
        None,
        min_length=4,
        max_length=4,
        description="The person's image-space box over the episode, x0 y0 x1 y1 as fractions of the frame.",
    )
    others: list[list[int | float]] = Field(
        default_factory=list, description="The other people in view at the peak: [person, x0, y0, x1, y1]."
    )
    profile: str
    profile_version: int
    started_at: datetime
    ended_at: datetime | None
    duration_s: float | None
    peak_score: float
    mean_score: float
    threshold: float
    n_windows: int
    model_version: str
    n_kept: int
    status: ReviewStatus
    note: str
    reviewed_at: datetime | None
    reviewed_by: str
    host: str = Field(description="The daemon that raised it (config `host`); empty for older alerts.")
    nearest: str | None = Field(
        None,
        description="The normal behaviour of its profile (or camera overlay) its peak window was nearest; "
        "null for alerts logged before haad recorded it.",
    )
    windows_available: bool | None = Field(None, description="False once retention dropped the windows.")
    snapshots: int = Field(
        0, description="Pictures of the scene it kept (0: none; its thumbnail.jpg if any)."
    )


class AlertPage(BaseModel):
    total: int = Field(description="Alerts matching the filters.")
    unreviewed: int = Field(description="Of those, status new.")
    offset: int
    limit: int
    items: list[AlertOut]


class WindowSummary(BaseModel):
    t_start: float
    t_end: float
    frames: int
    score: float | None


class FeedbackEntry(BaseModel):
    profile: str
    base_version: int
    version: int
    action: Literal["normal", "undo"]
    reviewer: str
    note: str
    at: datetime


class SnapshotOut(BaseModel):
    name: str = Field(description="GET /api/v1/alerts/{id}/snapshots/{name}: the JPEG.")
    t: float = Field(description="Source seconds (the clock of window_times).")


class AlertDetail(AlertOut):
    windows: list[WindowSummary]
    snapshot_mode: Literal["keyframes", "clip"] | None = Field(description="What it kept of the scene.")
    snapshot_frames: list[SnapshotOut]
    timeline: list[list[float]] = Field(
        description="(N, 2) the score moment by moment over the episode: (source seconds, score); kept "
        "when retention drops the windows; empty for alerts stored without one."
    )
    timeline_holes: list[tuple[float, float]] = Field(
        description="Its holes: stretches of its stream without frames that it waited across (no score "
        "is known there), each as (the last moment scored before it, the first after it), source seconds."
    )
    feedback: list[FeedbackEntry]
    in_profile: str | None = Field(description="The profile this alert's windows are in now, if any.")


class TimelineAlert(BaseModel):
    id: int
    stream_id: str
    profile: str
    started_at: datetime
    ended_at: datetime | None
    host: str
    person: int
    status: ReviewStatus
    peak_score: float
    threshold: float
    trace: list[list[float]] = Field(description="Its timeline: [seconds after started_at, score].")
    holes: list[tuple[float, float]] = Field(
        description="Its timeline's holes (as the alert's timeline_holes), seconds on the trace's clock."
    )


class Timeline(BaseModel):
    since: datetime
    until: datetime
    streams: list[str] = Field(description="Configured streams, then any other with an alert shown.")
    alerts: list[TimelineAlert] = Field(description="Alerts overlapping the period, oldest first.")
    truncated: bool = Field(
        description="More alerts overlap the period than were returned: the newest are (zoom in)."
    )


class AlertWindows(BaseModel):
    """The stored windows: raw canonical skeletons in metres, y up (models/skeleton.py joint order)."""

    fps: float
    frames: list[list[list[list[float | None]]]] = Field(
        description="(K, F, 20, 3); null for a missing joint."
    )
    window_times: list[list[float]] = Field(description="(K, 2) start/end of each window, source seconds.")
    window_scores: list[float] | None
    timeline: list[list[float]] | None = Field(
        None, description="(N, 2) the score moment by moment over the episode: (source seconds, score)."
    )
    threshold: float


class Unchanged(BaseModel):
    if_reviewed_at: datetime | None = Field(
        None,
        description="The alert's `reviewed_at` as the client last read it (null: not reviewed yet). "
        "Given, the request is refused (409) if another review came since: a page open for a while "
        "cannot overwrite another reviewer's status and note unseen.",
    )


class ReviewIn(Unchanged):
    status: ReviewStatus
    note: str | None = Field(
        None, max_length=2000, pattern=NO_NUL, description="None: the alert keeps its note."
    )


class BulkReviewIn(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(min_length=1, max_length=500)
    status: ReviewStatus
    note: str | None = Field(
        None, max_length=2000, pattern=NO_NUL, description="None: each alert keeps its note."
    )
    if_status: ReviewStatus | None = Field(
        None,
        description="Only the alerts still in this status (as the client last read them, e.g. `new`); "
        "the others, reviewed meanwhile, are left alone and come back in `changed`.",
    )


class BulkReviewOut(BaseModel):
    updated: list[int]
    missing: list[int]
    changed: list[int] = Field(description="Not in `if_status` any more: left as they were.")


# The name rule's own message, not pydantic's; the schema states the rule to clients.
BehaviourName = Annotated[
    str,
    AfterValidator(partial(check_name, what="behaviour")),
    WithJsonSchema({"type": "string", "pattern": NAME_PATTERN}),
]


class NormalIn(Unchanged):
    note: str = Field("", max_length=2000, pattern=NO_NUL)
    profile: str | None = Field(
        None, pattern=NO_NUL, description="For an alert against several profiles: which one it is normal for."
    )
    scope: Literal["camera", "all"] = Field(
        description="camera: normal for the alert's camera only (its overlay of the profile); all: for "
        "every camera using the profile (a new version of the profile)."
    )
    behaviour: BehaviourName | None = Field(
        None,
        description="The behaviour the action is: a feedback behaviour it joins, or a new one's name "
        "(default: a new behaviour alert-<id>).",
    )


class NormalPreview(BaseModel):
    profile: str
    stream: str
    scopes: dict[Literal["camera", "all"], list[str]] = Field(description="The cameras each scope changes.")
    enrolled: bool = Field(description="The profile is enrolled on this host: marking needs it here.")


class FeedbackOut(BaseModel):
    profile: str
    scope: Literal["camera", "all"]
    stream: str | None = Field(description="The camera whose overlay changed (scope camera).")
    cameras: list[str] = Field(description="The cameras whose scoring changed.")
    behaviour: str
    base_version: int
    version: int
    alert_ids: list[int]
    windows: int
    threshold: float = Field(description="The profile's threshold (feedback does not move it).")


class BehaviourOut(BaseModel):
    name: str
    kind: Literal["enrolled", "feedback"]
    windows: int
    sources: list[str] = []
    alert_ids: list[int] = []


class ProfileVersion(BaseModel):
    version: int
    threshold: float
    support_windows: int
    clips: int
    model_version: str
    vigour: float | None = None  # torso lengths/s: the most vigorous enrolled second (edge/vigour.py)
    created_at: str | None
    behaviours: list[BehaviourOut]
    feedback: list[dict[str, object]]


class OverlayOut(BaseModel):
    stream: str
    version: int
    behaviours: list[BehaviourOut]


class ProfileOut(BaseModel):
    name: str
    versions: list[int]
    latest: ProfileVersion | None
    streams: list[str]
    overlays: list[OverlayOut] = Field(description="Behaviours made normal for one camera only.")


class ProfileDetail(ProfileOut):
    history: list[ProfileVersion]


class RollbackIn(BaseModel):
    version: int = Field(ge=1)
    note: str = Field("", max_length=2000, pattern=NO_NUL)


class StreamProfileStatus(BaseModel):
    profile: str
    profile_version: int
    score: float | None
    threshold: float
    updated_at: datetime
    age_s: float
    live: bool
    recent: list[list[float]]
    windows_scored: int


class StreamOut(BaseModel):
    stream_id: str
    configured_profiles: list[str]
    fps: float | None
    host: str | None
    live: bool
    profiles: list[StreamProfileStatus]
    open_alerts: int
    last_alerts: list[AlertOut]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: str
    alerts: int
    unreviewed: int
    streams_live: int
    sinks: list[CursorState]  # a dataclass: FastAPI serialises it as it is


class Skeleton(BaseModel):
    joints: list[str]
    parents: list[int]
    bones: list[list[int]]
    root: int


class Me(BaseModel):
    name: str
    csrf_token: str = Field(
        description="Send it as X-CSRF-Token on POST/DELETE when using the session cookie."
    )
    auth: bool
