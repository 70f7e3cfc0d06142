"""``haad enroll`` as an operator runs it (haad/cli/enroll.py): real clip files, real processes."""

from __future__ import annotations

import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from clips import Clip
from clips.files import save_clipset_file
from config.edge import EdgeConfig
from config.loader import load_config
from edge.backends import make_backend
from edge.enroll import build_profile
from edge.profiles import ProfileStore, ProfileWatcher, profile_lock
from haad.cli import app
from tests.haad.cli_helpers import onnx_config

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def by_motion(kinder_gator) -> dict[str, list[Clip]]:  # type: ignore[no-untyped-def]
    """Three Kinder-Gator clips of each of two motions (real Kinect skeletons, several seconds)."""
    return {m: [c for c in kinder_gator.clips if c.label == m][:3] for m in ("Walk-in-place", "Bow")}


def _walks_and_bows(folder: Path, by_motion: dict[str, list[Clip]]) -> tuple[Path, Path]:
    """The two motions as clip-set files, walk.npz and bow.npz."""
    walks, bows = folder / "walk.npz", folder / "bow.npz"
    save_clipset_file(walks, by_motion["Walk-in-place"])
    save_clipset_file(bows, by_motion["Bow"])
    return walks, bows


def test_a_profile_name_that_climbs_out_of_profiles_dir_makes_nothing(
    tmp_path: Path, by_motion: dict[str, list[Clip]]
) -> None:
    clipset = tmp_path / "walk.npz"
    save_clipset_file(clipset, by_motion["Walk-in-place"])
    for name in ("../outside", "a b"):
        result = runner.invoke(
            app, ["enroll", "--profile", name, "--config", str(onnx_config(tmp_path)), str(clipset)]
        )
        assert result.exit_code == 2 and f"error: invalid profile name {name!r}" in result.output, (
            result.output
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edge.yaml", "walk.npz"]  # no folder, no lock


def test_what_was_given_that_cannot_be_enrolled_exits_2_as_other_bad_usage_does(
    tmp_path: Path, by_motion: dict[str, list[Clip]]
) -> None:
    """A missing file, a folder, a label no clip has, clips too short: bad usage as an invalid
    --behaviour is (exit 2), not a failure to save (exit 1). A folder exited 1, a bad --behaviour 2."""
    clipset, folder = tmp_path / "walk.npz", tmp_path / "clips"
    save_clipset_file(clipset, by_motion["Walk-in-place"])
    short = tmp_path / "short.npz"
    walk = by_motion["Walk-in-place"][0]
    save_clipset_file(short, [Clip(walk.joints[:10], walk.times[:10], "Walk-in-place", name="short")])
    folder.mkdir()
    args = ["enroll", "--profile", "ward", "--config", str(onnx_config(tmp_path))]
    for given, why in (
        ([str(tmp_path / "gone.mp4")], "gone.mp4: no such file"),
        ([str(folder)], "is a folder"),
        (["--label", "Bow", str(clipset)], "no clip labelled 'Bow'; its labels: 'Walk-in-place'"),
        ([str(short)], "short: "),
        (["--behaviour", "a b", str(clipset)], "invalid behaviour name 'a b'"),
    ):
        result = runner.invoke(app, [*args, *given])
        assert result.exit_code == 2 and why in result.output, (given, result.output)
    assert not (tmp_path / "profiles" / "ward").exists()


def test_an_option_that_would_change_nothing_is_refused_before_any_work(
    data_root: Path, tmp_path: Path, by_motion: dict[str, list[Clip]]
) -> None:
    """--label on videos made a behaviour `normal` (the user meant --behaviour), and --samples without
    --augment or --fps without a .npy were dropped without a word."""
    clipset = tmp_path / "walk.npz"
    save_clipset_file(clipset, by_motion["Walk-in-place"])
    video = str(data_root / "mediapipe_pose_testdata" / "pose_1.mp4")
    args = ["enroll", "--profile", "ward", "--config", str(onnx_config(tmp_path))]
    for given, why in (
        (["--label", "walking", video], "--label (it picks clips of clip-set .npz files"),
        (["--samples", "4", str(clipset)], "--samples (it shapes --augment's completions)"),
        (["--gap", "middle", "--steps", "3", str(clipset)], "--steps (it shapes --augment's completions)"),
        (["--fps", "15", "--layout", "smpl24", video, str(clipset)], "--layout (it reads .npy files); --fps"),
    ):
        result = runner.invoke(app, [*args, *given])
        assert result.exit_code == 2 and "would change nothing here: " in result.output, (
            given,
            result.output,
        )
        assert why in result.output, (given, result.output)
    assert not (tmp_path / "profiles").exists()
    assert runner.invoke(app, [*args, "--label", "Walk-in-place", str(clipset)]).exit_code == 0
    skeleton = tmp_path / "walk.npy"  # --label names the clip of a .npy
    np.save(skeleton, by_motion["Walk-in-place"][0].joints)
    assert runner.invoke(app, [*args, "--label", "walking", str(skeleton)]).exit_code == 0
    assert [b["name"] for b in ProfileStore(tmp_path / "profiles").load("ward").behaviour_table] == [
        "walking"
    ]


@pytest.mark.skipif(
    "TensorrtExecutionProvider" in __import__("onnxruntime").get_available_providers(),
    reason="TensorRT runs on this host",
)
def test_a_backend_this_host_cannot_run_is_one_error_line(tmp_path: Path) -> None:
    """It ended in a traceback (BackendUnavailable), before any file was read."""
    config = tmp_path / "edge.yaml"
    config.write_text(f"profiles_dir: {tmp_path / 'profiles'}\nworker: {{backend: {{type: tensorrt}}}}\n")
    result = runner.invoke(app, ["enroll", "--profile", "ward", "--config", str(config), "walk.npz"])
    assert (
        result.exit_code == 2
        and result.output.startswith("error: ")
        and "TensorrtExecutionProvider" in result.output
    ), result.output


def _holds_open(pid: int, path: Path) -> bool:
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(Path(fd).resolve() == path.resolve() for fd in fds.iterdir())
    except OSError:  # the process closed a descriptor while we looked
        return False


def test_a_behaviour_added_while_another_enrolment_makes_the_profile_keeps_both(
    tmp_path: Path, by_motion: dict[str, list[Clip]]
) -> None:
    """Two `--behaviour` enrolments of a new profile at once: the one that waited for the lock adds
    its behaviour to the version the other saved instead of replacing it."""
    config = onnx_config(tmp_path)
    bows = tmp_path / "bow.npz"
    save_clipset_file(bows, by_motion["Bow"])
    store = ProfileStore(tmp_path / "profiles")
    cfg = load_config(config, EdgeConfig)
    backend = make_backend(cfg.worker.backend, None)
    with profile_lock(store, "ward"):
        enrol = subprocess.Popen(
            [sys.executable, "-m", "haad", "enroll", "--profile", "ward", "--behaviour", "bowing",
             "--config", str(config), str(bows)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while not _holds_open(enrol.pid, store.root / "ward" / ".feedback.lock"):  # waiting for the lock
            assert enrol.poll() is None and time.monotonic() < deadline, enrol.communicate()[0]
            time.sleep(0.05)
        walking = build_profile(
            "ward",
            by_motion["Walk-in-place"],
            backend,
            calibration=cfg.worker.calibration,
            behaviour="walking",
        )
        store.save(walking)
    output = enrol.communicate(timeout=120)[0]
    assert enrol.returncode == 0, output
    assert "replaces" not in output
    latest = store.load("ward")
    assert latest.version == 2 and [b["name"] for b in latest.behaviour_table] == ["walking", "bowing"]


# A `haad enroll` that SIGKILLs itself at one moment of saving its version (argv[1]): amid the
# .npz, between the .npz and the .json, amid the .json. The rest of argv is the command's.
_DIES_SAVING = """
import os, signal, sys
import edge.profiles as profiles

real, moment = profiles.atomic_write, sys.argv[1]

def dying(path, write, **kw):
    def half(f):
        f.write(b"PK\\x03\\x04 half")
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    if moment == f"amid {path.suffix}":
        return real(path, half, **kw)
    if moment == "between" and path.suffix == ".json":
        os.kill(os.getpid(), signal.SIGKILL)
    return real(path, write, **kw)

profiles.atomic_write = dying
from haad.cli import app
app(sys.argv[2:], prog_name="haad")
"""


def test_an_enrolment_killed_while_saving_leaves_no_version_a_daemon_or_the_next_one_takes(
    tmp_path: Path, by_motion: dict[str, list[Clip]]
) -> None:
    walks, bows = _walks_and_bows(tmp_path, by_motion)
    config = onnx_config(tmp_path)
    args = ["enroll", "--profile", "ward", "--config", str(config)]
    store = ProfileStore(tmp_path / "profiles")
    assert runner.invoke(app, [*args, "--behaviour", "walking", str(walks)]).exit_code == 0
    watcher = ProfileWatcher(store, {"ward"})
    assert [p.version for p in watcher.poll()[0]] == [1]
    for moment in ("amid .npz", "between", "amid .json", "amid .npz"):
        killed = subprocess.run(
            [sys.executable, "-c", _DIES_SAVING, moment, *args, "--behaviour", "bowing", str(bows)],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert killed.returncode == -signal.SIGKILL, (moment, killed.stderr)
        assert watcher.poll() == ([], {}, []), moment  # the daemon keeps serving v1
        assert store.versions("ward") == [1]
    result = runner.invoke(app, [*args, "--behaviour", "bowing", str(bows)])
    assert result.exit_code == 0 and "profile ward v2" in result.output, result.output
    (latest,), failed, _ = watcher.poll()
    assert not failed and [b["name"] for b in latest.behaviour_table] == ["walking", "bowing"]
    # The killed runs' temporary files went with the next save: each held a whole version's arrays.
    assert sorted(p.name for p in (tmp_path / "profiles" / "ward").iterdir()) == [
        ".feedback.lock",
        "v0001.json",
        "v0001.npz",
        "v0002.json",
        "v0002.npz",
    ]


def _files_of_at_most(size: int) -> None:
    """In the child: files may not grow past ``size`` bytes, and a write that would fails (EFBIG)
    instead of killing the process, as a write to a full disk fails."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


def test_a_profile_that_cannot_be_written_is_one_error_line_and_no_version(
    tmp_path: Path, by_motion: dict[str, list[Clip]]
) -> None:
    clipset = tmp_path / "walk.npz"
    save_clipset_file(clipset, by_motion["Walk-in-place"])
    config = onnx_config(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "haad", "enroll", "--profile", "walking", "--config", str(config), str(clipset)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        preexec_fn=lambda: _files_of_at_most(64 * 1024), restore_signals=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    folder = tmp_path / "profiles" / "walking"
    assert result.stderr.splitlines() == [
        f"error: cannot save profile walking v1 in {folder}: File too large"
    ]
    assert sorted(p.name for p in folder.iterdir()) == [".feedback.lock"]  # nothing half-written


def test_a_profiles_dir_that_cannot_be_made_is_one_error_line_naming_it(
    tmp_path: Path, by_motion: dict[str, list[Clip]]
) -> None:
    """It was the bare OSError: `error: [Errno 20] Not a directory: '.../ward'`."""
    clipset = tmp_path / "walk.npz"
    save_clipset_file(clipset, by_motion["Walk-in-place"])
    config = tmp_path / "edge.yaml"
    config.write_text(f"profiles_dir: {clipset / 'profiles'}\n")  # under a file
    result = runner.invoke(app, ["enroll", "--profile", "ward", "--config", str(config), str(clipset)])
    assert result.exit_code == 1 and result.output == (
        f"error: cannot write profile ward in {clipset / 'profiles'}: Not a directory\n"
    ), result.output


def test_a_clip_left_out_is_warned_of_by_the_enrolment_that_gave_it_only(
    tmp_path: Path, by_motion: dict[str, list[Clip]]
) -> None:
    walks, bows = _walks_and_bows(tmp_path, by_motion)
    args = ["enroll", "--profile", "ward", "--config", str(onnx_config(tmp_path))]
    first = runner.invoke(app, [*args, str(walks), str(walks)])
    assert first.exit_code == 0 and first.output.count("left out: given twice") == 3, first.output
    # The repeats are named apart from the clips enrolled: "left out" named the enrolled ones too.
    meta = ProfileStore(tmp_path / "profiles").meta("ward")
    assert not set(meta["skipped"]) & set(meta["sources"]), meta
    assert f"warning: clip {by_motion['Walk-in-place'][0].name} (2) left out" in first.output
    second = runner.invoke(app, [*args, "--behaviour", "bowing", str(bows)])
    assert second.exit_code == 0 and "profile ward v2" in second.output, second.output
    assert "left out" not in second.output


def test_replacing_a_profile_whose_newest_version_is_damaged_names_what_the_served_one_loses(
    tmp_path: Path, by_motion: dict[str, list[Clip]]
) -> None:
    both, walks = tmp_path / "both.npz", tmp_path / "walk.npz"
    save_clipset_file(both, by_motion["Walk-in-place"] + by_motion["Bow"])
    save_clipset_file(walks, by_motion["Walk-in-place"])
    args = ["enroll", "--profile", "ward", "--config", str(onnx_config(tmp_path))]
    assert runner.invoke(app, [*args, str(both)]).exit_code == 0
    for suffix in (".npz", ".json"):  # v2, cut short: a daemon keeps serving v1
        (tmp_path / "profiles" / "ward" / f"v0002{suffix}").write_text("{")
    result = runner.invoke(app, [*args, str(walks)])
    assert result.exit_code == 0, result.output
    assert "warning: profile ward v3 replaces v1: behaviour(s) Bow are gone" in result.output


def test_a_behaviour_is_added_to_the_newest_version_that_loads_with_a_warning(
    tmp_path: Path, by_motion: dict[str, list[Clip]]
) -> None:
    """A damaged newest version stopped every `--behaviour` enrolment of the profile (exit 1), though a
    running daemon had passed it over and kept serving the one before."""
    walks, bows = _walks_and_bows(tmp_path, by_motion)
    args = ["enroll", "--profile", "ward", "--config", str(onnx_config(tmp_path))]
    assert runner.invoke(app, [*args, "--behaviour", "walking", str(walks)]).exit_code == 0
    (tmp_path / "profiles" / "ward" / "v0002.npz").write_bytes(b"PK")
    (tmp_path / "profiles" / "ward" / "v0002.json").write_text("{")
    result = runner.invoke(app, [*args, "--behaviour", "bowing", str(bows)])
    assert result.exit_code == 0, result.output
    assert "warning: profile ward v3 adds bowing to v1, the newest version that loads" in result.output
    latest = ProfileStore(tmp_path / "profiles").load("ward")
    assert latest.version == 3 and [b["name"] for b in latest.behaviour_table] == ["walking", "bowing"]


def test_a_behaviour_for_a_profile_this_encoder_cannot_score_is_refused_before_pose_estimation(
    tmp_path: Path, by_motion: dict[str, list[Clip]]
) -> None:
    # It failed deep in re-embedding ("windows must have shape ..."), or mixed windows of two cuts.
    import json

    walks, bows = _walks_and_bows(tmp_path, by_motion)
    args = ["enroll", "--profile", "ward", "--config", str(onnx_config(tmp_path))]
    assert runner.invoke(app, [*args, "--behaviour", "walking", str(walks)]).exit_code == 0
    meta_path = tmp_path / "profiles" / "ward" / "v0001.json"
    meta = json.loads(meta_path.read_text())
    meta["window"]["fps"] = 30.0  # cut by another window spec than the encoder's
    meta_path.write_text(json.dumps(meta))
    result = runner.invoke(app, [*args, "--behaviour", "bowing", str(bows)])
    assert (
        result.exit_code == 1
        and "cut by another window spec" in result.output
        and "enrol it again" in result.output
    )
    assert sorted(p.name for p in (tmp_path / "profiles" / "ward").glob("v*.npz")) == ["v0001.npz"]


def test_enroll_layout_offers_every_layout_the_loader_reads(tmp_path: Path) -> None:
    # Its help listed four layouts by hand, kinect_v2 missing, and a misspelt one got 'not a readable
    # (T, N, 3) skeleton .npy' only after the config and encoder were loaded.
    from models.skeleton import LAYOUT_JOINTS

    help_text = runner.invoke(app, ["enroll", "--help"], terminal_width=200).output
    offered = re.search(r"--layout\s+<([^>]*)>", help_text)
    assert offered and set(offered.group(1).split("|")) == set(LAYOUT_JOINTS), help_text
    np.save(tmp_path / "walk.npy", np.zeros((40, 20, 3), np.float32))
    result = runner.invoke(
        app, ["enroll", "--profile", "p", "--layout", "kinect_v3", str(tmp_path / "walk.npy")]
    )
    assert result.exit_code == 2 and "kinect_v3" in result.output and "kinect_v2" in result.output, (
        result.output
    )
