"""Issue 24 (5): does the gated kinematic term help alerts? Replays each stream set through the
worker's pipeline with the bundled encoder (no raw-DCT baseline run: `haad eval stream` gives that)
once per crop rule, and prints the alert figures of each as one JSON line.

Crop rules (e: the encoder's 1 s crop ratio, r: the kinematic crop ratio, a: the profile's
``kinematic_weight``), the crop ratio a window is hot by (fused with the window's own ratio by
``edge.short_scale.fuse`` as today):
  base  e (today)
  geo   weighted geometric mean, weights 1 and a
  lin   e^(1-a) r^a
  up    max(e, e^(1-a) r^a): the kinematic term can only raise
  max   max(e, r) where a > 0

    PYTHONPATH=. python docs/experiments/2026-12-06-say-when-5/alert_rules.py SET [RULE ...]
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from config.edge import EdgeConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from edge.pipeline import Pipeline
from edge.short_scale import fuse, live_crops
from evaluation.stream import replay, summarise
from evaluation.stream_sets import STREAM_SETS


def crop_ratio(rule: str, e: np.ndarray, r: np.ndarray, a: np.ndarray) -> np.ndarray:
    """The crop ratio a window is hot by (module docstring); where either ratio is NaN, the encoder's."""
    if rule == "base":
        return e
    with np.errstate(divide="ignore", invalid="ignore"):
        le, lr = np.log(np.maximum(e, 1e-12)), np.log(np.maximum(r, 1e-12))
    c = {
        "geo": lambda: np.exp((le + a * lr) / (1 + a)),
        "lin": lambda: np.exp((1 - a) * le + a * lr),
        "up": lambda: np.maximum(e, np.exp((1 - a) * le + a * lr)),
        "max": lambda: np.where(a > 0, np.maximum(e, r), e),
    }[rule]()
    return np.where(np.isnan(e) | np.isnan(r), e, c)


class RulePipeline(Pipeline):
    """The worker's pipeline, its windows hot (and scored) by ``crop_ratio(RULE, ...)`` fused with the
    window's own ratio; ``ScoredBatch.crops`` stays the encoder's, so the frame AUC is today's."""

    RULE = "base"
    KIN_SCALE = 1.0  # the kinematic ratio is divided by this (an oracle recalibration, see the note)

    def _score_batch(self):  # see the batch the crops come from
        take = self.batcher.take

        def spy():
            self._batch = take()
            return self._batch

        self.batcher.take = spy
        try:
            return super()._score_batch()
        finally:
            del self.batcher.take

    def _with_short_scale(self, scores, crop_embeddings, streams):
        short = self.short_scorer.score(crop_embeddings, streams)
        e = short / self.short_scorer.thresholds
        c = e
        if self.kinematic_scorer is not None:
            b = self._batch
            cropped = live_crops(
                b.windows, [w.segment_frames for w in b.items], self.cfg.short_window_s, self.spec
            )
            r = self.kinematic_scorer.score(self._kinematic.embed(cropped), streams)
            c = crop_ratio(
                self.RULE,
                e,
                r / self.kinematic_scorer.thresholds / self.KIN_SCALE,
                self.kinematic_weights[None, :],
            )
        self._hot = c > 1.0
        return fuse(scores, c, self.scorer.thresholds, np.ones_like(self.short_scorer.thresholds)), e

    def _update_episodes(self, items, names, scores, thresholds, short_hot=None):
        return super()._update_episodes(
            items, names, scores, thresholds, None if short_hot is None else self._hot
        )


def main(dataset: str, rules: list[str]) -> None:
    cfg = EdgeConfig()
    w = cfg.worker
    backend = make_backend(w.backend, Path(cfg.encoder) if cfg.encoder else None)
    streams = STREAM_SETS[dataset](None)
    profiles = {}
    for s in streams:
        key = (s.normal_label, *(c.name for c in s.support))
        if key not in profiles:
            profiles[key] = build_profile("eval", s.support, backend, calibration=w.calibration,
                                          min_segment_s=w.min_segment_s)  # fmt: skip
    for rule in rules:
        t0 = time.time()
        RulePipeline.RULE = rule
        runs = [
            replay(s, profiles[(s.normal_label, *(c.name for c in s.support))], backend, w, RulePipeline)
            for s in streams
        ]
        r = summarise(streams, runs, backend.spec.fps, w.calibration.target_far)
        far, b = r["false_alarm_rate"], r["boundary_error_s"]
        row = {
            "set": dataset, "rule": rule, "P": r["alert_precision"], "R": r["alert_recall"],
            "alerts": r["alerts"], "delay": r["delay_s"]["median"] if r["delay_s"] else None,
            "start_err": b["start"]["median"] if b["start"] else None,
            "end_err": b["end"]["median"] if b["end"] else None,
            "far": far["realised"], "far_target": far["target"], "normal_windows": far["normal_windows"],
            "false_alerts_per_h": far["false_alerts_per_normal_hour"],
            "silent": r["streams_with_abnormal_parts_without_alert"], "streams": len(streams),
            "one_alert": r["abnormal_parts_with_exactly_one_alert"], "parts": r["abnormal_parts"],
            "recall_by_duration": {k: v["recall"] for k, v in r["alert_recall_by_duration"].items()},
            "auc": r["frame_auc_mean"], "kin_scale": RulePipeline.KIN_SCALE, "s": round(time.time() - t0, 1),
        }  # fmt: skip
        sys.stdout.write(json.dumps(row) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    # KIN_SCALE=q: the kinematic ratio over q (the 95th percentile of it on the set's normal crops,
    # normal_crops.py), so that it is over 1 on 5 % of them: an oracle's threshold, a diagnostic only
    RulePipeline.KIN_SCALE = float(os.environ.get("KIN_SCALE", "1.0"))
    main(sys.argv[1], sys.argv[2:] or ["base", "geo", "lin", "up", "max"])
