"""Configuration of the pose frontends (pose_frontend/): one stream per camera, video or replay.

A stream's ``source`` is a discriminated union on ``kind``; every kind has its own options. The
default source is the built-in synthetic performer, which needs no camera and no files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from config.base import StreamId, StrictModel, UserPath
from config.bus import BusConfig, StreamGuardConfig
from config.logs import LoggingConfig
from config.secrets import SecretRef, no_inline_password
from config.supervisor import SupervisorConfig
from config.worker import MAX_BRIDGED_GAP_S

# The profile-name rule (edge/profiles.py), checked here too so that a bad name is reported with its
# YAML line at load time.
ProfileName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Seconds = Annotated[float, Field(gt=0, le=86_400)]
# The synthetic performer's motions (pose_frontend/synthetic.py implements each one).
Motion = Literal[
    "idle", "walk_in_place", "wave_right_hand", "arm_circles", "squat", "fall", "jump_flail", "kick"
]
# The last second an unsigned 32-bit Unix time holds (2106-02-07): a wall-clock time beyond it is a
# slip, not a date (and a wait until an infinite or 1e30 one overflows the platform's timeout).
_LAST_UNIX_S = 2**32 - 1
_URL_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")


class ReconnectConfig(StrictModel):
    """How a live source (camera, URL) that fails to open or stops delivering is reopened."""

    initial_backoff_s: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="Wait before the first reopening attempt; doubles after each failure.",
    )
    max_backoff_s: float = Field(
        default=30.0, gt=0, le=3600, description="Longest wait between two attempts."
    )
    max_attempts: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="Consecutive failed attempts before the stream gives up with an error; 0 = never give up.",
    )
    open_timeout_s: float = Field(
        default=10.0, gt=0, le=600, description="Longest an attempt to open a URL may take (FFmpeg backend)."
    )
    read_timeout_s: float = Field(
        default=10.0, gt=0, le=600, description="A URL that delivers no frame for this long counts as lost."
    )

    @model_validator(mode="after")
    def _initial_within_max(self) -> ReconnectConfig:
        if self.initial_backoff_s > self.max_backoff_s:
            raise ValueError("initial_backoff_s must not exceed max_backoff_s")
        return self


class WebcamSourceConfig(StrictModel):
    """A local camera by index (/dev/videoN on Linux); frames are stamped with the wall clock."""

    kind: Literal["webcam"] = "webcam"
    index: int = Field(default=0, ge=0, le=255, description="Camera index as OpenCV numbers them.")
    width: int | None = Field(
        default=None, ge=16, le=8192, description="Requested frame width; None = camera default."
    )
    height: int | None = Field(
        default=None, ge=16, le=8192, description="Requested frame height; None = camera default."
    )
    fps: float | None = Field(
        default=None, gt=0, le=1000, description="Requested frame rate; None = camera default."
    )
    reconnect: ReconnectConfig = Field(
        default_factory=ReconnectConfig, description="Reopening a lost camera."
    )


class UrlSourceConfig(StrictModel):
    """A network stream (RTSP, HTTP/MJPEG, RTMP, ...) read through FFmpeg; wall-clock timestamps."""

    kind: Literal["url"] = "url"
    url: str = Field(
        description="Stream address, e.g. rtsp://user@10.0.0.5:554/stream1 (no default: it names the camera).",
        min_length=8,
        max_length=2048,
    )
    password: SecretRef | None = Field(
        default=None, description="The camera password of the URL's user: {env: NAME} or {file: PATH}."
    )
    reconnect: ReconnectConfig = Field(
        default_factory=ReconnectConfig, description="Reopening a lost stream."
    )

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if not v.lower().startswith(_URL_SCHEMES):
            raise ValueError(f"url must start with one of {', '.join(_URL_SCHEMES)}")
        return no_inline_password(v, "password")


class VideoSourceConfig(StrictModel):
    """A video file; timestamps are the container's frame positions."""

    kind: Literal["video"] = "video"
    path: UserPath = Field(
        description="Video file (any container FFmpeg reads); no default: it names the file."
    )
    loop: bool = Field(
        default=False, description="Start again at the end; timestamps keep rising across loops."
    )
    realtime: bool = Field(
        default=True,
        description="Deliver frames at the video's own pace (as a camera would); false = as fast as possible.",
    )


class ImagesSourceConfig(StrictModel):
    """A folder of images in file-name order (or one image file), played at ``fps``."""

    kind: Literal["images"] = "images"
    path: UserPath = Field(
        description="Folder of images, or a single image file; no default: it names the files."
    )
    pattern: str = Field(
        default="*", min_length=1, max_length=256, description="Glob of the files to use inside the folder."
    )
    fps: float = Field(
        default=10.0, gt=0, le=1000, description="Frame rate the images are stamped (and paced) at."
    )
    loop: bool = Field(default=False, description="Start again after the last image; timestamps keep rising.")
    realtime: bool = Field(
        default=True, description="Deliver images at ``fps``; false = as fast as possible."
    )


