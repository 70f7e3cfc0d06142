"""``haad eval stream --recordings``: users' own labelled continuous recordings, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from clips import Clip, save_clipset_file
from config.loader import parse_config
from config.training import EncoderTrainConfig
from evaluation.recordings import choose_support, parts
from evaluation.stream_sets import label_runs, most_active, stitch
from haad.cli import app
from models.preprocess import WindowSpec
from tests.haad.cli_helpers import onnx_config
from training.datasets import load_dataset
from training.protocol import KINDER_GATOR
from training.train_encoder import train_encoder

runner = CliRunner()
NORMAL = "Walk-in-place"
WAVE = "Wave-your-hand"


def _recording(walk: Clip, abnormal: Clip, short: Clip) -> Clip:
    """walk -> a 1.5 s stretch of ``short`` -> walk -> all of ``abnormal`` -> walk, blended; frames
    labelled by part, the 0.5 s blends left unlabelled."""
    joints, times, spans = stitch([walk, short, walk, abnormal, walk])
    labels = np.full(len(times), "", dtype=object)
    for (a, b), label in zip(spans, [NORMAL, short.label, NORMAL, abnormal.label, NORMAL], strict=True):
        labels[(times >= a) & (times <= b)] = label
    return Clip(joints, times, "", walk.subject, f"rec-{walk.subject}", labels.astype(str))


@pytest.fixture(scope="module")
def recording_set(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    kg = load_dataset("kinder-gator", data_root)
    by = {(c.subject, c.label): c for c in kg.clips if c.subject in KINDER_GATOR.test_subjects}
    subjects = sorted(KINDER_GATOR.test_subjects)[:4]
    recordings = [
        _recording(by[(s, NORMAL)], by[(s, "Punch")], most_active(by[(s, "Jump")], 1.5)) for s in subjects
    ]
    path = tmp_path_factory.mktemp("recordings") / "walks.npz"
    save_clipset_file(path, recordings)
    return path


@pytest.fixture(scope="module")
def two_behaviour_set(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Per person: walk -> wave -> a 1.5 s jump -> walk -> punch -> wave, each part labelled."""
    kg = load_dataset("kinder-gator", data_root)
    by = {(c.subject, c.label): c for c in kg.clips if c.subject in KINDER_GATOR.test_subjects}
    recordings = []
    for s in sorted(KINDER_GATOR.test_subjects)[:4]:
        walk, wave, punch = by[(s, NORMAL)], by[(s, WAVE)], by[(s, "Punch")]
        jump = most_active(by[(s, "Jump")], 1.5)
        joints, times, spans = stitch([walk, wave, jump, walk, punch, wave])
        labels = np.full(len(times), "", dtype=object)
        for (a, b), label in zip(spans, [NORMAL, WAVE, "Jump", NORMAL, "Punch", WAVE], strict=True):
            labels[(times >= a) & (times <= b)] = label
        recordings.append(Clip(joints, times, "", s, f"rec-{s}", labels.astype(str)))
    path = tmp_path_factory.mktemp("recordings") / "walk_wave.npz"
    save_clipset_file(path, recordings)
    return path


def test_runs_of_frame_labels_become_normal_and_abnormal_parts() -> None:
    labels = np.array(["n", "n", "", "x", "x", "n", "y"])
    assert label_runs(labels) == [("n", 0, 2), ("", 2, 3), ("x", 3, 5), ("n", 5, 6), ("y", 6, 7)]
    rec = Clip(np.zeros((7, 20, 3), np.float32), np.arange(7.0), frame_labels=labels)
    abnormal, normal, actions = parts(rec, "n")
    assert abnormal == ((3.0, 4.0), (6.0, 6.0)) and normal == ((0.0, 1.0), (5.0, 5.0))
    assert actions == ("x", "y")


def test_adjoining_runs_of_several_normal_labels_are_one_normal_part() -> None:
    labels = np.array(["n", "m", "m", "x", "", "m", "n", "y", "y"])
    rec = Clip(np.zeros((9, 20, 3), np.float32), np.arange(9.0), frame_labels=labels)
    abnormal, normal, actions = parts(rec, ["n", "m"])
    assert normal == ((0.0, 2.0), (5.0, 6.0)) and abnormal == ((3.0, 3.0), (7.0, 8.0))
    assert actions == ("x", "y")
    assert parts(rec, ["n"])[2] == ("m", "x", "m", "y")  # with one normal label the other is abnormal


