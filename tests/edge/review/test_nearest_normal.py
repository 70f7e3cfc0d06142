"""An alert names the normal behaviour its peak window was nearest ("nearest normal"): a profile of
two behaviours, recordings replayed through the worker's pipeline into a real SQLite alert log
(through the alert outbox); the API, ``haad alerts`` and the alert page show it, and show nothing for
an alert logged before haad recorded it. ``haad alerts list --person`` filters by person."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from review_helpers import AUTH, BASE_URL, TOKEN, demo_alert, free_port, make_context, running
from typer.testing import CliRunner

from bus.messages import SkeletonFrame
from clips import Clip
from config.backend import OnnxRuntimeConfig
from config.frontend import MotionStep, SyntheticSourceConfig
from config.store import StoreConfig
from config.worker import WorkerConfig
from edge.alerts_sink import AlertSink
from edge.backends import make_backend
from edge.enroll import build_profile
from edge.pipeline import Pipeline
from edge.profiles import Profile
from edge.review.app import create_app
from edge.store import AlertRecord, AlertStore
from edge.store.engine import alembic_config, make_engine
from edge.store.outbox import pending_events
from haad.cli import app
from models.preprocess import normalise_windows
from pose_frontend.sources import open_source

runner = CliRunner()


def _performance(motions: list[tuple[str, float]], seed: int) -> tuple[np.ndarray, np.ndarray]:
    script = [MotionStep(motion=m, seconds=s) for m, s in motions]  # type: ignore[arg-type]
    with open_source(SyntheticSourceConfig(script=script, seed=seed, realtime=False)) as source:
        got = list(source)
    return np.array([t for t, _ in got]), np.stack([j for _, j in got]).astype(np.float32)


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory):  # -> EncoderBackend
    return make_backend(OnnxRuntimeConfig(cache_dir=str(tmp_path_factory.mktemp("onnx"))))


@pytest.fixture(scope="module")
def ward(backend) -> Profile:  # type: ignore[no-untyped-def]
    """A ward whose normal is walking and squatting, two clips (two people) each."""
    clips = []
    for motion, seeds in (("walk_in_place", (1, 2)), ("squat", (3, 4))):
        for seed in seeds:
            times, joints = _performance([(motion, 8.0)], seed)
            clips.append(Clip(joints, times, motion, name=f"{motion}-{seed}"))
    return build_profile("ward", clips, backend, calibration=WorkerConfig().calibration)


# each camera's abnormal action, between walking: a fall's peak is nearest squatting, a wave's walking
CAMERAS = {"hall": "fall", "bay": "wave_right_hand"}


@pytest.fixture(scope="module")
def alert_log(tmp_path_factory: pytest.TempPathFactory, backend, ward: Profile) -> str:  # type: ignore[no-untyped-def]
    """Each camera's recording replayed through the worker's pipeline and alert sink into a SQLite
    log; its URL."""
    folder = tmp_path_factory.mktemp("log")
    url = f"sqlite:///{folder / 'alerts.db'}"
    sink = AlertSink(StoreConfig(url=url), folder / "outbox.db", model_version=backend.model_version)
    sink.start(list(CAMERAS))
    pipeline = Pipeline(WorkerConfig(), backend, [ward], clock=lambda: 0.0)
    vis = np.ones(20, np.float32)
    try:
        for seed, (stream, action) in enumerate(CAMERAS.items(), 20):
            times, joints = _performance(
                [("walk_in_place", 6.0), (action, 5.0), ("walk_in_place", 8.0)], seed
            )
            for i, (t, j) in enumerate(zip(times, joints, strict=True)):
                at = 1000.0 + float(t)
                pipeline.push(SkeletonFrame(stream, i + 1, at, j, vis, sent_at=at))
                if i % 64 == 63:
                    sink.write([e for b in pipeline.run_due(flush=True) for e in b.events])
        pipeline.finish_streams()
        sink.write([e for b in pipeline.run_due(flush=True) for e in b.events])
        sink.write(pipeline.close_all())
    finally:
        sink.close(timeout_s=30)
    return url


def _nearest_by_hand(alert: AlertRecord, ward: Profile, backend) -> tuple[str, float]:  # type: ignore[no-untyped-def]
    """The behaviour whose mean support embedding the alert's peak window is nearest, and how much
    nearer than the other (a ratio), measured here without the scorer."""
    assert alert.windows is not None and alert.window_scores is not None
    peak = alert.windows[int(np.argmax(alert.window_scores))]
    emb = backend.embed(normalise_windows(peak[None], backend.spec))[0]
    distances = {
        b["name"]: float(np.linalg.norm(emb - ward.embeddings[ward.behaviour_ids == b["id"]].mean(0)))
        for b in ward.behaviour_table
    }
    ranked = sorted(distances, key=distances.__getitem__)
    return ranked[0], distances[ranked[1]] / distances[ranked[0]]


def test_an_alert_records_the_behaviour_its_peak_was_nearest(alert_log: str, ward: Profile, backend) -> None:  # type: ignore[no-untyped-def]
    with AlertStore(alert_log) as store:
        alerts = [store.get_alert(a.id) for a in store.list_alerts()]
    assert {a.stream_id for a in alerts} == set(CAMERAS), "each camera's abnormal action alerts"
    for a in alerts:
        expected, margin = _nearest_by_hand(a, ward, backend)
        assert margin > 1.01, f"{a.stream_id}: its peak is about as near to both behaviours"
        assert a.nearest == expected, a.stream_id
    # the two actions are nearest different behaviours: the name follows the window, not the profile
    assert {a.nearest for a in alerts} == {"walk_in_place", "squat"}


@pytest.fixture
def upgraded_log(tmp_path: Path) -> tuple[str, int, int]:
    """(url, old, new): a log whose alert ``old`` was logged at revision 0009 (before alerts named
    their nearest behaviour) and which this haad upgraded, then logged ``new`` nearest squatting."""
    from alembic import command

    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    now = datetime.now(UTC).replace(microsecond=0)
    with AlertStore(url) as store:
        [old] = store.write_alerts([demo_alert("hall", "ward", now - timedelta(hours=1), seed=1)])
    engine = make_engine(StoreConfig(url=url))
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0009")
    finally:
        engine.dispose()
    with AlertStore(url) as store:
        [new] = store.write_alerts(
            [demo_alert("bay", "ward", now - timedelta(minutes=5), seed=2, nearest="squat")]
        )
    return url, old, new


def test_the_api_alerts_show_and_exports_name_it_and_an_older_alert_shows_none(
    upgraded_log: tuple[str, int, int], tmp_path: Path
) -> None:
    url, old, new = upgraded_log
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    ctx = make_context(url, profiles)
    try:
        with TestClient(create_app(ctx), base_url=BASE_URL) as client:
            listed = {a["id"]: a for a in client.get("/api/v1/alerts", headers=AUTH).json()["items"]}
            assert (listed[new]["nearest"], listed[old]["nearest"]) == ("squat", None)
            assert client.get(f"/api/v1/alerts/{new}", headers=AUTH).json()["nearest"] == "squat"
            assert client.get(f"/api/v1/alerts/{old}", headers=AUTH).json()["nearest"] is None
    finally:
        ctx.store.close()
    with AlertStore(url) as store, store.reading() as s:  # the events MQTT and webhooks are sent
        sent = {e.payload["alert"]["id"]: e.payload["alert"] for e in pending_events(s, 0, 100)}
    assert sent[new]["nearest"] == "squat"
    shown = runner.invoke(app, ["alerts", "show", str(new), "--db", url])
    assert shown.exit_code == 0 and "nearest normal: squat" in shown.output, shown.output
    shown = runner.invoke(app, ["alerts", "show", str(old), "--db", url])
    assert shown.exit_code == 0 and "nearest" not in shown.output, shown.output
    as_json = runner.invoke(app, ["alerts", "show", str(new), "--db", url, "--json"])
    assert json.loads(as_json.output)["nearest"] == "squat"
    for kind in ("csv", "jsonl"):
        out = tmp_path / f"alerts.{kind}"
        assert runner.invoke(app, ["alerts", "export", "--db", url, "--out", str(out)]).exit_code == 0
        with out.open() as f:
            rows = list(csv.DictReader(f)) if kind == "csv" else [json.loads(line) for line in f]
        got = {int(r["id"]): r["nearest"] for r in rows}
        assert got == {new: "squat", old: "" if kind == "csv" else None}


def test_the_alert_page_says_the_nearest_normal_and_an_older_alerts_page_does_not(
    upgraded_log: tuple[str, int, int],
    tmp_path: Path,
    page,  # type: ignore[no-untyped-def]
) -> None:
    url, old, new = upgraded_log
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    port = free_port()
    ctx = make_context(url, profiles, port=port)
    try:
        with running(create_app(ctx), port) as base:
            page.goto(base + "/")
            page.fill("#token", TOKEN)
            page.click("#login")
            page.wait_for_selector(f"tr[data-id='{new}']")
            for alert_id in (new, old):
                page.goto(f"{base}/alerts/{alert_id}")
                page.wait_for_function("document.getElementById('meta').textContent.includes('threshold')")
                meta = page.locator("#meta").inner_text()
                if alert_id == new:
                    assert "nearest normal\nsquat" in meta or "nearest normal\tsquat" in meta, meta
                else:
                    assert "nearest" not in meta and "undefined" not in meta and "null" not in meta, meta
    finally:
        ctx.store.close()


@pytest.fixture
def people_log(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """(url, id): a log of one-person cameras' alerts and one of person 3 of a tracking camera."""
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    now = datetime.now(UTC).replace(microsecond=0)
    tracked = demo_alert("ward", "ward", now - timedelta(minutes=1), seed=9)
    with AlertStore(url) as store:
        store.write_alerts([demo_alert("door", "ward", now - timedelta(hours=h), seed=h) for h in (1, 2)])
        [alert_id] = store.write_alerts([type(tracked)(**{**tracked.__dict__, "person": 3})])
    yield url, alert_id


def test_alerts_list_filters_by_person(people_log: tuple[str, int]) -> None:
    url, alert_id = people_log

    def listed(*args: str) -> list[int]:
        got = runner.invoke(app, ["alerts", "list", "--db", url, "--json", *args])
        assert got.exit_code == 0, got.output
        return [a["id"] for a in json.loads(got.output)]

    assert listed("--person", "3") == [alert_id]
    assert listed("--person", "3", "--stream", "door") == []
    assert alert_id not in listed("--person", "0") and len(listed("--person", "0")) == 2
    assert len(listed()) == 3
    # the count beside a page cut by --limit counts that person's alerts only
    got = runner.invoke(app, ["alerts", "list", "--db", url, "--person", "0", "--limit", "1"])
    assert got.exit_code == 0 and "showing 1 of 2" in got.output, got.output
    refused = runner.invoke(app, ["alerts", "list", "--db", url, "--person", "-1"])
    assert refused.exit_code == 2