class SkeletonSourceConfig(StrictModel):
    """Replay of recorded skeletons, bypassing pose estimation: a clip-set ``.npz`` or a ``.npy``."""

    kind: Literal["skeleton"] = "skeleton"
    path: UserPath = Field(
        description=(
            "Clip-set .npz (clips/files.py; its clips play one after another) or "
            ".npy of shape (T, N, 3), or (T, P, N, 3) for P people (person ids 1..P; a person all "
            "NaN in a frame is out of view); no default: it names the file. Each frame goes with the "
            "visibility the file gives its joints (MediaPipe's, a recording's), for the worker's "
            "min_visibility to judge; 1 where it gives none."
        )
    )
    layout: Literal["kinect_v1", "msr_action3d", "mediapipe33", "smpl24"] = Field(
        default="kinect_v1", description="Joint layout of a .npy file (a clip-set file names its own)."
    )
    fps: float = Field(
        default=30.0, gt=0, le=1000, description="Frame rate of a .npy file (a clip-set file has its own)."
    )
    clips: list[str] = Field(
        default_factory=list,
        description="Clip names to play from a clip-set file, in this order; empty = all.",
    )
    loop: bool = Field(default=False, description="Start again at the end; timestamps keep rising.")
    realtime: bool = Field(
        default=True, description="Deliver frames at their own pace; false = as fast as possible."
    )


class MotionStep(StrictModel):
    """One step of a synthetic performance."""

    motion: Motion = Field(default="idle", description="What the performer does.")
    seconds: Seconds = Field(default=5.0, description="How long the motion lasts.")


def _default_script() -> list[MotionStep]:
    return [
        MotionStep(motion="idle", seconds=5.0),
        MotionStep(motion="walk_in_place", seconds=10.0),
        MotionStep(motion="wave_right_hand", seconds=5.0),
    ]


class SyntheticSourceConfig(StrictModel):
    """The built-in procedural performer (pose_frontend/synthetic.py): canonical skeletons, no files."""

    kind: Literal["synthetic"] = "synthetic"
    script: list[MotionStep] = Field(
        default_factory=_default_script, min_length=1, description="Motions performed one after another."
    )
    fps: float = Field(default=30.0, gt=0, le=1000, description="Frame rate of the performance.")
    seed: int = Field(
        default=0, ge=0, le=2**32 - 1, description="Seed of the performer's variations and noise."
    )
    noise_m: float = Field(
        default=0.002, ge=0, le=0.1, description="Per-joint sensor noise (standard deviation, metres)."
    )
    loop: bool = Field(default=False, description="Perform the script again at the end (with the next seed).")
    realtime: bool = Field(
        default=True, description="Deliver frames at ``fps``; false = as fast as possible."
    )
    starts_at: float | None = Field(
        default=None,
        ge=0,
        le=_LAST_UNIX_S,
        description="Wall-clock time (Unix seconds) the performance began, as for a live camera: frames "
        "carry wall-clock timestamps and a frontend (re)started later picks the performance up where it "
        "is by then; none: timestamps from 0, from the start.",
    )

    @model_validator(mode="after")
    def _live_needs_realtime(self) -> SyntheticSourceConfig:
        if self.starts_at is not None and not self.realtime:
            raise ValueError("starts_at needs realtime: true (a live performance runs at its own pace)")
        return self


SourceConfig = Annotated[
    WebcamSourceConfig
    | UrlSourceConfig
    | VideoSourceConfig
    | ImagesSourceConfig
    | SkeletonSourceConfig
    | SyntheticSourceConfig,
    Field(discriminator="kind"),
]


class PeopleConfig(StrictModel):
    """Several people per camera (pose_frontend/multi.py): BlazePose's detector swept over tiles of
    the frame, one landmark pass per tracked person, person ids kept by pose_frontend/tracking.py."""

    max_people: int = Field(
        default=16,
        ge=1,
        le=32,  # bus.messages.MAX_PEOPLE: what one bus frame carries
        description="Most people tracked at once; a frame that leaves out more counts as refused (frontend counters).",
    )
    min_person_height_px: int = Field(
        default=60,
        ge=16,
        le=4096,
        description=(
            "Height of the smallest person to find, in frame pixels; sets the smallest detector tile "
            "(4x this), so smaller values cost more tiles per sweep."
        ),
    )
    tiles_per_frame: int = Field(
        default=4,
        ge=1,
        le=256,
        description=(
            "Detector passes per frame besides the whole frame's; one sweep over all tiles spreads over "
            "several frames, so a small new person is found within (tiles / this) frames."
        ),
    )
    min_detection_confidence: float = Field(
        default=0.5, ge=0, le=1, description="Detector score needed to start (or resume) a person."
    )
    min_presence_confidence: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Landmark model's pose score below which a tracked person counts as not seen in that frame.",
    )
    lost_timeout_s: float = Field(
        default=2.0,
        gt=0,
        le=600,
        description="A person not seen for this long is retired; within it, they get their id back.",
    )
    smooth_landmarks: bool = Field(default=True, description="Filter each person's landmarks across frames.")


