"""docs/benchmark.md's examples of writing one's own files: run as a user copies them, on real clips,
and the files they write go through ``haad eval stream`` and ``haad eval fewshot``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from evaluation.stream_sets import stitch
from haad.cli import app
from models.encoder import ActionEncoder, EncoderConfig, save_encoder
from models.preprocess import WindowSpec
from training.datasets import load_dataset
from training.protocol import KINDER_GATOR

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "docs/benchmark.md").read_text(), re.S)


def _run(example: str, data_name: str, data: object, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example as written, its placeholder list of the user's data swapped for ``data``."""
    code = re.sub(rf"^{data_name} = \[.*$", f"{data_name} = __data__", example, count=1, flags=re.M)
    assert "__data__" in code, f"the example lost its {data_name} = [...] line"
    monkeypatch.chdir(cwd)
    exec(compile(code, "docs/benchmark.md", "exec"), {"__data__": data})


@pytest.fixture(scope="module")
def kinder_gator(data_root: Path):
    return {(c.subject, c.label): c for c in load_dataset("kinder-gator", data_root).clips}


def test_the_docs_recording_example_writes_a_file_haad_eval_stream_scores(
    kinder_gator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recordings = []
    for s in sorted(KINDER_GATOR.test_subjects)[:4]:
        joints, times, spans = stitch([kinder_gator[(s, "Walk-in-place")], kinder_gator[(s, "Punch")]])
        labels = [""] * len(times)  # the blend between the parts is not annotated
        for (a, b), label in zip(spans, ["walking", "punch"], strict=True):
            labels = [label if a <= t <= b else old for t, old in zip(times, labels, strict=True)]
        recordings.append((joints.astype(np.float64), labels, f"person {s}"))
    _run(_examples()[0], "recordings", recordings, tmp_path, monkeypatch)
    result = runner.invoke(
        app, ["eval", "stream", "--recordings", "mine.npz", "--normal", "walking", "--out", "o"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "o/stream_mine.json").read_text())
    assert summary["streams"] == 4 and summary["abnormal_parts"] == 4 and summary["normal"] == ["walking"]


def test_the_docs_clip_example_writes_a_file_haad_eval_fewshot_scores(
    kinder_gator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clips = [
        (kinder_gator[(s, a)].joints, a, s)
        for s in sorted(KINDER_GATOR.test_subjects)[:4]
        for a in ("Walk-in-place", "Punch", "Jump")
    ]
    _run(_examples()[1], "clips", clips, tmp_path, monkeypatch)
    torch.manual_seed(0)
    save_encoder(
        tmp_path / "enc.safetensors",
        ActionEncoder(EncoderConfig(hidden=16, blocks=1)).eval(),
        WindowSpec(),
        {},
    )
    result = runner.invoke(
        app,
        [
            "eval",
            "fewshot",
            "--dataset",
            "clips.npz",
            "--encoder",
            "enc.safetensors",
            "--seeds",
            "1",
            "--out",
            "o",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "o/summary.json").read_text())
    assert summary["test_clips"] == 12 and set(summary["methods"]["encoder"]["per_category"]) == {
        "Walk-in-place",
        "Punch",
        "Jump",
    }
