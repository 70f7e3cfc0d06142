"""``haad eval multiperson`` and ``haad bench frontend`` on real recordings (MediaPipe's test videos
composited into multi-person scenes, vtest.avi), through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from evaluation.composites import SEQUENCES, composite_frames
from evaluation.multiperson import Seen, id_switches, match_people
from haad.cli import app


def test_matching_is_one_to_one_within_half_a_height_and_id_switches_count_changes() -> None:
    centers = np.array([[100.0, 200.0], [300.0, 200.0]])
    heights = np.array([80.0, 80.0])
    seen = [Seen(7, (280, 160, 320, 240)), Seen(3, (85, 165, 115, 235)), Seen(9, (600, 160, 640, 240))]
    assert match_people(centers, heights, seen) == [3, 7]
    assert match_people(centers, heights, [Seen(1, (160, 160, 200, 240))]) == [None, None]  # 80 px off
    assert id_switches([1, 1, None, 1, 2, 2, None, 1]) == 2


def test_composited_people_are_where_their_boxes_say(data_root: Path) -> None:
    spec = next(s for s in SEQUENCES if s.name == "side_by_side")
    [frame] = list(composite_frames(spec, data_root / "mediapipe_pose_testdata", max_frames=1))
    assert frame.rgb.shape == (540, 960, 3) and all(frame.fully_visible)
    for x0, y0, x1, y1 in frame.boxes:
        inside = frame.rgb[int(y0) : int(y1), int(x0) : int(x1)]
        assert inside.std() > 20  # a person on their own background, not the flat canvas
    assert frame.boxes[0][2] < 480 < frame.boxes[1][0]  # one in each half


def test_eval_multiperson_side_by_side_finds_both_people_and_keeps_their_ids(data_root: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["eval", "multiperson", "--sequence", "side_by_side", "--no-vtest", "--no-reference", "--no-alerts", "--max-frames", "12", "--json",
         "--data-root", str(data_root)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [sequence] = json.loads(result.output[result.output.index("{") :])["sequences"]
    assert sequence["frames"] == 12
    for person in sequence["people"]:
        assert person["frames_in_view"] == 12 and person["recall"] >= 0.95 and person["id_switches"] == 0


@pytest.mark.slow
def test_eval_multiperson_crossing_keeps_both_ids_through_the_occlusion(data_root: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["eval", "multiperson", "--sequence", "crossing", "--no-vtest", "--no-reference", "--no-alerts", "--json",
         "--data-root", str(data_root)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [sequence] = json.loads(result.output[result.output.index("{") :])["sequences"]
    for person in sequence["people"]:
        assert person["recall"] >= 0.95 and person["id_switches"] == 0


@pytest.mark.slow
def test_bench_frontend_finds_one_two_and_four_people(data_root: Path) -> None:
    # 3 s of warm-up: a person is published once confirmed (pose_frontend.tracking), and the 4-person
    # scene's squatter, crouched at the start, is confirmed only as she rises.
    result = CliRunner().invoke(
        app,
        ["bench", "frontend", "--estimator", "multi", "--frames", "2", "--warmup", "30", "--json",
         "--data-root", str(data_root)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = {r["scene"]: r for r in json.loads(result.output[result.output.index("[") :])}
    assert [rows[s]["people"] for s in ("1 person", "2 people", "4 people")] == [1.0, 2.0, 4.0]
    assert rows["vtest.avi"]["people"] >= 3 and all(r["ms_median"] > 0 for r in rows.values())


def test_unknown_names_are_refused_with_the_known_ones(data_root: Path) -> None:
    result = CliRunner().invoke(
        app, ["eval", "multiperson", "--sequence", "nope", "--data-root", str(data_root)]
    )
    assert result.exit_code == 2 and "side_by_side" in result.output
    result = CliRunner().invoke(
        app, ["bench", "frontend", "--estimator", "nope", "--data-root", str(data_root)]
    )
    assert result.exit_code == 2 and "multi" in result.output


def test_options_beyond_the_settings_bounds_are_refused_as_those_options() -> None:
    # They once ended in a pydantic traceback naming PeopleConfig.
    result = CliRunner().invoke(
        app, ["eval", "multiperson", "--max-people", "100", "--tiles-per-frame", "999"]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--max-people: Input should be less than or equal to 32" in result.output
    assert "--tiles-per-frame" in result.output
