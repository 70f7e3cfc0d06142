"""``haad eval fewshot`` on a user's own odd clip sets: every error says what would work."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from clips import Clip
from evaluation.fewshot import CannotScore, EvalWindows, evaluate, evaluate_dataset
from haad.cli import app
from models.encoder import ActionEncoder, EncoderConfig, save_encoder
from models.preprocess import WindowSpec


def _windows(labels: list[str], views: list[str] | None = None) -> tuple[EvalWindows, np.ndarray]:
    """One window per clip, of the given labels (and cameras), with random embeddings."""
    n = len(labels)
    tw = EvalWindows(
        np.zeros((n, 60, 20, 3), np.float32), np.arange(n), tuple(labels), tuple(f"c{i}" for i in range(n)),
        tuple(views or [""] * n), skipped=0, short=0, unlabelled=0,
    )  # fmt: skip
    return tw, np.random.default_rng(0).normal(size=(n, 8)).astype(np.float32)


def test_one_clip_per_category_does_not_advise_fewer_shots_than_one() -> None:
    # With one clip of each action it said 'give fewer --shots' at --shots 3 and again at --shots 1,
    # the least there is: no --shots works, a category needs a second clip to score.
    tw, emb = _windows(["walk", "sit", "wave"])
    for shots in (3, 1):
        with pytest.raises(ValueError) as e:
            evaluate(tw, emb, shots=shots, seeds=1)
        assert "fewer --shots" not in str(e.value)
        assert "at least 2 clips" in str(e.value), e.value


def test_too_many_shots_names_the_most_that_would_work() -> None:
    tw, emb = _windows(["walk"] * 3 + ["sit"] * 2 + ["wave"] * 2)
    for shots in (3, 4):
        with pytest.raises(ValueError, match=r"give fewer --shots \(2 at most\)"):
            evaluate(tw, emb, shots=shots, seeds=1)
    assert set(evaluate(tw, emb, shots=2, seeds=1).per_category) == {"walk"}


@pytest.fixture(scope="module")
def nw_ucla(data_root: Path):  # type: ignore[no-untyped-def]
    from training.datasets import load_dataset

    return load_dataset("nw-ucla", data_root)


def _few_cameras(nw_ucla, tmp_path: Path) -> tuple[Path, list[Clip]]:  # type: ignore[no-untyped-def]
    """A user's file of three actions seen by cameras v1 and v2, with every third clip's camera
    unnamed, and one action (throw) seen by v1 alone; a tiny encoder."""
    from clips import save_clipset_file

    clips = []
    for label, views in (("walk_around", ("v1", "v2")), ("sit_down", ("v1", "v2")), ("throw", ("v1",))):
        for view in views:
            clips += [c for c in nw_ucla.clips if c.label == label and c.view == view and len(c.times) >= 30][
                :4
            ]
    clips = [replace(c, view="") if i % 3 == 0 else c for i, c in enumerate(clips)]
    save_clipset_file(tmp_path / "mine.npz", clips)
    torch.manual_seed(0)
    save_encoder(
        tmp_path / "enc.safetensors",
        ActionEncoder(EncoderConfig(hidden=16, blocks=1)).eval(),
        WindowSpec(),
        {},
    )
    return tmp_path / "mine.npz", clips


def test_clips_without_a_camera_in_a_cross_view_file_are_counted_not_silently_dropped(
    nw_ucla,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    # A clip whose view is "" among clips of cameras v1 and v2 was never drawn nor scored (neither
    # camera's), yet counted in test_clips, and nothing said so.
    mine, clips = _few_cameras(nw_ucla, tmp_path)
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        app,
        ["eval", "fewshot", "--dataset", str(mine), "--encoder", str(tmp_path / "enc.safetensors"), "--shots", "2",
         "--seeds", "1", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    viewless = sum(not c.view for c in clips)
    assert summary["viewless_clips"] == viewless and summary["test_clips"] == len(clips) - viewless
    assert (
        f'{viewless} clip(s) without a camera (views "") left out of the cross-view protocol' in result.output
    )
    # throw has clips enough, all of one camera: the reason given is that, not too few clips
    assert summary["categories_never_normal"] == ["throw"]
    assert "fewer than 2 + 1 clips" not in result.output
    assert "never normal (no camera has 2 of its clips while another has one to score" in result.output


def test_the_summary_says_how_many_clips_each_category_has(nw_ucla, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # summary.json gave each category's AUC but not how many clips it stood on: a category of 4
    # clips looked as sure as one of 40.
    mine, clips = _few_cameras(nw_ucla, tmp_path)
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        app,
        ["eval", "fewshot", "--dataset", str(mine), "--encoder", str(tmp_path / "enc.safetensors"), "--shots", "2",
         "--seeds", "1", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    scored = [c.label for c in clips if c.view]  # the viewless ones are left out
    assert summary["clips_per_category"] == {label: scored.count(label) for label in sorted(set(scored))}


def test_a_camera_short_of_categories_for_behaviours_is_named() -> None:
    # The file has three actions, camera v2 two of them: --behaviours 2 said '2 of the 2 categories
    # of the scored clips are normal', which the user's three categories contradicted.
    labels = ["walk"] * 3 + ["sit"] * 3 + ["throw"] * 3 + ["walk"] * 3 + ["sit"] * 3
    tw, emb = _windows(labels, ["v1"] * 9 + ["v2"] * 6)
    with pytest.raises(ValueError, match=r"of camera 'v2' \(scored against support from 'v1'\)"):
        evaluate(tw, emb, shots=2, seeds=1, behaviours=2, support_view="v1", query_view="v2")


def test_a_category_normal_from_one_camera_only_is_summarised_not_refused() -> None:
    # Camera v2 has 2 sit clips: sit is normal with support from v1 but not from v2, so its AUCs
    # numbered half of walk's and the summary raised numpy's 'inhomogeneous shape' (haad eval
    # fewshot printed that as its error) instead of scoring the file.
    labels = ["walk"] * 3 + ["sit"] * 3 + ["walk"] * 3 + ["sit"] * 2
    tw, emb = _windows(labels, ["v1"] * 6 + ["v2"] * 5)
    result, by_pair = evaluate_dataset(tw, emb, shots=3, seeds=2)
    summary = result.summary(None)
    assert set(by_pair or {}) == {"v1->v2", "v2->v1"}
    assert len(result.per_category["sit"]) == 2 and len(result.per_category["walk"]) == 4
    assert summary["per_category"]["sit"]["auc"] == pytest.approx(np.mean(result.per_category["sit"]))
    assert np.isfinite(summary["std_over_seeds"]) and np.isfinite(summary["mean_category_std"])


def test_a_joint_never_measured_in_any_clip_is_named() -> None:
    # An export without hands (NaN in every frame) left every clip out, and the error said only
    # 'no window could be cut (e.g. no frame with every joint finite)', naming no joint.
    from clips import ClipSet
    from evaluation.fewshot import eval_windows
    from training.protocol import split_for

    joints = np.random.default_rng(0).normal(size=(40, 20, 3)).astype(np.float32)
    joints[:, 7] = np.nan  # HandLeft
    clips = tuple(
        Clip(joints, np.arange(40) / 30.0, label, "p", f"{label}{i}") for i, label in enumerate("ab")
    )
    clipset = ClipSet("handless", clips)
    with pytest.raises(ValueError, match=r"the first, a0: .*HandLeft never measured \(NaN in every frame\)"):
        eval_windows(clipset, split_for("handless.npz", clipset.subjects, clipset.labels), WindowSpec())


def test_the_table_of_short_category_names_keeps_its_columns_and_grammar() -> None:
    # With category names shorter than 'per-category std', that row's figures stood 3 places right
    # of the others'; --behaviours 2 said 'each category with 1 others'.
    from evaluation.run_fewshot import format_table

    method = {
        "per_category": {c: {"auc": 0.9, "std": 0.01, "unseen": True} for c in ("sit", "wave", "walk")},
        "all": 0.9, "seen": None, "unseen": 0.9, "std_over_seeds": 0.01, "mean_category_std": 0.01,
        "hardest_pairs": [],
    }  # fmt: skip
    summary = {
        "methods": {"encoder": method, "raw-dct": method},
        "shots": 3,
        "behaviours": 2,
        "rule": "prototype",
    }
    lines = format_table(summary).splitlines()
    rows = [
        line for line in lines if line.startswith(("all", "unseen", "std over seeds", "per-category std"))
    ]
    assert len(rows) == 4 and len({len(row) for row in rows}) == 1, "\n".join(rows)
    assert "each category with 1 other drawn per seed" in format_table(summary)


def test_a_sparse_camera_leaves_out_its_pairs_not_the_run(caplog: pytest.LogCaptureFixture) -> None:
    # Camera v3 has one clip of each action: no support set of 2 can be drawn from it, and the first
    # pair with v3 as the support camera stopped the whole run, the figures of v1 and v2 with it.
    labels = ["walk"] * 3 + ["sit"] * 3 + ["walk"] * 3 + ["sit"] * 3 + ["walk", "sit"]
    tw, emb = _windows(labels, ["v1"] * 6 + ["v2"] * 6 + ["v3"] * 2)
    with caplog.at_level("WARNING", logger="evaluation.fewshot"):
        result, by_pair = evaluate_dataset(tw, emb, shots=2, seeds=2)
    assert set(by_pair or {}) == {"v1->v2", "v2->v1", "v1->v3", "v2->v3"}
    assert set(result.pairs_left_out) == {"v3->v1", "v3->v2"}
    assert all("from camera 'v3'" in why for why in result.pairs_left_out.values())
    assert "2 of 6 camera pairs (support camera->scored camera) left out" in caplog.text
    # each pair scored gives what it gives alone: the sparse camera's pairs change no figure
    alone = [evaluate(tw, emb, shots=2, seeds=2, support_view=a, query_view=b) for a, b in
             (("v1", "v2"), ("v1", "v3"), ("v2", "v1"), ("v2", "v3"))]  # fmt: skip
    for cat in ("walk", "sit"):
        assert result.per_category[cat] == [auc for r in alone for auc in r.per_category[cat]]


def test_a_cross_view_file_with_no_pair_to_score_is_refused_naming_each_pair() -> None:
    # Each camera has one clip of each action: a support set of 2 can be drawn from neither.
    tw, emb = _windows(["walk", "sit"] * 2, ["v1", "v1", "v2", "v2"])
    with pytest.raises(CannotScore, match=r"none of the 2 camera pairs .*: v1->v2: .*'v1'.*; v2->v1: .*'v2'"):
        evaluate_dataset(tw, emb, shots=2, seeds=1)


def test_a_sparse_camera_of_a_users_file_is_said_in_the_summary_and_table(nw_ucla, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A held-out file whose camera v3 holds one clip of each action gave no figure at all.
    from clips import save_clipset_file

    clips = []
    for label in ("walk_around", "sit_down"):
        for view, n in (("v1", 3), ("v2", 3), ("v3", 1)):
            clips += [c for c in nw_ucla.clips if c.label == label and c.view == view and len(c.times) >= 30][
                :n
            ]
    save_clipset_file(tmp_path / "mine.npz", clips)
    torch.manual_seed(0)
    enc = tmp_path / "enc.safetensors"
    save_encoder(enc, ActionEncoder(EncoderConfig(hidden=16, blocks=1)).eval(), WindowSpec(), {})
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        app,
        ["eval", "fewshot", "--dataset", str(tmp_path / "mine.npz"), "--encoder", str(enc), "--shots", "2",
         "--seeds", "1", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    pairs = summary["camera_pairs"]
    assert pairs["scored"] == 4 and pairs["left_out"] == 2
    assert (
        set(pairs["left_out_why"])
        == {"v3->v1", "v3->v2"}
        == set(summary["cross_view"]["encoder"])
        ^ {"v1->v2", "v2->v1", "v1->v3", "v2->v3", "v3->v1", "v3->v2"}
    )
    assert "2 of 6 camera pairs left out, too few clips to score" in result.output


def test_more_behaviours_than_categories_asks_for_categories_not_clips() -> None:
    # Three actions of six clips each, --behaviours 4: it said 'only 3 categories have 3 clips ...
    # record more of each', and no number of clips of three actions makes four normal at once.
    tw, emb = _windows(["walk"] * 6 + ["sit"] * 6 + ["wave"] * 6)
    for behaviours in (4, 6):
        with pytest.raises(CannotScore) as e:
            evaluate(tw, emb, shots=3, seeds=1, behaviours=behaviours)
        assert "record more" not in str(e.value) and "--shots" not in str(e.value)
        assert (
            f"{behaviours} categories are normal at once (--behaviours), and the scored clips have 3"
            in str(e.value)
        )
        assert f"needs at least {behaviours + 1} categories" in str(e.value)
    # too few clips of enough categories is still said as it was
    tw, emb = _windows(["walk"] * 6 + ["sit"] * 2 + ["wave"] * 2)
    with pytest.raises(CannotScore, match=r"give fewer --shots \(2 at most\)"):
        evaluate(tw, emb, shots=3, seeds=1, behaviours=2)


def test_a_sensor_simulated_on_a_file_of_its_own_landmarks_is_refused(squat_clipset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # --sensor mediapipe on a file of MediaPipe's own landmarks added its jitter and depth errors a
    # second time, and the figure was said to be MediaPipe's.
    result = CliRunner().invoke(
        app,
        ["eval", "fewshot", "--dataset", str(squat_clipset("mine.npz")), "--sensor", "mediapipe", "--seeds", "1",
         "--out", str(tmp_path / "eval")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--sensor mediapipe:" in result.output and "(layout mediapipe33)" in result.output
    assert "leave out --sensor" in result.output and "Traceback" not in result.output
