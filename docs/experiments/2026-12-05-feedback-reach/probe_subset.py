"""``haad eval stream --feedback 1``'s protocol (evaluation/feedback.py) on a subset of its probes, for
several ``feedback_reach`` values in one run: per marked recording every repeat (another person's
performance of a label the marked alert held) and ``--unmarked`` other abnormal parts spread over
the set. For stream sets whose full protocol does not fit an evening (UTKinect: 199 recordings,
1,782 parts).

    .venv/bin/python docs/experiments/2026-12-05-feedback-reach/probe_subset.py --dataset msr-dense
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys

import numpy as np
import torch

from config.worker import WorkerConfig
from edge.backends import EncoderBackend, make_backend
from edge.enroll import build_profile
from edge.feedback import action_windows, add_windows, still_abnormal
from evaluation.feedback import _covered, _held_labels, _marked_events, spliced
from evaluation.stream import replay
from evaluation.stream_sets import STREAM_SETS


class Remembering:
    """The encoder, answering a window it has embedded before from memory (a probe is replayed
    before and after feedback, and for every reach)."""

    def __init__(self, inner: EncoderBackend) -> None:
        self.inner = inner
        self.name, self.embedding_dim, self.spec = inner.name, inner.embedding_dim, inner.spec
        self.model_version, self.calibration_prior = inner.model_version, inner.calibration_prior
        self.seen: dict[bytes, np.ndarray] = {}

    def embed(self, windows: np.ndarray) -> np.ndarray:
        windows = np.ascontiguousarray(windows, np.float32)
        keys = [hashlib.blake2b(w.tobytes(), digest_size=16).digest() for w in windows]
        new = [i for i, k in enumerate(keys) if k not in self.seen]
        if new:
            for i, e in zip(new, self.inner.embed(windows[new]), strict=True):
                self.seen[keys[i]] = e
        if not keys:
            return self.inner.embed(windows)
        return np.stack([self.seen[k] for k in keys])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="msr-dense")
    ap.add_argument("--unmarked", type=int, default=6, help="unmarked actions per marked recording")
    ap.add_argument("--reach", type=float, nargs="+", default=[1.0, 0.85])
    ap.add_argument("--recordings", type=int, default=None, help="only the first N recordings")
    args = ap.parse_args()
    torch.set_num_threads(1)
    base = WorkerConfig()
    backend = Remembering(make_backend(base.backend))
    streams = STREAM_SETS[args.dataset](None)[: args.recordings]
    donors = [(s, i) for s in streams for i in range(len(s.abnormal)) if s.label_of(i)]
    tally = {r: dict.fromkeys(("marked", "marked_after", "repeats", "repeats_after", "unmarked", "unmarked_after"), 0)
             for r in args.reach}  # fmt: skip
    before = {"repeats": 0, "unmarked": 0}
    profiles = {}
    for stream in streams:
        key = (stream.normal_label, *(c.name for c in stream.support))
        if key not in profiles:
            profiles[key] = build_profile("eval", stream.support, backend, calibration=base.calibration,
                                          min_segment_s=base.min_segment_s)  # fmt: skip
        profile = profiles[key]
        marked = _marked_events(replay(stream, profile, backend, base), stream, 1)
        if not marked:
            continue
        event, part = marked[0]
        raw = action_windows(np.stack([w.frames for w in event.episode.windows]),
                             np.array([(w.t_start, w.t_end) for w in event.episode.windows]), backend.spec, base.stride)  # fmt: skip
        labels = _held_labels(stream, [event])
        others = [d for d in donors if d[0] is not stream and d[0].recording is not stream.recording]
        repeats = [d for d in others if d[0].label_of(d[1]) in labels]
        unmarked = [d for d in others if d[0].label_of(d[1]) not in labels]
        pick = np.linspace(0, len(unmarked) - 1, min(args.unmarked, len(unmarked))).round().astype(int)
        probes = [("repeats", spliced(stream, part, d)) for d in repeats]
        probes += [("unmarked", spliced(stream, part, unmarked[i])) for i in (pick if unmarked else [])]
        for kind, probe in probes:
            before[kind] += _covered(replay(probe, profile, backend, base), probe.abnormal[0])
        for reach in args.reach:
            cfg = base.model_copy(update={"feedback_reach": reach})
            kept = still_abnormal(raw, profile, backend, spec=backend.spec, reach=reach)
            updated = add_windows(profile, [(0, kept)], backend, spec=backend.spec, reviewer="simulated")
            t = tally[reach]
            t["marked"] += 1
            t["marked_after"] += _covered(replay(stream, updated, backend, cfg), stream.abnormal[part])
            for kind, probe in probes:
                t[kind] += 1
                t[f"{kind}_after"] += _covered(replay(probe, updated, backend, cfg), probe.abnormal[0])
    first = tally[args.reach[0]]
    out = {
        "dataset": args.dataset,
        "unmarked_per_recording": args.unmarked,
        "repeats_alerting_before": f"{before['repeats']} of {first['repeats']}",
        "unmarked_alerting_before": f"{before['unmarked']} of {first['unmarked']}",
        "unmarked_recall_before": round(before["unmarked"] / max(first["unmarked"], 1), 3),
        "by_reach": {
            str(r): {
                "marked_alerting_after": f"{t['marked_after']} of {t['marked']}",
                "repeats_alerting_after": f"{t['repeats_after']} of {t['repeats']}",
                "unmarked_recall_after": round(t["unmarked_after"] / max(t["unmarked"], 1), 3),
            }
            for r, t in tally.items()
        },
    }
    sys.stdout.write(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
