"""Shared fixtures. Tests that need ../shared/data skip without it, except in CI (CI=true) where a
missing dataset is a failure."""

from __future__ import annotations

import getpass
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from tests.faults import TcpProxy
from training.datasets import DataNotFoundError, resolve_data_root


@pytest.fixture(scope="session")
def data_root() -> Path:
    try:
        return resolve_data_root()
    except DataNotFoundError as e:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the shared datasets are missing: {e}")
        pytest.skip(f"shared datasets not available: {e}")


# The local server by default; CI may point elsewhere (e.g. a service container).
PG_HOST = os.environ.get("HAAD_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("HAAD_TEST_PG_PORT", "5432"))
PG_DB = "test"


@pytest.fixture(scope="session")
def pg_user() -> str:
    """A user the PostgreSQL server trusts (``postgres``, else the OS user)."""
    problems = []
    for user in dict.fromkeys(("postgres", getpass.getuser())):
        try:
            psycopg.connect(host=PG_HOST, port=PG_PORT, dbname=PG_DB, user=user, connect_timeout=3).close()
            return user
        except psycopg.OperationalError as e:
            problems.append(f"{user}: {' '.join(str(e).split())}")
    why = f"PostgreSQL at {PG_HOST}:{PG_PORT}/{PG_DB} is unreachable ({'; '.join(problems)})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {why}")
    pytest.skip(why)


@pytest.fixture
def pg_url(pg_user: str) -> Iterator[str]:
    """A URL of the local PostgreSQL server whose connections live in a fresh schema (libpq
    ``options=-csearch_path``), dropped afterwards, so parallel runs never meet."""
    schema = f"haad_test_{uuid.uuid4().hex[:12]}"
    conninfo = f"host={PG_HOST} port={PG_PORT} dbname={PG_DB} user={pg_user}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"postgresql+psycopg://{pg_user}@{PG_HOST}:{PG_PORT}/{PG_DB}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session", autouse=True)
def _named_datasets_read_once() -> Iterator[None]:
    """Each named dataset is parsed from disk once per test process (Kinder-Gator takes ~3 s, and
    tests and the evaluation code they run ask for it dozens of times); every call still gets its
    own deep copy, so a test that changes the clips it was given changes nothing for the next."""
    import copy

    from training.datasets import registry

    def read_once(load: Callable[[Path], Any]) -> Callable[[Path], Any]:
        loaded: dict[Path, Any] = {}

        def load_copy(root: Path) -> Any:
            if root not in loaded:
                loaded[root] = load(root)
            return copy.deepcopy(loaded[root])

        return load_copy

    with pytest.MonkeyPatch.context() as mp:
        for name, load in registry._LOADERS.items():
            mp.setitem(registry._LOADERS, name, read_once(load))
        yield


@pytest.fixture(scope="session")
def kinder_gator(data_root: Path):  # -> training.datasets.ClipSet
    """The Kinder-Gator clip set (real Kinect v1 skeletons, irregular timestamps), loaded once."""
    from training.datasets import load_dataset

    return load_dataset("kinder-gator", data_root)


@pytest.fixture(scope="session")
def tiny_humanmac():  # -> models.humanmac.HumanMAC
    """A small HumanMAC with random (seeded, non-zero) weights and a codec fitted to smooth random
    motion: real modules, untrained, built in memory in well under a second."""
    import numpy as np
    import torch

    from models.humanmac import HumanMAC
    from models.humanmac.codec import MotionCodec
    from models.humanmac.network import DenoiserConfig, MotionDenoiser
    from models.humanmac.scheduler import CosineDDIMScheduler
    from models.preprocess import WindowSpec

    torch.manual_seed(0)
    network = MotionDenoiser(DenoiserConfig(width=16, depth=1, heads=2))
    with torch.no_grad():
        for p in network.parameters():  # zero-initialised heads would make every prediction 0
            p.normal_(0.0, 0.05)
    rng = np.random.default_rng(0)
    motion = np.cumsum(rng.normal(0.0, 0.02, size=(32, 60, 20, 3)), axis=1).astype(np.float32)
    codec = MotionCodec(60, 20, 20).fit(motion)
    return HumanMAC(network, codec, CosineDDIMScheduler(), WindowSpec())


