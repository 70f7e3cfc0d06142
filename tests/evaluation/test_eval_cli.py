"""What ``haad eval`` tells a user who names a checkpoint or data set it cannot use (nothing is scored)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from haad.cli import app
from models.humanmac import DEFAULT_HUMANMAC_PATH


def _refused(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and result.exception is not None
    assert isinstance(result.exception, SystemExit), result.exception
    return result.output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--dataset", "nw-ucla"], "HumanMAC is evaluated on kinder-gator or msr; got 'nw-ucla'"),
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
