"""The benchmark protocol: AUC, determinism under a seed, clear errors for bad arguments."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import product
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from edge.backends.raw_dct import raw_dct_features
from evaluation.fewshot import eval_windows, evaluate, evaluate_cross_view, roc_auc
from haad.cli import app
from models.encoder import ActionEncoder, EncoderConfig, save_encoder
from models.humanmac import HumanMAC, save_humanmac
from models.macdiff import DEFAULT_MACDIFF_PATH
from models.preprocess import WindowSpec
from training.datasets import DataNotFoundError, load_dataset
from training.protocol import MSR, NW_UCLA


def test_auc_matches_pair_counting() -> None:
    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=40), 1)  # rounding creates ties
    positive = rng.random(40) < 0.4
    pairs = [
        1.0 if p > n else 0.5 if p == n else 0.0 for p, n in product(scores[positive], scores[~positive])
    ]
    assert roc_auc(scores, positive) == pytest.approx(np.mean(pairs))


def test_auc_needs_both_classes() -> None:
    with pytest.raises(ValueError):
        roc_auc(np.ones(3), np.ones(3, dtype=bool))


@pytest.fixture(scope="module")
def msr_windows(data_root: Path):
    return eval_windows(load_dataset("msr", data_root), MSR, WindowSpec())


def test_protocol_is_deterministic_under_a_seed(msr_windows) -> None:
    emb = raw_dct_features(10)(msr_windows.windows)
    a = evaluate(msr_windows, emb, shots=3, seeds=3)
    b = evaluate(msr_windows, emb, shots=3, seeds=3)
    assert a.per_category == b.per_category
    c = evaluate(msr_windows, emb, shots=3, seeds=4)
    assert [v[:3] for v in c.per_category.values()] == list(a.per_category.values())
    summary = a.summary(MSR.unseen_labels)
    assert set(summary["per_category"]) == set(msr_windows.labels)
    assert 0.5 < summary["all"] < 1.0  # the raw-DCT baseline is better than chance on MSR


def test_several_behaviours_make_every_other_category_the_anomaly(msr_windows) -> None:
    from evaluation.scoring_rules import RULES

    emb = raw_dct_features(10)(msr_windows.windows)
    one = evaluate(msr_windows, emb, shots=3, seeds=2)
    assert evaluate(msr_windows, emb, shots=3, seeds=2, behaviours=1).per_category == one.per_category
    three = evaluate(msr_windows, emb, shots=3, seeds=2, behaviours=3)
    # each row's pairs: every category but the three normal ones, over the draws, so at most 19
    assert set(three.per_category) == set(one.per_category)
    assert all(len(row) <= 19 for row in three.per_pair.values())
    eq6 = evaluate(msr_windows, emb, shots=3, seeds=2, behaviours=3, rule=RULES["eq6"])
    assert three.per_category != eq6.per_category  # the rule is the one given
    with pytest.raises(
        ValueError, match=r"21 categories are normal at once \(--behaviours\), and the scored clips have 20"
    ):
        evaluate(msr_windows, emb, shots=3, seeds=1, behaviours=21)


def test_pair_aucs_split_each_category_auc_by_anomaly_category(msr_windows) -> None:
    # AUC counts correctly ordered (anomaly, normal) clip pairs, and the anomalies partition by category:
    # a category's AUC is its pair AUCs averaged with each anomaly category's clip count as weight
    emb = raw_dct_features(10)(msr_windows.windows)
    result = evaluate(msr_windows, emb, shots=3, seeds=2)
    labels, counts = np.unique(msr_windows.labels, return_counts=True)
    clips = dict(zip(labels.tolist(), counts.tolist(), strict=True))
    for cat, aucs in result.per_category.items():
        pairs = result.per_pair[cat]
        assert set(pairs) == set(clips) - {cat}
        for seed, auc in enumerate(aucs):
            weighted = np.average([pairs[d][seed] for d in pairs], weights=[clips[d] for d in pairs])
            assert weighted == pytest.approx(auc, abs=1e-9)
    hardest = result.hardest_pairs(3)
    means = result.pair_means()
    assert [h["auc"] for h in hardest] == sorted(h["auc"] for h in hardest)
    assert hardest[0]["auc"] == min(v for row in means.values() for v in row.values())


def test_support_variants_enter_the_support_set(msr_windows) -> None:
    emb = raw_dct_features(10)(msr_windows.windows)
    far = np.full((len(emb), 2, emb.shape[1]), 1e3, dtype=np.float32)
    plain = evaluate(msr_windows, emb, shots=3, seeds=1).summary(frozenset())["all"]
    noisy = evaluate(msr_windows, emb, shots=3, seeds=1, variant_embeddings=far).summary(frozenset())["all"]
    assert noisy != plain


def test_clips_with_less_skeleton_than_live_ever_scores_are_counted(data_root: Path) -> None:
    # Scored (a benchmark keeps its clips) but counted: a 0.4 s clip is one window stretched 7-fold.
    from dataclasses import replace

    msr = load_dataset("msr", data_root)
    test = [c for c in msr.clips if c.subject in MSR.test_subjects]
    before = eval_windows(msr, MSR, WindowSpec())
    cut = {c.name for c in test[:5]}
    short = [replace(c, joints=c.joints[:6], times=c.times[:6]) if c.name in cut else c for c in msr.clips]
    after = eval_windows(replace(msr, clips=tuple(short)), MSR, WindowSpec())
    assert after.short == before.short + 5 and after.labels == before.labels


def test_a_clip_set_with_no_category_left_to_be_an_anomaly_is_refused_in_words(data_root: Path) -> None:
    # It once failed deep inside the AUC: "AUC needs both positive and negative samples".
    from dataclasses import replace

    msr = load_dataset("msr", data_root)
    three = replace(msr, clips=tuple(c for c in msr.clips if c.label in sorted(set(msr.labels))[:3]))
    tw = eval_windows(three, MSR, WindowSpec())
    emb = raw_dct_features(10)(tw.windows)
    with pytest.raises(ValueError, match="3 of the 3 categories .* none is left to be an anomaly"):
        evaluate(tw, emb, shots=3, seeds=1, behaviours=3)
    assert evaluate(tw, emb, shots=3, seeds=1, behaviours=2).per_category


def test_cross_view_draws_support_from_one_camera_and_scores_another(data_root: Path) -> None:
    tw = eval_windows(load_dataset("nw-ucla", data_root), NW_UCLA, WindowSpec())
    assert set(tw.views) == {"v1", "v2", "v3"}
    emb = raw_dct_features(10)(tw.windows)
    merged, by_pair = evaluate_cross_view(tw, emb, shots=3, seeds=2)
    assert sorted(by_pair) == ["v1->v2", "v1->v3", "v2->v1", "v2->v3", "v3->v1", "v3->v2"]
    one = evaluate(tw, emb, shots=3, seeds=2, support_view="v1", query_view="v3")
    assert by_pair["v1->v3"] == pytest.approx(np.mean([np.mean(v) for v in one.per_category.values()]))
    # the merged figure is the mean over the six pairs
    assert merged.summary(frozenset())["all"] == pytest.approx(np.mean(list(by_pair.values())), abs=1e-9)
    # a camera's own clips score like any other query when the support comes from it: a different protocol
    same = evaluate(tw, emb, shots=3, seeds=2, support_view="v1", query_view="v1")
    assert same.per_category != one.per_category


@pytest.fixture(scope="module")
def msr_cli_run(tmp_path_factory: pytest.TempPathFactory, data_root: Path):  # type: ignore[no-untyped-def]
    """``haad eval fewshot`` on MSR with a small untrained encoder, two seeds: the encoder's file,
    the output folder and the CLI's result (its plain run, which the augmentation test compares with)."""
    folder = tmp_path_factory.mktemp("fewshot")
    torch.manual_seed(0)
    ckpt = folder / "enc.safetensors"
    save_encoder(ckpt, ActionEncoder(EncoderConfig(hidden=16, blocks=1)).eval(), WindowSpec(), {})
    out = folder / "eval"
    result = CliRunner().invoke(
        app,
        ["eval", "fewshot", "--dataset", "msr", "--encoder", str(ckpt), "--seeds", "2", "--out", str(out),
         "--data-root", str(data_root)],
    )  # fmt: skip
    return ckpt, out, result