@pytest.fixture(scope="session")
def tiny_macdiff():  # -> models.macdiff.MacDiff
    """A small MacDiff (10-frame patches, width 16, one block each) with random (seeded, non-zero)
    weights and a scaler fitted to smooth random motion: untrained, built in memory at once."""
    import numpy as np
    import torch

    from models.humanmac.scheduler import CosineDDIMScheduler
    from models.macdiff import MacDiff
    from models.macdiff.model import Standardiser
    from models.macdiff.network import MacDiffConfig, MacDiffNetwork
    from models.preprocess import WindowSpec

    torch.manual_seed(0)
    network = MacDiffNetwork(MacDiffConfig(patch=10, width=16, encoder_depth=1, decoder_depth=1, heads=2))
    with torch.no_grad():
        for p in network.parameters():  # zero-initialised heads and gates would make every output 0
            p.normal_(0.0, 0.05)
    motion = np.cumsum(np.random.default_rng(0).normal(0.0, 0.03, size=(8, 60, 20, 3)), axis=1)
    return MacDiff(
        network, Standardiser(20).fit(motion.astype(np.float32)), CosineDDIMScheduler(), WindowSpec()
    )


@pytest.fixture(scope="session")
def generate():  # -> Callable[..., np.ndarray]
    """``generate(model, windows, n_g, observed=30, gap="end", steps=50, sampler=None, eta=0.0, rng=None)``:
    HumanMAC completions with the settings spelled as keywords (predicted ends of 30 observed frames
    unless told otherwise, the paper's form)."""
    from config.completions import CompletionSettings, SamplerSettings

    def run(model, windows, n_g, *, observed=30, gap="end", steps=50, sampler=None, eta=0.0, rng=None):
        sampler = (sampler or SamplerSettings()).model_copy(update={"eta": eta})
        settings = CompletionSettings(n_g=n_g, observed=observed, gap=gap, steps=steps, sampler=sampler)
        return model.generate(windows, settings, rng=rng)

    return run


@pytest.fixture
def pg_proxy(pg_url: str) -> Iterator[tuple[TcpProxy, str]]:
    """A :class:`~tests.faults.TcpProxy` in front of the PostgreSQL server, and ``pg_url`` through it."""
    with TcpProxy((PG_HOST, PG_PORT)) as proxy:
        yield proxy, proxy.url(pg_url)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a small file system of its own (a 1 MiB tmpfs) that ``tests.faults.fill`` fills
    to the last byte, so writes there fail with ENOSPC as on a full disk. Needs the right to mount
    (root, as here and in CI); skips with the reason elsewhere."""
    import subprocess

    folder = tmp_path / "full"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill ({mounted.stderr.strip()})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def truncated_video(tmp_path: Path) -> Path:
    """``cut.avi``: an AVI whose header promises 90 frames (3 s at 30 fps) cut after a third of its
    bytes, as a copy that stopped early leaves it: it opens, then ends after about 30 frames."""
    import cv2
    import numpy as np

    path = tmp_path / "cut.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 30.0, (64, 64))
    rng = np.random.default_rng(0)  # noise frames are all about as large: a third of the bytes, ~30
    for _ in range(90):
        writer.write(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    writer.release()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


@pytest.fixture
def squat_clipset(data_root: Path, tmp_path: Path) -> Callable[..., Path]:
    """``squat_clipset(name, visibility, joints=None, **arrays)``: MediaPipe's own squat (65 frames of
    33 world landmarks, x y z, or ``joints`` given in their place) as a clip-set file ``name`` in
    tmp_path of one recording at its 5 fps, ``visibility`` a 4th column when given (per frame and
    landmark, or one value for all), ``arrays`` (frame_labels) added."""
    world = np.array(
        json.loads((data_root / "mediapipe_pose_testdata" / "pose_squats_3d.full.json").read_text()),
        np.float32,
    )

    def write(
        name: str, visibility: np.ndarray | float | None = None, joints: np.ndarray | None = None,
        **arrays: np.ndarray,
    ) -> Path:  # fmt: skip
        xyz = world if joints is None else joints
        if visibility is not None:
            column = np.broadcast_to(np.asarray(visibility, np.float32), xyz.shape[:2])[..., None]
            xyz = np.concatenate([xyz, column], -1)
        np.savez(tmp_path / name, joints=xyz, offsets=np.array([0, len(xyz)]), labels=np.array("squat"),
                 subjects=np.array("s"), fps=np.array(5.0), layout=np.array("mediapipe33"), **arrays)  # fmt: skip
        return tmp_path / name

    return write
