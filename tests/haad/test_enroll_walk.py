"""``haad enroll`` as a new user walks it: what the terminal shows for clips it leaves out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clips import Clip
from clips.files import save_clipset_file
from tests.haad.cli_helpers import onnx_config


def test_a_clip_left_out_is_said_once_not_once_per_layer(tmp_path: Path, kinder_gator) -> None:  # type: ignore[no-untyped-def]
    # Each repeat was said twice on the terminal: "clip X skipped: given twice ..." (the library's
    # log line, through Python's last-resort handler) and then the command's own "warning: clip X
    # left out: given twice ...". A real process: pytest's log capture would swallow the first.
    walks: list[Clip] = [c for c in kinder_gator.clips if c.label == "Walk-in-place"][:2]
    clipset = tmp_path / "walk.npz"
    save_clipset_file(clipset, walks)
    args = [
        sys.executable,
        "-m",
        "haad",
        "enroll",
        "--profile",
        "ward",
        "--config",
        str(onnx_config(tmp_path)),
    ]
    done = subprocess.run([*args, str(clipset), str(clipset)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for c in walks:
        said = [line for line in done.stderr.splitlines() if f"{c.name} (2)" in line]
        assert said == [
            f"warning: clip {c.name} (2) left out: given twice (the same skeleton as clip {c.name})"
        ], done.stderr
    # Nothing left to enrol: the error names each clip and why, and no line says it before.
    again = subprocess.run(
        [*args, "--behaviour", "Walk-in-place", str(clipset)], capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 2 and again.stderr.startswith("error: no usable clip to enrol ("), again.stderr
    assert len(again.stderr.splitlines()) == 1, again.stderr


def test_adding_to_a_profile_of_another_encoder_says_it_was_re_embedded(tmp_path: Path, kinder_gator) -> None:  # type: ignore[no-untyped-def]
    # A behaviour added with a config naming another encoder re-embedded the whole profile for it and
    # recalibrated its threshold (0.84 -> 0.10 here) without a word: the new version is that encoder's.
    import torch
    import yaml
    from typer.testing import CliRunner

    from edge.profiles import ProfileStore
    from haad.cli import app
    from models.encoder import ActionEncoder, EncoderConfig, save_encoder
    from models.preprocess import WindowSpec

    walks, bows = (tmp_path / "walk.npz", tmp_path / "bow.npz")
    save_clipset_file(walks, [c for c in kinder_gator.clips if c.label == "Walk-in-place"][:3])
    save_clipset_file(bows, [c for c in kinder_gator.clips if c.label == "Bow"][:3])
    runner = CliRunner()
    first = runner.invoke(app, ["enroll", "--profile", "ward", "--behaviour", "walking", "--config",
                                str(onnx_config(tmp_path)), str(walks)])  # fmt: skip
    assert first.exit_code == 0, first.output
    torch.manual_seed(0)
    save_encoder(
        tmp_path / "tiny.safetensors",
        ActionEncoder(EncoderConfig(hidden=16, blocks=1)).eval(),
        WindowSpec(),
        {},
    )
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(yaml.safe_dump({"profiles_dir": str(tmp_path / "profiles"), "encoder": str(tmp_path / "tiny.safetensors"),
                                    "worker": {"backend": {"type": "torch"}}}))  # fmt: skip
    result = runner.invoke(
        app, ["enroll", "--profile", "ward", "--behaviour", "bowing", "--config", str(tiny), str(bows)]
    )
    assert result.exit_code == 0, result.output
    store = ProfileStore(tmp_path / "profiles")
    v1, v2 = store.load("ward", 1), store.load("ward", 2)
    assert v1.model_version != v2.model_version
    assert (
        f"warning: profile ward v1 was enrolled with model {v1.model_version}; v2 holds its windows re-embedded "
        f"with this config's model {v2.model_version}, threshold {v1.threshold:.3f} -> {v2.threshold:.3f}"
    ) in result.output


def test_a_behaviour_for_a_profile_none_of_whose_versions_loads_is_refused_not_made_anew(
    tmp_path: Path,
    kinder_gator,  # type: ignore[no-untyped-def]
) -> None:
    # `--behaviour bowing` on a profile whose one version was damaged made a new profile of bowing
    # alone (walking gone) with exit 0 and no warning; the docs promise exit 1 for a profile it
    # cannot add to.
    from typer.testing import CliRunner

    from haad.cli import app

    walks, bows = (tmp_path / "walk.npz", tmp_path / "bow.npz")
    save_clipset_file(walks, [c for c in kinder_gator.clips if c.label == "Walk-in-place"][:3])
    save_clipset_file(bows, [c for c in kinder_gator.clips if c.label == "Bow"][:3])
    args = ["enroll", "--profile", "ward", "--config", str(onnx_config(tmp_path))]
    runner = CliRunner()
    assert runner.invoke(app, [*args, "--behaviour", "walking", str(walks)]).exit_code == 0
    (tmp_path / "profiles" / "ward" / "v0001.json").write_text("{")
    result = runner.invoke(app, [*args, "--behaviour", "bowing", str(bows)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: profile ward v1 is unreadable: ") and result.output.endswith(
        "; enrol it anew without --behaviour to replace it\n"
    ), result.output
    assert sorted(p.name for p in (tmp_path / "profiles" / "ward").glob("v*.npz")) == ["v0001.npz"]


def test_a_behaviour_named_as_the_profiles_but_for_case_is_refused_before_pose_estimation(
    tmp_path: Path,
    kinder_gator,  # type: ignore[no-untyped-def]
) -> None:
    # --behaviour Walking on a profile of 'walking' made a second behaviour (after pose estimation of
    # every video given); it is refused at once, exit 2, as another bad name is.
    import cv2
    import numpy as np
    from typer.testing import CliRunner

    from haad.cli import app

    walks = tmp_path / "walk.npz"
    save_clipset_file(walks, [c for c in kinder_gator.clips if c.label == "Walk-in-place"][:3])
    video = tmp_path / "walk.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 25, (64, 48))  # type: ignore[attr-defined]
    for _ in range(75):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    args = ["enroll", "--profile", "ward", "--config", str(onnx_config(tmp_path))]
    runner = CliRunner()
    assert runner.invoke(app, [*args, "--behaviour", "walking", str(walks)]).exit_code == 0
    result = runner.invoke(app, [*args, "--behaviour", "Walking", str(video)])
    assert result.exit_code == 2 and result.output.startswith(
        "error: behaviours 'Walking' and 'walking' differ only in case"
    ), result.output


def test_a_short_clip_enrolled_already_is_refused_as_enrolled_not_as_too_short_to_calibrate(
    tmp_path: Path, kinder_gator
) -> None:  # type: ignore[no-untyped-def]
    # A 1.5 s clip of 'walking' given again under a new --behaviour was refused with "one clip of
    # 1.50 s cannot set a threshold ... enrol a second clip": a longer clip would have been refused
    # too, as already enrolled, the real reason.
    from dataclasses import replace

    from typer.testing import CliRunner

    from haad.cli import app

    walks = [c for c in kinder_gator.clips if c.label == "Walk-in-place"][:3]
    keep = walks[2].times <= walks[2].times[0] + 1.5  # between min_segment_s (1 s) and twice it
    short = replace(walks[2], joints=walks[2].joints[keep], times=walks[2].times[keep])
    save_clipset_file(tmp_path / "walk.npz", [*walks[:2], short])
    save_clipset_file(tmp_path / "short.npz", [short])
    args = ["enroll", "--profile", "ward", "--config", str(onnx_config(tmp_path))]
    runner = CliRunner()
    first = runner.invoke(app, [*args, "--behaviour", "walking", str(tmp_path / "walk.npz")])
    assert first.exit_code == 0 and "walking (3 clip(s)" in first.output, first.output
    again = runner.invoke(app, [*args, "--behaviour", "strolling", str(tmp_path / "short.npz")])
    said = " ".join(again.output.split())
    assert again.exit_code == 2 and f"{short.name}: already enrolled in profile ward (walking)" in said, said
    assert "cannot set a threshold" not in said


def test_a_short_video_enrolled_already_is_refused_as_enrolled_not_as_too_short_to_calibrate(
    tmp_path: Path,
    data_root: Path,
    kinder_gator,  # type: ignore[no-untyped-def]
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    # The video counterpart of the test above: a 1.5 s video of 'walking' given again under a new
    # --behaviour was refused before pose estimation with "one clip of 1.50 s cannot set a threshold
    # ... or a second clip"; only its skeleton tells that it is the clip the profile holds.
    import cv2
    from typer.testing import CliRunner

    import pose_frontend.record as record
    from haad.cli import app

    estimated: dict[str, object] = {}  # the video's pose estimation, run once for both enrolments
    real = record.record_clip
    monkeypatch.setattr(
        record,
        "record_clip",
        lambda s: estimated.get(s.source.path) or estimated.setdefault(s.source.path, real(s)),
    )
    source = cv2.VideoCapture(str(data_root / "mediapipe_pose_testdata" / "pose_1.mp4"))
    video = tmp_path / "short.mp4"  # 1.5 s at 10 fps, half size: little pose estimation, the same person
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (288, 288))  # type: ignore[attr-defined]
    for f in [source.read()[1] for _ in range(45)][::3]:
        writer.write(cv2.resize(f, (288, 288)))
    writer.release()
    walk = tmp_path / "walk.npz"  # the behaviour's second clip: a recorded one, no pose estimation
    save_clipset_file(walk, [next(c for c in kinder_gator.clips if c.label == "Walk-in-place")])
    args = ["enroll", "--profile", "ward", "--config", str(onnx_config(tmp_path))]
    runner = CliRunner()
    first = runner.invoke(app, [*args, "--behaviour", "walking", str(video), str(walk)])
    assert first.exit_code == 0 and "walking (2 clip(s)" in first.output, first.output
    again = runner.invoke(app, [*args, "--behaviour", "squatting", str(video)])
    said = " ".join(again.output.split())
    assert again.exit_code == 2 and "short.mp4: already enrolled in profile ward (walking)" in said, said
    assert "cannot set a threshold" not in said
    # another video of that name, too short itself: said as such, once its skeleton shows it is new
    (tmp_path / "new").mkdir()
    writer = cv2.VideoWriter(
        str(tmp_path / "new" / "short.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (288, 288)
    )  # type: ignore[attr-defined]
    for f in [source.read()[1] for _ in range(15)][::3]:
        writer.write(cv2.resize(f, (288, 288)))
    writer.release()
    new = runner.invoke(app, [*args, "--behaviour", "squatting", str(tmp_path / "new" / "short.mp4")])
    assert new.exit_code == 2 and new.output.startswith(
        "error: cannot enrol: short.mp4: the video holds at most 0.45 s of skeleton"
    ), new.output
    assert sorted(p.name for p in (tmp_path / "profiles" / "ward").glob("v*")) == ["v0001.json", "v0001.npz"]


def test_a_refused_new_profile_leaves_no_folder_behind(tmp_path: Path, kinder_gator) -> None:  # type: ignore[no-untyped-def]
    # Labels 'walk' and 'Walk' were refused (exit 2) once the profile's lock was taken, leaving
    # profiles/ward/ with nothing but its lock file: a profile folder for a profile never saved.
    from dataclasses import replace

    from typer.testing import CliRunner

    from haad.cli import app

    walks = [c for c in kinder_gator.clips if c.label == "Walk-in-place"][:2]
    twins = tmp_path / "twins.npz"
    save_clipset_file(twins, [replace(walks[0], label="walk"), replace(walks[1], label="Walk")])
    result = CliRunner().invoke(
        app, ["enroll", "--profile", "ward", "--config", str(onnx_config(tmp_path)), str(twins)]
    )
    assert result.exit_code == 2 and "behaviours 'Walk' and 'walk' differ only in case" in result.output
    assert not (tmp_path / "profiles").exists()
