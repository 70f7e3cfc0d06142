"""``haad frontend record`` walked as an operator enrolling from their own camera: what it says and
writes when the recording is not what they meant."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from clips.files import load_clipset_file
from haad.cli.frontend import app as frontend_app


def test_record_where_nobody_is_ever_seen_writes_nothing(tmp_path: Path) -> None:
    # It wrote the file, exit 0, "the person recorded in 0 of them": haad enroll then refused it
    # ("no joint is measured in any frame"), long after the operator had left the camera.
    np.save(tmp_path / "empty.npy", np.full((8, 20, 3), np.nan, dtype=np.float32))
    config = tmp_path / "f.yaml"
    config.write_text(
        f"streams:\n  - {{id: door, source: {{kind: skeleton, path: {tmp_path / 'empty.npy'}}}}}\n"
    )
    out = tmp_path / "a.npz"
    result = CliRunner().invoke(frontend_app, ["record", str(config), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "error: nobody was seen in the 8 frames of stream door: nothing written" in result.output
    assert not out.exists()


def test_recording_twice_to_one_file_says_it_replaced_the_first(tmp_path: Path) -> None:
    # A second take to the same --out silently replaced the first: now the line says so, and the
    # file is written beside it and renamed over it (a failed write leaves the first one whole).
    config = tmp_path / "f.yaml"
    config.write_text("streams:\n  - {id: door, source: {kind: synthetic, loop: true}}\n")
    out = tmp_path / "take.npz"
    runner = CliRunner()
    first = runner.invoke(frontend_app, ["record", str(config), "--out", str(out), "--max-seconds", "2"])
    assert first.exit_code == 0, first.output
    assert f"wrote {out}: stream door" in first.output
    second = runner.invoke(frontend_app, ["record", str(config), "--out", str(out), "--max-seconds", "1"])
    assert second.exit_code == 0, second.output
    assert f"wrote {out} (replacing the recording there): stream door, 31 frames" in second.output
    assert len(load_clipset_file(out).clips[0].joints) == 31
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".npz"] == [
        "take.npz"
    ]  # nothing left beside it


def test_record_of_several_people_names_the_one_it_kept(tmp_path: Path) -> None:
    # --person longest in a busy scene wrote "the person recorded in 5 of them": which person, and
    # the ids to ask for another with, were not said.
    people = np.full((6, 3, 20, 3), np.nan, dtype=np.float32)
    people[:2, 0] = people[:5, 1] = people[2:4, 2] = 0.5  # person 2 is in view the longest
    np.save(tmp_path / "three.npy", people)
    config = tmp_path / "f.yaml"
    config.write_text(
        f"streams:\n  - {{id: hall, source: {{kind: skeleton, path: {tmp_path / 'three.npy'}}}}}\n"
    )
    runner = CliRunner()
    out = tmp_path / "a.npz"
    longest = runner.invoke(frontend_app, ["record", str(config), "--out", str(out), "--person", "longest"])
    assert longest.exit_code == 0, longest.output
    assert "the person recorded in 5 of them" in longest.output
    assert (
        "kept person 2 of the people seen [1, 2, 3]; --person ID (or all) records another" in longest.output
    )
    first = runner.invoke(frontend_app, ["record", str(config), "--out", str(out)])
    assert "kept person 1 of the people seen [1, 2, 3]" in first.output
    every = runner.invoke(frontend_app, ["record", str(config), "--out", str(out), "--person", "all"])
    assert "kept person" not in every.output  # the line names each already
