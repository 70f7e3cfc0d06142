"""``haad eval stream --recordings FILE --feedback K`` where the figures cannot all be had: nothing
to mark, fewer than K alerts to mark, no unmarked action left to probe; and a report left by a run
of before ``recordings_file``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from clips import Clip, save_clipset_file
from evaluation.stream import claim_report
from haad.cli import app
from tests.haad.cli_helpers import onnx_config
from training.datasets import load_dataset
from training.protocol import KINDER_GATOR

runner = CliRunner()
NORMAL = "Walk-in-place"


@pytest.fixture(scope="module")
def walking_only(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six people walking in place, the middle third of each labelled another action: its
    'abnormal' part is more of the same walking, which the profile's threshold never flags."""
    kg = load_dataset("kinder-gator", data_root)
    recordings = []
    for s in sorted(KINDER_GATOR.test_subjects):
        walk = next(c for c in kg.clips if c.subject == s and c.label == NORMAL)
        third = len(walk.times) // 3
        labels = np.array(
            [NORMAL] * third + ["Walk-again"] * third + [NORMAL] * (len(walk.times) - 2 * third)
        )
        recordings.append(Clip(walk.joints, walk.times, "", s, f"rec-{s}", labels))
    path = tmp_path_factory.mktemp("recordings") / "walking_only.npz"
    save_clipset_file(path, recordings)
    return path


def _feedback(recordings: Path, k: str, out: Path, *extra: str) -> tuple[str, dict]:
    args = [
        "eval",
        "stream",
        "--recordings",
        str(recordings),
        "--normal",
        NORMAL,
        "--shots",
        "2",
        "--feedback",
    ]
    result = runner.invoke(app, [*args, k, "--config", str(onnx_config(out)), "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return result.output, json.loads((out / f"feedback_{recordings.stem}.json").read_text())


def test_a_run_where_no_alert_catches_an_action_says_nothing_was_marked(
    walking_only: Path, tmp_path: Path
) -> None:
    # It printed a summary of zeros and nulls alone, with no line saying why, and --plots wrote no
    # timeline for a recording with nothing marked (so none at all here).
    output, summary = _feedback(walking_only, "1", tmp_path, "--plots", str(tmp_path / "plots"))
    said = "no alert caught an abnormal action in any of the 6 streams"
    assert summary["marked_streams"] == 0 and summary["unmarked_recall_before"] is None
    assert len(summary["notes"]) == 1 and summary["notes"][0].startswith(said)
    assert "nothing to mark" in summary["notes"][0] and "every share is null" in summary["notes"][0]
    assert f"note: {said}" in output
    assert len(list((tmp_path / "plots").glob("*.png"))) == 6  # a timeline per recording, as asked


def test_fewer_alerts_than_k_to_mark_and_no_unmarked_action_left_are_said(
    data_root: Path, tmp_path: Path
) -> None:
    # Three recordings, a Jump and a Punch in each: with K = 5 a recording has two alerts to mark at
    # most, and the summary said only marked_alerts (and null for a share with nothing to probe).
    from evaluation.stream_sets import most_active
    from tests.evaluation.test_stream_recordings import _recording

    kg = load_dataset("kinder-gator", data_root)
    by = {(c.subject, c.label): c for c in kg.clips if c.subject in KINDER_GATOR.test_subjects}
    subjects = sorted(KINDER_GATOR.test_subjects)[:3]
    path = tmp_path / "sets" / "walks.npz"
    path.parent.mkdir()
    save_clipset_file(
        path,
        [_recording(by[(s, NORMAL)], by[(s, "Punch")], most_active(by[(s, "Jump")], 1.5)) for s in subjects],
    )
    output, summary = _feedback(path, "5", tmp_path)
    assert summary["k"] == 5 and summary["marked_streams"] >= 1
    assert summary["marked_alerts"] < 5 * summary["marked_streams"]  # two actions a recording at most
    short = [n for n in summary["notes"] if "fewer than 5 alerts on an abnormal action to mark" in n]
    assert len(short) == 1 and f"({summary['marked_alerts']} marked in all)" in short[0]
    for share, count, words in (
        ("unmarked_recall_before", "unmarked", "unmarked recall is null"),
        ("repeats_alerting_before_share", "repeats", "repeat shares"),
    ):
        assert (summary[share] is None) == (summary[count] == 0)
        assert any(words in n for n in summary["notes"]) == (summary[count] == 0), summary["notes"]
    for note in summary["notes"]:
        assert f"note: {note}" in output


def test_a_rerun_replaces_a_feedback_report_of_before_recordings_file(
    walking_only: Path, tmp_path: Path
) -> None:
    # Before eb9ed86 a recordings file's feedback report named it by stem alone ({"dataset":
    # "walking_only"}), which no run could claim: every rerun was refused, 'holds the figures of
    # walking_only'.
    old = {"dataset": walking_only.stem, "model_version": "76468812596e", "k": 1, "streams": 6}
    (tmp_path / "feedback_walking_only.json").write_text(json.dumps(old))
    _, summary = _feedback(walking_only, "1", tmp_path)
    assert summary["recordings_file"] == str(walking_only.resolve()) and summary["streams"] == 6


def test_reports_that_do_not_say_their_files_folder_are_claimed_by_a_file_of_their_name(
    tmp_path: Path,
) -> None:
    # A stream report of before recordings_file held the path as given: relative, it was read from
    # wherever the rerun was made, so a rerun from another folder was refused.
    mine = str((tmp_path / "a" / "walks.npz").resolve())
    for held in ({"dataset": "walks"}, {"dataset": "recordings:elsewhere/walks.npz"}):
        (tmp_path / "report.json").write_text(json.dumps(held))
        claim_report(tmp_path / "report.json", mine)
        # a built-in set is not a file: it may not replace a file's figures
        with pytest.raises(ValueError, match="a recording file named walks.* \\(its folder unsaid\\)"):
            claim_report(tmp_path / "report.json", "kinder-gator")
    # one that says where its file was is still another file's figures
    (tmp_path / "report.json").write_text(
        json.dumps({"dataset": f"recordings:{tmp_path / 'b' / 'walks.npz'}"})
    )
    with pytest.raises(ValueError, match="give another --out"):
        claim_report(tmp_path / "report.json", mine)


def test_a_recording_left_out_is_named_in_the_feedback_summary(walking_only: Path, tmp_path: Path) -> None:
    # As stream_<file>.json did before 7cc387f: feedback_<file>.json counted 5 streams of a
    # 6-recording file, and only a warning on stderr said why.
    from dataclasses import replace

    from clips import load_clipset_file

    recs = list(load_clipset_file(walking_only).clips)
    short = recs[0].frame_labels
    recs[0] = replace(recs[0], joints=recs[0].joints[:15], times=recs[0].times[:15],
                      frame_labels=None if short is None else short[:15])  # fmt: skip
    path = tmp_path / "one_short.npz"
    save_clipset_file(path, recs)
    output, summary = _feedback(path, "1", tmp_path)
    assert summary["streams"] == 5 and list(summary["left_out_recordings"]) == [recs[0].name]
    assert "s of skeleton" in summary["left_out_recordings"][recs[0].name]
    assert '"left_out_recordings"' in output
