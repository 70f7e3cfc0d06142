"""``haad frontend``: record a stream to a clip-set file, run frontends onto the bus, list motions."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

import haad.cli.frontend
from bus import Subscriber
from bus.lifetime import Restarts
from bus.messages import SkeletonFrame
from clips.files import load_clipset_file
from config.frontend import FrontendConfig, ImagesSourceConfig, SkeletonSourceConfig, StreamConfig
from config.supervisor import SupervisorConfig
from haad.cli import app
from haad.cli.frontend import _Frontend
from haad.cli.frontend import app as frontend_app
from pose_frontend.base import Progress
from pose_frontend.record import record_clip
from pose_frontend.synthetic import MOTIONS


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_record_writes_a_synthetic_performance_as_a_clipset(tmp_path: Path) -> None:
    config = _write(
        tmp_path / "f.yaml",
        """
streams:
  - id: demo
    source:
      kind: synthetic
      seed: 4
      script: [{motion: walk_in_place, seconds: 2}, {motion: wave_right_hand, seconds: 1}]
""",
    )
    out = tmp_path / "demo.npz"
    result = CliRunner().invoke(frontend_app, ["record", str(config), "--out", str(out), "--label", "walk"])
    assert result.exit_code == 0, result.output
    [clip] = load_clipset_file(out).clips
    assert clip.label == "walk" and clip.name == "demo:walk" and clip.joints.shape == (90, 20, 3)
    np.testing.assert_allclose(clip.times, np.arange(90) / 30)  # not paced: written at once


def test_record_stops_after_max_seconds_of_source_time(tmp_path: Path) -> None:
    config = _write(tmp_path / "f.yaml", "streams:\n  - source: {kind: synthetic, loop: true}\n")
    out = tmp_path / "a.npz"
    result = CliRunner().invoke(
        frontend_app, ["record", str(config), "--out", str(out), "--max-seconds", "1.5"]
    )
    assert result.exit_code == 0, result.output
    [clip] = load_clipset_file(out).clips
    assert clip.times[-1] - clip.times[0] == pytest.approx(1.5)


def test_record_clip_marks_frames_without_a_person_as_nan(tmp_path: Path, mp_testdata: Path) -> None:
    shutil.copy(mp_testdata / "pose.jpg", tmp_path / "1.jpg")
    cv2.imwrite(str(tmp_path / "2.png"), np.full((400, 300, 3), 200, dtype=np.uint8))  # an empty room
    config = StreamConfig(source=ImagesSourceConfig(path=str(tmp_path), fps=2))
    times, joints, visibility, counters = record_clip(config, stop=threading.Event())
    np.testing.assert_array_equal(times, [0.0, 0.5])
    assert np.isfinite(joints[0]).all() and np.isnan(joints[1]).all()
    assert visibility[1].max() == 0 and counters["no_person"] == 1


def test_record_of_several_people_keeps_the_first_one_and_never_splices_in_another(tmp_path: Path) -> None:
    # The clip was each frame's first person: once person 1 left, person 2's skeleton went on in
    # the same clip, and `haad enroll` took the splice for one person's motion.
    people = np.random.default_rng(3).normal(size=(6, 2, 20, 3)).astype(np.float32)
    people[:2, 1] = np.nan  # person 2 comes in
    people[4:, 0] = np.nan  # and person 1 leaves
    np.save(tmp_path / "two.npy", people)
    config = StreamConfig(source=SkeletonSourceConfig(path=str(tmp_path / "two.npy"), fps=10))
    _, joints, _, _ = record_clip(config, stop=threading.Event())
    np.testing.assert_array_equal(joints[:4], people[:4, 0])
    assert np.isnan(joints[4:]).all()


def test_record_says_which_stream_it_recorded_and_how_much_of_it_holds_the_person(tmp_path: Path) -> None:
    # "wrote a.npz: 6 frames" named neither the stream taken without --stream (the first of an
    # edge.yaml's several) nor that the first person seen in a crowd was out of view in most of it.
    people = np.random.default_rng(3).normal(size=(6, 2, 20, 3)).astype(np.float32)
    people[4:, 0] = np.nan  # person 1 leaves; person 2, still in view, is not recorded
    np.save(tmp_path / "two.npy", people)
    config = _write(
        tmp_path / "f.yaml",
        f"streams:\n  - {{id: lobby, source: {{kind: skeleton, path: {tmp_path / 'two.npy'}, fps: 10}}}}\n"
        "  - {id: door, source: {kind: synthetic}}\n",
    )
    result = CliRunner().invoke(frontend_app, ["record", str(config), "--out", str(tmp_path / "a.npz")])
    assert result.exit_code == 0, result.output
    assert (
        f"wrote {tmp_path / 'a.npz'}: stream lobby, 6 frames, the person recorded in 4 of them,"
        in result.output
    )


def test_record_of_a_truncated_video_is_one_error_line(tmp_path: Path, truncated_video: Path) -> None:
    config = _write(tmp_path / "f.yaml", f"streams:\n  - source: {{kind: video, path: {truncated_video}}}\n")
    result = CliRunner().invoke(frontend_app, ["record", str(config), "--out", str(tmp_path / "x.npz")])
    assert result.exit_code == 1 and "error: " in result.output and "of its 90 frames" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "x.npz").exists()


def test_record_refuses_an_unknown_stream_and_a_bad_config(tmp_path: Path) -> None:
    good = _write(tmp_path / "g.yaml", "streams:\n  - id: a\n")
    bad = _write(tmp_path / "b.yaml", "streams:\n  - id: a\n    source: {kind: video}\n")
    runner = CliRunner()
    unknown = runner.invoke(frontend_app, ["record", str(good), "--out", "x.npz", "--stream", "zz"])
    assert unknown.exit_code == 2 and "no stream 'zz'" in unknown.output
    invalid = runner.invoke(frontend_app, ["record", str(bad), "--out", "x.npz"])
    assert invalid.exit_code == 2 and "b.yaml:3" in invalid.output


def test_record_refuses_an_out_file_it_could_not_write_before_recording(tmp_path: Path) -> None:
    # After the recording, a missing folder was a FileNotFoundError traceback (the recording lost),
    # and "walk.txt" or a folder "d.npz" was written as "walk.txt.npz", "d.npz.npz": "wrote walk.txt".
    config = _write(tmp_path / "g.yaml", "streams: [{id: a, source: {kind: synthetic, realtime: false}}]\n")
    (tmp_path / "d.npz").mkdir()
    for out, problem in (
        (tmp_path / "no" / "walk.npz", f"no folder {tmp_path / 'no'}"),
        (tmp_path / "walk.txt", "a clip-set file's name ends in .npz"),
        (tmp_path / "d.npz", "it is a folder"),
    ):
        result = CliRunner().invoke(frontend_app, ["record", str(config), "--out", str(out)])
        assert (result.exit_code, result.output) == (2, f"--out {out}: {problem}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz", "g.yaml"]


def test_record_stopped_by_sigterm_keeps_the_recording_and_mediapipe_boilerplate_off_the_terminal(
    tmp_path: Path, squat_video: Path
) -> None:
    # `timeout 60 haad frontend record ...` (SIGTERM) killed it and nothing was written. And every
    # recording printed MediaPipe's and TensorFlow Lite's start-up lines among its own.
    config = _write(
        tmp_path / "g.yaml",
        f"streams: [{{id: a, source: {{kind: video, path: {squat_video}, loop: true}}}}]\n",
    )
    out = tmp_path / "walk.npz"
    cli = subprocess.Popen(
        [sys.executable, "-m", "haad", "frontend", "record", str(config), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        fds = Path(f"/proc/{cli.pid}/fd")
        deadline, polls_open = time.monotonic() + 60, 0
        # The video open for 3 polls in a row: a pass is playing (opening it to read its rate is brief).
        while polls_open < 3:
            assert time.monotonic() < deadline and cli.poll() is None
            is_open = any(os.path.realpath(fd) == str(squat_video.resolve()) for fd in fds.iterdir())
            polls_open = polls_open + 1 if is_open else 0
            time.sleep(0.2)
        cli.send_signal(signal.SIGTERM)
        output, errors = cli.communicate(timeout=60)
    finally:
        cli.kill()
    assert cli.returncode == 0, output + errors
    assert f"wrote {out}" in output and len(load_clipset_file(out).clips[0].times) > 0
    # MediaPipe had started and estimated frames: its start-up lines would have been printed by now
    assert not any(part in errors for part in ("XNNPACK", "absl::InitializeLog", "feedback tensors")), errors


def test_run_given_an_edge_yaml_says_what_a_frontend_file_holds(tmp_path: Path) -> None:
    # It refused the file setting by setting ("store: Extra inputs are not permitted", ...), no more.
    edge = _write(
        tmp_path / "edge.yaml", "streams: [{id: a}]\nstore: {url: 'sqlite:///a.db'}\nrun_frontends: false\n"
    )
    result = CliRunner().invoke(frontend_app, ["run", str(edge)])
    assert result.exit_code == 2
    assert (
        f"{edge}: store, run_frontends: only an edge.yaml (haad run) takes these settings; a frontend "
        "host's file takes cameras_per_frontend, pose_threads, logging, bus, streams, supervisor"
    ) in result.output
    typo = _write(tmp_path / "f.yaml", "strems: [{id: a}]\n")  # not an edge.yaml: no such line
    result = CliRunner().invoke(frontend_app, ["run", str(typo)])
    assert (
        result.exit_code == 2
        and "did you mean 'streams'" in result.output
        and "only an edge.yaml" not in result.output
    )


def test_record_reads_the_stream_from_an_edge_yaml(tmp_path: Path) -> None:
    # Recording a camera of the daemon's edge.yaml for `haad enroll` was refused setting by setting
    # ("store: Extra inputs are not permitted", ...): a separate frontend file had to be written.
    edge = _write(
        tmp_path / "edge.yaml",
        """
