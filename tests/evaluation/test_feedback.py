"""The simulated reviewer of ``haad eval stream --feedback`` on the real Kinder-Gator streams with the
bundled encoder: marking each stream's first false alert normal removes false alerts without
losing recall (the bar of docs/review.md)."""

from __future__ import annotations

from pathlib import Path

from config.backend import OnnxRuntimeConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from evaluation.feedback import run_feedback_eval


def test_feedback_on_kinder_gator_lowers_false_alerts_and_keeps_recall(
    data_root: Path, tmp_path: Path
) -> None:
    backend = make_backend(OnnxRuntimeConfig())
    r = run_feedback_eval("kinder-gator", backend, WorkerConfig(), k=1, data_root=str(data_root), out=tmp_path,
                          plots=tmp_path / "plots")  # fmt: skip
    before, after = r["before"], r["after"]
    assert r["streams"] == 30 and r["alerts_marked_normal"] == r["streams_with_feedback"] >= 1
    assert after["false_alerts"] < before["false_alerts"]
    assert after["false_alerts_per_hour"] < before["false_alerts_per_hour"]
    assert after["alert_recall"] >= before["alert_recall"] - 0.02
    assert (tmp_path / "feedback_kinder-gator.json").exists()
    assert len(list((tmp_path / "plots").glob("*.png"))) == 30
