"""``haad bench worker``: throughput and latency of the worker's pipeline, in one process.

For each backend and each stream count, N synthetic streams replay canonical skeleton clips
(Kinder-Gator from the shared data when available, else a procedural motion) as fast as the pipeline
takes them: frame -> :class:`~edge.window.StreamWindow` -> :class:`~edge.window.WindowBatcher` ->
backend -> :class:`~edge.scoring.Scorer` -> :class:`~edge.episodes.EpisodeTracker` -> commit. Each
stream mostly plays the enrolled motion and now and then another one, so episodes open and close.

Measured per configuration: windows of every scale scored per second of wall time (``windows_per_s``,
everything included: building the frames as bus decoding would, windowing, scoring; a window and its
short-scale crop count as two, each an encoder row, as issue 24 counts them; ``full_windows_per_s``
counts the 3 s windows alone), the same per second spent on the scoring path alone
(``scoring_windows_per_s``: normalise, encoder, scores, episodes, commit),
frames per second, the time spent in each stage, and latency percentiles from a window's completing frame
(stamped ``sent_at`` when it is built, as a publisher would) to the end of the commit of the batch
that scored it: ``latency_ms`` over every window, ``alert_latency_ms`` over the windows that opened
an episode. The commit step is a callable; by default events go into an alert store on a temporary
SQLite file when ``edge.store`` is importable, otherwise latency stops at the episode decision and
the report says so. The bus (ZeroMQ decode) is not part of this measurement.
"""

from __future__ import annotations

import math
import os
import platform
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from bus.messages import SkeletonFrame
from clips import Clip
from config.backend import BackendConfig, OnnxRuntimeConfig, TorchConfig
from config.worker import WorkerConfig
from edge.backends import EncoderBackend, make_backend
from edge.enroll import build_profile
from edge.episodes import EpisodeEvent
from edge.pipeline import SCORING_STAGES as PIPELINE_STAGES
from edge.pipeline import Pipeline
from edge.profiles import Profile
from models.preprocess import WindowSpec
from models.skeleton import NUM_JOINTS, PARENTS

Committer = Callable[[Sequence[EpisodeEvent]], None]
BACKENDS = ("onnxruntime", "onnxruntime-int8", "torch")
PROFILE_MOTION = "Walk-in-place"
SOURCE_FPS = 30.0
MODES = ("flat_out", "realtime")
SCORING_STAGES = (*PIPELINE_STAGES, "commit")


NORMAL = "normal"  # label of the replayed clips that show the enrolled motion


def kinder_gator_clips(data_root: str | None) -> tuple[list[Clip], list[Clip], str]:
    """(support clips, replay clips, source description); raises DataNotFoundError without data."""
    from training.datasets import load_dataset

    kg = load_dataset("kinder-gator", data_root)
    normal = [c for c in kg.clips if c.label == PROFILE_MOTION]
    others = [c for c in kg.clips if c.label != PROFILE_MOTION][::7]
    support = [Clip(c.joints, c.times, NORMAL, name=c.name) for c in normal[:3]]
    replay = [Clip(c.joints, c.times, NORMAL) for c in normal[3:]] + [
        Clip(c.joints, c.times, "other") for c in others
    ]
    return support, replay, f"kinder-gator ({PROFILE_MOTION} enrolled; {len(replay)} replay clips)"


def procedural_clips(seed: int = 0) -> tuple[list[Clip], list[Clip], str]:
    """Skeletons gently swaying their limbs (normal) or jumping while flailing them (abnormal)."""
    rng = np.random.default_rng(seed)
    rest = rng.normal(size=(NUM_JOINTS, 3)) * [0.1, 0.25, 0.05]  # bone vectors, mostly vertical
    phase = rng.uniform(0, 2 * np.pi, NUM_JOINTS)

    def clip(normal: bool) -> Clip:
        freq, amp, jump, seconds = (1.0, 0.05, 0.0, 5.0) if normal else (2.0, 0.6, 0.5, 4.0)
        t = np.arange(int(seconds * SOURCE_FPS)) / SOURCE_FPS
        wobble = np.sin(2 * np.pi * freq * t[:, None, None] + phase[None, :, None] + rng.uniform(0, 0.5))
        bones = rest[None] + amp * wobble + rng.normal(0, 0.005, (len(t), NUM_JOINTS, 3))
        joints = np.zeros((len(t), NUM_JOINTS, 3))
        joints[:, 0, 1] = jump * np.abs(np.sin(2 * np.pi * t))  # the root hops
        for j, p in enumerate(PARENTS):  # parents come before children
            if p >= 0:
                joints[:, j] = joints[:, p] + bones[:, j]
        return Clip(joints.astype(np.float32), t, NORMAL if normal else "other")

    support = [clip(True) for _ in range(3)]
    replay = [clip(True) for _ in range(8)] + [clip(False) for _ in range(2)]
    return support, replay, "procedural motion (no shared data)"