def test_cli_writes_summary_and_plot(msr_cli_run) -> None:  # type: ignore[no-untyped-def]
    _, out, result = msr_cli_run
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dataset"] == "msr" and summary["shots"] == 3 and summary["seeds"] == 2
    assert (summary["behaviours"], summary["rule"]) == (1, "prototype")
    for method in ("encoder", "raw-dct"):
        m = summary["methods"][method]
        assert set(m) >= {"all", "seen", "unseen", "per_category"}
        assert m["unseen"] is not None and len(m["per_category"]) == 20
    assert (out / "roc_msr.png").stat().st_size > 1000
    assert "a03 hammer *" in result.output
    pairs = json.loads((out / "pairs.json").read_text())
    assert len(pairs["encoder"]) == 20 and all(len(row) == 19 for row in pairs["raw-dct"].values())
    worst = summary["methods"]["encoder"]["hardest_pairs"][0]
    assert pairs["encoder"][worst["normal"]][worst["anomaly"]] == worst["auc"]
    assert f"{worst['normal']} vs {worst['anomaly']}" in result.output


def test_cli_scores_nw_ucla_across_views_and_as_mediapipe_delivers_it(
    tmp_path: Path, data_root: Path
) -> None:
    torch.manual_seed(0)
    ckpt = tmp_path / "enc.safetensors"
    save_encoder(ckpt, ActionEncoder(EncoderConfig(hidden=16, blocks=1)).eval(), WindowSpec(), {})
    common = ["eval", "fewshot", "--dataset", "nw-ucla", "--encoder", str(ckpt), "--seeds", "1",
              "--data-root", str(data_root)]  # fmt: skip
    kinect = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "kinect")])
    mp = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "mp"), "--sensor", "mediapipe"])
    assert kinect.exit_code == 0 and mp.exit_code == 0, mp.output
    a = json.loads((tmp_path / "kinect" / "summary.json").read_text())
    b = json.loads((tmp_path / "mp" / "summary.json").read_text())
    assert a["sensor"] is None and b["sensor"] == {"name": "mediapipe", "seed": 0}
    for s in (a, b):
        assert set(s["cross_view"]) == {"encoder", "raw-dct"} and len(s["cross_view"]["raw-dct"]) == 6
    assert b["methods"]["raw-dct"]["all"] != a["methods"]["raw-dct"]["all"]  # the sensor changed the windows
    assert "v1->v2" in mp.output and "mediapipe sensor model" in mp.output
    unknown = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "x"), "--sensor", "oak-d"])
    assert unknown.exit_code == 2 and "mediapipe" in unknown.output


