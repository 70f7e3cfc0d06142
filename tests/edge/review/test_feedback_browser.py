"""Feedback that sticks, end to end: the worker's scoring path makes an alert of a synthetic camera's
jump, a reviewer marks it normal for that camera in a real browser (Chromium through Playwright,
against a real Uvicorn server and SQLite log), and the worker's profile loading then scores another
performance of the jump on that camera without an alert, while the same jump on another camera of
the profile and a different abnormal action on the marked camera still alert."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from review_helpers import TOKEN, free_port, running

from config.backend import OnnxRuntimeConfig
from config.edge import EdgeConfig
from config.frontend import StreamConfig
from config.serve import ServeConfig, TokenConfig
from edge.backends import EncoderBackend, make_backend
from edge.demo import PROFILES_DIR
from edge.episodes import Episode
from edge.pipeline import Pipeline
from edge.profiles import ProfileStore
from edge.review.alert_log import ReviewLog
from edge.review.app import create_app
from edge.review.auth import Auth, token_sha256
from edge.review.context import ReviewContext
from edge.store import AlertStore, NewAlert
from edge.worker import ProfileSet
from evaluation.feedback import performance_alerts

STREAMS = {"door": ["demo-walk"], "dock": ["demo-walk"]}
JUMP = [("walk_in_place", 8.0), ("jump_flail", 5.0), ("walk_in_place", 8.0)]
KICK = [("walk_in_place", 8.0), ("kick", 4.0), ("walk_in_place", 8.0)]


class _Frozen:
    def __call__(self) -> float:
        return 0.0


def _worker_pipeline(cfg: EdgeConfig, backend: EncoderBackend) -> Pipeline:
    """What a worker scores with once it has picked up the profile store (profiles and overlays)."""
    from edge import metrics

    profiles = ProfileSet(cfg, backend, metrics)
    profiles.refresh()
    streams = {s.id: s.profiles for s in cfg.streams}
    return Pipeline(cfg.worker, backend, profiles.profiles(), stream_profiles=streams, extra=profiles.extra(),
                    clock=_Frozen())  # fmt: skip


def _store_alert(url: str, ep: Episode, model_version: str) -> int:
    now = datetime.now(UTC).replace(microsecond=0)
    alert = NewAlert(
        episode_key=ep.episode_id, stream_id=ep.stream_id, profile=ep.profile, profile_version=1, started_at=now,
        ended_at=now + timedelta(seconds=ep.end - ep.start), peak_score=ep.peak_score, mean_score=ep.mean_score,
        threshold=ep.threshold, n_windows=ep.n_windows, model_version=model_version,
        windows=np.stack([w.frames for w in ep.windows]), window_times=np.array([[w.t_start, w.t_end] for w in ep.windows]),
        window_scores=np.array([w.score for w in ep.windows]),
    )  # fmt: skip
    with AlertStore(url) as store:
        return store.write_alerts([alert])[0]


def _mark_for_the_camera(page) -> None:  # type: ignore[no-untyped-def]
    """Sign in on the alert's page, check what each scope would change, mark it normal for its camera."""
    page.fill("#token", TOKEN)
    page.click("#login")
    page.wait_for_function("document.getElementById('scope-all-text').textContent.includes('dock')")
    # Before anything is applied, the page says which cameras each scope changes.
    assert page.locator("#scope-camera-text").inner_text() == "only camera door"
    assert page.locator("#scope-all-text").inner_text() == "every camera using demo-walk: dock, door"
    assert page.locator("#scope-camera").is_checked()
    page.fill("#normal-behaviour", "jumping")
    page.click("#normal")
    page.wait_for_function("document.getElementById('review-msg').textContent.startsWith('Normal for')")
    message = page.locator("#review-msg").inner_text()
    assert message.startswith(
        "Normal for door: behaviour jumping added to profile demo-walk for camera door only"
    )
    assert page.locator("#status-badge").inner_text() == "dismissed" and page.locator("#undo").is_visible()


@pytest.mark.slow
def test_an_action_marked_normal_for_one_camera_stops_alerting_there_and_only_there(
    page, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    shutil.copytree(PROFILES_DIR / "demo-walk", tmp_path / "profiles" / "demo-walk")
    cfg = EdgeConfig(
        streams=[StreamConfig(id=s, profiles=p) for s, p in STREAMS.items()],
        profiles_dir=str(tmp_path / "profiles"),
    )
    backend = make_backend(OnnxRuntimeConfig())
    [jump] = performance_alerts(_worker_pipeline(cfg, backend), "door", JUMP, seed=7)
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    alert_id = _store_alert(url, jump, backend.model_version)

    port = free_port()
    serve = ServeConfig(tokens=[TokenConfig(name="alice", sha256=token_sha256(TOKEN))], port=port)
    ctx = ReviewContext(cfg=serve, log=ReviewLog(AlertStore(url)), profiles=ProfileStore(tmp_path / "profiles"),
                        auth=Auth(serve), calibration=cfg.worker.calibration, stride=cfg.worker.stride,
                        make_backend=lambda: backend, streams=STREAMS)  # fmt: skip
    try:
        with running(create_app(ctx), port) as base:
            page.goto(f"{base}/alerts/{alert_id}")
            _mark_for_the_camera(page)
    finally:
        ctx.store.close()
    assert ProfileStore(tmp_path / "profiles").versions("demo-walk") == [1]  # the shared profile is untouched

    after = _worker_pipeline(cfg, backend)
    assert (
        performance_alerts(after, "door", JUMP, seed=8) == []
    )  # the same action, performed again, on that camera
    assert (
        len(performance_alerts(after, "dock", JUMP, seed=8)) == 1
    )  # another camera of the profile: still abnormal
    assert (
        len(performance_alerts(after, "door", KICK, seed=8)) == 1
    )  # another abnormal action on the marked camera
