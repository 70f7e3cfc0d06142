"""The folders are the architecture: what ships to a camera host imports no training or evaluation
code, nothing imports a layer above it, and no two modules import each other in a circle."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Which project packages each package may import. The runtime that ships to a camera host is
# config, models, clips, bus, pose_frontend and edge.
ALLOWED: dict[str, set[str]] = {
    "config": set(),
    "models": {"config"},
    "clips": {"config", "models"},  # config: the worker's min_visibility a file's frames follow
    "bus": {"config", "models"},
    "pose_frontend": {"config", "models", "clips", "bus"},
    "edge": {"config", "models", "clips", "bus", "pose_frontend"},
    "training": {"config", "models", "clips"},
    "evaluation": {"config", "models", "clips", "bus", "pose_frontend", "edge", "training"},
    "haad": {"config", "models", "clips", "bus", "pose_frontend", "edge", "training", "evaluation"},
}


def modules() -> Iterator[tuple[str, Path]]:
    for package in ALLOWED:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Absolute project imports of a module (those inside functions too unless ``top_level_only``)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] in ALLOWED}


def test_every_package_imports_only_the_layers_below_it() -> None:
    bad = []
    for name, path in modules():
        package = name.split(".")[0]
        for target in imports(path, top_level_only=False):
            other = target.split(".")[0]
            if other != package and other not in ALLOWED[package]:
                bad.append(f"{path.relative_to(ROOT)} imports {target}")
    assert bad == []


def test_no_module_level_import_circle() -> None:
    known = dict(modules())
    graph = {
        name: {t for t in imports(path, top_level_only=True) if t in known and t != name}
        for name, path in known.items()
    }
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*trail, node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*trail, node])):
                return cycle
        state[node] = 2
        return None

    for name in sorted(graph):
        if name not in state:
            assert visit(name, []) is None, "import circle"


def test_the_onnx_runtime_path_never_imports_torch(tmp_path: Path) -> None:
    """A camera host with the exported encoder cached runs the worker, enrolment and the alert log
    without loading torch (2 s and ~770 MB saved at every start)."""
    cache = tmp_path / "onnx"
    export = f"from config.backend import OnnxRuntimeConfig; from edge.backends import make_backend; make_backend(OnnxRuntimeConfig(cache_dir={str(cache)!r}))"
    subprocess.run([sys.executable, "-c", export], cwd=ROOT, check=True)
    check = f"""
import sys
import numpy as np
import edge.daemon, edge.worker, edge.enroll, edge.enrol_files, edge.store, edge.alerts_sink, bus
from config.backend import OnnxRuntimeConfig
from edge.backends import make_backend
backend = make_backend(OnnxRuntimeConfig(cache_dir={str(cache)!r}))
assert backend.embed(np.zeros((2, 60, 20, 3), np.float32)).shape[0] == 2
print(sorted(m for m in sys.modules if m == "torch" or m.startswith("torch.")))
"""
    out = subprocess.run([sys.executable, "-c", check], cwd=ROOT, check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("package", ["edge", "pose_frontend", "bus", "clips"])
def test_runtime_packages_import_without_training_or_evaluation_code(package: str) -> None:
    code = f"import sys, pkgutil, importlib, {package}\n" + (
        f"for m in pkgutil.walk_packages({package}.__path__, '{package}.'): importlib.import_module(m.name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'training', 'evaluation'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"