def test_cli_augments_the_encoders_support_sets_with_humanmac_completions(
    tiny_humanmac: HumanMAC, msr_cli_run, tmp_path: Path, data_root: Path
) -> None:
    ckpt, plain_out, plain = msr_cli_run  # the same command without --augment
    torch.manual_seed(0)
    model = tmp_path / "hm.safetensors"
    save_humanmac(model, tiny_humanmac, {})
    common = ["eval", "fewshot", "--dataset", "msr", "--encoder", str(ckpt), "--seeds", "2",
              "--data-root", str(data_root)]  # fmt: skip
    augmented = CliRunner().invoke(
        app,
        [*common, "--out", str(tmp_path / "aug"), "--augment", "2", "--aug-steps", "2", "--observed", "40",
         "--gap", "middle", "--humanmac", str(model), "--cache-dir", str(tmp_path / "banks")],
    )  # fmt: skip
    assert plain.exit_code == 0 and augmented.exit_code == 0, augmented.output
    a = json.loads((plain_out / "summary.json").read_text())
    b = json.loads((tmp_path / "aug" / "summary.json").read_text())
    assert a["support_augmentation"] is None
    assert {k: b["support_augmentation"][k] for k in ("n_g", "observed", "gap", "steps")} == {
        "n_g": 2, "observed": 40, "gap": "middle", "steps": 2,
    }  # fmt: skip
    assert b["methods"]["encoder"]["all"] != a["methods"]["encoder"]["all"]  # completions joined the support
    assert b["methods"]["raw-dct"] == a["methods"]["raw-dct"]  # the baseline is never augmented
    assert len(list((tmp_path / "banks").glob("*.npy"))) == 1
    assert "2 HumanMAC completions per window" in augmented.output
    impossible = CliRunner().invoke(app, [*common, "--augment", "2", "--observed", "1", "--gap", "middle",
                                          "--humanmac", str(model), "--cache-dir", str(tmp_path / "banks")])  # fmt: skip
    assert impossible.exit_code == 2 and "observed" in impossible.output


def test_unknown_dataset_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'humanact12'"):
        load_dataset("humanact12")
    result = CliRunner().invoke(app, ["eval", "fewshot", "--dataset", "humanact12"])
    assert result.exit_code != 0


def test_missing_data_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="dataset folder not found"):
        load_dataset("msr", tmp_path / "nowhere")
    with pytest.raises(DataNotFoundError, match="MSR Action3D"):
        load_dataset("msr", tmp_path)


