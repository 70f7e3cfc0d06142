"""``haad profiles list|show``: what is enrolled, without a review server (the bundled demo profile)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from typer.testing import CliRunner

from edge.demo import PROFILES_DIR
from haad.cli import app


def _edge_yaml(tmp_path: Path) -> Path:
    profiles = tmp_path / "profiles"
    shutil.copytree(PROFILES_DIR / "demo-walk", profiles / "demo-walk")
    config = tmp_path / "edge.yaml"
    stream = {"id": "door", "source": {"kind": "synthetic"}, "profiles": ["demo-walk"]}
    config.write_text(yaml.safe_dump({"profiles_dir": str(profiles), "streams": [stream]}))
    return config


def test_list_and_show_name_the_profile_its_behaviours_and_cameras(tmp_path: Path) -> None:
    # A user who had enrolled could see what was enrolled only by starting the review server.
    config = _edge_yaml(tmp_path)
    listed = CliRunner().invoke(app, ["profiles", "list", "--config", str(config), "--json"])
    assert listed.exit_code == 0, listed.output
    (walk,) = json.loads(listed.output)
    assert (walk["name"], walk["version"], walk["cameras"], walk["error"]) == ("demo-walk", 1, ["door"], None)
    assert [b["kind"] for b in walk["behaviours"]] == ["enrolled"] and walk["behaviours"][0]["windows"] > 0
    table = CliRunner().invoke(app, ["profiles", "list", "--config", str(config)])
    assert table.exit_code == 0 and table.output.splitlines()[1].split()[:3] == ["demo-walk", "v1", "1"]
    shown = CliRunner().invoke(app, ["profiles", "show", "demo-walk", "--config", str(config)])
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("profile demo-walk v1 (versions 1): threshold ")
    assert "cameras: door" in shown.output


def test_an_unreadable_newest_version_is_named_and_the_one_before_shown(tmp_path: Path) -> None:
    config = _edge_yaml(tmp_path)
    folder = tmp_path / "profiles" / "demo-walk"
    shutil.copy(folder / "v0001.json", folder / "v0002.json")
    (folder / "v0002.npz").write_bytes(b"not a zip")
    shown = CliRunner().invoke(app, ["profiles", "show", "demo-walk", "--config", str(config)])
    assert shown.exit_code == 0, shown.output
    assert "warning: profile demo-walk v2 is unreadable" in shown.output
    assert "profile demo-walk v1 (versions 1, 2)" in shown.output


def test_an_unknown_profile_and_an_empty_folder_say_so(tmp_path: Path) -> None:
    config = _edge_yaml(tmp_path)
    missing = CliRunner().invoke(app, ["profiles", "show", "ward", "--config", str(config)])
    assert missing.exit_code == 1
    assert missing.output.startswith(
        f"error: no profile named 'ward' in {tmp_path / 'profiles'} (enrolled there: demo-walk)"
    )
    shutil.rmtree(tmp_path / "profiles")
    empty = CliRunner().invoke(app, ["profiles", "list", "--config", str(config)])
    assert empty.exit_code == 0 and empty.output.startswith("no profile in ")
