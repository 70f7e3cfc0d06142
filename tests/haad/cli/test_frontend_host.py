"""A separate frontend host as its operator sees it: `haad config validate --frontend` checks the file
`haad frontend run` reads, `haad frontend run` warns of a secret key every user may read, and
`haad frontend record` records the person the operator asks for out of a busy scene."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bus.curve import make_client_keys, make_server_keys
from clips.files import load_clipset_file
from haad.cli import app

runner = CliRunner()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _keys(tmp_path: Path) -> tuple[Path, Path]:
    """The worker's public key and a frontend's secret key, as `haad keys` writes them (mode 600)."""
    server, _ = make_server_keys(tmp_path / "keys")
    _, client = make_client_keys(tmp_path / "keys", "door")
    return server, client


def _frontend_file(tmp_path: Path, source: str = "{kind: synthetic, realtime: false}") -> Path:
    server, client = _keys(tmp_path)
    return _write(
        tmp_path / "frontend.yaml",
        f"""
bus: {{endpoint: "tcp://127.0.0.1:5999", curve: {{server_public_key: {server}, client_secret_key: {client}}}}}
streams:
  - id: door
    source: {source}
""",
    )


def test_validate_checks_a_frontend_hosts_file_as_frontend_run_does(tmp_path: Path) -> None:
    # validate read every file as an edge.yaml: a frontend host's file was refused for the worker's
    # keys it must not hold ("bus.curve needs server_secret_key, authorized_clients here").
    config = _frontend_file(tmp_path)
    result = runner.invoke(app, ["config", "validate", "--frontend", str(config)])
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"{config}: valid (frontend host: 1 stream(s) publishing to tcp://127.0.0.1:5999)\n"
    )
    # checked as an edge.yaml, it says how to check it as what it is
    result = runner.invoke(app, ["config", "validate", str(config)])
    assert result.exit_code == 2 and "`haad config validate --frontend FILE`" in result.output


def test_validate_frontend_gives_frontend_runs_errors_and_exit_codes(tmp_path: Path) -> None:
    missing = _frontend_file(tmp_path, f"{{kind: video, path: {tmp_path / 'gone.mp4'}}}")
    validated = runner.invoke(app, ["config", "validate", "--frontend", str(missing)])
    ran = runner.invoke(app, ["frontend", "run", str(missing)])
    assert validated.exit_code == ran.exit_code == 2
    assert "stream door:" in validated.output and "gone.mp4" in validated.output
    assert validated.output == ran.output
    # a setting it does not know, with its line, as for edge.yaml
    typo = _write(tmp_path / "typo.yaml", "streams:\n  - id: door\n    sorce: {kind: synthetic}\n")
    result = runner.invoke(app, ["config", "validate", "--frontend", str(typo)])
    assert result.exit_code == 2 and f"{typo}:3: streams.0.sorce" in result.output
    # an edge.yaml given for a frontend file: said once what a frontend file holds
    edge = _write(tmp_path / "edge.yaml", "streams: [{id: a}]\nstore: {url: 'sqlite:///a.db'}\n")
    result = runner.invoke(app, ["config", "validate", "--frontend", str(edge)])
    assert result.exit_code == 2
    assert (
        f"{edge}: store: only an edge.yaml (haad run) takes this setting; a frontend host's file takes"
        in (result.output)
    )
    result = runner.invoke(app, ["config", "validate", "--frontend", str(tmp_path / "none.yaml")])
    assert (
        result.exit_code == 2 and f"configuration file not found: {tmp_path / 'none.yaml'}" in result.output
    )


def test_validate_frontend_warns_of_a_client_secret_key_every_user_may_read(tmp_path: Path) -> None:
    config = _frontend_file(tmp_path)
    secret = tmp_path / "keys" / "door.key_secret"
    secret.chmod(0o644)  # copied to the frontend host with a umask of 022
    result = runner.invoke(app, ["config", "validate", "--frontend", str(config)])
    assert result.exit_code == 0, result.output
    assert f"{config}: warning: bus.curve: every user may read the secret key {secret} (chmod 600 it)" in (
        result.output
    )


def test_frontend_run_warns_of_a_secret_key_and_camera_password_every_user_may_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The edge host's validate and `haad run` warn of their secret key; a frontend host, holding the
    # key its frames are sent with, said nothing.
    import haad.cli.frontend

    # no worker reads these frames: each run need not hold its ended stream's queue 2 s for one
    monkeypatch.setattr(haad.cli.frontend, "REMOTE_FLUSH_S", 0.1)
    config = _frontend_file(
        tmp_path, "{kind: synthetic, realtime: false, script: [{motion: idle, seconds: 0.2}]}"
    )
    secret = tmp_path / "keys" / "door.key_secret"
    result = runner.invoke(app, ["frontend", "run", str(config)])
    assert result.exit_code == 0, result.output
    assert "every user may read" not in result.output
    secret.chmod(0o644)
    result = runner.invoke(app, ["frontend", "run", str(config)])
    assert result.exit_code == 0, result.output
    assert f"{config}: warning: bus.curve: every user may read the secret key {secret} (chmod 600 it)" in (
        result.output
    )


def test_a_camera_password_file_every_user_may_read_is_warned_of_on_the_frontend_host(tmp_path: Path) -> None:
    password = _write(tmp_path / "cam.pw", "hunter2\n")
    password.chmod(0o644)
    config = _frontend_file(
        tmp_path, f"{{kind: url, url: 'rtsp://admin@10.0.0.5/s1', password: {{file: {password}}}}}"
    )
    result = runner.invoke(app, ["config", "validate", "--frontend", str(config)])
    assert result.exit_code == 0, result.output
    assert f"warning: streams.0.source.password: every user may read {password} (chmod o-rwx it)" in (
        result.output
    )


def _busy_scene(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A replay of three people: 1 passes by first (frames 0-2), 2 performs throughout (0-9), 3 comes
    in late (6-9)."""
    people = np.random.default_rng(5).normal(size=(10, 3, 20, 3)).astype(np.float32)
    people[3:, 0] = np.nan
    people[:6, 2] = np.nan
    np.save(tmp_path / "busy.npy", people)
    config = _write(
        tmp_path / "f.yaml",
        f"streams:\n  - {{id: lobby, source: {{kind: skeleton, path: {tmp_path / 'busy.npy'}, fps: 10}}}}\n",
    )
    return config, people


