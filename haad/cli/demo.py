"""``haad demo``: the whole pipeline on built-in data, a video or a webcam."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from haad.cli.common import fail

if TYPE_CHECKING:
    from edge.store.records import AlertRecord

CANNOT_START = 2  # edge.daemon.Daemon.run: the deployment cannot start


def demo_cmd(
    workdir: Path | None = typer.Option(
        None, help="Where the demo's bus socket and alerts.db go (default: a temporary folder)."
    ),
    video: Path | None = typer.Option(
        None, help="Run the demo on this video file instead of the synthetic camera."
    ),
    webcam: int | None = typer.Option(
        None, min=0, help="Run the demo on this camera index (Ctrl-C to stop)."
    ),
    rebuild_profile: bool = typer.Option(
        False, "--rebuild-profile", help="Re-enrol the bundled demo profile instead of running the demo."
    ),
) -> None:
    """Run the whole pipeline on built-in data: a synthetic camera, the bundled model and profile,
    and a SQLite alert log.

    With --video or --webcam the same pipeline watches real footage through MediaPipe Pose, with
    walking in place as the normal behaviour."""
    from bus.logs import setup_logging
    from config.frontend import VideoSourceConfig, WebcamSourceConfig
    from edge.daemon import Daemon
    from edge.demo import build_demo_profiles, demo_config, scoring_summary
    from edge.store import AlertStore

    if rebuild_profile:
        for path in build_demo_profiles():
            typer.echo(f"wrote {path}")
        return
    if video is not None and webcam is not None:
        raise typer.BadParameter("give --video or --webcam, not both")
    if video is not None:
        _check_video(video)
    if webcam is not None:
        _check_webcam(webcam)
    made = workdir is None
    folder = workdir or Path(tempfile.mkdtemp(prefix="haad-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    source: VideoSourceConfig | WebcamSourceConfig | None = None
    what = "a synthetic camera walks in place, flails in a jump, walks again (29 s)"
    if video is not None:
        source, what = VideoSourceConfig(path=str(video)), f"video {video}"
    elif webcam is not None:
        source, what = WebcamSourceConfig(index=webcam), f"camera {webcam} (Ctrl-C to stop)"
    cfg = demo_config(folder, source=source)
    setup_logging(cfg.logging.level, cfg.logging.format)
    typer.echo(f"haad demo: {what}; normal = walking in place; files in {folder}")
    daemon = Daemon(cfg)
    code = daemon.run()
    if code == CANNOT_START:  # said why; nothing ran
        if made:
            shutil.rmtree(folder, ignore_errors=True)
        raise typer.Exit(code)
    with AlertStore(cfg.store) as store:
        alerts = store.list_alerts(limit=100)
    source_name = (
        f"the video {video.name}" if video else "the camera" if webcam is not None else "the synthetic camera"
    )
    typer.echo("")
    for line in scoring_summary(daemon.worker_report, source_name):
        typer.echo(line)
    typer.echo(f"{len(alerts)} alert(s) in {cfg.store.url}:")
    for a in reversed(alerts):
        typer.echo(alert_line(a))
    typer.echo(f"review them with: haad alerts list --db {cfg.store.url}")
    raise typer.Exit(code)


def alert_line(a: AlertRecord) -> str:
    """One alert of the demo's list. Its times are UTC, as the alert log stores them and `haad alerts
    list` shows them (STARTED (UTC)): said, or they read as this host's clock."""
    head = f"  #{a.id} stream={a.stream_id} profile={a.profile}"
    if a.ended_at is None:
        return f"{head} open since {a.started_at:%H:%M:%S} UTC"
    return (
        f"{head} {a.started_at:%H:%M:%S}-{a.ended_at:%H:%M:%S} UTC peak={a.peak_score:.3f} "
        f"threshold={a.threshold:.3f} windows={a.n_windows}"
    )


def _check_video(video: Path) -> None:
    """Refuse a video the frontend could not open before anything starts (it would be restarted and
    given up after half a minute)."""
    from bus.logs import quiet_native_stderr
    from pose_frontend.base import SourceError
    from pose_frontend.sources import VideoFileSource

    try:
        with quiet_native_stderr():  # OpenCV's boilerplate after a failed open: the error says why
            VideoFileSource(video)
    except SourceError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e


def _check_webcam(index: int) -> None:
    """Refuse a camera that does not open before anything starts: the frontend would retry it, backing
    off, until Ctrl-C (a deployment's camera may come later; the demo's is wanted now)."""
    from config.frontend import WebcamSourceConfig
    from haad.cli.common import camera_refusal

    refusal = camera_refusal(WebcamSourceConfig(index=index))
    if refusal is not None:
        raise fail(f"{refusal}; try another --webcam index, or --video FILE", code=2)
