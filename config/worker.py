"""Configuration of the window worker: windows, batching, the encoder backend, alert episodes, calibration."""

from __future__ import annotations

from pydantic import Field, model_validator

from config.backend import BackendConfig, OnnxRuntimeConfig
from config.base import StrictModel

# worker.min_segment_s's default, also the few-shot benchmark's yardstick for a too-short clip
MIN_SEGMENT_S = 1.0
# The longest worker.max_gap_s allowed: a hole longer than this ends a segment under any config, so a
# file source's pass boundary (pose_frontend/sources.py) is stamped that far apart.
MAX_BRIDGED_GAP_S = 10.0


class EpisodeConfig(StrictModel):
    """Hysteresis that turns per-window scores into alert episodes (edge/episodes.py)."""

    open_k: int = Field(
        default=2,
        ge=1,
        le=100,
        description="An episode opens when open_k of the last open_n windows are hot.",
    )
    open_n: int = Field(
        default=4, ge=1, le=100, description="How many recent windows the open rule looks at."
    )
    close_after_windows: int = Field(
        default=8,
        ge=1,
        le=10_000,
        description="An open episode closes after this many consecutive cold windows.",
    )
    close_after_s: float = Field(
        default=3.0,
        gt=0,
        le=3600,
        description="... or when no hot window came for this long (source seconds).",
    )
    cooldown_s: float = Field(
        default=5.0,
        ge=0,
        le=86_400,
        description="After an episode closes, no new one opens for the same stream and profile for this "
        "long (unless cooldown_hot_run says how).",
    )
    cooldown_hot_run: int = Field(
        default=0,
        ge=0,
        le=100,
        description="0: nothing opens during the cooldown. n > 0: an episode opens during it on n hot "
        "windows in a row (never fewer than open_k; 4 is a second at the live hop), so a new action "
        "seconds after an alert still alerts, but one long action may give two alerts.",
    )
    update_every_s: float = Field(
        default=1.0,
        gt=0,
        le=3600,
        description="An open episode's alert row is brought up to date this often (source seconds), "
        "so a worker that dies loses at most this much of it.",
    )
    resume_within_s: float = Field(
        default=60.0,
        ge=0,
        le=86_400,
        description="An episode left open by a worker that died is continued if its stream's next window "
        "starts within this many seconds of its last one (else it is closed with what was stored). "
        "Also how long (wall clock) an episode of a silent stream waits for it (stale_after_s), and the "
        "longest hole in a stream (no frames: an outage, a live frontend restarted) an episode waits "
        "across for its person's next windows, going on if they are hot.",
    )
    windows_kept: int = Field(
        default=12,
        ge=2,
        le=1000,
        description="Windows stored with an alert: the first hot one, the peak, the last hot one and hot "
        "windows spread evenly over the episode (marking it normal learns the stretches they cover).",
    )

    @model_validator(mode="after")
    def _k_within_n(self) -> EpisodeConfig:
        if self.open_k > self.open_n:
            raise ValueError(f"open_k ({self.open_k}) must not exceed open_n ({self.open_n})")
        return self


class CalibrationConfig(StrictModel):
    """How enrolment sets a profile's threshold from its support set alone (edge/scoring.py)."""

    target_far: float = Field(
        default=0.05,
        gt=0,
        lt=0.5,
        description="Fraction of normal windows allowed above the threshold (false-alarm rate), also of "
        "people nobody enrolled when the encoder has a calibration prior. Alerts need several hot "
        "windows in a row (episodes), so far fewer alerts are false.",
    )
    margin: float = Field(
        default=1.0,
        ge=1.0,
        le=10.0,
        description="Safety factor on the estimated quantile (1: none; the prior already says how far "
        "other people's normal strays).",
    )
    prior: bool = Field(
        default=True,
        description="Also estimate the quantile from the encoder's calibration prior (how far normal "
        "windows of people nobody enrolled stray, measured on its training data) and keep the larger "
        "estimate; off: from the enrolment clips alone. An encoder without a prior uses the clips alone.",
    )


