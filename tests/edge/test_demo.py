"""The README's first command: the whole pipeline on built-in data raises exactly one alert."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config.store import StoreConfig
from edge.store import AlertStore

pytestmark = pytest.mark.slow  # runs the whole demo: daemon, frontend and worker processes for ~30 s


def test_demo_raises_one_alert_for_the_one_abnormal_action(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "haad", "demo", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 alert(s)" in result.stdout, result.stdout + result.stderr
    with AlertStore(StoreConfig(url=f"sqlite:///{tmp_path / 'alerts.db'}")) as store:
        (alert,) = store.list_alerts()
    # The performer flails in a jump from 12 s to 17 s of a 29 s performance.
    assert alert.profile == "demo-walk" and alert.ended_at is not None
    duration = (alert.ended_at - alert.started_at).total_seconds()
    assert 3.0 < duration < 15.0


def test_rebuilt_demo_profile_is_the_only_version_and_matches_the_bundled_encoder(tmp_path: Path) -> None:
    from edge.demo import PROFILES_DIR, build_demo_profiles
    from edge.profiles import ProfileStore

    build_demo_profiles(tmp_path)
    build_demo_profiles(tmp_path)
    store = ProfileStore(tmp_path)
    assert store.versions("demo-walk") == [1]
    rebuilt, bundled = store.load("demo-walk"), ProfileStore(PROFILES_DIR).load("demo-walk")
    # The committed profile must be re-enrolled whenever the bundled encoder changes.
    assert rebuilt.meta["model_version"] == bundled.meta["model_version"]
    assert abs(rebuilt.threshold - bundled.threshold) < 1e-5
