"""The browser test's case (tests/edge/review/test_feedback_browser.py) over more performances: the
synthetic camera's jump (seed 7) is marked normal for camera ``door`` as the review page does it
(edge.feedback: action_windows, still_abnormal, add_windows into the camera's overlay); then new
performances (seeds 8-17) of the jump on ``door`` and on ``dock`` (same profile, no overlay) and of a
kick on ``door`` are scored through the worker's pipeline, for each ``feedback_reach``.

    .venv/bin/python docs/experiments/2026-12-05-feedback-reach/synthetic_repeats.py
"""

from __future__ import annotations

import json
import sys

import numpy as np
import torch

from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.demo import PROFILES_DIR
from edge.feedback import action_windows, add_windows, empty_overlay, still_abnormal
from edge.pipeline import Pipeline
from edge.profiles import ProfileStore
from evaluation.feedback import performance_alerts

JUMP = [("walk_in_place", 8.0), ("jump_flail", 5.0), ("walk_in_place", 8.0)]
KICK = [("walk_in_place", 8.0), ("kick", 4.0), ("walk_in_place", 8.0)]
STREAMS = {"door": ["demo-walk"], "dock": ["demo-walk"]}
REACHES = (1.0, 0.9, 0.85, 0.75)
SEEDS = range(8, 18)


def main() -> None:
    torch.set_num_threads(1)
    backend = make_backend(WorkerConfig().backend)
    base = ProfileStore(PROFILES_DIR).load("demo-walk")
    out = {}
    for reach in REACHES:
        cfg = WorkerConfig(feedback_reach=reach)
        clock = lambda: 0.0  # noqa: E731  replays run faster than real time
        [jump] = performance_alerts(
            Pipeline(cfg, backend, [base], stream_profiles=STREAMS, clock=clock), "door", JUMP, 7
        )
        raw = np.stack([w.frames for w in jump.windows])
        times = np.array([(w.t_start, w.t_end) for w in jump.windows])
        kept = still_abnormal(action_windows(raw, times, backend.spec, cfg.stride), base, backend,
                              spec=backend.spec, reach=reach)  # fmt: skip
        overlay = add_windows(
            empty_overlay(base, "door"), [(1, kept)], backend, spec=backend.spec, reviewer="x"
        )
        row = {"jump_door": 0, "jump_dock": 0, "kick_door": 0}
        for seed in SEEDS:
            for key, stream, script in (("jump_door", "door", JUMP), ("jump_dock", "dock", JUMP),
                                        ("kick_door", "door", KICK)):  # fmt: skip
                p = Pipeline(cfg, backend, [base], stream_profiles=STREAMS, extra={("door", "demo-walk"): overlay},
                             clock=clock)  # fmt: skip
                row[key] += bool(performance_alerts(p, stream, script, seed))
        out[str(reach)] = {k: f"{v} of {len(SEEDS)} alerting" for k, v in row.items()}
    sys.stdout.write(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
