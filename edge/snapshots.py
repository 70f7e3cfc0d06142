"""The pictures an alert keeps: frames around it copied out of its stream's frame ring
(:mod:`pose_frontend.snapshots`) into ``state_dir/snapshots/alerts/<episode key>/``, with an
``index.json`` naming them, their source times and the thumbnail (the frame nearest the peak).

``keyframes``: the frames nearest the first hot window's end, the peak and the last hot window's
end; ``clip``: every ring frame over the episode (up to ``CLIP_FRAMES``, thinned evenly). Written at
an alert's opening (so its thumbnail exists at once) and again at its close. The folders go by age
with the alert's windows (``store.retention.windows_days``). Any error is logged and counted: an alert
never waits for, or fails because of, its pictures; a write that fails (a full disk) leaves those kept
before whole and nothing half written.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from config.edge import EdgeConfig
from edge.episodes import Episode, EpisodeEvent
from edge.state_lock import state_dir
from pose_frontend.snapshots import frame_time

log = logging.getLogger("haad.snapshots")
CLIP_FRAMES = 40
MARGIN_S = 1.0  # ring frames this far before and after the episode belong to it


def ring_root(cfg: EdgeConfig) -> Path:
    return state_dir(cfg) / "snapshots" / "ring"


def alerts_root(cfg: EdgeConfig) -> Path:
    return state_dir(cfg) / "snapshots" / "alerts"


def make_pictures_private(cfg: EdgeConfig) -> None:
    """The pictures' folder, ``state_dir/snapshots``, for this user alone (0700, also where it
    existed): pictures of people leave the host only through the review server (docs/review.md)."""
    root = state_dir(cfg) / "snapshots"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    root.chmod(0o700)


CAMERA_SOURCES = ("webcam", "url", "video", "images")  # sources of pictures (not skeletons)


def snapshot_modes(cfg: EdgeConfig) -> dict[str, str]:
    """Stream -> its snapshots mode, for the camera streams whose frames a ring on this host holds."""
    return {
        s.id: s.snapshots
        for s in cfg.streams
        if s.snapshots != "off" and cfg.run_frontends and s.source.kind in CAMERA_SOURCES
    }


def read_index(root: Path, episode_key: str) -> dict[str, Any] | None:
    """An alert's index.json, or None when it kept no picture."""
    try:
        index: dict[str, Any] = json.loads((root / episode_key / "index.json").read_text())
    except (OSError, ValueError):
        return None
    return index


class SnapshotKeeper:
    def __init__(self, ring: Path, alerts: Path, modes: Mapping[str, str]) -> None:
        self.ring, self.alerts, self.modes = ring, alerts, dict(modes)
        self.failures = 0

    def keep(self, events: list[EpisodeEvent]) -> None:
        for e in events:
            if e.kind in ("opened", "closed") and self.modes.get(e.episode.stream_id, "off") != "off":
                try:
                    self._keep(e.episode, self.modes[e.episode.stream_id])
                except OSError as err:
                    self.failures += 1
                    log.warning("alert %s: its pictures could not be kept (%s)", e.episode.episode_id, err)

    def _keep(self, ep: Episode, mode: str) -> None:
        folder = self.ring / ep.stream_id
        frames = sorted(
            (t, p)
            for p in folder.glob("*.jpg")
            if ep.start - MARGIN_S <= (t := frame_time(p.name)) <= ep.end + MARGIN_S
        )
        if not frames:
            return
        if mode == "clip":
            step = max(1, -(-len(frames) // CLIP_FRAMES))
            chosen = frames[::step]
        else:
            first = ep.windows[0].t_end if ep.windows else ep.start
            targets = [first, ep.peak_t_end, ep.end]
            chosen = sorted({_nearest(frames, t) for t in targets})
        peak = _nearest(chosen, ep.peak_t_end)
        # Written beside the alert's folder, then swapped in: a full disk at the close leaves the
        # pictures kept at the opening whole (not truncated under their index) and no half folder.
        out = self.alerts / ep.episode_id
        new, old = out.with_name(f".{ep.episode_id}.new"), out.with_name(f".{ep.episode_id}.old")
        shutil.rmtree(new, ignore_errors=True)
        new.mkdir(parents=True)
        try:
            names = []
            for i, (t, path) in enumerate(chosen):
                name = f"{i:02d}.jpg"
                shutil.copyfile(path, new / name)
                names.append({"name": name, "t": t})
            index = {"mode": mode, "frames": names, "thumbnail": f"{chosen.index(peak):02d}.jpg"}
            (new / "index.json").write_text(json.dumps(index))
        except OSError:
            shutil.rmtree(new, ignore_errors=True)
            raise
        if out.exists():
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
        new.rename(out)
        shutil.rmtree(old, ignore_errors=True)


def _nearest(frames: list[tuple[float, Path]], t: float) -> tuple[float, Path]:
    return min(frames, key=lambda f: abs(f[0] - t))


def prune_snapshots(root: Path, max_age_days: float, now: float | None = None) -> int:
    """Delete alert picture folders older than ``max_age_days`` at ``now`` (the wall clock by default;
    0 days: keep); how many went."""
    if max_age_days <= 0 or not root.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - max_age_days * 86_400
    gone = 0
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            gone += 1
    return gone
