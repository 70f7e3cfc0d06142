"""``haad bench frontend --cameras N``: how many cameras this host sustains at the default pose rate.

``haad run`` (its own process, as deployed) with N streams, each a real video looped at its own pace
(``realtime``), the worker scoring them against the bundled demo profile. After every camera has
published, one measured stretch of ``seconds``: per camera the pose frames published per second and
the frames dropped; the frontend processes' CPU seconds per published frame and resident memory per
camera (``--per-process``: cameras packed into one process); the worker's CPU share and memory. A camera is *sustained* when it publishes at least 95 % of
``min(pose_fps, video fps)`` and drops nothing. ``decode_share``: of one frame's decode + pose, the
decode (grab + retrieve + RGB), timed in this process on the same video at the same pose rate.
With several counts (``--cameras 1,3``), each run after the first also reports
``rss_mb_per_added_camera`` (:func:`with_rss_per_added_camera`). ``size``: the video is first
re-encoded at that size (scaled to fit, padded, aspect kept;
:func:`sized_video`), for figures at a camera's resolution from a recording of another.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from config.frontend import EstimatorConfig, StreamConfig, VideoSourceConfig
from edge.demo import PROFILES_DIR
from pose_frontend.base import CorruptVideoError, SourceNotFoundError
from pose_frontend.estimator import open_estimator
from pose_frontend.process import estimate_pose
from pose_frontend.sources import open_source

SUSTAINED = 0.95  # of the expected pose rate
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime + stime


def _rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE / 2**20


def _metrics(port: int) -> dict[tuple[str, str, str], float]:
    """(name, stream, result) -> value of the frontend and worker counters on /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out: dict[tuple[str, str, str], float] = {}
    for m in re.finditer(
        r"^(haad_frontend_frames_total|haad_frames_received_total)\{([^}]*)\} (\S+)$", text, re.M
    ):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        out[(m.group(1), labels.get("stream", ""), labels.get("result", ""))] = float(m.group(3))
    return out


def with_rss_per_added_camera(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each run after the first gains ``rss_mb_per_added_camera``: its frontends' RSS minus the first
    run's, per camera more than the first run had (the issue-25 bar, read off one command)."""
    first = runs[0]
    return [first] + [
        {**r, "rss_mb_per_added_camera": round(
            (r["frontend_rss_mb"] - first["frontend_rss_mb"]) / (r["cameras"] - first["cameras"]), 1
        )} if r["cameras"] > first["cameras"] else r
        for r in runs[1:]
    ]  # fmt: skip


def sized_video(video: Path, size: tuple[int, int], folder: Path) -> Path:
    """``video`` re-encoded (MPEG-4 part 2) at ``size`` = (width, height) in ``folder``: each frame
    scaled to fit and centred on black, at the video's own frame rate."""
    width, height = size
    if not video.is_file():
        raise SourceNotFoundError(f"video file not found: {video}")
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise CorruptVideoError(f"cannot open video {video}: not a readable video file or codec")
    out = folder / f"{video.stem}-{width}x{height}.mp4"
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), capture.get(cv2.CAP_PROP_FPS), size)
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            scale = min(width / frame.shape[1], height / frame.shape[0])
            w, h = round(frame.shape[1] * scale), round(frame.shape[0] * scale)
            canvas = np.zeros((height, width, 3), np.uint8)
            x, y = (width - w) // 2, (height - h) // 2
            canvas[y : y + h, x : x + w] = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
            writer.write(canvas)
    finally:
        capture.release()
        writer.release()
    return out


def decode_share(video: Path, pose_fps: float, frames: int = 30) -> float:
    """Decode seconds / (decode + pose seconds) per delivered frame of ``video`` at ``pose_fps``."""
    source = open_source(VideoSourceConfig(path=str(video), realtime=False, loop=True), pose_fps=pose_fps)
    cfg = EstimatorConfig()
    decode = pose = 0.0
    with source, open_estimator(cfg) as estimator:
        frames_iter = iter(source)
        for _ in range(frames):
            t0 = time.perf_counter()
            t, rgb = next(frames_iter)
            t1 = time.perf_counter()
            estimate_pose(estimator, rgb, t, cfg)
            decode, pose = decode + t1 - t0, pose + time.perf_counter() - t1
    return decode / (decode + pose)