def test_record_every_person_of_a_busy_scene_as_a_clip_each(tmp_path: Path) -> None:
    # Only the first person seen was kept: the performer enrolment was for was dropped whenever a
    # passer-by came into view before them.
    config, people = _busy_scene(tmp_path)
    out = tmp_path / "all.npz"
    result = runner.invoke(app, ["frontend", "record", str(config), "--out", str(out), "--person", "all"])
    assert result.exit_code == 0, result.output
    assert "3 people, one clip each, in view in 3 (person 1), 10 (person 2), 4 (person 3)" in result.output
    clips = load_clipset_file(out).clips
    assert [c.name for c in clips] == ["lobby:normal:person1", "lobby:normal:person2", "lobby:normal:person3"]
    assert len({c.subject for c in clips}) == 3
    for p, clip in enumerate(clips):
        seen = np.isfinite(people[:, p]).all(axis=(1, 2))
        np.testing.assert_allclose(clip.joints[seen], people[seen, p], atol=1e-6)
        assert np.isnan(clip.joints[~seen]).all()


@pytest.mark.parametrize(("person", "recorded"), [("longest", 1), ("3", 2), ("first", 0)])
def test_record_the_person_asked_for(tmp_path: Path, person: str, recorded: int) -> None:
    config, people = _busy_scene(tmp_path)
    out = tmp_path / "one.npz"
    result = runner.invoke(app, ["frontend", "record", str(config), "--out", str(out), "--person", person])
    assert result.exit_code == 0, result.output
    [clip] = load_clipset_file(out).clips
    seen = np.isfinite(people[:, recorded]).all(axis=(1, 2))
    np.testing.assert_allclose(clip.joints[seen], people[seen, recorded], atol=1e-6)
    assert clip.name == "lobby:normal"


