"""How many marked performances of an action, by different people, before other people's
performances of it stop alerting: ``haad eval stream --feedback 1``'s protocol on Kinder-Gator
(evaluation/feedback.py, through probe_subset.py's embedding cache), with the marked recording's alert
and the alerts of ``m - 1`` more people's performances of the same action gathered into one feedback
behaviour of the shared profile (scope ``all``: a reviewer marking the action on several cameras that
use the profile, ``--behaviour NAME``), one after another as ``mark_normal`` would apply them.

The extra marked people are Kinder-Gator training participants (the encoder never saw the six
abnormal actions from anybody: training.protocol's ``unseen_labels``), each on a camera of their own:
their clip of the stream's normal motion, the action, the normal clip again (as the stream set builds
a recording), replayed against the profile; the first alert over the action is marked. A person whose
performance raises no alert cannot be marked and the next one is taken. The probes are the protocol's:
repeats (the other test participants' performances of the action spliced into the marked recording,
people never marked) and unmarked actions (every other abnormal part of the set, or ``--unmarked`` per
recording spread over it), the same for every ``m``.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python \
        docs/experiments/2026-12-06-feedback-several/several_marked.py --m 1 2 3 5 --reach 0.85 1.0
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from clips import Clip
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from edge.feedback import action_windows, add_windows, still_abnormal
from evaluation.feedback import _covered, _held_labels, _marked_events, spliced
from evaluation.stream import replay
from evaluation.stream_sets import STREAM_SETS, LabelledStream, stitch
from training.datasets import load_dataset
from training.protocol import KINDER_GATOR

_spec = importlib.util.spec_from_file_location(
    "probe_subset", Path(__file__).resolve().parents[1] / "2026-12-05-feedback-reach" / "probe_subset.py"
)
assert _spec is not None and _spec.loader is not None
probe_subset = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(probe_subset)


def raw_of(event, backend, stride):  # an alert's stretch, re-cut as the review page does
    ws = event.episode.windows
    return action_windows(np.stack([w.frames for w in ws]), np.array([(w.t_start, w.t_end) for w in ws]),
                          backend.spec, stride)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--m", type=int, nargs="+", default=[1, 2, 3, 5], help="marked performances (people)")
    ap.add_argument("--reach", type=float, nargs="+", default=[0.85, 1.0])
    ap.add_argument("--unmarked", type=int, default=None, help="unmarked actions per recording (default all)")
    ap.add_argument("--recordings", type=int, default=None, help="only the first N recordings")
    ap.add_argument("--offset", type=int, default=0, help="rotates which training participants are marked")
    ap.add_argument("--enrol", action="store_true",
                    help="instead of marking their alerts, enrol the m people's clips of the action as a behaviour")  # fmt: skip
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    base = WorkerConfig()
    backend = probe_subset.Remembering(make_backend(base.backend))
    streams = STREAM_SETS["kinder-gator"](None)
    donors = [(s, i) for s in streams for i in range(len(s.abnormal)) if s.label_of(i)]
    streams = streams[: args.recordings]
    kg = load_dataset("kinder-gator", None)
    train = {(c.subject, c.label): c for c in kg.clips if c.subject in KINDER_GATOR.train_subjects}
    test = {(c.subject, c.label): c for c in kg.clips if c.subject in KINDER_GATOR.test_subjects}
    people = sorted(KINDER_GATOR.train_subjects)
    top = max(args.m)
    settings: list[float | str] = ["enrol"] if args.enrol else list(args.reach)
    keys = [(m, r) for m in args.m for r in settings]
    tally = {k: dict.fromkeys(("marked", "marked_after", "repeats", "repeats_after", "unmarked", "unmarked_after",
                                "extra_marked", "extra_windows", "threshold_ratio"), 0) for k in keys}  # fmt: skip
    before = {"repeats": 0, "unmarked": 0}
    skipped_people = 0
    by_label: dict[str, dict[str, list[int]]] = {}
    profiles = {}
    for n, stream in enumerate(streams):
        key = (stream.normal_label, *(c.name for c in stream.support))
        if key not in profiles:
            profiles[key] = build_profile("eval", stream.support, backend, calibration=base.calibration,
                                          min_segment_s=base.min_segment_s)  # fmt: skip
        profile = profiles[key]
        marked = _marked_events(replay(stream, profile, backend, base), stream, 1)
        if not marked:
            continue
        event, part = marked[0]
        labels = _held_labels(stream, [event])
        label = stream.label_of(part)
        # Other people's alerts of the action, each on a camera of its own using the profile.
        extra, extra_clips = [], []
        order = people[(n + args.offset) % len(people) :] + people[: (n + args.offset) % len(people)]
        for person in order:
            if len(extra) == top - 1:
                break
            if (person, stream.normal_label) not in train or (person, label) not in train:
                continue
            nc, ac = train[(person, stream.normal_label)], train[(person, label)]
            joints, times, spans = stitch([nc, ac, nc])
            cam = LabelledStream(f"kg-train:{person}:{stream.normal_label}->{label}", Clip(joints, times),
                                 stream.normal_label, (spans[1],), (spans[0], spans[2]), (), (label,))  # fmt: skip
            got = _marked_events(replay(cam, profile, backend, base), cam, 1)
            if not got:
                skipped_people += 1
                continue
            extra.append(raw_of(got[0][0], backend, base.stride))
            extra_clips.append(ac)
        others = [d for d in donors if d[0] is not stream and d[0].recording is not stream.recording]
        repeats = [d for d in others if d[0].label_of(d[1]) in labels]
        unmarked = [d for d in others if d[0].label_of(d[1]) not in labels]
        if args.unmarked is not None:
            pick = np.linspace(0, len(unmarked) - 1, min(args.unmarked, len(unmarked))).round().astype(int)
            unmarked = [unmarked[i] for i in pick]
        probes = [("repeats", spliced(stream, part, d)) for d in repeats]
        probes += [("unmarked", spliced(stream, part, d)) for d in unmarked]
        hit_before = []
        for kind, probe in probes:
            hit = _covered(replay(probe, profile, backend, base), probe.abnormal[0])
            before[kind] += hit
            hit_before.append(hit)
        raws = [raw_of(event, backend, base.stride), *extra]
        own = test[(stream.name.split(":")[1], label)]
        for reach in settings:
            cfg = base if reach == "enrol" else base.model_copy(update={"feedback_reach": reach})
            updated = profile
            done = added = 0
            for m in sorted(args.m):
                if reach == "enrol":  # the action's clips by the same m people, a behaviour of their own
                    updated = build_profile("eval", [*stream.support, own, *extra_clips[: m - 1]], backend,
                                            calibration=base.calibration, min_segment_s=base.min_segment_s)  # fmt: skip
                # Mark the next performances into the same behaviour, one by one against the profile
                # as it stands (mark_normal's still_abnormal).
                for alert_id in range(done, min(m, len(raws))) if reach != "enrol" else ():
                    kept = still_abnormal(raws[alert_id], updated, backend, spec=backend.spec, reach=reach)
                    updated = add_windows(updated, [(alert_id, kept)], backend, spec=backend.spec,
                                          reviewer="simulated", behaviour=f"marked-{label}")  # fmt: skip
                    added += len(kept) if alert_id else 0
                done = min(m, len(raws))
                t = tally[(m, reach)]
                t["marked"] += 1
                t["extra_windows"] += added  # by the m - 1 other people's alerts, all of them
                t["threshold_ratio"] += updated.threshold / profile.threshold
                t["extra_marked"] += done - 1
                t["marked_after"] += _covered(replay(stream, updated, backend, cfg), stream.abnormal[part])
                for (kind, probe), hit in zip(probes, hit_before, strict=True):
                    t[kind] += 1
                    after = _covered(replay(probe, updated, backend, cfg), probe.abnormal[0])
                    t[f"{kind}_after"] += after
                    if kind == "repeats":
                        cell = by_label.setdefault(f"m={m} reach={reach}", {}).setdefault(label, [0, 0, 0])
                        cell[0] += 1
                        cell[1] += hit
                        cell[2] += after
        sys.stderr.write(f"{n + 1}/{len(streams)} {stream.name} {time.time() - t0:.0f}s\n")
    first = tally[keys[0]]
    out = {
        "dataset": "kinder-gator",
        "model_version": backend.model_version,
        "unmarked_per_recording": args.unmarked or "all",
        "offset": args.offset,
        "people_without_alert_skipped": skipped_people,
        "repeats_alerting_before": f"{before['repeats']} of {first['repeats']}",
        "unmarked_alerting_before": f"{before['unmarked']} of {first['unmarked']}",
        "unmarked_recall_before": round(before["unmarked"] / max(first["unmarked"], 1), 3),
        "results": [
            {
                "m": m,
                "reach": r,
                "extra_marked_alerts": t["extra_marked"],
                "threshold_after_over_before": round(t["threshold_ratio"] / max(t["marked"], 1), 3),
                "extra_windows_added": t["extra_windows"],
                "marked_alerting_after": f"{t['marked_after']} of {t['marked']}",
                "repeats_alerting_after": f"{t['repeats_after']} of {t['repeats']}",
                "repeats_alerting_after_share": round(t["repeats_after"] / max(t["repeats"], 1), 3),
                "unmarked_recall_after": round(t["unmarked_after"] / max(t["unmarked"], 1), 3),
            }
            for (m, r), t in tally.items()
        ],  # fmt: skip
        "repeats_by_action": {
            k: {a: {"probes": p, "before": b, "after": c} for a, (p, b, c) in sorted(v.items())}
            for k, v in by_label.items()
        },  # fmt: skip
        "seconds": round(time.time() - t0),
    }
    sys.stdout.write(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
