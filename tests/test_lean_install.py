"""The lean edge install (``pip install .``, no ``train`` extra) has no torch: enrolment, the bundled
encoder graph and the worker's scoring path run in a process where importing torch fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# On PYTHONPATH ahead of site-packages: every later import of torch fails as on a host without it.
BLOCKER = """
import sys
from importlib.abc import MetaPathFinder


class NoTorch(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: the lean install has no torch)")
        return None


sys.meta_path.insert(0, NoTorch())
"""

WORKER_PATH = """
import json, sys, time
from pathlib import Path
import numpy as np
from bus.messages import SkeletonFrame
from config.backend import OnnxRuntimeConfig
from config.worker import WorkerConfig
from edge.backends import make_backend
from edge.demo import PROFILES_DIR, STREAM_SCRIPT, STREAM_SEED, build_demo_profiles
from edge.pipeline import Pipeline
from edge.profiles import ProfileStore
from pose_frontend.synthetic import SyntheticPerformer

try:
    import torch  # noqa: F401
    raise SystemExit("torch imported: the blocker is not in place")
except ModuleNotFoundError:
    pass
enrolled = build_demo_profiles(Path(sys.argv[1]))  # enrolment from synthetic clips, as haad demo's
backend = make_backend(OnnxRuntimeConfig(cache_dir=sys.argv[2]))
int8 = make_backend(OnnxRuntimeConfig(cache_dir=sys.argv[2], precision="int8"))  # bundled too
assert int8.embed(np.zeros((2, 60, 20, 3), np.float32)).shape == (2, backend.embedding_dim)
pipeline = Pipeline(WorkerConfig(), backend, [ProfileStore(PROFILES_DIR).load("demo-walk")])
times, joints = SyntheticPerformer(STREAM_SCRIPT, seed=STREAM_SEED).render()
events = []
for i, (t, j) in enumerate(zip(times, joints)):
    pipeline.push(SkeletonFrame("cam", i, float(t), j, np.ones(20, np.float32), time.time()))
    events += [e for b in pipeline.run_due() for e in b.events]
pipeline.finish_streams()
events += [e for b in pipeline.run_due(flush=True) for e in b.events] + pipeline.close_all()
print(json.dumps({
    "enrolled": [str(p) for p in enrolled],
    "graph": str(backend.onnx_path),
    "windows": pipeline.report()["windows_scored"],
    "opened": sum(e.kind == "opened" for e in events),
    "torch": sorted(m for m in sys.modules if m == "torch" or m.startswith("torch.")),
}))
"""


def test_enrolment_and_scoring_run_where_torch_cannot_be_imported(tmp_path: Path) -> None:
    (tmp_path / "blocker").mkdir()
    (tmp_path / "blocker" / "sitecustomize.py").write_text(BLOCKER)
    cache = tmp_path / "onnx-cache"
    out = subprocess.run(
        [sys.executable, "-c", WORKER_PATH, str(tmp_path / "profiles"), str(cache)],
        cwd=ROOT, env={"PYTHONPATH": f"{tmp_path / 'blocker'}:{ROOT}", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["torch"] == []
    assert [Path(p).name for p in result["enrolled"]] == ["v0001.npz"]
    # The bundled graph beside the weights ran; nothing was exported into the cache.
    assert result["graph"] == str(ROOT / "models" / "weights" / "encoder.onnx") and not cache.exists()
    assert result["windows"] > 50 and result["opened"] == 1  # the demo's one abnormal action
