"""``haad config validate`` opens (and releases) each local camera the file's streams read on this
host: one that does not open is a failed check, exit 2, as a missing video file is."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from config.frontend import WebcamSourceConfig
from haad.cli import app

NO_CAMERA = 99  # OpenCV reads 200 and over as a capture API plus an index
runner = CliRunner()


@pytest.fixture(autouse=True)
def no_camera_at_the_index() -> None:
    capture = cv2.VideoCapture(NO_CAMERA)
    assert not capture.isOpened(), "a camera at this index: the test needs one that is absent"
    capture.release()


def test_validate_refuses_a_webcam_stream_whose_camera_does_not_open(tmp_path: Path) -> None:
    # It said "valid (1 stream(s), store sqlite)": `haad run` then retried the camera, backing off, forever.
    path = tmp_path / "edge.yaml"
    path.write_text(
        f"state_dir: {tmp_path / 'state'}\n"
        f"streams:\n  - id: door\n    source: {{kind: webcam, index: {NO_CAMERA}}}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 2, result.output
    assert (
        f"{path}: stream door: source: camera {NO_CAMERA} does not open (none at that index, or this user "
        "may not use it); connect it or fix source.index" in result.output
    )
    assert ": valid (" not in result.output


def test_validate_frontend_refuses_it_too_and_probes_no_network_stream(tmp_path: Path) -> None:
    path = tmp_path / "frontend.yaml"
    path.write_text(
        f'bus: {{endpoint: "ipc://{tmp_path}/bus.sock"}}\nstreams:\n'
        f"  - {{id: door, source: {{kind: webcam, index: {NO_CAMERA}}}}}\n"
        # an address nothing answers at: probing it would wait out its open timeout
        "  - {id: gate, source: {kind: url, url: 'rtsp://10.255.255.1:554/s1'}}\n",
        encoding="utf-8",
    )
    start = time.monotonic()
    result = runner.invoke(app, ["config", "validate", "--frontend", str(path)])
    assert result.exit_code == 2, result.output
    assert f"stream door: source: camera {NO_CAMERA} does not open" in result.output
    assert "gate" not in result.output and time.monotonic() - start < 5


def test_a_camera_still_opening_after_the_timeout_is_refused_not_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A driver that hangs in open must not hang validate.
    from haad.cli.common import camera_refusal

    def hanging_factory(config: WebcamSourceConfig):  # type: ignore[no-untyped-def]
        def open_camera():  # type: ignore[no-untyped-def]
            time.sleep(2)
            return cv2.VideoCapture(NO_CAMERA)

        return open_camera

    monkeypatch.setattr("pose_frontend.live.webcam_capture_factory", hanging_factory)
    start = time.monotonic()
    assert camera_refusal(WebcamSourceConfig(index=3), timeout_s=0.2) == "camera 3 did not open within 0.2 s"
    assert time.monotonic() - start < 1
