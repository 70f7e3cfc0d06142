"""Every number setting of the worker (worker.*, worker.episodes.*, worker.calibration.*) at each of
the bounds the config allows: enrolment and the scoring path run with it (windows, scores, episodes),
so a value edge.yaml accepts is one the worker can use, not one found wrong when a camera is live
(worker.max_gap_s: 0 was accepted, and then every frame was a hole: nothing was ever scored)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ValidationError

from bus.messages import SkeletonFrame
from clips import Clip
from config.edge import EdgeConfig
from config.worker import CalibrationConfig, EpisodeConfig, WorkerConfig
from edge.backends.raw_dct import RawDctBackend
from edge.enroll import build_profile
from edge.pipeline import Pipeline
from models.preprocess import WindowSpec
from tests.test_bad_input_sweep_bus import _performance


def _bounds(model: type[BaseModel]) -> Iterator[tuple[str, float]]:
    """(setting, value) at each bound of ``model``'s number settings (just inside an open one)."""
    for name, field in model.model_fields.items():
        if field.annotation not in (int, float):
            continue
        step = 1 if field.annotation is int else 1e-6
        for m in field.metadata:
            if isinstance(m, Ge | Le):
                yield name, m.ge if isinstance(m, Ge) else m.le  # type: ignore[misc]
            elif isinstance(m, Gt):
                yield name, m.gt + step  # type: ignore[operator]
            elif isinstance(m, Lt):
                yield name, m.lt - step  # type: ignore[operator]


def _settings() -> Iterator[dict[str, Any]]:
    for name, value in _bounds(WorkerConfig):
        # max_batch <= max_pending_windows: the other one made room
        room = {"max_batch": {"max_pending_windows": 8192}, "max_pending_windows": {"max_batch": 1}}
        yield {name: value, **room.get(name, {})}
    for section, model in (("episodes", EpisodeConfig), ("calibration", CalibrationConfig)):
        for name, value in _bounds(model):
            if (name, value) in (("open_k", 100), ("open_n", 1)):  # open_k <= open_n: refused at load
                continue
            yield {section: {name: value}}


def test_every_worker_number_at_its_bounds_enrols_and_scores() -> None:
    backend = RawDctBackend(WindowSpec())
    walk = _performance([("walk_in_place", 12.0)], seed=1)
    clip = Clip(np.stack([j for _, j in walk]), np.array([t for t, _ in walk]), "", "s", "walk")
    moves = _performance([("walk_in_place", 3.0), ("jump_flail", 4.0), ("walk_in_place", 3.0)], seed=7)
    vis = np.ones(20, np.float32)
    camera = [SkeletonFrame("cam", i + 1, 100.0 + t, j, vis, 0.0) for i, (t, j) in enumerate(moves)]
    tried = 0
    for settings in _settings():
        try:  # as edge.yaml gives it: with its streams (the default one: 30 frames a second)
            cfg = EdgeConfig.model_validate({"worker": settings}).worker
        except ValidationError as e:  # only where no stream could be scored
            assert "max_gap_s" in str(e) and settings == {"max_gap_s": 0}, e
            continue
        if cfg.min_segment_s > 12.0:  # longer than the clip: enrolment refuses it, saying so
            with pytest.raises(ValueError, match="min_segment_s"):
                build_profile(
                    "walk", [clip], backend, calibration=cfg.calibration, min_segment_s=cfg.min_segment_s
                )
            continue
        profile = build_profile(
            "walk", [clip], backend, calibration=cfg.calibration, min_segment_s=cfg.min_segment_s
        )
        pipeline = Pipeline(cfg, backend, [profile])
        for frame in camera:
            pipeline.push(frame)
            pipeline.run_due()
        pipeline.run_due(flush=True)
        pipeline.close_all()
        assert pipeline.stats.windows_scored + pipeline.stats.growing_windows > 0, settings
        tried += 1
    assert tried > 30