def test_a_clip_set_file_is_never_scored_as_the_benchmark_its_name_matches(
    tmp_path: Path, data_root: Path
) -> None:
    # A user's msr.npz once got MSR's split: its subjects 1-6 dropped as training people, every
    # category called seen. A category with too few clips to be normal is said, not silently dropped.
    from clips import save_clipset_file

    clips = [
        c
        for c in load_dataset("msr", data_root).clips
        if c.label in ("a01 high arm wave", "a02 horizontal arm wave")
    ]
    clips += [c for c in load_dataset("msr", data_root).clips if c.label == "a05 forward punch"][:3]
    save_clipset_file(tmp_path / "msr.npz", clips)
    torch.manual_seed(0)
    ckpt = tmp_path / "enc.safetensors"
    save_encoder(ckpt, ActionEncoder(EncoderConfig(hidden=16, blocks=1)).eval(), WindowSpec(), {})
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        app, ["eval", "fewshot", "--dataset", str(tmp_path / "msr.npz"), "--encoder", str(ckpt), "--seeds", "1",
              "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test_clips"] == len(clips) and summary["methods"]["encoder"]["seen"] is None
    assert summary["categories_never_normal"] == ["a05 forward punch"] and "never normal" in result.output


def test_a_generator_of_other_window_lengths_than_the_encoders_is_refused_in_words(tmp_path: Path) -> None:
    ckpt = tmp_path / "enc40.safetensors"
    save_encoder(
        ckpt, ActionEncoder(EncoderConfig(frames=40, hidden=16, blocks=1)).eval(), WindowSpec(frames=40), {}
    )
    base = [
        "eval",
        "fewshot",
        "--dataset",
        "msr",
        "--encoder",
        str(ckpt),
        "--seeds",
        "1",
        "--out",
        str(tmp_path),
    ]
    for extra, model in (
        (["--augment", "1", "--aug-steps", "1"], "HumanMAC"),
        (["--macdiff", str(DEFAULT_MACDIFF_PATH)], "MacDiff"),
    ):
        result = CliRunner().invoke(app, [*base, *extra])
        assert result.exit_code == 2, result.output
        assert f"error: {model} takes windows of 60 frames, the encoder cuts 40" in result.output


def test_a_clip_set_file_that_is_not_there_exits_2_as_haad_eval_stream_does(tmp_path: Path) -> None:
    # It exited 1, which reads as a failed run rather than a wrong argument.
    missing = tmp_path / "mine.npz"
    result = CliRunner().invoke(
        app, ["eval", "fewshot", "--dataset", str(missing), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and f"clip-set file not found: {missing}" in result.output


def test_unlabelled_clips_of_a_clip_set_file_are_left_out_and_counted_not_a_category(
    tmp_path: Path, data_root: Path
) -> None:
    # Clips with label "" (labels is optional) were scored as a category named "": with a fifth of
    # the clips unlabelled every real category fell to 'never normal' and 'all' was the AUC of "".
    from clips import save_clipset_file

    clips = [
        c
        for c in load_dataset("msr", data_root).clips
        if c.label in ("a01 high arm wave", "a05 forward punch")
    ]
    clips = [replace(c, label="") if i % 5 == 0 else c for i, c in enumerate(clips)]
    save_clipset_file(tmp_path / "mine.npz", clips)
    torch.manual_seed(0)
    ckpt = tmp_path / "enc.safetensors"
    save_encoder(ckpt, ActionEncoder(EncoderConfig(hidden=16, blocks=1)).eval(), WindowSpec(), {})
    out = tmp_path / "eval"
    base = ["eval", "fewshot", "--encoder", str(ckpt), "--seeds", "1", "--out", str(out)]
    result = CliRunner().invoke(app, [*base, "--dataset", str(tmp_path / "mine.npz")])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    unlabelled = sum(not c.label for c in clips)
    assert summary["unlabelled_clips"] == unlabelled and summary["test_clips"] == len(clips) - unlabelled
    assert set(summary["methods"]["encoder"]["per_category"]) == {"a01 high arm wave", "a05 forward punch"}
    assert f"{unlabelled} clip(s) without a label left out" in result.output
    # a file with no labels at all (a recording-set file, say) is refused saying so
    save_clipset_file(tmp_path / "recordings.npz", [replace(c, label="") for c in clips])
    result = CliRunner().invoke(app, [*base, "--dataset", str(tmp_path / "recordings.npz")])
    assert result.exit_code == 2 and "no clip has a label" in result.output, result.output


def test_too_few_clips_for_the_shots_asked_says_to_give_fewer(msr_windows) -> None:
    # A user's small file (two people, say) got only 'no category has more than 3 test clips'.
    from collections import Counter

    emb = raw_dct_features(10)(msr_windows.windows)
    most = max(Counter(msr_windows.labels).values())
    for shots in (most, most + 1):  # none left to score; none with a support set at all
        with pytest.raises(ValueError, match=r"give fewer --shots"):
            evaluate(msr_windows, emb, shots=shots, seeds=1)
