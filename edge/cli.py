"""``haad run``, ``haad demo``, ``haad enroll``, ``haad config validate`` and ``haad eval stream``."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer

from config.edge import EdgeConfig
from config.loader import ConfigError, load_config
from config.sampling import SUPPORT_GAP, SUPPORT_OBSERVED, Gap

config_app = typer.Typer(no_args_is_help=True, help="Check configuration files.")


def _load(path: Path | None) -> EdgeConfig:
    if path is None:
        return EdgeConfig()
    try:
        return load_config(path, EdgeConfig)
    except ConfigError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2) from None


def run_cmd(
    config: Path | None = typer.Option(None, "--config", help="edge.yaml (default: built-in defaults)."),
) -> None:
    """Run the edge daemon: a frontend per stream, the worker, the alert log and /metrics."""
    from edge.daemon import Daemon
    from edge.logs import setup_logging

    cfg = _load(config)
    setup_logging(cfg.logging.level, cfg.logging.format)
    raise typer.Exit(Daemon(cfg).run())


def demo_cmd(
    workdir: Path | None = typer.Option(
        None, help="Where the demo's bus socket and alerts.db go (default: a temp dir)."
    ),
    video: Path | None = typer.Option(
        None, help="Run the demo on this video file instead of the synthetic camera."
    ),
    webcam: int | None = typer.Option(
        None, min=0, help="Run the demo on this camera index (Ctrl-C to stop)."
    ),
    rebuild_profile: bool = typer.Option(
        False, "--rebuild-profile", help="Re-enrol the bundled demo profiles instead of running the demo."
    ),
) -> None:
    """The whole pipeline on built-in data: a synthetic camera, the bundled model and profile, SQLite.

    With --video or --webcam the same pipeline watches real footage through MediaPipe Pose, with
    walking in place as the normal behaviour."""
    from edge.demo import build_demo_profiles, demo_config

    if rebuild_profile:
        for path in build_demo_profiles():
            typer.echo(f"wrote {path}")
        return
    from edge.daemon import Daemon
    from edge.logs import setup_logging
    from edge.store import AlertStore

    folder = workdir or Path(tempfile.mkdtemp(prefix="haad-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    from config.frontend import VideoSourceConfig, WebcamSourceConfig

    source: VideoSourceConfig | WebcamSourceConfig | None = None
    what = "a synthetic camera walks in place, flails in a jump, walks again (29 s)"
    if video is not None:
        source, what = VideoSourceConfig(path=str(video)), f"video {video}"
    elif webcam is not None:
        source, what = WebcamSourceConfig(index=webcam), f"camera {webcam} (Ctrl-C to stop)"
    cfg = demo_config(folder, source=source)
    setup_logging(cfg.logging.level, cfg.logging.format)
    typer.echo(f"haad demo: {what}; normal = walking in place; files in {folder}")
    code = Daemon(cfg).run()
    with AlertStore(cfg.store) as store:
        alerts = store.list_alerts(limit=100)
    typer.echo(f"\n{len(alerts)} alert(s) in {cfg.store.url}:")
    for a in reversed(alerts):
        typer.echo(
            f"  #{a.id} stream={a.stream_id} profile={a.profile} {a.started_at:%H:%M:%S}-"
            f"{a.ended_at:%H:%M:%S} peak={a.peak_score:.3f} threshold={a.threshold:.3f} windows={a.n_windows}"
            if a.ended_at
            else f"  #{a.id} stream={a.stream_id} profile={a.profile} open since {a.started_at:%H:%M:%S}"
        )
    typer.echo(f"review them with: haad alerts list --db {cfg.store.url}")
    raise typer.Exit(code)


def enroll_cmd(
    profile: str = typer.Option(..., "--profile", help="Profile name (letters, digits, . _ -)."),
    clips: list[Path] = typer.Argument(..., help="Video files, clip-set .npz files or .npy skeleton arrays."),
    config: Path | None = typer.Option(
        None, "--config", help="edge.yaml: profiles_dir, encoder, backend, calibration."
    ),
    label: str | None = typer.Option(None, help="Only clips with this label from clip-set files."),
    layout: str = typer.Option(
        "kinect_v1", help="Joint layout of .npy files (kinect_v1, msr_action3d, mediapipe33, smpl24)."
    ),
    fps: float = typer.Option(30.0, min=1.0, help="Frame rate of .npy files."),
    augment: bool = typer.Option(
        False,
        help="Add HumanMAC completions of every support window. Off by default: on the benchmark they "
        "lowered AUC and raised its spread (docs/benchmark.md).",
    ),
    samples: int = typer.Option(10, min=1, help="HumanMAC completions per support window (N_g)."),
    steps: int = typer.Option(100, min=1, help="DDIM steps of the completions."),
    observed: int = typer.Option(
        SUPPORT_OBSERVED, min=1, max=59, help="Frames of each support window the completions keep."
    ),
    gap: Gap = typer.Option(
        SUPPORT_GAP,
        help="Completions re-generate the window's middle (middle) or predict its last frames (end).",
    ),
) -> None:
    """Enrol normal behaviour from a few clips; a running daemon picks the profile up by itself."""
    from edge.backends import make_backend
    from edge.clips import load_enrol_clips
    from edge.enroll import build_profile, default_augmentation
    from edge.profiles import ProfileStore

    cfg = _load(config)
    try:
        loaded = load_enrol_clips(clips, label=label, layout=layout, fps=fps)  # type: ignore[arg-type]
        backend = make_backend(cfg.worker.backend, Path(cfg.encoder) if cfg.encoder else None)
        aug = default_augmentation(n_g=samples, steps=steps, observed=observed, gap=gap) if augment else None
        built = build_profile(profile, loaded, backend, calibration=cfg.worker.calibration, augmentation=aug)
    except (OSError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    saved = ProfileStore(Path(cfg.profiles_dir)).save(built)
    cal = saved.meta["calibration"]
    typer.echo(
        f"profile {saved.name} v{saved.version}: {len(saved.meta['sources'])} clip(s), "
        f"{saved.meta['support_windows']} support windows, threshold {saved.threshold:.3f} "
        f"(leave-one-clip-out scores mean {cal['score_mean']:.3f}, max {cal['score_max']:.3f}; "
        f"target false-alarm rate {cal['target_far']:.1%}) -> {cfg.profiles_dir}/{saved.name}"
    )


@config_app.command("defaults")
def defaults_cmd() -> None:
    """Print every setting of edge.yaml with its default value (a starting point to edit)."""
    import yaml

    typer.echo(yaml.safe_dump(EdgeConfig().model_dump(mode="json"), sort_keys=False))


@config_app.command("validate")
def validate_cmd(path: Path = typer.Argument(..., help="edge.yaml to check.")) -> None:
    """Check an edge.yaml; every problem is reported with its line."""
    cfg = _load(path)
    typer.echo(f"{path}: valid ({len(cfg.streams)} stream(s), store {cfg.store.url.split('://')[0]})")


def eval_stream_cmd(
    dataset: str = typer.Option(
        "kinder-gator", help="kinder-gator (stitched test clips) or utkinect (recordings)."
    ),
    config: Path | None = typer.Option(None, "--config", help="edge.yaml: worker and calibration settings."),
    augment: bool = typer.Option(False, help="Enrol with HumanMAC support augmentation."),
    observed: int = typer.Option(
        SUPPORT_OBSERVED, min=1, max=59, help="Frames of each support window the completions keep."
    ),
    gap: Gap = typer.Option(
        SUPPORT_GAP, help="Where the augmentation's completions are generated: middle or end."
    ),
    out: Path = typer.Option(Path("runs/stream"), help="Folder for stream_<dataset>.json."),
    data_root: str | None = typer.Option(None, help="Dataset folder (default: HAAD_DATA or ../shared/data)."),
    feedback: int = typer.Option(
        0,
        min=0,
        help="Simulated reviewer: mark the first K false alerts of each stream normal, replay, "
        "report before/after (feedback_<dataset>.json).",
    ),
    feedback_windows: int | None = typer.Option(
        None, min=1, help="Windows each marked alert adds (default: an enrolled clip's worth)."
    ),
    plots: Path | None = typer.Option(None, help="Write a score timeline PNG per recording to this folder."),
) -> None:
    """Frame-level AUC and alert-level precision / recall / delay on labelled recordings."""
    from edge.backends import make_backend
    from edge.enroll import default_augmentation
    from edge.eval_stream import run_stream_eval

    cfg = _load(config)
    backend = make_backend(cfg.worker.backend, Path(cfg.encoder) if cfg.encoder else None)
    if feedback:
        from edge.eval_feedback import run_feedback_eval

        try:
            result = run_feedback_eval(dataset, backend, cfg.worker, k=feedback, per_alert=feedback_windows,
                                       data_root=data_root, out=out, plots=plots)  # fmt: skip
        except ValueError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None
        typer.echo(json.dumps(result, indent=2))
        typer.echo(f"wrote {out / f'feedback_{dataset}.json'}")
        return
    aug = default_augmentation(observed=observed, gap=gap) if augment else None
    on_run = None
    if plots is not None:
        from edge.eval_feedback import plot_run

        def on_run(stream, run):  # type: ignore[no-untyped-def]
            plot_run(plots, stream, run)

    try:
        summary = run_stream_eval(
            dataset, backend, cfg.worker, data_root=data_root, augmentation=aug, out=out, on_run=on_run
        )
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps({k: v for k, v in summary.items() if k != "per_stream"}, indent=2))
    typer.echo(f"wrote {out / f'stream_{dataset}.json'}")
