"""One action interrupted: a Kinder-Gator recording (walk in place, throw a ball at 10-15.1 s, walk)
as real bus frames, scored by the worker's pipeline against a profile of its own walking, then cut
by a hole in the stream, a killed worker or a frontend numbering people afresh."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bus.messages import SkeletonFrame
from config.backend import OnnxRuntimeConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.enroll import build_profile
from evaluation.person_mix import Replayed, mix_people
from evaluation.stream_sets import kinder_gator_streams


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory):
    return make_backend(OnnxRuntimeConfig(cache_dir=str(tmp_path_factory.mktemp("onnx"))))


@pytest.fixture(scope="session")
def stream(data_root: Path):
    return next(
        s for s in kinder_gator_streams(str(data_root)) if s.name == "kg:934:Walk-in-place->Throw-a-ball-"
    )


@pytest.fixture(scope="session")
def profile(stream, backend):
    return build_profile("normal", stream.support, backend, calibration=WorkerConfig().calibration)


@pytest.fixture(scope="session")
def recorded(stream) -> dict[str, list[SkeletonFrame]]:
    """The recording's frames: person 0 alone ("person-0"), or person 1 throwing with person 2
    walking in place beside them ("tracked")."""
    rec = stream.recording
    times = rec.times - rec.times[0]
    walk = (rec.times >= stream.normal[0][0]) & (rec.times <= stream.normal[0][1])
    walker = np.concatenate([rec.joints[walk]] * 3)[: len(times)]
    vis = np.ones(20, np.float32)
    alone = [
        SkeletonFrame("cam", i, float(t), j, vis)
        for i, (t, j) in enumerate(zip(times, rec.joints, strict=True))
    ]
    step = float(np.median(np.diff(times)))
    two = [Replayed(1, rec.joints, times), Replayed(2, walker, np.arange(len(times)) * step)]
    return {"person-0": alone, "tracked": mix_people(two, "cam", grid=times)}
