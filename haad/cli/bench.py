"""``haad bench``: measure speed (the worker's scoring path, support-set augmentation)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from config.completions import CompletionSettings
from haad.cli.common import fail

app = typer.Typer(
    no_args_is_help=True,
    help="Measure speed (worker scoring path, support-set augmentation, pose frontend and cameras per host).",
)
_COMPLETIONS = CompletionSettings()


@app.command("worker")
def bench_worker_cmd(
    encoder: Annotated[
        Path | None, typer.Option(help="Encoder checkpoint (default: the committed one, else random init).")
    ] = None,
    streams: Annotated[str, typer.Option(help="Comma-separated stream counts.")] = "1,8,32",
    seconds: Annotated[
        float, typer.Option(min=0.5, help="Wall time per backend x stream count x mode.")
    ] = 10.0,
    backends: Annotated[
        str, typer.Option(help="Comma-separated: onnxruntime, onnxruntime-int8, torch.")
    ] = "onnxruntime,torch",
    modes: Annotated[
        str, typer.Option(help="Comma-separated: flat_out (capacity), realtime (30 fps cameras: latency).")
    ] = "flat_out,realtime",
    threads: Annotated[int, typer.Option(min=1, help="Encoder threads, both backends.")] = 1,
    stride: Annotated[
        int | None, typer.Option(min=1, help="Window stride (default: the worker config's).")
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the full report here.")] = None,
    data_root: Annotated[
        str | None, typer.Option(help="Dataset folder (default: HAAD_DATA or ../shared/data).")
    ] = None,
) -> None:
    """Windows/s and latency of windows -> batch -> backend -> scoring -> episodes -> commit."""
    from config.worker import WorkerConfig
    from evaluation.bench_worker import BACKENDS, MODES, format_table, run_bench
    from models.encoder_config import read_encoder_metadata

    names = [b.strip() for b in backends.split(",") if b.strip()]
    unknown = sorted(set(names) - set(BACKENDS))
    if unknown:
        raise typer.BadParameter(
            f"unknown backend(s) {unknown}; use {', '.join(BACKENDS)}", param_hint="--backends"
        )
    mode_names = [m.strip() for m in modes.split(",") if m.strip()]
    if not mode_names or set(mode_names) - set(MODES):
        raise typer.BadParameter(f"use one or both of {', '.join(MODES)}", param_hint="--modes")
    try:
        counts = [int(s) for s in streams.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter(f"not a list of integers: {streams!r}", param_hint="--streams") from None
    if not counts or min(counts) < 1:
        raise typer.BadParameter(f"stream counts of at least 1; got {streams!r}", param_hint="--streams")
    cfg = WorkerConfig() if stride is None else WorkerConfig(stride=stride)
    try:  # before the bench: a checkpoint or report path found wrong at its end is minutes lost
        if encoder is not None:
            read_encoder_metadata(encoder)
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            if json_path.is_dir():
                raise IsADirectoryError(f"--json {json_path} is a folder; give a file name")
        # Its alerts are counted in the table: the alert writer's line for each buried it on stderr.
        alerts_log = logging.getLogger("haad.alerts")
        level = alerts_log.level
        alerts_log.setLevel(logging.ERROR)
        try:
            report = run_bench(
                encoder=encoder,
                streams=counts,
                seconds=seconds,
                backends=names,
                modes=mode_names,
                threads=threads,
                cfg=cfg,
                data_root=data_root,
            )
        finally:
            alerts_log.setLevel(level)
    except (OSError, ValueError) as e:  # a missing encoder, another kind of checkpoint, an unusable --json
        raise fail(str(e), code=2) from None
    typer.echo(format_table(report))
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=2) + "\n")
        typer.echo(f"wrote {json_path}")


@app.command("support-aug")
def bench_support_aug_cmd(
    model: Path | None = typer.Option(None, help="HumanMAC checkpoint (default: the bundled one)."),
    clips: int = typer.Option(3, min=1, help="Support clips (all their windows are augmented)."),
    samples: int = typer.Option(_COMPLETIONS.n_g, min=1, help="Completions per support window (N_g)."),
    steps: int = typer.Option(_COMPLETIONS.steps, min=1, help="DDIM steps."),
    repeats: int = typer.Option(3, min=1, help="Timed runs after one warm-up."),
    threads: int | None = typer.Option(None, min=1, help="torch CPU threads (default: torch's)."),
    data_root: str | None = typer.Option(None, help="Dataset folder (default: HAAD_DATA or ../shared/data)."),
) -> None:
    """Time HumanMAC augmentation of a few-clip support set (the enrolment path)."""
    import torch

    from evaluation.bench_support import benchmark_support_aug
    from models.humanmac import load_humanmac

    if threads is not None:
        torch.set_num_threads(threads)
    completions = CompletionSettings(n_g=samples, steps=steps)
    try:
        r = benchmark_support_aug(
            load_humanmac(model), completions, clips=clips, repeats=repeats, data_root=data_root
        )
    except (OSError, ValueError) as e:  # a checkpoint or dataset folder that is not there
        raise fail(str(e), code=2) from None
    typer.echo(
        f"{len(r['clips'])} clips of {r['category']} -> {r['support_windows']} windows, {r['generated']} "
        f"generated at {r['steps']} steps on {r['threads']} thread(s): median {r['median_s']:.2f} s "
        f"(runs: {', '.join(f'{s:.2f}' for s in r['seconds'])})"
    )


@app.command("frontend")
def bench_frontend_cmd(
    estimator: list[str] | None = typer.Option(None, help="legacy, tasks or multi (repeat; default: all)."),
    frames: int = typer.Option(40, min=1, help="Timed frames per scene and estimator."),
    warmup: int = typer.Option(5, min=0, help="Untimed frames first."),
    data_root: str | None = typer.Option(None, help="Dataset folder (default: HAAD_DATA or ../shared/data)."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
    cameras: str | None = typer.Option(
        None,
        help="Instead: haad run with this many cameras (comma-separated counts, e.g. 1,2,3) of a looped "
        "real video at the default pose rate, the worker beside them; prints JSON per count.",
    ),
    seconds: float = typer.Option(20.0, min=1, help="With --cameras: the measured stretch."),
    per_process: int = typer.Option(1, min=1, help="With --cameras: cameras per frontend process."),
    video: Path | None = typer.Option(
        None, help="With --cameras: the video (default: mediapipe_pose_testdata/pose_1.mp4, 576x576, 30 fps)."
    ),
    size: str | None = typer.Option(
        None,
        help="With --cameras: re-encode the video at WIDTHxHEIGHT first (scaled to fit, padded), e.g. 640x480.",
    ),
) -> None:
    """Milliseconds per frame of each pose estimator with 1, 2 and 4 people, and on vtest.avi; or, with
    --cameras, pose fps per camera and in total, CPU s per frame, decode share, RSS per camera, drops
    and the cameras this host sustains."""

    from evaluation.bench_frontend import ESTIMATORS, format_rows, rows_as_dicts, run_bench
    from training.datasets import DataNotFoundError, resolve_data_root

    if cameras is not None:
        import tempfile

        from config.frontend import StreamConfig
        from evaluation.bench_cameras import (
            bench_cameras,
            decode_share,
            sized_video,
            with_rss_per_added_camera,
        )
        from pose_frontend.base import SourceError

        try:
            counts = [int(c) for c in cameras.split(",")]
            if min(counts) < 1:
                raise ValueError(f"--cameras takes counts of at least 1; got {cameras}")
            frame_size = tuple(int(v) for v in size.lower().split("x")) if size else None
            if frame_size is not None and (len(frame_size) != 2 or min(frame_size) < 16):
                raise ValueError(f"--size must be WIDTHxHEIGHT, each at least 16; got {size}")
            clip = video or resolve_data_root(data_root) / "mediapipe_pose_testdata" / "pose_1.mp4"
        except (ValueError, DataNotFoundError) as e:
            raise fail(str(e), code=2) from None
        with tempfile.TemporaryDirectory(prefix="haad-bench-video-") as tmp:
            try:
                if frame_size is not None:
                    clip = sized_video(clip, frame_size, Path(tmp))  # type: ignore[arg-type]
                share = decode_share(clip, StreamConfig().pose_fps or 30.0)
            except SourceError as e:  # a video that is missing or cannot be decoded, before any daemon
                raise fail(str(e), code=2) from None
            runs = with_rss_per_added_camera([
                {**bench_cameras(clip, n, per_process=per_process, seconds=seconds), "decode_share": round(share, 3)}
                for n in counts
            ])  # fmt: skip
        typer.echo(json.dumps(runs, indent=2))
        return

    chosen = tuple(estimator or ESTIMATORS)
    unknown = set(chosen) - set(ESTIMATORS)
    if unknown:
        raise fail(f"unknown estimators {sorted(unknown)}; known: {', '.join(ESTIMATORS)}", code=2)
    try:
        rows = run_bench(resolve_data_root(data_root), estimators=chosen, frames=frames, warmup=warmup)  # type: ignore[arg-type]
    except (DataNotFoundError, FileNotFoundError) as e:
        raise fail(str(e), code=2) from None
    typer.echo(json.dumps(rows_as_dicts(rows), indent=2) if as_json else format_rows(rows))
