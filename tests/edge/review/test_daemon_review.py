"""End to end, as an operator runs it: ``haad run`` with ``serve:`` and ``events:`` (real frontend,
worker, review server and notifier processes); a synthetic camera's abnormal episode becomes an
alert, an MQTT event on the real broker and a live status; in Chromium the alert is marked normal,
and the running worker loads the new profile version."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from review_helpers import TOKEN, free_port, mqtt_subscriber

from edge.demo import PROFILES_DIR
from edge.review.auth import token_sha256
from edge.store import AlertStore


def _wait(predicate, timeout_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_daemon_serves_review_publishes_events_and_reloads_a_profile_marked_from_the_browser(
    tmp_path: Path,
    page,  # type: ignore[no-untyped-def]
) -> None:
    profiles = tmp_path / "profiles"
    shutil.copytree(PROFILES_DIR / "demo-walk", profiles / "demo-walk")
    port, prefix = free_port(), f"haade2e{uuid.uuid4().hex[:6]}"
    script = [
        {"motion": "walk_in_place", "seconds": 8.0},
        {"motion": "jump_flail", "seconds": 5.0},
        {"motion": "walk_in_place", "seconds": 120.0},
    ]
    cfg = {
        "streams": [{"id": "cam", "source": {"kind": "synthetic", "script": script, "seed": 7}, "profiles": ["demo-walk"]}],
        "bus": {"endpoint": f"ipc://{tmp_path / 'bus.sock'}"},
        "store": {"url": f"sqlite:///{tmp_path / 'alerts.db'}"},
        "profiles_dir": str(profiles),
        "reload_every_s": 0.5,
        "status_every_s": 1.0,
        "metrics": {"port": free_port()},
        "logging": {"format": "text", "level": "INFO"},
        "serve": {"port": port, "tokens": [{"name": "alice", "sha256": token_sha256(TOKEN)}]},
        "events": {"mqtt": {"topic_prefix": prefix, "discovery_prefix": f"{prefix}-ha", "client_id": prefix},
                   "poll_s": 0.2},
    }  # fmt: skip
    (tmp_path / "edge.yaml").write_text(yaml.safe_dump(cfg))
    sub = mqtt_subscriber("127.0.0.1", 1883, [f"{prefix}/#"])
    log_path = tmp_path / "daemon.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "haad", "run", "--config", str(tmp_path / "edge.yaml")],
        stdout=log_path.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        store = AlertStore(cfg["store"]["url"])  # type: ignore[index]

        def alerted() -> bool:
            return bool(store.list_alerts(stream="cam"))

        _wait(alerted, 90, "an alert from the synthetic jump")
        [alert] = store.list_alerts(stream="cam", limit=1)
        _, opened, _ = sub.wait_for(f"{prefix}/events", timeout_s=30, type="open")
        assert json.loads(opened)["alert"]["id"] == alert.id
        sub.wait_for(f"{prefix}/cam/abnormal", timeout_s=30, payload="ON")

        page.goto(base + "/live")
        page.fill("#token", TOKEN)
        page.click("#login")
        page.wait_for_function(
            "document.querySelector('.stream[data-stream=\"cam\"]')?.textContent.includes('fps')",
            timeout=30_000,
        )
        assert "demo-walk v1: score" in page.locator(".stream[data-stream='cam']").inner_text()

        _wait(lambda: store.get_alert(alert.id).ended_at is not None, 60, "the episode to close")
        page.goto(f"{base}/alerts/{alert.id}")
        page.wait_for_function("document.getElementById('clock').textContent.includes('frame')")
        page.wait_for_function("document.getElementById('scope-all-text').textContent.includes('cam')")
        page.check("#scope-all")
        page.click("#normal")
        page.wait_for_function(
            "document.getElementById('review-msg').textContent.startsWith('Normal for')", timeout=60_000
        )
        assert (profiles / "demo-walk" / "v0002.json").exists()
        _wait(lambda: "profile demo-walk v2 loaded" in log_path.read_text(), 30, "the worker to load v2")
        sub.wait_for(f"{prefix}/events", timeout_s=30, type="update")  # the review went out too
        store.close()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        sub.close()
    log = log_path.read_text()
    assert proc.returncode == 0, log
    assert re.search(r"review server on http://127.0.0.1:\d+/ \(auth on\)", log)
