"""``haad demo``: the whole pipeline on embedded defaults, with no camera and no files outside the repo.

A synthetic performer (pose_frontend/synthetic.py) walks in place, flails in a jump for a few
seconds, then walks again; it is published on a real ZeroMQ bus by a frontend process, windowed
and scored by the worker process with the bundled encoder against the bundled ``demo-walk``
profile (enrolled from three other synthetic performances of walking in place), and alerts land in
a SQLite file. The profile was made by ``haad demo --rebuild-profile`` (:func:`build_demo_profiles`).
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

from config.backend import OnnxRuntimeConfig
from config.bus import BusConfig
from config.edge import EdgeConfig, MetricsConfig
from config.frontend import MotionStep, SourceConfig, StreamConfig, SyntheticSourceConfig
from config.logs import LoggingConfig
from config.store import StoreConfig
from config.worker import WorkerConfig

PROFILES_DIR = Path(__file__).resolve().parent / "demo" / "profiles"
PROFILES = {"demo-walk": (("walk_in_place", 15.0),)}  # one behaviour each, named after the motion
ENROL_SEEDS = (101, 102, 103)
STREAM_SEED = 7
# Normal behaviour, then one abnormal action in the middle, then normal again (29 s).
STREAM_SCRIPT = (("walk_in_place", 12.0), ("jump_flail", 5.0), ("walk_in_place", 12.0))


def build_demo_profiles(profiles_dir: Path = PROFILES_DIR) -> list[Path]:
    """Enrol each demo behaviour from three synthetic performances of it, as `haad enroll` does by
    default (no HumanMAC variants: docs/experiments/2026-11-29-humanmac-augmentation-ablation.md).

    Earlier versions are removed first: the bundled demo ships one version per profile, made with
    the bundled encoder.
    """
    from clips import Clip
    from edge.backends import make_backend
    from edge.enroll import build_profile
    from edge.profiles import ProfileStore
    from pose_frontend.synthetic import SyntheticPerformer

    backend = make_backend(OnnxRuntimeConfig())
    written = []
    for name, script in PROFILES.items():
        clips = []
        for seed in ENROL_SEEDS:
            times, joints = SyntheticPerformer(script, seed=seed).render()
            clips.append(Clip(joints, times, name=f"synthetic-{name}-{seed}"))
        worker = WorkerConfig()
        profile = build_profile(
            name, clips, backend, calibration=worker.calibration, min_segment_s=worker.min_segment_s,
            behaviour=script[0][0],
        )  # fmt: skip
        shutil.rmtree(profiles_dir / name, ignore_errors=True)
        saved = ProfileStore(profiles_dir).save(profile)
        written.append(profiles_dir / name / f"v{saved.version:04d}.npz")
    return written


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_config(workdir: Path, *, source: SourceConfig | None = None, metrics: bool = True) -> EdgeConfig:
    """One stream (default: the synthetic performer) scored against the bundled profile; bus, alert
    log and metrics local to ``workdir``."""
    if source is None:
        source = SyntheticSourceConfig(
            script=[MotionStep(motion=m, seconds=s) for m, s in STREAM_SCRIPT], seed=STREAM_SEED
        )
    return EdgeConfig(
        streams=[StreamConfig(id="demo-cam", source=source, profiles=list(PROFILES))],
        bus=BusConfig(endpoint=f"ipc://{workdir / 'bus.sock'}"),
        store=StoreConfig(url=f"sqlite:///{workdir / 'alerts.db'}"),
        profiles_dir=str(PROFILES_DIR),
        state_dir=str(workdir),
        metrics=MetricsConfig(enabled=metrics, port=_free_port()),
        logging=LoggingConfig(format="text"),
    )


def scoring_summary(report: dict[str, Any] | None, source: str = "the source") -> list[str]:
    """What the worker scored (``edge.pipeline.Pipeline.report``), in words; when nothing was
    scored, why: no skeleton reached the worker, nobody was detected, or the skeleton was shorter
    than a window needs (``worker.min_segment_s``)."""
    if report is None:
        return ["the worker sent no report of what it scored (it did not stop cleanly)"]
    n, short = report["windows_scored"], report.get("short_windows", 0)
    lines = [
        f"{n} window(s) scored" + (f", {short} of them from stretches shorter than a window" if short else "")
    ]
    if n > 0:
        return lines
    streams = report["streams"].values()
    frames = sum(s["frames"] for s in streams)
    stretches = sum(sum(s["segments"].values()) for s in streams)
    longest = max((s["longest_segment_s"] for s in streams), default=0.0)
    if frames == 0:
        lines.append(f"no window was scored: no skeleton frame of {source} reached the worker")
    elif stretches == 0:
        lines.append(f"no window was scored: nobody was detected in the {frames} frame(s) of {source}")
    else:
        gave = (
            f"{longest:.1f} s of skeleton"
            if stretches == 1
            else f"{stretches} stretches of skeleton, the longest {longest:.1f} s"
        )
        lines.append(
            f"no window was scored: {source} gave {gave}; windows need at least "
            f"{report['min_segment_s']:g} s (worker.min_segment_s)"
        )
    return lines