streams:
  - id: door
    source: {kind: synthetic, seed: 1, script: [{motion: walk_in_place, seconds: 1.5}]}
store: {url: 'sqlite:///a.db'}
metrics: {enabled: false}
""",
    )
    out = tmp_path / "door.npz"
    result = CliRunner().invoke(frontend_app, ["record", str(edge), "--stream", "door", "--out", str(out)])
    assert result.exit_code == 0, result.output
    [clip] = load_clipset_file(out).clips
    assert clip.name == "door:normal" and len(clip.times) == 45
    typo = _write(tmp_path / "typo.yaml", "streams: [{id: door}]\nstore: {ulr: 'sqlite:///a.db'}\n")
    result = CliRunner().invoke(frontend_app, ["record", str(typo), "--out", str(out)])
    assert result.exit_code == 2 and "store.ulr: Extra inputs are not permitted" in result.output


def test_run_publishes_every_stream_until_the_sources_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the subscriber reads all along: an ended stream's queue need not be held 2 s for it
    monkeypatch.setattr(haad.cli.frontend, "REMOTE_FLUSH_S", 0.5)
    endpoint = f"ipc://{tmp_path}/bus.sock"
    config = _write(
        tmp_path / "f.yaml",
        f"""
bus: {{endpoint: "{endpoint}"}}
streams:
  - id: a
    source: {{kind: synthetic, realtime: false, script: [{{motion: idle, seconds: 1}}]}}
  - id: b
    source: {{kind: synthetic, realtime: true, seed: 1, script: [{{motion: kick, seconds: 2}}]}}