def test_record_the_people_asked_for_by_id_a_clip_each(tmp_path: Path) -> None:
    config, people = _busy_scene(tmp_path)
    out = tmp_path / "two.npz"
    args = ["frontend", "record", str(config), "--out", str(out), "--person", "3", "--person", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2 people, one clip each, in view in 4 (person 3), 3 (person 1)" in result.output
    assert [c.name for c in load_clipset_file(out).clips] == ["lobby:normal:person3", "lobby:normal:person1"]


def test_record_refuses_a_person_not_seen_and_a_bad_choice(tmp_path: Path) -> None:
    config, _ = _busy_scene(tmp_path)
    out = tmp_path / "x.npz"
    args = ["frontend", "record", str(config), "--out", str(out)]
    result = runner.invoke(app, [*args, "--person", "2", "--person", "7"])
    assert result.exit_code == 1 and "no person [7] in the recording; people seen: [1, 2, 3]" in result.output
    assert not out.exists()
    result = runner.invoke(app, [*args, "--person", "everyone"])
    assert result.exit_code == 2 and "give first, longest or all (alone), or person ids" in result.output
    result = runner.invoke(app, [*args, "--person", "all", "--person", "2"])
    assert result.exit_code == 2 and "'all 2': give first, longest or all (alone)" in result.output


_opened: list[str] = []


def _count_opens(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and isinstance(args[0], str | Path):
        _opened.append(str(args[0]))


sys.addaudithook(_count_opens)  # audit hooks stay for the session: it only notes names


@pytest.mark.parametrize("command", ["run", "record"])
def test_the_config_file_is_read_once(tmp_path: Path, command: str) -> None:
    # An edge.yaml given to `haad frontend run` was read (and parsed) twice: once refused, then again
    # to tell it is an edge.yaml; `record` read one twice, to tell what it is, then to load it.
    edge = _write(tmp_path / "edge.yaml", "streams: [{id: a, source: {kind: synthetic, script: [{seconds: 0.2}]}}]\n"
                  "store: {url: 'sqlite:///a.db'}\n")  # fmt: skip
    args = ["run", str(edge)] if command == "run" else ["record", str(edge), "--out", str(tmp_path / "a.npz")]
    _opened.clear()
    result = runner.invoke(app, ["frontend", *args])
    assert result.exit_code == (2 if command == "run" else 0), result.output
    assert _opened.count(str(edge)) == 1


def test_a_recording_keeps_each_joints_visibility_for_its_reader_to_judge(
    tmp_path: Path, squat_clipset: Callable[..., Path]
) -> None:
    # Recorded for `haad enroll`, a frame the worker counts missing (its mean visibility under
    # worker.min_visibility) was written as fully seen: enrolment learnt from frames live scoring skips.
    visibility = np.ones((65, 33), np.float32)
    visibility[20:23, 25:33] = 0.0  # a real MediaPipe squat whose legs are unseen there (0.7 over the body)
    replay = squat_clipset("legs.npz", visibility)
    config = _write(
        tmp_path / "f.yaml",
        f"streams: [{{id: cam, source: {{kind: skeleton, path: {replay}, layout: mediapipe33}}}}]\n",
    )
    out = tmp_path / "rec.npz"
    result = runner.invoke(app, ["frontend", "record", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    (strict,) = load_clipset_file(out, min_visibility=0.8).clips  # as enroll --config reads it
    assert np.isnan(strict.joints[20:23]).all()
    assert np.isfinite(strict.joints[:20]).all() and np.isfinite(strict.joints[23:]).all()
    (lenient,) = load_clipset_file(out, min_visibility=0.6).clips
    assert np.isfinite(lenient.joints).all()