class EstimatorConfig(StrictModel):
    """MediaPipe Pose: the legacy solution (model_complexity 1, bundled) or a Tasks ``.task`` model."""

    min_detection_confidence: float = Field(
        default=0.5, ge=0, le=1, description="Person detector score needed to start tracking a person."
    )
    min_tracking_confidence: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Landmark score below which the detector runs again on the next frame.",
    )
    min_presence_confidence: float = Field(
        default=0.5, ge=0, le=1, description="Tasks API only: pose presence score needed to report a person."
    )
    smooth_landmarks: bool = Field(
        default=True, description="Legacy API: filter landmarks across frames to cut jitter."
    )
    kind: Literal["legacy", "tasks"] = Field(
        default="legacy",
        description=(
            "legacy: mp.solutions.pose (measured closest to MediaPipe's reference landmarks); tasks: "
            "the Tasks PoseLandmarker in VIDEO mode."
        ),
    )
    task_model_path: UserPath | None = Field(
        default=None,
        description=(
            "kind tasks: a pose_landmarker_*.task file; None = the bundle built from the models the "
            "mediapipe wheel ships (cached in task_cache_dir)."
        ),
    )
    task_cache_dir: UserPath = Field(
        default=".cache/mediapipe",
        description="Where the .task bundle built from the shipped models is kept (one per MediaPipe version).",
    )
    visibility_threshold: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Joints less visible than this are published as NaN; None = publish every joint (the worker decides).",
    )
    people: PeopleConfig | None = Field(
        default=None,
        description=(
            "Several people per camera: every tracked person is published with their id and box "
            "(pose_frontend/multi.py); None = one person, by the estimator ``kind`` names."
        ),
    )

    @model_validator(mode="after")
    def _task_model_for_tasks(self) -> EstimatorConfig:
        if self.task_model_path is not None and self.kind != "tasks":
            raise ValueError("task_model_path is read by kind: tasks only")
        return self


class StreamConfig(StrictModel):
    """One monitored stream: where frames come from, how poses are estimated, which profiles apply."""

    id: StreamId = Field(
        default="cam0", description="Stream id on the bus and in alerts ([A-Za-z0-9_.-], max 64)."
    )
    source: SourceConfig = Field(
        default_factory=SyntheticSourceConfig,
        description="Where the frames come from (``kind`` picks the type).",
    )
    estimator: EstimatorConfig = Field(
        default_factory=EstimatorConfig, description="Pose estimation options (unused by skeleton sources)."
    )
    profiles: list[ProfileName] = Field(
        default_factory=list,
        description="Behaviour profiles this stream is scored against; none: every loaded profile, one alert against all of them (`walk+sit`).",
    )
    pose_fps: float | None = Field(
        default=20.0,
        gt=0,
        le=240,
        description="Pose estimates per second of a camera or video at most (20: the rate the worker "
        "resamples windows to); frames between are left undecoded where the source allows, timestamps "
        "stay exact. None: every frame.",
    )
    max_consecutive_errors: int = Field(
        default=100,
        ge=1,
        le=1_000_000,
        description="Frames in a row that fail estimation before the stream stops with an error (counted, logged).",
    )
    snapshots: Literal["off", "keyframes", "clip"] = Field(
        default="keyframes",
        description="What an alert keeps of the scene (camera sources, frontend on the daemon's host): "
        "keyframes (a few downscaled frames with the person's box: first, peak, last), clip (frames "
        "at up to 4 fps over the episode, played as a low-resolution clip) or off (skeletons only: "
        "no picture is ever written; the privacy mode).",
    )

    @field_validator("estimator")
    @classmethod
    def _people_for_pictures(cls, v: EstimatorConfig, info: ValidationInfo) -> EstimatorConfig:
        # Skeleton sources skip pose estimation: set there, people would be ignored and the stream
        # watched as one person (0), against what the setting says.
        source = info.data.get("source")
        if v.people is not None and source is not None and source.kind in ("skeleton", "synthetic"):
            raise ValueError(
                f"people is read where poses are estimated (webcam, url, video, images), not by a "
                f"{source.kind} source (a skeleton .npy of shape (T, P, N, 3) replays P people with their ids)"
            )
        return v


