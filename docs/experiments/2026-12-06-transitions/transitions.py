"""Transition support (issue 21, measured, not kept): a profile of several behaviours also holds the
windows across a stitched seam between every ordered pair of its behaviours' clips (the last 3 s of
one, a 0.5 s blend, the first 3 s of the other; windows holding at least 0.5 s of each side, at the
live stride), each a prototype by itself (as a marked alert's windows, reach 1.0), never calibrated
on. Replays every recording of a recording-set file with and without them.
usage: python docs/experiments/2026-12-06-transitions/transitions.py base|trans FILE NORMAL..."""

import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from clips import Clip
from config.edge import EdgeConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from edge.profiles import FEEDBACK, Profile
from evaluation.recordings import read_recording_set
from evaluation.stream import replay, summarise
from evaluation.stream_sets import stitch
from models.preprocess import clip_frames, cut_windows, normalise_windows

mode, path, normals = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
cfg = EdgeConfig()
backend = make_backend(cfg.worker.backend, None)
spec = backend.spec
worker = cfg.worker.model_copy(update={"feedback_reach": 1.0})
SIDE = 10  # frames of each side a seam window must hold (0.5 s)


def seam_windows(a: Clip, b: Clip) -> np.ndarray:
    secs = spec.frames / spec.fps
    tail, head = a.times >= a.times[-1] - secs, b.times <= b.times[0] + secs
    joints, times, spans = stitch(
        [Clip(a.joints[tail], a.times[tail]), Clip(b.joints[head], b.times[head])], 0.5
    )
    windows = cut_windows(clip_frames(joints, times, spec), replace(spec, clip_stride=worker.stride))
    seam = round(spans[1][0] * spec.fps)
    starts = np.arange(len(windows)) * worker.stride
    keep = (starts + SIDE <= seam) & (starts + spec.frames - SIDE >= seam)
    return normalise_windows(windows[keep], spec)


def with_transitions(profile: Profile, support: tuple[Clip, ...]) -> Profile:
    by: dict[str, list[Clip]] = {}
    for c in support:
        by.setdefault(c.label, []).append(c)
    pairs = itertools.permutations(by, 2)
    windows = np.concatenate([seam_windows(a, b) for x, y in pairs for a in by[x] for b in by[y]])
    bid = max(int(b["id"]) for b in profile.behaviour_table) + 1
    table = [*profile.behaviour_table, {"id": bid, "name": "transitions", "kind": FEEDBACK, "sources": []}]
    n = len(windows)
    return replace(
        profile,
        embeddings=np.concatenate([profile.embeddings, backend.embed(windows)]),
        windows=np.concatenate([profile.windows, windows]),
        groups=np.concatenate([profile.groups, np.full(n, profile.groups.max() + 1)]),
        behaviours=np.concatenate([profile.behaviour_ids, np.full(n, bid)]),
        generated=np.concatenate([profile.generated_rows, np.zeros(n, bool)]),
        meta={**profile.meta, "behaviours": table},
    )


streams = read_recording_set(path, normals, shots=3, spec=spec, min_segment_s=worker.min_segment_s).streams
runs = []
for s in streams:
    profile = build_profile(
        "eval", s.support, backend, calibration=worker.calibration, min_segment_s=worker.min_segment_s
    )
    runs.append(
        replay(s, with_transitions(profile, s.support) if mode == "trans" else profile, backend, worker)
    )
r = summarise(streams, runs, spec.fps, worker.calibration.target_far)
false = round(r["alerts"] * (1 - r["alert_precision"]))
sys.stdout.write(
    f"{mode} {' + '.join(normals)}: frame AUC {r['frame_auc_mean']:.3f}, precision {r['alert_precision']:.2f}, "
    f"recall {r['alert_recall']:.2f}, alerts {r['alerts']}, over no abnormal part {false}\n"
)
