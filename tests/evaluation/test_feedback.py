"""The simulated reviewer of ``haad eval stream --feedback`` on real Kinder-Gator streams with the
bundled encoder: an action marked normal stops alerting where it was marked, and the other actions,
spliced into the same stream, still alert (the default ``feedback_reach`` keeps their recall; at 1.0
it fell from 1.0 to 0.68 on these streams)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from clips import Clip
from config.backend import OnnxRuntimeConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from evaluation.feedback import _held_labels, evaluate_feedback, spliced
from evaluation.stream_sets import LabelledStream, kinder_gator_streams


def test_a_marked_action_stops_alerting_and_the_others_still_alert(data_root: Path) -> None:
    streams = kinder_gator_streams(str(data_root))[:6]
    r = evaluate_feedback(streams, make_backend(OnnxRuntimeConfig()), WorkerConfig(), k=1, probes=6)
    assert (
        r["marked_streams"] >= 4 and r["repeats"] + r["unmarked"] == 5 * r["marked_streams"]
    )  # 5 other parts each
    assert r["marked_parts_alerting_after_share"] <= 0.25  # every marked part alerted before
    assert r["unmarked_recall_before"] >= 0.75
    assert r["unmarked_recall_after"] >= r["unmarked_recall_before"] - 0.1
    table = r["probes_by_action"]
    assert sum(c["probes"] for row in table.values() for c in row.values()) == r["repeats"] + r["unmarked"]


def test_a_probe_is_the_stream_with_its_abnormal_part_replaced(data_root: Path) -> None:
    a, b = kinder_gator_streams(str(data_root))[:2]
    probe = spliced(a, 0, (b, 0))
    assert probe.abnormal_labels == b.abnormal_labels and len(probe.normal) == 2
    (x, y), (bx, by) = probe.abnormal[0], b.abnormal[0]
    assert abs((y - x) - (by - bx)) < 0.05  # the donor's part, whole
    assert probe.normal[0][1] < x and probe.normal[1][0] > y


def test_an_alert_over_several_actions_marks_each_of_them() -> None:
    stream = LabelledStream("s", Clip(np.zeros((1, 20, 3), np.float32), np.zeros(1)), "walk",
                            ((1.0, 2.0), (3.0, 4.0), (6.0, 7.0)), (), (), ("kick", "jump", "bow"))  # fmt: skip
    alert = SimpleNamespace(episode=SimpleNamespace(start=1.5, end=3.5))
    assert _held_labels(stream, [alert]) == {"kick", "jump"}  # not "bow", after the alert