def frame_source(stream_id: str, clips: list[Clip], seed: int) -> Iterator[SkeletonFrame]:
    """Endless frames of one stream: mostly normal clips, an abnormal one about every fifth clip."""
    rng = np.random.default_rng(seed)
    normal = [c for c in clips if c.label == NORMAL]
    abnormal = [c for c in clips if c.label != NORMAL]
    visibility = np.ones(NUM_JOINTS, np.float32)
    seq, t = 0, 0.0
    while True:
        pool = abnormal if abnormal and rng.random() < 0.2 else normal
        c = pool[int(rng.integers(len(pool)))]
        offset = t + 1 / SOURCE_FPS - c.times[0]
        for joints, ts in zip(c.joints, c.times, strict=True):
            t = float(ts + offset)
            yield SkeletonFrame(stream_id, seq, t, joints, visibility, time.time())
            seq += 1


def sqlite_committer(stack: ExitStack, model_version: str = "bench") -> tuple[Committer, str]:
    """Hand episode events to the alert writer, as the worker does; it delivers them to an alert log
    on a temporary SQLite file in the background."""
    from config.store import StoreConfig
    from edge.alerts_sink import AlertSink

    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="haad-bench-"))
    sink = AlertSink(
        StoreConfig(url=f"sqlite:///{folder}/alerts.db"),
        Path(folder) / "outbox.db",
        model_version=model_version,
    )
    sink.start([])
    stack.callback(sink.close)
    return (
        sink.write,
        "alert handed to the alert writer (delivered to a temporary SQLite log in the background)",
    )


