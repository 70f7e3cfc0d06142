"""What ``haad eval`` tells a user who names a checkpoint or data set it cannot use (nothing is scored)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from clips.files import save_clipset_file
from evaluation.macdiff import evaluate_macdiff
from haad.cli import app, bench, evaluate, train
from models.encoder import ActionEncoder, EncoderConfig, save_encoder
from models.humanmac import DEFAULT_HUMANMAC_PATH
from models.macdiff import load_macdiff
from models.preprocess import WindowSpec
from training.datasets import load_dataset


def _refused(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and result.exception is not None
    assert isinstance(result.exception, SystemExit), result.exception
    return result.output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["--dataset", "nw-ucla"],
            "HumanMAC is evaluated on kinder-gator, msr or a clip-set .npz file; got 'nw-ucla'",
        ),
        (["--model", "absent.safetensors"], "checkpoint needs both absent.safetensors and absent.json"),
    ],
)
def test_eval_humanmac_names_what_it_cannot_use(tmp_path: Path, args: list[str], said: str) -> None:
    assert said in _refused(["eval", "humanmac", *args, "--out", str(tmp_path / "out")])


def test_eval_stream_refuses_a_config_whose_encoder_is_another_model(tmp_path: Path) -> None:
    config = tmp_path / "edge.yaml"
    config.write_text(yaml.safe_dump({"encoder": str(DEFAULT_HUMANMAC_PATH)}))
    said = _refused(["eval", "stream", "--config", str(config), "--out", str(tmp_path / "out")])
    assert "encoder: " in said and "is a 'haad.humanmac' checkpoint, not 'haad.encoder'" in said


def test_eval_stream_augment_refuses_an_encoder_of_other_window_lengths_before_reading_data(
    tmp_path: Path,
) -> None:
    encoder = tmp_path / "enc40.safetensors"
    save_encoder(
        encoder,
        ActionEncoder(EncoderConfig(frames=40, hidden=16, blocks=1)).eval(),
        WindowSpec(frames=40),
        {},
    )
    config = tmp_path / "edge.yaml"
    config.write_text(yaml.safe_dump({"encoder": str(encoder), "worker": {"backend": {"type": "torch"}}}))
    # an empty data root: the refusal must come before any recording is read
    args = ["eval", "stream", "--augment", "--config", str(config), "--data-root", str(tmp_path)]
    said = _refused([*args, "--out", str(tmp_path / "out")])
    assert (
        said
        == "error: HumanMAC takes windows of 60 frames, the encoder cuts 40; use one trained with the same window.frames\n"
    )


def test_eval_humanmac_and_macdiff_score_a_users_clip_set(tmp_path: Path, data_root: Path) -> None:
    own = tmp_path / "site.npz"
    save_clipset_file(own, [c for c in load_dataset("msr", data_root).clips if c.subject == "9"][:4])
    quick = ["--dataset", str(own), "--max-windows", "2", "--samples", "2", "--steps", "1"]
    result = CliRunner().invoke(app, ["eval", "humanmac", *quick, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "humanmac_eval.json").read_text())
    assert summary["dataset"] == str(own) and summary["test_subjects"] == ["9"] and summary["windows"] == 2
    summary = evaluate_macdiff(
        load_macdiff(), None, dataset=str(own), max_windows=2, samples=1, steps=1, progress=False
    )
    assert summary["test_subjects"] == ["9"] and summary["windows"] == 2


@pytest.mark.parametrize(
    "args",
    [
        ["eval", "fewshot", "--dataset", "msr"],
        ["eval", "stream", "--dataset", "kinder-gator"],
        ["eval", "humanmac"],
        ["eval", "macdiff"],
        ["train", "ablation"],
    ],
)
def test_a_file_where_the_reports_go_is_refused_before_any_work(tmp_path: Path, args: list[str]) -> None:
    taken = tmp_path / "results"
    taken.write_text("")
    for out in (taken, taken / "fewshot"):
        said = _refused([*args, "--out", str(out)])
        assert f"{taken} is a file, not a folder" in said and "Errno" not in said


@pytest.mark.parametrize(
    ("group", "said"),
    [
        (evaluate.app, {"fewshot": "few-shot", "stream": "streams", "humanmac": "HumanMAC", "macdiff": "MacDiff",
                        "multiperson": "several people"}),
        (train.app, {"encoder": "encoder", "humanmac": "HumanMAC", "macdiff": "MacDiff", "ablation": "ablation",
                     "calibration-prior": "calibration prior", "export-onnx": "ONNX"}),
        (bench.app, {"worker": "worker", "support-aug": "support-set augmentation", "frontend": "pose frontend"}),
    ],
)  # fmt: skip
def test_each_command_groups_summary_names_every_command_in_it(
    group: typer.Typer, said: dict[str, str]
) -> None:
    assert {c.name for c in group.registered_commands} == set(said)
    summary = str(group.info.help)
    assert all(word in summary for word in said.values()), summary
