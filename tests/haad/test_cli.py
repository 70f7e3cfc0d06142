"""``haad config ...`` and ``haad enroll`` through the real CLI (Typer's CliRunner)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from clips import Clip
from clips.files import save_clipset_file
from config.edge import EdgeConfig
from config.loader import parse_config
from edge.profiles import Profile, ProfileStore
from haad.cli import app
from models.checkpoint import load_metadata
from models.encoder import DEFAULT_ENCODER_PATH, KIND, EncoderConfig
from tests.daemon_harness import Daemon, demo_profiles, refused_start
from tests.haad.cli_helpers import onnx_config
from training.datasets import load_dataset

runner = CliRunner()


def test_shipped_example_config_is_valid_and_validate_names_what_this_host_lacks() -> None:
    from config.loader import load_config

    cfg = load_config("deploy/edge.example.yaml", EdgeConfig)
    result = runner.invoke(app, ["config", "validate", "deploy/edge.example.yaml"])
    assert result.exit_code == 2  # its profiles are not enrolled on a development machine
    for stream in cfg.streams:
        for name in stream.profiles:
            assert f"profile {name!r} not found in {Path(cfg.profiles_dir).resolve()}" in result.output


def test_validate_passes_once_the_named_profiles_exist(tmp_path: Path) -> None:
    from edge.demo import PROFILES_DIR

    path = tmp_path / "edge.yaml"
    path.write_text(f"streams: [{{id: cam, profiles: [demo-walk]}}]\nprofiles_dir: {PROFILES_DIR}\n")
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 0, result.output
    path.write_text(f"streams: [{{id: cam, profiles: [demo-wlak]}}]\nprofiles_dir: {PROFILES_DIR}\n")
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert (
        result.exit_code == 2
        and "profile 'demo-wlak' not found" in result.output
        and "demo-walk" in result.output
    )


@pytest.mark.parametrize(
    ("kind", "content", "said"),
    [
        ("video", None, "video file not found"),
        ("video", "not a video", "cannot open video"),
        ("skeleton", "wrong shape", "cannot replay"),
        ("images", "empty folder", "no image files"),
    ],
)
def test_validate_refuses_a_source_file_the_frontend_cannot_open(
    tmp_path: Path, kind: str, content: str | None, said: str
) -> None:
    # A file that exists but cannot be read used to pass, then fail at run time five times over.
    path = tmp_path / {"video": "cam.mp4", "skeleton": "cam.npy", "images": "frames"}[kind]
    if content == "not a video":
        path.write_text(content)
    elif content == "wrong shape":
        np.save(path, np.zeros((90, 17, 3), np.float32))
    elif content == "empty folder":
        path.mkdir()
    config = tmp_path / "edge.yaml"
    config.write_text(
        yaml.safe_dump({"streams": [{"id": "cam", "source": {"kind": kind, "path": str(path)}}]})
    )
    result = runner.invoke(app, ["config", "validate", str(config)])
    assert result.exit_code == 2 and f"stream cam: {said}" in result.output, result.output


@pytest.mark.parametrize(
    "spoil",
    [
        lambda p: replace(p, embeddings=p.embeddings[:, :128]),  # another size than the model gives
        lambda p: replace(p, windows=p.windows[:, :30]),  # windows of 30 frames, the model takes 60
        lambda p: replace(p, meta={**p.meta, "window": {**p.meta["window"], "fps": 30.0}}),  # another spec
    ],
    ids=["embedding_size", "window_frames", "window_spec"],
)
def test_validate_refuses_a_profile_the_encoder_cannot_score(
    tmp_path: Path, spoil: Callable[[Profile], Profile]
) -> None:
    from edge.demo import PROFILES_DIR

    store = ProfileStore(tmp_path / "profiles")
    store.save(spoil(ProfileStore(PROFILES_DIR).load("demo-walk")))
    path = tmp_path / "edge.yaml"
    path.write_text(f"streams: [{{id: cam, profiles: [demo-walk]}}]\nprofiles_dir: {tmp_path / 'profiles'}\n")
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert (
        result.exit_code == 2
        and "profile demo-walk v1" in result.output
        and "enrol it again" in result.output
    )


def test_bad_config_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text("streams:\n  - id: cam0\n    source: {kind: webcam, index: -1}\nworker:\n  stride: 0\n")
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2
    assert "edge.yaml:3" in result.output and "edge.yaml:5" in result.output


def test_a_config_that_is_not_text_is_bad_usage_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2 and "bin.yaml: not a text file" in result.output


def test_defaults_round_trip_into_a_valid_config() -> None:
    result = runner.invoke(app, ["config", "defaults"])
    assert result.exit_code == 0
    assert parse_config(result.output, EdgeConfig) == EdgeConfig()


def test_enroll_from_a_clip_set_file_writes_a_calibrated_profile(tmp_path: Path, data_root: Path) -> None:
    clips = [c for c in load_dataset("kinder-gator", data_root).clips if c.label == "Walk-in-place"][:3]
    clipset = tmp_path / "walk.npz"
    save_clipset_file(clipset, clips)
    args = [
        "enroll",
        "--profile",
        "walking",
        "--config",
        str(onnx_config(tmp_path)),
        "--no-augment",
        str(clipset),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "profile walking v1: 3 clip(s)" in result.output
    profile = ProfileStore(tmp_path / "profiles").load("walking")
    bundled = EncoderConfig.from_dict(load_metadata(DEFAULT_ENCODER_PATH, KIND)["encoder"])
    assert profile.embeddings.shape[1] == bundled.embedding_dim and np.isfinite(profile.threshold)
    assert profile.meta["calibration"]["n_clips"] == 3
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "v2" in again.output


def test_enroll_makes_a_behaviour_per_label_and_adds_a_named_behaviour_as_a_new_version(
    tmp_path: Path, data_root: Path
) -> None:
    kg = load_dataset("kinder-gator", data_root).clips
    by = {m: [c for c in kg if c.label == m][:2] for m in ("Walk-in-place", "Bow", "Jump")}
    mixed, jumps = tmp_path / "mixed.npz", tmp_path / "jump.npz"
    save_clipset_file(mixed, by["Walk-in-place"] + by["Bow"])
    save_clipset_file(jumps, by["Jump"])
    cfg = str(onnx_config(tmp_path))
    first = runner.invoke(app, ["enroll", "--profile", "ward", "--config", cfg, str(mixed)])
    assert first.exit_code == 0, first.output
    assert "behaviours: Walk-in-place (2 clip(s)" in first.output and ", Bow (2 clip(s)" in first.output
    v1 = ProfileStore(tmp_path / "profiles").load("ward")
    assert f"most vigorous second: {v1.meta['vigour']:.2f} torso lengths/s (a second 3x" in first.output
    second = runner.invoke(
        app, ["enroll", "--profile", "ward", "--behaviour", "jumping", "--config", cfg, str(jumps)]
    )
    assert second.exit_code == 0, second.output
    assert "profile ward v2" in second.output and "jumping (2 clip(s)" in second.output
    v2 = ProfileStore(tmp_path / "profiles").load("ward")
    assert [b["name"] for b in v2.behaviour_table] == ["Walk-in-place", "Bow", "jumping"]
    assert v2.meta["vigour"] >= v1.meta["vigour"]  # the most vigorous second of all three behaviours
    assert len(np.unique(v2.behaviour_ids)) == 3 and v2.meta["calibration"]["n_clips"] == 6
    third = runner.invoke(app, ["enroll", "--profile", "ward", "--config", cfg, str(mixed)])  # a new profile
    assert third.exit_code == 0, third.output
    assert "warning: profile ward v3 replaces v2: behaviour(s) jumping are gone" in third.output


def test_enroll_refuses_unusable_clips_clearly(tmp_path: Path) -> None:
    cfg = str(onnx_config(tmp_path))
    missing = runner.invoke(app, ["enroll", "--profile", "p", "--config", cfg, "--no-augment", "nope.mp4"])
    assert missing.exit_code == 2 and "nope.mp4: no such file" in missing.output
    nan_clip = tmp_path / "nan.npy"
    np.save(nan_clip, np.full((50, 20, 3), np.nan, np.float32))
    empty = runner.invoke(app, ["enroll", "--profile", "p", "--config", cfg, "--no-augment", str(nan_clip)])
    assert empty.exit_code == 2 and "nan: the clip has no frame with all joints finite" in empty.output
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    wrong = runner.invoke(app, ["enroll", "--profile", "p", "--config", cfg, "--no-augment", str(txt)])
    # said as every other file enrolment refuses is, not as a bare path
    assert (
        wrong.exit_code == 2
        and wrong.output.startswith("error: cannot enrol: ")
        and "not a video" in wrong.output
    )
    assert not (tmp_path / "profiles").exists()


def test_enroll_refuses_a_truncated_video_with_one_line(tmp_path: Path, truncated_video: Path) -> None:
    args = ["enroll", "--profile", "p", "--behaviour", "w", "--config", str(onnx_config(tmp_path))]
    result = runner.invoke(app, [*args, str(truncated_video)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert "error: cannot enrol: " in result.output and "cut.avi ended after" in result.output


def test_enroll_refuses_a_bad_or_empty_behaviour_name_as_bad_usage(tmp_path: Path) -> None:
    for name in ("bad/name", ""):
        args = [
            "enroll",
            "--profile",
            "p",
            "--behaviour",
            name,
            "--config",
            str(onnx_config(tmp_path)),
            "a.npz",
        ]
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "invalid behaviour name" in result.output, result.output
    assert not (tmp_path / "profiles").exists()


def test_version_is_printed() -> None:
    from haad import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"haad {__version__}"


def test_every_help_text_is_written_for_users() -> None:
    """No reStructuredText markup or notes to developers in what `--help` shows."""
    import typer.main

    def walk(command, path):  # type: ignore[no-untyped-def]
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    root = typer.main.get_command(app)
    seen = 0
    for path, command in walk(root, ["haad"]):
        texts = [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)]
        for text in texts:
            assert "``" not in text and ":func:" not in text and ":class:" not in text, (path, text)
            assert "sub-app" not in text, (path, text)
        result = runner.invoke(app, [*path[1:], "--help"])
        assert result.exit_code == 0, (path, result.output)
        seen += 1
    assert seen > 20  # every group and command was visited


# --- how many clips, how long: one clip, short clips, clips under the minimum ---------------------


@pytest.fixture(scope="module")
def walks(data_root: Path) -> list[Clip]:
    """Kinder-Gator clips of walking in place, 8 s and longer, of four participants."""
    clips = [c for c in load_dataset("kinder-gator", data_root).clips if c.label == "Walk-in-place"]
    return [c for c in clips if c.duration_s >= 8.0][:4]


def _first(clip: Clip, seconds: float, name: str) -> Clip:
    keep = clip.times - clip.times[0] <= seconds + 1e-9
    return Clip(clip.joints[keep], clip.times[keep], clip.label, clip.subject, name)


def _enrol(tmp_path: Path, *clips: Clip, extra: tuple[str, ...] = ()):  # -> click.testing.Result
    path = tmp_path / "clips.npz"
    save_clipset_file(path, list(clips))
    return runner.invoke(
        app, ["enroll", "--profile", "p", "--config", str(onnx_config(tmp_path)), str(path), *extra]
    )


def test_one_long_clip_is_enrolled_with_its_halves_and_a_warning_on_what_a_second_clip_adds(
    tmp_path: Path, walks: list[Clip]
) -> None:
    result = _enrol(tmp_path, walks[0])
    assert result.exit_code == 0, result.output
    assert "first half vs second half" in result.output
    assert "warning: the threshold comes from one clip" in result.output and "second clip" in result.output
    assert "rests on" not in result.output  # many windows at the live stride: no few-distances warning
    profile = ProfileStore(tmp_path / "profiles").load("p")
    cal = profile.meta["calibration"]
    assert cal["method"] == "split_halves" and cal["split_stride"] == 5 and cal["n_scores"] >= 10
    assert profile.calibration_windows is not None and len(profile.calibration_windows) == cal["n_scores"]


def test_one_short_clip_is_enrolled_and_warned_that_the_threshold_rests_on_one_distance(
    tmp_path: Path, walks: list[Clip]
) -> None:
    result = _enrol(tmp_path, _first(walks[0], 2.5, "short"))
    assert result.exit_code == 0, result.output
    assert "warning: the threshold comes from one clip" in result.output
    assert "rests on 1 distance(s) between windows of different halves" in result.output
    assert ProfileStore(tmp_path / "profiles").load("p").meta["calibration"]["n_scores"] == 2


def test_one_clip_too_short_to_split_is_refused_with_the_reason(tmp_path: Path, walks: list[Clip]) -> None:
    result = _enrol(tmp_path, _first(walks[0], 1.5, "brief"))
    assert result.exit_code == 2
    assert (
        "brief: one clip of 1.50 s cannot set a threshold" in result.output
        and "a second clip" in result.output
    )
    assert not (tmp_path / "profiles").exists()


def test_a_clip_under_the_minimum_is_refused_naming_it(tmp_path: Path, walks: list[Clip]) -> None:
    result = _enrol(tmp_path, walks[0], _first(walks[1], 0.8, "blip"))
    assert result.exit_code == 2
    assert "blip: 0.80 s of skeleton; windows need at least 1 s (worker.min_segment_s)" in result.output


def test_two_one_window_clips_warn_that_the_threshold_rests_on_one_distance(
    tmp_path: Path, walks: list[Clip]
) -> None:
    result = _enrol(tmp_path, _first(walks[0], 2.5, "a"), _first(walks[1], 2.5, "b"))
    assert result.exit_code == 0, result.output
    assert "leave-one-clip-out: 2 scores" in result.output
    assert "warning: the threshold rests on 1 distance(s) between windows of different clips" in result.output
    cal = ProfileStore(tmp_path / "profiles").load("p").meta["calibration"]
    assert cal["n_distances"] == 1 and cal["warnings"]


def _video(path: Path, frames: int, fps: float = 30.0) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (64, 64))
    for i in range(frames):
        writer.write(np.full((64, 64, 3), i, np.uint8))
    writer.release()
    return path


def test_short_or_unusable_files_are_refused_before_pose_estimation_runs_on_any_video(
    tmp_path: Path, walks: list[Clip], monkeypatch: pytest.MonkeyPatch
) -> None:
    import edge.enrol_files

    def no_pose_estimation(*_args: object) -> None:
        raise AssertionError("pose estimation ran before every file was checked")

    monkeypatch.setattr(edge.enrol_files, "_video_clip", no_pose_estimation)
    cfg = str(onnx_config(tmp_path))
    long_video, short_video = _video(tmp_path / "long.mp4", 90), _video(tmp_path / "short.mp4", 15)
    save_clipset_file(tmp_path / "blip.npz", [_first(walks[0], 0.8, "blip")])
    # A video is said by its length, not as seconds of a skeleton no pose estimation has measured yet.
    for files, reason in [
        ([long_video, short_video], "short.mp4: the video holds at most 0.50 s of skeleton; windows need at least 1 s "
         "(worker.min_segment_s): give a longer video"),
        ([long_video, tmp_path / "blip.npz"], "blip: 0.80 s of skeleton"),
        ([_video(tmp_path / "lone.mp4", 45)], "lone.mp4: one video of at most 1.50 s cannot set a threshold"),
    ]:  # fmt: skip
        result = runner.invoke(app, ["enroll", "--profile", "p", "--config", cfg, *map(str, files)])
        assert result.exit_code == 2 and reason in result.output, result.output


def test_validate_wants_every_bus_key_bound_to_the_streams_it_may_send(tmp_path: Path) -> None:
    from bus.curve import make_client_keys, make_server_keys
    from edge.demo import PROFILES_DIR

    keys = tmp_path / "keys"
    public, secret = make_server_keys(keys)
    _, door = make_client_keys(keys, "door")
    make_client_keys(keys, "yard")
    curve = {"server_secret_key": str(secret), "authorized_clients": str(keys / "authorized"),
             "server_public_key": str(public), "client_secret_key": str(door)}  # fmt: skip
    cfg = {"streams": [{"id": "door", "profiles": ["demo-walk"]}, {"id": "yard", "profiles": ["demo-walk"]}],
           "profiles_dir": str(PROFILES_DIR), "bus": {"endpoint": "tcp://127.0.0.1:5555", "curve": curve}}  # fmt: skip
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2 and "bind each to the streams it may send" in result.output
    curve["senders"] = {"door": ["door"], "gate": ["yard"]}  # type: ignore[assignment]
    path.write_text(yaml.safe_dump(cfg))
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2 and "no key gate.key" in result.output
    curve["senders"] = {"door": ["door"], "yard": ["yard"]}  # type: ignore[assignment]
    path.write_text(yaml.safe_dump(cfg))
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("inline", "reference"),
    [
        ({"store": {"url": "postgresql://haad:hunter2@db:5432/haad"}},
         {"store": {"url": "postgresql://haad@db:5432/haad", "password": {"env": "HAAD_DB_PASSWORD"}}}),
        ({"events": {"webhooks": [{"name": "ops", "url": "https://hooks.example/x", "secret": "hunter2"}]}},
         {"events": {"webhooks": [{"name": "ops", "url": "https://hooks.example/x", "secret": {"file": "/run/k"}}]}}),
        ({"events": {"mqtt": {"url": "mqtt://haad:hunter2@broker:1883"}}},
         {"events": {"mqtt": {"url": "mqtt://haad@broker:1883", "password": {"env": "MQTT_PASSWORD"}}}}),
        ({"streams": [{"id": "door", "source": {"kind": "url", "url": "rtsp://admin:hunter2@10.0.0.5/s"}}]},
         {"streams": [{"id": "door", "source": {"kind": "url", "url": "rtsp://admin@10.0.0.5/s",
                                                 "password": {"env": "DOOR_PASSWORD"}}}]}),
    ],
    ids=["store", "webhook", "mqtt", "camera"],
)  # fmt: skip
def test_edge_yaml_holds_secrets_by_reference_only(tmp_path: Path, inline: dict, reference: dict) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump({"profiles_dir": str(tmp_path), **inline}))
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2 and "hunter2" not in result.output, result.output
    assert "{env: NAME} or {file: PATH}" in result.output or "SecretRef" in result.output, result.output
    assert parse_config(yaml.safe_dump(reference), EdgeConfig)  # the same setting by reference is valid


def test_a_referenced_secret_is_read_where_it_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.secrets import SecretError, SecretRef, with_password

    (tmp_path / "pw").write_text("s3cr:t/\n")
    monkeypatch.setenv("HAAD_TEST_PW", "from-env")
    assert with_password("rtsp://admin@cam:554/s", SecretRef(file=str(tmp_path / "pw"))) == (
        "rtsp://admin:s3cr%3At%2F@cam:554/s"
    )
    assert SecretRef(env="HAAD_TEST_PW").value() == "from-env"
    with pytest.raises(SecretError, match="HAAD_TEST_NOPE is not set"):
        SecretRef(env="HAAD_TEST_NOPE").value()


def test_the_container_binds_metrics_to_every_address_and_exposes_what_it_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """deploy/Dockerfile's CMD, run through the real CLI (the daemon replaced by a recorder): metrics on
    0.0.0.0, and EXPOSE names the metrics and review ports."""
    import edge.daemon
    from config.serve import ServeConfig

    dockerfile = (Path(__file__).parents[2] / "deploy" / "Dockerfile").read_text()
    cmd = json.loads(next(line for line in dockerfile.splitlines() if line.startswith("CMD "))[4:])
    exposed = {
        int(p) for line in dockerfile.splitlines() if line.startswith("EXPOSE ") for p in line.split()[1:]
    }
    got: list[EdgeConfig] = []

    class Recorder:
        def __init__(self, cfg: EdgeConfig) -> None:
            got.append(cfg)

        def run(self) -> int:
            return 0

    monkeypatch.setattr(edge.daemon, "Daemon", Recorder)
    config = tmp_path / "edge.yaml"
    config.write_text("metrics: {port: 9108}\n")
    args = [str(config) if a == "/etc/haad/edge.yaml" else a for a in cmd]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert got[0].metrics.host == "0.0.0.0"
    assert {got[0].metrics.port, ServeConfig().port} <= exposed


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ({"store": {"url": "postgresql://haad@db/haad", "password": {"env": "HAAD_TEST_NOPE"}}},
         "store.password: environment variable HAAD_TEST_NOPE is not set"),
        ({"store": {"url": "postgresql://haad@db/haad", "password": {"file": "/nonexistent/pw"}}},
         "store.password: cannot read the secret file /nonexistent/pw"),
        ({"events": {"webhooks": [{"name": "ops", "url": "https://hooks.example/x", "secret": {"env": "HAAD_TEST_NOPE"}}]}},
         "events.webhooks.0.secret: environment variable HAAD_TEST_NOPE is not set"),
        ({"streams": [{"id": "door", "source": {"kind": "url", "url": "rtsp://admin@10.0.0.5/s",
                                                 "password": {"env": "HAAD_TEST_NOPE"}}}]},
         "streams.0.source.password: environment variable HAAD_TEST_NOPE is not set"),
        ({"events": {"mqtt": {"url": "mqtts://broker:8883", "ca_file": "/nonexistent/ca.pem"}}},
         "events.mqtt.ca_file: file not found: /nonexistent/ca.pem"),  # a delivery error at every event
        ({"serve": {"tls_cert": "/nonexistent/cert.pem", "tls_key": "/nonexistent/key.pem"}},
         "serve.tls_cert: file not found: /nonexistent/cert.pem"),
    ],
    ids=["env", "file", "webhook", "camera", "mqtt-ca", "serve-tls"],
)  # fmt: skip
def test_validate_refuses_a_secret_this_host_cannot_read(tmp_path: Path, setting: dict, said: str) -> None:
    from edge.demo import PROFILES_DIR

    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump({"profiles_dir": str(PROFILES_DIR), **setting}))
    result = runner.invoke(app, ["config", "validate", str(path)], env={"HAAD_TEST_NOPE": None})
    assert result.exit_code == 2 and f"{path}: {said}" in result.output, result.output
    if "streams" in setting:  # a camera's password is needed only where its frontend runs
        path.write_text(
            yaml.safe_dump({"profiles_dir": str(PROFILES_DIR), "run_frontends": False, **setting})
        )
        result = runner.invoke(app, ["config", "validate", str(path)], env={"HAAD_TEST_NOPE": None})
        assert result.exit_code == 0, result.output


def test_validate_warns_until_a_stream_has_a_profile_to_score_against(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump({"profiles_dir": str(tmp_path / "profiles")}))
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 0 and "valid" in result.output, result.output
    assert "warning: no stream has a profile to score against" in result.output
    demo_profiles(tmp_path / "profiles")
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 0 and "warning" not in result.output, result.output


def test_run_refuses_a_secret_it_cannot_read_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HAAD_TEST_NOPE", raising=False)
    store = {"url": "postgresql://haad@127.0.0.1:5432/test", "password": {"env": "HAAD_TEST_NOPE"}}
    daemon = refused_start(tmp_path, [{"id": "cam"}], demo_profiles(tmp_path / "profiles"), store=store)
    assert "cannot start: store.password: environment variable HAAD_TEST_NOPE is not set" in daemon.log()
    assert "started" not in daemon.log() and "Traceback" not in daemon.log()


def _refused_on_a_busy_port(tmp_path: Path, setting: str) -> tuple[Daemon, int]:
    """``haad run`` with the port of ``setting`` (metrics, serve) taken: it exits 2; the daemon and
    the port."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        daemon = refused_start(tmp_path, [{"id": "cam"}], tmp_path / "profiles", **{setting: {"port": port}})
    return daemon, port


def test_run_warns_without_a_profile_and_refuses_a_busy_metrics_port_in_one_line(tmp_path: Path) -> None:
    daemon, port = _refused_on_a_busy_port(tmp_path, "metrics")
    records = daemon.log_records()
    assert [r["level"] for r in records if r["msg"].startswith("no stream has a profile")] == ["WARNING"]
    assert f"cannot start: metrics cannot listen on 127.0.0.1:{port} (Address already in use)" in daemon.log()
    assert (
        "metrics.port" in daemon.log() and "started" not in daemon.log() and "Traceback" not in daemon.log()
    )


def test_run_refuses_a_busy_review_server_port_in_one_line(tmp_path: Path) -> None:
    # Its serve child once failed with a traceback, was restarted with back-off, and failed again.
    daemon, port = _refused_on_a_busy_port(tmp_path, "serve")
    assert f"cannot start: the review server cannot listen on 127.0.0.1:{port}" in daemon.log()
    assert "started" not in daemon.log() and "Traceback" not in daemon.log()