""",
    )
    received: list[SkeletonFrame | None] = []
    done = threading.Event()

    def receive(sub: Subscriber) -> None:
        while not done.is_set() or received and received[-1] is not None:
            received.append(sub.recv(timeout_ms=200))

    # A SUB socket takes in new connections (and sends them its subscription) only while its thread
    # calls into it, so the subscriber polls while the CLI runs (in the main thread: it takes SIGTERM).
    with Subscriber(endpoint) as sub:
        subscriber = threading.Thread(target=receive, args=(sub,))
        subscriber.start()
        try:
            result = CliRunner().invoke(frontend_app, ["run", str(config), "--stats-every-s", "1"])
        finally:
            done.set()
            subscriber.join()
    assert result.exit_code == 0, result.output
    assert "b (exit 0)" in result.output and "'published': 60" in result.output
    frames = [f for f in received if f is not None]
    # The real-time stream was subscribed to before it finished; the other may have published
    # into the void before its connection was up (PUB drops until then).
    assert sum(f.stream_id == "b" for f in frames) >= 50


def test_haad_frontend_motions_lists_the_synthetic_motions() -> None:
    result = CliRunner().invoke(app, ["frontend", "motions"])  # through the root command
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()] == list(MOTIONS)
    assert "fall  (abnormal)" in result.output


def test_run_refuses_key_files_it_cannot_use_and_sources_it_cannot_open_before_starting(
    tmp_path: Path,
) -> None:
    # A missing client key once left the frontend "running" forever, its process hung on its socket.
    from bus.curve import make_client_keys, make_server_keys

    server, _ = make_server_keys(tmp_path / "keys")
    _, client = make_client_keys(tmp_path / "keys", "door")
    garbled = _write(tmp_path / "garbled.key_secret", "not a certificate\n")

    def run(client_key: Path, video: str | None = None, source: str | None = None) -> tuple[int, str]:
        if source is None:
            source = (
                f"{{kind: video, path: {video}}}"
                if video
                else "{kind: synthetic, script: [{motion: idle, seconds: 1}]}"
            )
        config = _write(tmp_path / "f.yaml", f"""