class WorkerConfig(StrictModel):
    """One worker process: every stream's windows -> batched encoder calls -> scores -> episodes."""

    stride: int = Field(
        default=5,
        ge=1,
        le=512,
        description="Resampled frames between consecutive windows of a stream (5 = 0.25 s at 20 fps).",
    )
    feedback_reach: float = Field(
        default=0.85,
        ge=0.25,
        le=4.0,
        description="How far around a window of an alert marked normal the action counts as normal, as a "
        "share of the threshold (edge/scoring.py). The marked performance stops alerting at any setting; "
        "other people's performances of it are hardly nearer its windows than other actions are, so a "
        "larger reach silences both: 0.85 keeps the recall of other actions within 0.05 on "
        "Kinder-Gator (docs/experiments/2026-12-05-feedback-reach.md).",
    )
    min_segment_s: float = Field(
        default=MIN_SEGMENT_S,
        ge=0.25,
        le=60,
        description="Shortest stretch of skeleton (seconds, at the window's frame rate) that is scored, "
        "live and at enrolment: a segment shorter than a window is scored from this length on, made "
        "into a window by the rule enrolment cuts clips with; shorter segments and enrolment clips "
        "are counted as too short. At or above the window length (3 s) only full windows are scored.",
    )
    short_window_s: float = Field(
        default=1.0,
        ge=0,
        le=3.0,
        description="Also score the last this many seconds of every window, re-timed to a window, against "
        "the profile's support cropped alike and a threshold of its own; a window is hot when either "
        "scale is over its threshold (edge/short_scale.py). 0: whole windows only.",
    )
    kinematic_fusion: bool = Field(
        default=True,
        description="With the short scale on, also score every crop by its raw-DCT distance to the support "
        "cropped alike (a kinematic score, its own threshold) and count it in each moment's score, weighted "
        "by how well it ranks the support's own crops as the encoder does (edge/short_scale.py), at least "
        "`kinematic_floor`. Only `haad eval stream`'s per-moment score uses it; alerts and stored scores "
        "do not, so the daemon does not compute it.",
    )
    kinematic_floor: float = Field(
        default=0.5,
        ge=0,
        le=4,
        description="The kinematic term's least weight in a moment's score (against 1 for each encoder scale). "
        "A few short normal clips (calm stretches of about 1 s) cannot show whether the two scorers agree; "
        "on such enrolments the encoder alone trails raw-DCT, at 0.5 no stream set does "
        "(docs/experiments/2026-12-06-calm-strikes.md).",
    )
    vigour_factor: float = Field(
        default=3.0,
        ge=0,
        le=100,
        description="A window whose last second moves this many times as fast about the hips as the most "
        "vigorous second of the profile's enrolled clips (and of what feedback marked normal) is hot, scored "
        "by how much (edge/vigour.py): where normal is a few seconds of calm, a punch is far faster than any "
        "of it though the encoder places it no further than another person's calm. 0: off.",
    )
    max_gap_s: float = Field(
        default=0.5,
        ge=0,
        le=MAX_BRIDGED_GAP_S,
        description="Longest hole (missing frames, no person, low visibility, missing joint) bridged by interpolation.",
    )
    min_visibility: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Frames whose mean joint visibility is below this count as missing.",
    )
    max_batch: int = Field(default=64, ge=1, le=8192, description="Most windows per encoder call.")
    batch_timeout_s: float = Field(
        default=0.05,
        ge=0,
        le=5,
        description="Longest a ready window waits for its batch to fill before it is scored.",
    )
    max_pending_windows: int = Field(
        default=4096,
        ge=1,
        le=1_000_000,
        description="Ready windows queued before the oldest are dropped (counted) when the encoder falls behind.",
    )
    stale_after_s: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="A stream that sent nothing for this long (wall clock) is stalled: its segment ends, "
        "but it and its open episodes go on if its next frame continues where it stopped (within "
        "max_gap_s of source time: a recording's restarted frontend); else the episodes wait across "
        "the hole for their person's next windows (episodes.resume_within_s), and after "
        "episodes.resume_within_s without frames they close.",
    )
    backend: BackendConfig = Field(
        default_factory=OnnxRuntimeConfig, description="Encoder inference backend."
    )
    episodes: EpisodeConfig = Field(default_factory=EpisodeConfig, description="Alert episode hysteresis.")
    calibration: CalibrationConfig = Field(
        default_factory=CalibrationConfig, description="Threshold calibration at enrolment."
    )

    @model_validator(mode="after")
    def _queue_holds_a_batch(self) -> WorkerConfig:
        if self.max_pending_windows < self.max_batch:
            raise ValueError(
                f"max_pending_windows ({self.max_pending_windows}) must be >= max_batch ({self.max_batch})"
            )
        return self
