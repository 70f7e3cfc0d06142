"""``haad alerts review ID --normal``: a refused action says why without first previewing the
cameras it "changes" (which read as if it had been applied); real SQLite log, real profiles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from review_helpers import Seeded
from typer.testing import CliRunner

from edge.profiles import ProfileStore
from haad.cli import app

runner = CliRunner()


def _said(output: str) -> str:
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


@pytest.mark.parametrize("scope", ["all", "camera"])
def test_marking_normal_as_an_enrolled_behaviour_is_refused_before_any_preview(
    tmp_path: Path, seeded: Seeded, scope: str
) -> None:
    # It printed "... every camera using it: changes dock, door" and only then the refusal; and for
    # one camera's overlay it was not refused at all: a feedback behaviour named as the enrolled one.
    cfg = tmp_path / "edge.yaml"
    streams = [{"id": "door", "profiles": ["demo-walk"]}, {"id": "dock", "profiles": ["demo-walk"]}]
    cfg.write_text(
        yaml.safe_dump(
            {"store": {"url": seeded.url}, "profiles_dir": str(seeded.profiles), "streams": streams}
        )
    )
    r = runner.invoke(
        app,
        ["alerts", "review", str(seeded.ids[0]), "--normal", "--scope", scope, "--yes", "--config", str(cfg),
         "--behaviour", "walk_in_place"],
    )  # fmt: skip
    said = _said(r.output)
    assert r.exit_code == 1 and "behaviour 'walk_in_place' is enrolled" in said, r.output
    assert "changes" not in said, r.output
    assert ProfileStore(seeded.profiles).latest_version("demo-walk") == 1
    assert not (seeded.profiles / "demo-walk" / "overlays").exists() or not any(
        (seeded.profiles / "demo-walk" / "overlays").iterdir()
    )


def test_marking_normal_again_is_refused_before_any_preview(tmp_path: Path, seeded: Seeded) -> None:
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(yaml.safe_dump({"store": {"url": seeded.url}, "profiles_dir": str(seeded.profiles)}))
    base = ["alerts", "review", str(seeded.ids[0]), "--normal", "--yes", "--config", str(cfg)]
    assert runner.invoke(app, [*base, "--scope", "all"]).exit_code == 0
    r = runner.invoke(app, [*base, "--scope", "camera"])
    said = _said(r.output)
    assert r.exit_code == 1 and "already normal in demo-walk" in said and "changes" not in said, r.output


def test_marking_normal_without_a_config_says_where_profiles_were_looked_for(
    tmp_path: Path, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After `haad demo`, whose last line says "review them with: haad alerts list --db ...", the same
    # --db with --normal said only "no profile named 'demo-walk' in <cwd>/profiles".
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # no ./profiles here: the seeded ones are in tmp_path
    r = runner.invoke(
        app,
        [
            "alerts",
            "review",
            str(seeded.ids[0]),
            "--normal",
            "--scope",
            "camera",
            "--yes",
            "--db",
            seeded.url,
        ],
    )
    said = _said(r.output)
    assert r.exit_code == 1 and "no profile named 'demo-walk'" in said, r.output
    assert "--config" in said and "profiles_dir" in said and "changes" not in said, r.output


def test_export_windows_given_a_npz_file_name_is_refused_not_made_a_folder(
    tmp_path: Path, seeded: Seeded
) -> None:
    # --windows w.npz made a folder named w.npz holding 1.npz, 2.npz, ...: np.load("w.npz") then
    # failed with IsADirectoryError.
    r = runner.invoke(
        app,
        ["alerts", "export", "--db", seeded.url, "--out", str(tmp_path / "a.jsonl"), "--windows", str(tmp_path / "w.npz")],
    )  # fmt: skip
    said = _said(r.output)
    assert r.exit_code == 2 and "--windows" in said and "a folder" in said, r.output
    assert not (tmp_path / "w.npz").exists() and not (tmp_path / "a.jsonl").exists()
