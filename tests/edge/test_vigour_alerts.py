"""Vigour in the worker, on real Kinder-Gator skeletons: a profile enrolled from other people's
seconds of calm alerts on every recording of strikes between calm stretches, no second of other
people's normal motion reaches its vigour threshold, and marking a strike normal for a camera raises
that camera's reference (edge/vigour.py)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from config.backend import OnnxRuntimeConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from edge.feedback import add_windows, empty_overlay
from edge.pipeline import Pipeline
from edge.vigour import enrolled_reference, most_vigorous, reference
from evaluation.stream import replay
from evaluation.stream_sets import STREAM_SETS
from models.preprocess import WindowSpec, clip_frames


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory):
    return make_backend(OnnxRuntimeConfig(cache_dir=str(tmp_path_factory.mktemp("onnx"))))


@pytest.fixture(scope="module")
def calm(data_root: Path):
    return STREAM_SETS["kinder-gator-calm"](str(data_root))


ON, OFF = WorkerConfig(), WorkerConfig(vigour_factor=0.0)


@pytest.fixture(scope="module")
def calm_profile(backend):  # -> Callable[[LabelledStream], Profile]
    """A calm stream's profile (the default calibration), built once per support: the 18 streams
    share 6 supports."""
    built = {}

    def profile(stream):  # type: ignore[no-untyped-def]
        key = tuple(c.name for c in stream.support)
        if key not in built:
            built[key] = build_profile("calm", stream.support, backend, calibration=ON.calibration)
        return built[key]

    return profile


@pytest.fixture(scope="module")
def calm_runs(backend, calm, calm_profile) -> list[dict]:
    """Each calm stream replayed against its profile by the default worker ("on") and one without
    vigour ("off"), in the order of ``calm``."""
    return [
        {name: replay(s, calm_profile(s), backend, cfg) for name, cfg in (("on", ON), ("off", OFF))}
        for s in calm
    ]


def test_enrolment_records_the_most_vigorous_second_and_a_profile_without_one_gets_none(
    backend, calm, calm_profile, data_root: Path
) -> None:
    cal = WorkerConfig().calibration
    support = calm[0].support
    profile = calm_profile(calm[0])
    frames = [clip_frames(c.joints, c.times, backend.spec) for c in support]
    assert profile.meta["vigour"] == pytest.approx(enrolled_reference(frames, backend.spec.fps), abs=1e-4)
    walk = next(s for s in STREAM_SETS["kinder-gator"](str(data_root)))
    more = build_profile("calm", walk.support[:1], backend, calibration=cal, behaviour="walk", base=profile)
    walk_frames = clip_frames(walk.support[0].joints, walk.support[0].times, backend.spec)
    expected = max(profile.meta["vigour"], most_vigorous(walk_frames, backend.spec.fps))
    assert more.meta["vigour"] == pytest.approx(expected, abs=1e-4) and expected > profile.meta["vigour"]
    old = build_profile(
        "calm", walk.support[:1], backend, calibration=cal, behaviour="walk",
        base=replace(profile, meta={k: v for k, v in profile.meta.items() if k != "vigour"}),
    )  # fmt: skip
    assert "vigour" not in old.meta and np.isnan(reference(old, backend.spec))


def test_a_calm_profile_alerts_on_every_recording_of_strikes_and_without_vigour_it_does_not(
    calm, calm_runs
) -> None:
    assert len(calm_runs) == len(calm)  # every recording of the set
    silent = {name: sum(not runs[name].opened for runs in calm_runs) for name in ("on", "off")}
    assert silent["on"] == 0 < silent["off"]


@pytest.mark.parametrize("name", ["kinder-gator", "kinder-gator-dense", "utkinect-behaviours"])
def test_no_second_of_other_peoples_normal_motion_reaches_the_vigour_threshold(
    data_root: Path, name: str
) -> None:
    factor, ws = WorkerConfig().vigour_factor, WindowSpec()
    for stream in STREAM_SETS[name](str(data_root))[:40]:
        ref = enrolled_reference([clip_frames(c.joints, c.times, ws) for c in stream.support], ws.fps)
        t = stream.recording.times
        for a, b in stream.normal:
            inside = (t >= a) & (t <= b)
            if inside.sum() < 10:
                continue
            frames = clip_frames(stream.recording.joints[inside], t[inside], ws)
            assert most_vigorous(frames, ws.fps) < factor * ref, (stream.name, a, b)


def test_marking_a_strike_normal_for_one_camera_raises_that_cameras_reference_only(
    backend, calm, calm_profile, calm_runs
) -> None:
    cfg = WorkerConfig()
    stream = calm[0]
    profile = calm_profile(stream)
    before = calm_runs[0]["on"]
    assert before.opened
    kept = [k.frames for e in before.closed for k in e.episode.windows]
    overlay = add_windows(
        empty_overlay(profile, "eval"), [(1, np.stack(kept))], backend, spec=backend.spec, reviewer="t"
    )
    assert reference(overlay, backend.spec, overlay=True) > 3 * reference(profile, backend.spec)
    marked = partial(Pipeline, extra={("eval", profile.name): overlay})
    after = replay(stream, profile, backend, cfg, make_pipeline=marked)
    assert max(c[2] for c in after.crops) < max(c[2] for c in before.crops)
    assert len(after.opened) < len(before.opened)
    other = replay(stream, profile, backend, cfg)  # another camera, no overlay: as before
    assert len(other.opened) == len(before.opened)


def test_a_strike_in_a_persons_first_seconds_alerts_before_their_first_full_window(
    backend, calm, calm_runs
) -> None:
    """A segment's windows are scored whole from 3 s on; as it grows, its windows are measured by
    vigour alone (ReadyWindow.growing), so a strike in the first seconds opens its alert then."""
    first_full = (backend.spec.frames - 1) / backend.spec.fps  # the first full window's end, from 0
    early = {"on": 0, "off": 0}
    for stream, runs in zip(calm[:9], calm_runs[:9], strict=True):
        for name, run in runs.items():
            t0 = stream.recording.times[0]
            early[name] += run.opened[0].episode.end - t0 < first_full - 1e-6 if run.opened else 0
    assert early["off"] == 0 and early["on"] >= 5


def test_a_short_segment_that_alerted_as_it_grew_gives_one_alert_when_its_held_windows_follow(
    backend, calm, calm_profile
) -> None:
    """The growing windows reach the episodes first; at the segment's end its held windows follow
    with earlier end times. One alert, opened once and closed once, spanning the strike."""
    stream = calm[0]
    (a0, a1) = stream.abnormal[0]
    rec = stream.recording
    keep = rec.times <= a1 + 0.3  # calm, the first strike, a little after: under 3 s
    assert rec.times[keep][-1] - rec.times[0] < 3.0
    short = replace(stream, recording=replace(rec, joints=rec.joints[keep], times=rec.times[keep]))
    run = replay(short, calm_profile(stream), backend, WorkerConfig())
    assert len(run.opened) == 1 and len(run.closed) == 1
    opened, closed = run.opened[0].episode, run.closed[0].episode
    assert opened.episode_id == closed.episode_id and opened.end < rec.times[keep][-1]
    start, end = closed.action_span
    assert start <= a1 and end >= a0