bus: {{endpoint: "tcp://127.0.0.1:5999", curve: {{server_public_key: {server}, client_secret_key: {client_key}}}}}
streams: [{{id: door, source: {source}}}]
""")  # fmt: skip
        result = CliRunner().invoke(frontend_app, ["run", str(config)])
        return result.exit_code, result.output

    assert run(tmp_path / "nope.key_secret") == (2, f"{tmp_path / 'f.yaml'}: bus.curve: CURVE key file not found: "
                                                    f"{tmp_path / 'nope.key_secret'}\n")  # fmt: skip
    code, out = run(garbled)
    assert code == 2 and "is not a ZeroMQ certificate" in out
    code, out = run(server)  # a public key where the secret one belongs
    assert code == 2 and "holds no secret key" in out
    code, out = run(client, video=str(tmp_path / "missing.mp4"))
    assert code == 2 and "stream door:" in out and "missing.mp4" in out
    # A camera password it cannot read was a SecretError traceback from the stream's process.
    password = f"{{kind: url, url: 'rtsp://admin@10.0.0.5/s1', password: {{file: {tmp_path / 'cam.pw'}}}}}"
    code, out = run(client, source=password)
    assert (
        code == 2 and f"streams.0.source.password: cannot read the secret file {tmp_path / 'cam.pw'}" in out
    )
    # A task model that is not there: the stream started, failed, and `haad config validate` said valid.
    code, out = run(
        client, source=f"{{kind: webcam}}, estimator: {{kind: tasks, task_model_path: {tmp_path / 'p.task'}}}"
    )
    assert (
        code == 2
        and f"stream door: estimator.task_model_path: MediaPipe task model not found: {tmp_path / 'p.task'}"
        in out
    )


def test_run_stops_its_streams_on_sigterm_as_on_ctrl_c(tmp_path: Path, squat_video: Path) -> None:
    # systemd stops a frontend host with SIGTERM: it killed `haad frontend run` outright (exit -15),
    # its stream processes taken down by their parent's death, nothing said. Stopped as they start,
    # camera processes were stopped one after another, 5 s each, and one still importing MediaPipe
    # was killed: "did not stop within 5.0 s", exit 1.
    video = f"{{kind: video, path: {squat_video}, loop: true}}"
    config = _write(tmp_path / "f.yaml", f"""
bus: {{endpoint: "ipc://{tmp_path}/bus.sock"}}
streams: [{{id: a, source: {video}}}, {{id: b, source: {video}}}, {{id: c, source: {video}}}]
""")  # fmt: skip
    cli = subprocess.Popen(
        [sys.executable, "-m", "haad", "frontend", "run", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert cli.stdout is not None
        assert any("publishing to" in line for line in iter(cli.stdout.readline, ""))  # up after each start
        cli.send_signal(signal.SIGTERM)
        out, _ = cli.communicate(timeout=60)
    finally:
        cli.kill()
    assert cli.returncode == 0, out
    assert "stopping" in out and "did not stop" not in out


def test_run_restarts_a_stream_whose_process_died_while_the_others_go_on(tmp_path: Path) -> None:
    # A frontend host's stream whose process died stayed dead until someone restarted the whole
    # host's service (haad run restarts its frontends); here it is killed twice: as it starts, then
    # (restarted) while it publishes.
    endpoint = f"ipc://{tmp_path}/bus.sock"
    script = "{kind: synthetic, realtime: true, script: [{motion: walk_in_place, seconds: 120}]}"
    config = _write(tmp_path / "f.yaml", f"""