def test_support_is_the_longest_normal_run_of_other_subjects_one_each_first() -> None:
    def rec(name: str, subject: str, normal_frames: int) -> Clip:
        labels = np.array(["n"] * normal_frames + ["x"] * 10)
        return Clip(
            np.zeros((len(labels), 20, 3), np.float32), np.arange(len(labels)) / 30, "", subject, name, labels
        )

    me, a1, a2, b, short = (
        rec("me", "s0", 90),
        rec("a1", "a", 60),
        rec("a2", "a", 90),
        rec("b", "b", 45),
        rec("c", "c", 20),
    )
    chosen = choose_support(me, [me, a1, a2, b, short], "n", 3, WindowSpec(), 1.0)
    assert [c.name for c in chosen] == ["a2:n", "b:n", "a1:n"]  # c's 0.63 s run is under the 1 s minimum
    assert all(len(c.joints) in (45, 60, 90) for c in chosen)


def test_eval_stream_on_a_recording_set_reports_both_scorers_and_recall_by_duration(
    recording_set: Path, tmp_path: Path
) -> None:
    args = ["eval", "stream", "--recordings", str(recording_set), "--normal", NORMAL, "--shots", "2"]
    result = runner.invoke(app, [*args, "--config", str(onnx_config(tmp_path)), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "| encoder |" in result.output and "| raw-dct |" in result.output
    summary = json.loads((tmp_path / "stream_walks.json").read_text())
    assert summary["streams"] == 4 and summary["normal"] == [NORMAL]
    for figures in (summary, summary["raw_dct"]):
        by = figures["alert_recall_by_duration"]
        assert by["1-2 s"]["parts"] == 4 and by[">3 s"]["parts"] == 4  # the 1.5 s jump and the punch
        assert by["<1 s"]["parts"] == 0 and by["2-3 s"]["parts"] == 0
        assert figures["frame_auc_mean"] is not None and figures["alert_recall"] is not None
        edges = figures["boundary_error_s"]
        assert 0 <= edges["start"]["median"] <= edges["start"]["p90"] and edges["end"]["median"] >= 0
    assert summary["frame_auc_mean"] > 0.8
    assert {p["stream"] for p in summary["per_stream"]} == {
        f"rec:rec-{s}" for s in sorted(KINDER_GATOR.test_subjects)[:4]
    }


def test_eval_stream_with_several_normal_labels_enrols_a_behaviour_of_each(
    two_behaviour_set: Path, tmp_path: Path
) -> None:
    args = ["eval", "stream", "--recordings", str(two_behaviour_set), "--normal", NORMAL, "--normal", WAVE]
    result = runner.invoke(
        app, [*args, "--shots", "2", "--config", str(onnx_config(tmp_path)), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "stream_walk_wave.json").read_text())
    assert summary["normal"] == [NORMAL, WAVE] and summary["abnormal_parts"] == 8  # jump and punch
    for row in summary["per_stream"]:
        me = row["stream"].removeprefix("rec:")
        behaviours = sorted(name.rsplit(":", 1)[1] for name in row["support"])
        assert behaviours == sorted([NORMAL, NORMAL, WAVE, WAVE]), row["support"]
        assert not any(name.startswith(f"{me}:") for name in row["support"])  # other people only
        assert 0.5 <= row["kinematic_weight"] <= 1.0  # worker.kinematic_floor at least
        assert row["vigour_reference"] > 0  # the most vigorous second of its support (edge/vigour.py)
    assert summary["frame_auc_mean"] > 0.8  # waving scores as normal as walking
    # with walking alone normal, each recording's two waves are abnormal parts too
    alone = runner.invoke(
        app, [*args[:-2], "--shots", "2", "--config", str(onnx_config(tmp_path)), "--out", str(tmp_path)]
    )
    assert alone.exit_code == 0, alone.output
    assert json.loads((tmp_path / "stream_walk_wave.json").read_text())["abnormal_parts"] == 16


def test_eval_stream_feedback_on_a_recording_set_probes_with_the_sets_own_actions(
    recording_set: Path, tmp_path: Path
) -> None:
    # Three of the four recordings: each still has two other people to enrol from (--shots 2) and
    # their punches and jumps as probes; the replays grow with the square of the recordings.
    from clips import load_clipset_file

    three = tmp_path / "three" / recording_set.name
    three.parent.mkdir()
    save_clipset_file(three, list(load_clipset_file(recording_set).clips[:3]))
    args = [
        "eval",
        "stream",
        "--recordings",
        str(three),
        "--normal",
        NORMAL,
        "--shots",
        "2",
        "--feedback",
        "1",
    ]
    result = runner.invoke(app, [*args, "--config", str(onnx_config(tmp_path)), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "feedback_walks.json").read_text())
    assert summary["streams"] == 3 and summary["marked_streams"] >= 1
    assert summary["recordings_file"] == str(three.resolve())
    # probes: the other recordings' punches and jumps, by the labels the frames carry
    assert set(summary["probes_by_action"]) <= {"Punch", "Jump"}
    assert summary["repeats"] + summary["unmarked"] == sum(
        c["probes"] for row in summary["probes_by_action"].values() for c in row.values()
    )


def test_eval_stream_scores_recordings_against_an_enrolled_profile(
    recording_set: Path, tmp_path: Path
) -> None:
    cfg = onnx_config(tmp_path)
    walks = [
        c
        for c in load_dataset("kinder-gator").clips
        if c.label == NORMAL and c.subject not in KINDER_GATOR.test_subjects
    ][:3]
    save_clipset_file(tmp_path / "enrol.npz", walks)
    enrolled = runner.invoke(
        app, ["enroll", "--profile", "walking", "--config", str(cfg), str(tmp_path / "enrol.npz")]
    )
    assert enrolled.exit_code == 0, enrolled.output
    args = ["eval", "stream", "--recordings", str(recording_set), "--normal", NORMAL, "--profile", "walking"]
    result = runner.invoke(app, [*args, "--config", str(cfg), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "stream_walks.json").read_text())
    assert summary["enrolment"] == "profile walking v1" and summary["raw_dct"]["alerts"] >= 0


def test_eval_stream_refuses_a_profile_cut_for_another_encoders_windows(
    tmp_path: Path, data_root: Path
) -> None:
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(yaml.safe_dump({"profiles_dir": str(tmp_path / "profiles")}))
    msr = load_dataset("msr", data_root).clips
    save_clipset_file(tmp_path / "waves.npz", [c for c in msr if c.label == "a01 high arm wave"][:3])
    args = [
        "enroll",
        "--profile",
        "waving",
        "--behaviour",
        "waving",
        "--config",
        str(cfg),
        str(tmp_path / "waves.npz"),
    ]
    enrolled = runner.invoke(app, args)  # 60-frame windows, the bundled encoder's
    assert enrolled.exit_code == 0, enrolled.output
    text = f"datasets: [msr]\ndata_root: {data_root}\nsteps: 1\nwindow: {{frames: 40}}\nencoder: {{hidden: 8, blocks: 1}}\n"
    trained = train_encoder(
        parse_config(text, EncoderTrainConfig), out=tmp_path / "w40.safetensors", progress=False
    )
    cfg.write_text(yaml.safe_dump({"profiles_dir": str(tmp_path / "profiles"), "encoder": str(trained.path)}))
    args = ["--recordings", str(tmp_path / "unread.npz"), "--normal", NORMAL, "--profile", "waving"]
    result = runner.invoke(
        app, ["eval", "stream", *args, "--config", str(cfg), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2, result.output
    assert (
        "error: profile waving v1: its windows are (60, 20, 3)" in result.output
        and "enrol it again" in result.output
    )


def test_recordings_need_frame_labels_and_a_normal_label_they_carry(tmp_path: Path) -> None:
    plain = tmp_path / "plain.npz"
    save_clipset_file(plain, [Clip(np.zeros((40, 20, 3), np.float32), np.arange(40) / 30, "x", "s", "a")])
    cfg = str(onnx_config(tmp_path))
    no_labels = runner.invoke(
        app, ["eval", "stream", "--recordings", str(plain), "--normal", "n", "--config", cfg]
    )
    assert no_labels.exit_code == 2 and "frame_labels" in no_labels.output
    no_normal = runner.invoke(app, ["eval", "stream", "--recordings", str(plain), "--config", cfg])
    assert no_normal.exit_code == 2 and "--normal" in no_normal.output
    # a built-in set has its own enrolment: --shots there was silently ignored
    shots = runner.invoke(
        app, ["eval", "stream", "--dataset", "kinder-gator", "--shots", "5", "--config", cfg]
    )
    assert shots.exit_code == 2 and "--shots go with --recordings" in shots.output


def test_a_recording_without_skeleton_is_left_out_and_fewer_shots_than_asked_are_said(
    recording_set: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # It once stayed in: never scored, it counted as a silent recording and its actions as missed.
    from dataclasses import replace

    from clips import load_clipset_file
    from evaluation.recordings import read_recording_set

    recs = list(load_clipset_file(recording_set).clips)
    recs[0] = replace(recs[0], joints=np.full_like(recs[0].joints, np.nan))
    path = tmp_path / "blind.npz"
    save_clipset_file(path, recs)
    with caplog.at_level("WARNING"):
        streams = read_recording_set(path, NORMAL, shots=5, spec=WindowSpec(), min_segment_s=1.0).streams
    assert [s.recording.name for s in streams] == [r.name for r in recs[1:]]
    assert not any(c.name.startswith(recs[0].name) for s in streams for c in s.support)
    assert all(len(s.support) == 2 for s in streams)  # 3 recordings: 2 others each, not the 5 asked
    assert "1 of 4 recordings left out" in caplog.text and recs[0].name in caplog.text
    assert "--shots 5" in caplog.text and "as few as 2" in caplog.text
    save_clipset_file(path, [replace(r, joints=np.full_like(r.joints, np.nan)) for r in recs])
    result = runner.invoke(
        app,
        [
            "eval",
            "stream",
            "--recordings",
            str(path),
            "--normal",
            NORMAL,
            "--config",
            str(onnx_config(tmp_path)),
        ],
    )
    assert result.exit_code == 2 and "no recording holds 1 s of skeleton" in result.output


def test_a_recording_left_out_is_named_in_the_summary_with_why(recording_set: Path, tmp_path: Path) -> None:
    # Only a warning on stderr said so: stream_<file>.json counted 3 streams of a 4-recording file,
    # and a reader of it could not tell that one recording's actions were in no figure.
    from dataclasses import replace

    from clips import load_clipset_file

    recs = list(load_clipset_file(recording_set).clips)
    recs[0] = replace(recs[0], joints=recs[0].joints[:15], times=recs[0].times[:15],
                      frame_labels=None if recs[0].frame_labels is None else recs[0].frame_labels[:15])  # fmt: skip
    path = tmp_path / "one_short.npz"
    save_clipset_file(path, recs)
    args = ["eval", "stream", "--recordings", str(path), "--normal", NORMAL, "--shots", "2"]
    result = runner.invoke(app, [*args, "--config", str(onnx_config(tmp_path)), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "stream_one_short.json").read_text())
    assert summary["streams"] == 3
    assert list(summary["left_out_recordings"]) == [recs[0].name]
    assert "s of skeleton" in summary["left_out_recordings"][recs[0].name]
    # The terminal gets the table and where the summary went; ~200 lines of the summary's JSON above
    # the table buried it (as fewshot, the figures are read from the file).
    assert "| encoder |" in result.output and f"wrote {tmp_path / 'stream_one_short.json'}" in result.output
    assert '"left_out_recordings"' not in result.output and "{" not in result.output


def test_each_recordings_parts_and_alerts_are_written_with_their_spans(
    recording_set: Path, tmp_path: Path
) -> None:
    # Per recording, stream_<file>.json gave counts alone (alerts 1, abnormal_parts 2): an outsider
    # could not check which part an alert caught, nor when, without rerunning the code.
    from clips import load_clipset_file
    from evaluation.recordings import parts

    args = ["eval", "stream", "--recordings", str(recording_set), "--normal", NORMAL, "--shots", "2"]
    result = runner.invoke(app, [*args, "--config", str(onnx_config(tmp_path)), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "stream_walks.json").read_text())["per_stream"]
    for rec, row in zip(load_clipset_file(recording_set).clips, rows, strict=True):
        abnormal, _, labels = parts(rec, NORMAL)
        assert row["subject"] == rec.subject and row["seconds"] == pytest.approx(rec.duration_s, abs=1e-3)
        assert row["abnormal_spans"] == [[pytest.approx(a, abs=1e-3), pytest.approx(b, abs=1e-3), label]
                                         for (a, b), label in zip(abnormal, labels, strict=True)]  # fmt: skip
        assert (
            len(row["alert_spans"]) == row["alerts"]
            and len(row["alert_spans_raw_dct"]) == row["alerts_raw_dct"]
        )
        for alert in row["alert_spans"]:
            (a, b), (c, d) = alert["windows"], alert["action"]
            assert rec.times[0] <= a <= c <= d <= b <= rec.times[-1] + 1e-3
            assert alert["abnormal"] == any(a <= y and b >= x for x, y in abnormal)
        assert any(alert["abnormal"] for r in rows for alert in r["alert_spans"])


def test_silent_recordings_are_counted_among_those_with_an_action_to_catch(
    recording_set: Path, tmp_path: Path
) -> None:
    # A wholly normal recording counted in the denominator ('silent recordings: 0 of 5'): a file of
    # normal recordings alone read '0 of N', as if N actions had all been caught.
    from dataclasses import replace

    from clips import load_clipset_file

    recs = list(load_clipset_file(recording_set).clips)
    calm = replace(recs[0], name="calm", frame_labels=np.full(len(recs[0].times), NORMAL))
    path = tmp_path / "with_calm.npz"
    save_clipset_file(path, [*recs, calm])
    args = ["eval", "stream", "--recordings", str(path), "--normal", NORMAL, "--shots", "2"]
    result = runner.invoke(app, [*args, "--config", str(onnx_config(tmp_path)), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "stream_with_calm.json").read_text())
    assert summary["streams"] == 5 and summary["streams_with_abnormal_parts"] == 4
    assert summary["raw_dct"]["streams_with_abnormal_parts"] == 4
    rows = [line for line in result.output.splitlines() if line.startswith(("| encoder", "| raw-dct"))]
    assert len(rows) == 2 and all(row.endswith(" of 4 |") for row in rows), rows


def test_eval_stream_refuses_options_its_mode_would_ignore(tmp_path: Path) -> None:
    unread = str(tmp_path / "unread.npz")
    for args, said in (
        (["--dataset", "msr-dense", "--recordings", unread, "--normal", NORMAL], "--dataset and --recordings"),
        (["--feedback", "1", "--pose-fps", "10"], "it takes no --pose-fps"),
        (["--feedback", "1", "--recordings", unread, "--normal", NORMAL, "--profile", "p", "--augment"],
         "it takes no --augment, --profile"),
        # it said no other subject had a normal run to enrol, of frames the metrics leave out
        (["--recordings", unread, "--normal", NORMAL, "--normal", " "],
         '--normal "": frames labelled "" are not annotated'),
        # an enrolled profile is scored as it is: the summary said it was augmented
        (["--recordings", unread, "--normal", NORMAL, "--profile", "p", "--augment", "--shots", "2"],
         "--profile scores against that enrolled profile; it takes no --shots, --augment"),
    ):  # fmt: skip
        result = runner.invoke(app, ["eval", "stream", *args, "--out", str(tmp_path)])
        assert result.exit_code == 2 and said in result.output and "error: " in result.output, result.output


def test_eval_stream_on_recordings_thins_to_the_pose_rate_and_plots(
    recording_set: Path, tmp_path: Path
) -> None:
    args = [
        "--recordings",
        str(recording_set),
        "--normal",
        NORMAL,
        "--pose-fps",
        "10",
        "--plots",
        str(tmp_path / "plots"),
    ]
    result = runner.invoke(
        app, ["eval", "stream", *args, "--config", str(onnx_config(tmp_path)), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "stream_walks.json").read_text())["pose_fps"] == 10.0
    assert len(list((tmp_path / "plots").glob("*.png"))) == 4  # one per recording
    # the terminal names every file written, as fewshot's does, the plots with the summary
    assert result.output.splitlines()[-1] == (
        f"wrote {tmp_path / 'stream_walks.json'} and a score timeline PNG per recording in {tmp_path / 'plots'}"
    )


def test_recordings_all_of_one_subject_are_refused_saying_how_subjects_choose_the_enrolment(
    tmp_path: Path,
) -> None:
    # One person recorded several times under one subject name: the error said only to give --profile.
    from evaluation.recordings import read_recording_set

    labels = np.array(["walk"] * 40 + ["kick"] * 20)
    joints = np.random.default_rng(0).normal(size=(60, 20, 3)).astype(np.float32)
    path = tmp_path / "me.npz"
    save_clipset_file(
        path, [Clip(joints, np.arange(60) / 20, "", "me", f"take{i}", labels) for i in range(3)]
    )
    with pytest.raises(ValueError, match=r"subjects: .*'me'.*\"\" makes each recording its own"):
        read_recording_set(path, "walk", shots=3, spec=WindowSpec(), min_segment_s=1.0)


def test_a_recording_left_out_for_a_joint_never_measured_names_the_joint() -> None:
    # A camera that never sees the feet: 'the clip has no frame with all joints finite' left the user
    # to find which of 20 joints.
    from evaluation.recordings import unscorable

    joints = np.random.default_rng(0).normal(size=(60, 20, 3)).astype(np.float32)
    joints[:, [15, 19]] = np.nan
    why = unscorable(Clip(joints, np.arange(60) / 20), WindowSpec(), 1.0)
    assert why is not None and "FootLeft, FootRight never measured (NaN in every frame)" in why

    # A recording every frame of which had a NaN timestamp (left out by the loader) named all 20.
    empty = unscorable(Clip(np.zeros((0, 20, 3), np.float32), np.zeros(0)), WindowSpec(), 1.0)
    assert empty == "the clip is empty (0 frames)"


def test_normal_labels_are_matched_without_the_blanks_around_them_as_the_files_are(tmp_path: Path) -> None:
    # The file's "walk " reads as "walk" (clips/files.py), so --normal "walk " could match nothing.
    path = tmp_path / "x.npz"
    labels = np.array(["x"] * 40)
    save_clipset_file(
        path, [Clip(np.zeros((40, 20, 3), np.float32), np.arange(40) / 20, "", "s", "a", labels)]
    )
    result = runner.invoke(
        app, ["eval", "stream", "--recordings", str(path), "--normal", " walk ", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2 and "no frame is labelled 'walk';" in result.output, result.output


def test_plots_of_recordings_whose_names_read_alike_once_made_safe_are_each_kept(tmp_path: Path) -> None:
    # --plots names each PNG by its recording, made safe for a file name: 'a/b' and 'a_b' both
    # wrote rec_a_b.png, the second over the first.
    from evaluation.feedback import plot_run
    from evaluation.stream import StreamRun
    from evaluation.stream_sets import LabelledStream

    rec = Clip(np.zeros((4, 20, 3), np.float32), np.arange(4.0))
    run = StreamRun([(0.0, 2.0, 0.5), (1.0, 3.0, 1.5)], [], [])
    names = ["rec:a/b", "rec:a_b", "rec:a:b", "plain-name"]
    for name in names:
        plot_run(tmp_path, LabelledStream(name, rec, NORMAL, ((1.0, 2.0),), ((0.0, 1.0),), ()), run)
    files = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(files) == len(names), files
    assert "plain-name.png" in files  # a name safe as it is keeps it


def test_a_recording_file_of_another_folders_file_name_is_refused_not_written_over(
    recording_set: Path, tmp_path: Path
) -> None:
    # Two recording-set files named walks.npz in different folders, one --out: the second run wrote
    # stream_walks.json over the first's figures, and nothing said so.
    elsewhere = tmp_path / "site-b" / recording_set.name
    first = {"dataset": f"recordings:{elsewhere}", "recordings_file": str(elsewhere), "frame_auc_mean": 0.9}
    (tmp_path / "stream_walks.json").write_text(json.dumps(first))
    result = runner.invoke(
        app,
        ["eval", "stream", "--recordings", str(recording_set), "--normal", NORMAL,
         "--config", str(onnx_config(tmp_path)), "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f"holds the figures of {elsewhere}" in result.output and "give another --out" in result.output
    assert json.loads((tmp_path / "stream_walks.json").read_text()) == first


def test_a_rerun_of_the_same_recording_file_may_replace_its_own_figures(tmp_path: Path) -> None:
    from evaluation.stream import _claim

    mine = tmp_path / "walks.npz"
    for held in (
        {"dataset": f"recordings:{mine}", "recordings_file": str(mine.resolve())},
        {"dataset": f"recordings:{mine}"},  # written before recordings_file was
    ):
        (tmp_path / "stream_walks.json").write_text(json.dumps(held))
        _claim(tmp_path, "walks", str(mine.resolve()))
    # a built-in set of that name is another set (a bare name that is none is a feedback report of
    # before recordings_file: tests/evaluation/test_feedback_cli.py)
    (tmp_path / "stream_kinder-gator.json").write_text(json.dumps({"dataset": "kinder-gator"}))
    with pytest.raises(ValueError, match="holds the figures of kinder-gator"):
        _claim(tmp_path, "kinder-gator", str((tmp_path / "kinder-gator.npz").resolve()))


def test_feedback_on_a_recording_file_of_another_folders_file_name_is_refused_not_written_over(
    recording_set: Path, tmp_path: Path
) -> None:
    # --feedback wrote feedback_<stem>.json over the figures of another folder's file of that name,
    # unsaid, as stream_<stem>.json did before 3559302.
    elsewhere = tmp_path / "site-b" / recording_set.name
    first = {"dataset": f"recordings:{elsewhere}", "recordings_file": str(elsewhere), "k": 1}
    (tmp_path / "feedback_walks.json").write_text(json.dumps(first))
    result = runner.invoke(
        app,
        ["eval", "stream", "--recordings", str(recording_set), "--normal", NORMAL, "--feedback", "1",
         "--config", str(onnx_config(tmp_path)), "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f"holds the figures of {elsewhere}" in result.output and "give another --out" in result.output
    assert "Traceback" not in result.output
    assert json.loads((tmp_path / "feedback_walks.json").read_text()) == first


def test_feedback_reruns_of_one_set_replace_their_own_figures_and_name_the_file(tmp_path: Path) -> None:
    from evaluation.stream import claim_report

    mine = tmp_path / "walks.npz"
    held = {"dataset": f"recordings:{mine}", "recordings_file": str(mine.resolve())}
    (tmp_path / "feedback_walks.json").write_text(json.dumps(held))
    claim_report(tmp_path / "feedback_walks.json", str(mine.resolve()))
    (tmp_path / "feedback_kinder-gator.json").write_text(json.dumps({"dataset": "kinder-gator", "k": 1}))
    claim_report(tmp_path / "feedback_kinder-gator.json", "kinder-gator")
    # a file named as a built-in set is another set
    with pytest.raises(ValueError, match="holds the figures of kinder-gator"):
        claim_report(tmp_path / "feedback_kinder-gator.json", str((tmp_path / "kinder-gator.npz").resolve()))


def test_a_pose_rate_whose_frames_are_all_holes_is_refused_not_scored_as_all_missed(tmp_path: Path) -> None:
    # --pose-fps 0.5 put frames 2 s apart, each a hole over worker.max_gap_s (0.5 s): no window was
    # scored, and the summary said alert recall 0.00 and 'silent recordings 4 of 4'.
    unread = str(tmp_path / "unread.npz")
    # at 2 fps the gaps are a period and part of a source frame's: 2 normal windows of 280 scored
    for pose_fps, rest in (("0.5", ["--recordings", unread, "--normal", NORMAL]), ("2", [])):
        result = runner.invoke(app, ["eval", "stream", *rest, "--pose-fps", pose_fps, "--out", str(tmp_path)])
        assert result.exit_code == 2, result.output
        assert (
            f"--pose-fps {pose_fps}: frames" in result.output and "worker.max_gap_s = 0.5 s" in result.output
        )
        assert "give --pose-fps over 2" in result.output
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(yaml.safe_dump({"worker": {"max_gap_s": 2.5}}))
    args = [
        "eval",
        "stream",
        "--recordings",
        unread,
        "--normal",
        NORMAL,
        "--pose-fps",
        "0.5",
        "--config",
        str(cfg),
    ]
    result = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert "--pose-fps" not in result.output and "unread.npz" in result.output, (
        result.output
    )  # on to the file