def bench_cameras(
    video: Path, cameras: int, *, per_process: int = 1, seconds: float = 20.0, startup_s: float = 120.0
) -> dict[str, Any]:
    """One ``haad run`` with ``cameras`` streams of ``video``, ``per_process`` of them in each frontend
    process (``cameras_per_frontend``; see the module docstring)."""
    stream_cfg = StreamConfig()
    pose_fps = stream_cfg.pose_fps
    with open_source(VideoSourceConfig(path=str(video))) as probe:
        video_fps = float(getattr(probe, "fps", 30.0))
    expected = min(pose_fps or video_fps, video_fps)
    capture = cv2.VideoCapture(str(video))
    frame_size = f"{int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))}x{int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))}"
    capture.release()
    with tempfile.TemporaryDirectory(prefix="haad-bench-cameras-") as tmp:
        folder = Path(tmp)
        port = _free_port()
        ids = [f"cam{i}" for i in range(cameras)]
        cfg = {
            "streams": [
                {"id": i, "source": {"kind": "video", "path": str(video), "loop": True, "realtime": True},
                 "profiles": ["demo-walk"]}
                for i in ids
            ],
            "bus": {"endpoint": f"ipc://{folder / 'bus.sock'}"},
            "store": {"url": f"sqlite:///{folder / 'alerts.db'}"},
            "profiles_dir": str(PROFILES_DIR),
            "state_dir": str(folder),
            "cameras_per_frontend": per_process,
            "metrics": {"port": port},
            "logging": {"format": "text"},
        }  # fmt: skip
        (folder / "edge.yaml").write_text(yaml.safe_dump(cfg))
        log_path = folder / "daemon.log"
        with log_path.open("w") as log:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "haad", "run", "--config", str(folder / "edge.yaml")],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + startup_s
            while True:
                if daemon.poll() is not None:
                    raise RuntimeError(
                        f"haad run exited with {daemon.returncode}:\n{log_path.read_text()[-2000:]}"
                    )
                try:
                    m = _metrics(port)
                except OSError:
                    m = {}
                if all(m.get(("haad_frontend_frames_total", i, "published"), 0) > 0 for i in ids):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not every camera published within {startup_s:.0f} s")
                time.sleep(0.5)
            pids = {n: int(p) for n, p in re.findall(r"started (\S+) \(pid (\d+)\)", log_path.read_text())}
            watched = {n: p for n, p in pids.items() if n.startswith("frontend-") or n == "worker"}
            time.sleep(2.0)  # the counters reach /metrics once a second
            m0, c0, t0 = _metrics(port), {n: _cpu_s(p) for n, p in watched.items()}, time.monotonic()
            time.sleep(seconds)
            m1, c1, t1 = _metrics(port), {n: _cpu_s(p) for n, p in watched.items()}, time.monotonic()
            rss = {n: _rss_mb(p) for n, p in watched.items()}
        finally:
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
                try:
                    daemon.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(daemon.pid, signal.SIGKILL)
    span = t1 - t0

    def delta(name: str, stream: str, result: str = "") -> float:
        return m1.get((name, stream, result), 0.0) - m0.get((name, stream, result), 0.0)

    per_camera: list[dict[str, Any]] = []
    for i in ids:
        fps = delta("haad_frontend_frames_total", i, "published") / span
        dropped = delta("haad_frontend_frames_total", i, "dropped")
        per_camera.append({
            "stream": i, "pose_fps": round(fps, 2), "dropped": int(dropped),
            "sustained": fps >= SUSTAINED * expected and dropped == 0,
        })  # fmt: skip
    total_fps = sum(float(c["pose_fps"]) for c in per_camera)
    frontends = [n for n in watched if n != "worker"]
    frontend_cpu = sum(c1[n] - c0[n] for n in frontends)
    frontend_rss = sum(rss[n] for n in frontends)
    return {
        "video": video.name,
        "frame_size": frame_size,
        "video_fps": video_fps,
        "pose_fps_setting": pose_fps,
        "cameras": cameras,
        "seconds": round(span, 1),
        "pose_fps_total": round(total_fps, 2),
        "pose_frames_per_cpu_s": round(total_fps * span / frontend_cpu, 1) if frontend_cpu else None,
        "cpu_s_per_frame": round(frontend_cpu / (total_fps * span), 4) if total_fps else None,
        "frontend_processes": len(frontends),
        "frontend_rss_mb": round(frontend_rss, 1),
        "rss_mb_per_camera": round(frontend_rss / cameras, 1),
        "worker_cpu_share": round((c1["worker"] - c0["worker"]) / span, 3),
        "worker_rss_mb": round(rss["worker"], 1),
        "cameras_sustained": sum(bool(c["sustained"]) for c in per_camera),
        "per_camera": per_camera,
    }