bus: {{endpoint: "{endpoint}"}}
logging: {{format: text}}
supervisor: {{initial_backoff_s: 0.2, max_backoff_s: 0.5}}
streams: [{{id: a, source: {script}}}, {{id: b, source: {script}}}]
""")  # fmt: skip
    lines: list[str] = []
    frames: list[SkeletonFrame] = []
    done = threading.Event()

    def receive(sub: Subscriber) -> None:
        while not done.is_set():
            if (frame := sub.recv(timeout_ms=100)) is not None:
                frames.append(frame)

    def started_a(after: int) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and cli.poll() is None:
            pids = [
                int(line.rsplit("pid ", 1)[1].rstrip(")\n"))
                for line in lines
                if "started stream a (pid" in line
            ]
            if len(pids) > after:
                return pids[after]
            time.sleep(0.05)
        # start 2 follows the kill as it started, start 3 the kill while it published
        raise AssertionError(f"no start {after + 1} of stream a:\n" + "".join(lines))

    def frames_of(stream: str) -> int:
        return sum(f.stream_id == stream for f in frames)

    def wait_for(stream: str, n: int) -> None:
        deadline = time.monotonic() + 60
        while frames_of(stream) < n:
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)

    with Subscriber(endpoint) as sub:
        subscriber = threading.Thread(target=receive, args=(sub,))
        subscriber.start()
        cli = subprocess.Popen(
            [sys.executable, "-m", "haad", "frontend", "run", str(config), "--stats-every-s", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert cli.stdout is not None
        reader = threading.Thread(target=lambda: lines.extend(iter(cli.stdout.readline, "")))  # type: ignore[union-attr]
        reader.start()
        try:
            for restart, kill_after_frames in enumerate([0, 40]):
                pid = started_a(restart)
                wait_for("a", frames_of("a") + kill_after_frames)
                os.kill(pid, signal.SIGKILL)
                started_a(restart + 1)  # restarted after a kill after kill_after_frames frames
            wait_for("a", frames_of("a") + 20)  # the twice-killed stream publishes again
            b_before = frames_of("b")
            wait_for("b", b_before + 20)  # and the other never stopped
            cli.send_signal(signal.SIGTERM)
            assert cli.wait(timeout=60) == 0, "".join(lines)
        finally:
            cli.kill()
            reader.join()
            done.set()
            subscriber.join()
    out = "".join(lines)
    assert out.count("stream a exited with code -9; restarting in") == 2, out
    assert "restarted 2x" in out and "stream b exited" not in out


class _Exited:
    """A stream's process that ended with ``exitcode``."""

    def __init__(self, exitcode: int) -> None:
        self.exitcode, self.finished_event = exitcode, threading.Event()

    def is_alive(self) -> bool:
        return False


@pytest.mark.parametrize(("exitcode", "level"), [(1, logging.WARNING), (-9, logging.ERROR)])
def test_a_failed_streams_restart_is_an_error_only_when_the_stream_could_not_say_why(
    caplog: pytest.LogCaptureFixture, exitcode: int, level: int
) -> None:
    # Exit code 1: the stream logged its failure as an ERROR; the restart notice made it two.
    config = StreamConfig(id="door", source=ImagesSourceConfig(path="/nonexistent"))
    stream = _Frontend([config], Restarts(SupervisorConfig()), {"door": Progress()}, packed=False)
    stream.process = _Exited(exitcode)  # type: ignore[assignment]
    stream.tend(time.monotonic(), FrontendConfig(streams=[config]), logging.INFO)
    [notice] = [r for r in caplog.records if "exited with code" in r.getMessage()]
    assert notice.levelno == level and stream.restart_at is not None