def distinct_streams(streams: list[StreamConfig]) -> list[StreamConfig]:
    """Refuse repeated stream ids, and two streams on one webcam: a camera opens for one reader only,
    so the second would retry for ever; two streams replaying one file are fine."""
    ids = [s.id for s in streams]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"stream ids must be unique; repeated: {repeated}")
    first_on: dict[int, str] = {}
    for stream in streams:
        if not isinstance(stream.source, WebcamSourceConfig):
            continue
        index = stream.source.index
        if index in first_on:
            raise ValueError(
                f"streams {first_on[index]!r} and {stream.id!r} both use webcam index {index}; "
                f"a camera opens for one stream only"
            )
        first_on[index] = stream.id
    return streams


def pack_streams(streams: list[StreamConfig], cameras_per_frontend: int) -> list[list[StreamConfig]]:
    """``streams`` in file order, ``cameras_per_frontend`` to a frontend process (the last may hold
    fewer)."""
    n = cameras_per_frontend
    return [streams[i : i + n] for i in range(0, len(streams), n)]


# A looped file whose config gives no frame rate (a video, a clip-set file): its frame step is taken
# to be at most this (a frame a second or faster).
_LONGEST_UNSTATED_STEP_S = 1.0
_DEFAULT_TIME_JUMP_S: float = StreamGuardConfig.model_fields["max_time_jump_s"].default


def looped_seam_warnings(bus: BusConfig, streams: Sequence[StreamConfig]) -> list[str]:
    """The looped streams whose seam ``bus.guard.max_time_jump_s`` refuses. Each later pass of a looped
    file starts MAX_BRIDGED_GAP_S and a frame step after the previous one ended
    (pose_frontend.sources.SEAM_S); a guard that refuses that jump drops every frame after each seam
    until it re-anchors (``bus.guard.reanchor_after_s``)."""
    guard = bus.guard
    warnings = []
    for i, stream in enumerate(streams):
        source = stream.source
        loops = getattr(source, "loop", False) and getattr(source, "starts_at", None) is None
        if not loops:  # a live performance (starts_at) keeps the wall clock: no seam
            continue
        fps = getattr(source, "fps", None)
        step = 1.0 / fps if fps else _LONGEST_UNSTATED_STEP_S
        if guard.max_time_jump_s <= MAX_BRIDGED_GAP_S + step:
            warnings.append(
                f"streams.{i} ({stream.id}): source.loop starts each pass {MAX_BRIDGED_GAP_S:g} s and a "
                f"frame ({step:.3g} s) after the last one ended, a jump bus.guard.max_time_jump_s "
                f"({guard.max_time_jump_s:g} s) refuses: about bus.guard.reanchor_after_s "
                f"({guard.reanchor_after_s:g} s) of frames are lost after every seam; keep max_time_jump_s "
                f"above that jump (its default is {_DEFAULT_TIME_JUMP_S:g} s)"
            )
    return warnings


class FrontendHostSettings(StrictModel):
    """How a host runs its frontends: its streams packed into processes and their logging. One
    meaning and one default for edge.yaml (``haad run``) and a frontend host's file (``haad frontend
    run``)."""

    cameras_per_frontend: int = Field(
        1,
        ge=1,
        le=64,
        description="Streams packed into one frontend process (threads sharing one bus socket and, for "
        "the legacy estimator, its pose models: about 40 MB per camera packed against about 320 MB for a "
        "process of its own); 1: a process each, so a crash stops one camera only.",
    )
    pose_threads: int = Field(
        2,
        ge=1,
        le=64,
        description="Pose estimates running at once in a frontend process of several streams: the cores "
        "it may use for pose; each is one shared landmark model (about 60 MB) once that many cameras "
        "estimate at the same time.",
    )
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="Structured logs.")


class FrontendConfig(FrontendHostSettings):
    """The streams one host runs frontends for, and the bus they publish to (``haad frontend run``)."""

    bus: BusConfig = Field(default_factory=BusConfig, description="The skeleton bus.")
    streams: list[StreamConfig] = Field(
        default_factory=lambda: [StreamConfig()],
        min_length=1,
        description="Sent by frontend processes of cameras_per_frontend streams each.",
    )
    supervisor: SupervisorConfig = Field(
        default_factory=SupervisorConfig, description="Restarts of a stream whose process failed."
    )

    @field_validator("streams")
    @classmethod
    def _distinct(cls, v: list[StreamConfig]) -> list[StreamConfig]:
        return distinct_streams(v)

    @model_validator(mode="after")
    def _bus_keys_for_frontends(self) -> FrontendConfig:
        self.bus.require_keys(worker=False, frontend=True)
        return self