def percentiles_ms(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    p50, p99 = np.percentile(np.array(values) * 1000.0, [50, 99])
    return {"n": len(values), "p50": round(float(p50), 2), "p99": round(float(p99), 2)}


def run_config(
    backend: EncoderBackend,
    profile: Profile,
    clips: list[Clip],
    *,
    streams: int,
    seconds: float,
    cfg: WorkerConfig,
    commit: Committer | None,
    realtime: bool = False,
) -> dict[str, Any]:
    """One backend at one stream count for ``seconds`` of wall time -> the figures of the module doc.

    ``realtime`` releases one frame per stream every 1/30 s (cameras) instead of as fast as possible:
    windows/s is then the offered load and the latencies are those of a worker that keeps up.
    """
    spec: WindowSpec = backend.spec
    sources = [frame_source(f"cam{i}", clips, seed=i) for i in range(streams)]
    pipeline = Pipeline(cfg, backend, [profile])
    # "frames": building SkeletonFrames (what decoding bus messages costs the worker); "window":
    # StreamWindow.push + batcher; then the pipeline's scoring stages and the commit.
    stage = {"frames": 0.0, "window": 0.0, "commit": 0.0}
    latencies: list[float] = []
    alert_latencies: list[float] = []
    frames = 0
    if realtime:  # fill every window first, so that windows flow from the first round on
        for _ in range(math.ceil(spec.duration_s * SOURCE_FPS)):
            for source in sources:
                pipeline.push(next(source))
        pipeline.run_due(flush=True)
    pipeline.stats.windows_scored = pipeline.stats.crops_scored = pipeline.stats.batches = 0
    pipeline.stats.stage_s = dict.fromkeys(PIPELINE_STAGES, 0.0)
    clock = time.perf_counter
    start = clock()
    end = start + seconds
    next_round = start
    while (t0 := clock()) < end:
        if not realtime or t0 >= next_round:
            arrived = [next(source) for source in sources]
            t1 = clock()
            for frame in arrived:
                pipeline.push(frame)
            frames += streams
            next_round += 1 / SOURCE_FPS
            stage["frames"] += t1 - t0
            stage["window"] += clock() - t1
        for scored in pipeline.run_due():
            t3 = clock()
            if commit is not None:
                commit(scored.events)
            done = time.time()
            stage["commit"] += clock() - t3
            latencies += [done - w.last_sent_at for w in scored.windows if not w.growing]  # encoder rows
            alert_latencies += [done - e.trigger_sent_at for e in scored.events if e.kind == "opened"]
        if realtime:
            wait = pipeline.wait_s()
            now = clock()
            pause = min(next_round, now + (wait if wait is not None else math.inf)) - now
            if pause > 0:
                time.sleep(pause)
    stage.update(pipeline.stats.stage_s)
    scored_total = pipeline.stats.windows_scored + pipeline.stats.crops_scored
    batches = pipeline.stats.batches
    wall = clock() - start
    return {
        "backend": backend.name,
        "streams": streams,
        "mode": "realtime" if realtime else "flat_out",
        "seconds": round(wall, 2),
        # Real time only: how far frame release lagged behind the cameras at the end (0 = kept up).
        "behind_s": round(max(0.0, clock() - next_round), 3) if realtime else None,
        "frames": frames,
        "windows": pipeline.stats.windows_scored,
        "crops": pipeline.stats.crops_scored,
        "batches": batches,
        "mean_batch": round(pipeline.stats.windows_scored / max(batches, 1), 1),
        "windows_per_s": round(scored_total / wall, 1),
        "full_windows_per_s": round(pipeline.stats.windows_scored / wall, 1),
        # Windows per second of the scoring path alone (batch -> normalise ... commit).
        "scoring_windows_per_s": round(scored_total / max(sum(stage[k] for k in SCORING_STAGES), 1e-9), 1),
        "frames_per_s": round(frames / wall, 1),
        "latency_ms": percentiles_ms(latencies),
        "alert_latency_ms": percentiles_ms(alert_latencies),
        "episodes": {k: pipeline.tracker.counts[k] for k in ("opened", "closed")},
        "stage_s": {k: round(v, 3) for k, v in stage.items()},
        "dropped_windows": pipeline.batcher.dropped,
    }


def fresh_encoder(folder: Path) -> Path:
    """A randomly initialised encoder checkpoint (same architecture and cost as a trained one)."""
    import torch

    from models.encoder import ActionEncoder, EncoderConfig, save_encoder

    torch.manual_seed(0)
    path = folder / "encoder-random.safetensors"
    save_encoder(path, ActionEncoder(EncoderConfig()).eval(), WindowSpec(), {"note": "random init (bench)"})
    return path


def run_bench(
    *,
    encoder: Path | None = None,
    streams: Sequence[int] = (1, 8, 32),
    seconds: float = 10.0,
    backends: Sequence[str] = ("onnxruntime", "torch"),
    modes: Sequence[str] = MODES,
    threads: int = 1,
    cfg: WorkerConfig | None = None,
    data_root: str | None = None,
    commit: Committer | None = None,
    commit_label: str = "custom commit callable",
) -> dict[str, Any]:
    """Every backend x stream count x mode; returns the report written by ``haad bench worker --json``.

    ``commit`` receives each batch's episode events; default: :func:`sqlite_committer`.
    """
    from models.encoder import DEFAULT_ENCODER_PATH
    from training.datasets import DataNotFoundError

    cfg = cfg or WorkerConfig()
    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="haad-bench-enc-")))
        onnx_cache = OnnxRuntimeConfig().cache_dir
        if encoder is None and DEFAULT_ENCODER_PATH.is_file():
            encoder = DEFAULT_ENCODER_PATH
        if encoder is None:
            encoder, onnx_cache = fresh_encoder(tmp), str(tmp / "onnx")
            encoder_label = "random init (no committed encoder; same cost as trained weights)"
        else:
            encoder_label = str(encoder)
        try:
            support, replay, source = kinder_gator_clips(data_root)
        except DataNotFoundError:
            support, replay, source = procedural_clips()
        if commit is None:
            commit, latency_to = sqlite_committer(stack)
        else:
            latency_to = commit_label
        backend_cfgs: dict[str, BackendConfig] = {
            "onnxruntime": OnnxRuntimeConfig(intra_op_threads=threads, cache_dir=onnx_cache),
            "onnxruntime-int8": OnnxRuntimeConfig(
                intra_op_threads=threads, cache_dir=onnx_cache, precision="int8"
            ),
            "torch": TorchConfig(threads=threads),
        }
        results = []
        for name in backends:
            backend = make_backend(backend_cfgs[name], encoder)
            profile = build_profile(
                "bench", support, backend, calibration=cfg.calibration, min_segment_s=cfg.min_segment_s
            )
            backend.embed(np.zeros((cfg.max_batch, *profile.windows.shape[1:]), np.float32))  # warm-up
            for n in streams:
                for mode in modes:
                    run = run_config(
                        backend, profile, replay, streams=n, seconds=seconds, cfg=cfg, commit=commit,
                        realtime=mode == "realtime",
                    )  # fmt: skip
                    results.append({**run, "backend": name})  # onnxruntime-int8 named as asked
    import onnxruntime
    import torch

    return {
        "encoder": encoder_label,
        "source": source,
        "latency_to": latency_to,
        "worker": {
            "stride": cfg.stride,
            "max_batch": cfg.max_batch,
            "batch_timeout_s": cfg.batch_timeout_s,
            "threads": threads,
        },
        "host": {
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            # Other processes share the cores: the 1-minute load before and after the runs.
            "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "onnxruntime": onnxruntime.__version__,
            "torch": torch.__version__,
        },
        "results": results,
    }


def format_table(report: dict[str, Any]) -> str:
    lines = [
        f"encoder: {report['encoder']}; source: {report['source']}; latency to: {report['latency_to']}",
        f"{'backend':<12} {'streams':>7} {'mode':>9} {'windows/s':>10} {'frames/s':>9} {'batch':>6} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'alerts':>6} {'alert p50':>9} {'alert p99':>9}",
    ]
    for r in report["results"]:
        lat, al = r["latency_ms"], r["alert_latency_ms"]
        lines.append(
            f"{r['backend']:<12} {r['streams']:>7} {r['mode']:>9} {r['windows_per_s']:>10.0f} {r['frames_per_s']:>9.0f} "
            f"{r['mean_batch']:>6.1f} {lat.get('p50', float('nan')):>8.1f} {lat.get('p99', float('nan')):>8.1f} "
            f"{al['n']:>6} {al.get('p50', float('nan')):>9.1f} {al.get('p99', float('nan')):>9.1f}"
        )
    return "\n".join(lines)
