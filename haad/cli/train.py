"""``haad train``: train the models haad ships (encoder, HumanMAC, MacDiff) and the HumanMAC ablation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from haad.cli.common import fail, output_folder

app = typer.Typer(
    no_args_is_help=True,
    help="Train models (encoder, HumanMAC, MacDiff, the HumanMAC ablation); an encoder's calibration prior "
    "and ONNX export.",
)


@contextmanager
def _refused() -> Iterator[None]:
    """A bad config, output path or data source, or a missing file, ends the command with its message
    (exit 2; 1 for a file that is there but cannot be read or written), not a traceback."""
    try:
        yield
    except (ValueError, FileNotFoundError) as e:  # config.loader.ConfigError among them
        raise fail(str(e), code=2) from None
    except OSError as e:
        raise fail(str(e)) from None


@app.command("encoder")
def train_encoder_cmd(
    config: Path = typer.Option(..., "--config", help="Training config YAML (training/configs/*.yaml)."),
    out: Path | None = typer.Option(None, help="Checkpoint path (default: the config's out)."),
    no_eval: bool = typer.Option(False, "--no-eval", help="Skip the few-shot evaluation at the end."),
) -> None:
    """Contrastive training of the action encoder; writes .safetensors + .json metadata."""
    from config.loader import load_config
    from config.training import EncoderTrainConfig
    from evaluation.fewshot import training_evaluator
    from training.train_encoder import train_encoder

    with _refused():
        cfg = load_config(config, EncoderTrainConfig)
        evaluate = None if no_eval else training_evaluator(cfg.datasets, cfg.data_root, cfg.eval_seeds)
        result = train_encoder(cfg, out=out, evaluate=evaluate)
    typer.echo(f"saved {result.path} after {result.seconds:.0f} s")
    for name, m in result.metrics.get("fewshot", {}).items():
        typer.echo(f"{name}: all {m['all']:.3f}  seen {m['seen']:.3f}  unseen {m['unseen']:.3f}")
    for name in cfg.datasets if evaluate is not None else ():
        if name not in result.metrics["fewshot"]:
            typer.echo(
                f"{name}: no few-shot figures (every one of its people was trained on); score other "
                f"people's clips: haad eval fewshot --dataset THEIRS.npz --encoder {result.path}"
            )


@app.command("humanmac")
def train_humanmac_cmd(
    config: Path = typer.Option(
        ..., "--config", help="Training config YAML (training/configs/humanmac*.yaml)."
    ),
    out: Path | None = typer.Option(None, help="Checkpoint path (default: the config's out)."),
) -> None:
    """Train the HumanMAC denoiser (Eq. 3) on the train split; writes .safetensors + .json metadata."""
    from config.humanmac import HumanMACTrainConfig
    from config.loader import load_config
    from training.train_humanmac import train_humanmac

    with _refused():
        result = train_humanmac(load_config(config, HumanMACTrainConfig), out=out)
    typer.echo(f"saved {result.path} after {result.seconds:.0f} s (final loss {result.final_loss:.4f})")


@app.command("macdiff")
def train_macdiff_cmd(
    config: Path = typer.Option(
        ..., "--config", help="Training config YAML (training/configs/macdiff*.yaml)."
    ),
    out: Path | None = typer.Option(None, help="Checkpoint path (default: the config's out)."),
) -> None:
    """Pretrain MacDiff (masked encoder + conditional diffusion decoder) on the train split, without
    labels; writes .safetensors + .json metadata."""
    from config.loader import load_config
    from config.macdiff import MacDiffTrainConfig
    from training.train_macdiff import train_macdiff

    with _refused():
        result = train_macdiff(load_config(config, MacDiffTrainConfig), out=out)
    typer.echo(f"saved {result.path} after {result.seconds:.0f} s (final loss {result.final_loss:.4f})")


@app.command("calibration-prior")
def train_calibration_prior_cmd(
    encoder: Path | None = typer.Option(None, help="Encoder checkpoint (default: the bundled one)."),
    shots: int = typer.Option(3, min=2, help="Clips (of different people) per simulated profile."),
    seeds: int = typer.Option(10, min=1, help="Simulated profiles per category."),
    data_root: str | None = typer.Option(None, help="Dataset folder (default: HAAD_DATA or ../shared/data)."),
) -> None:
    """Measure the encoder's calibration prior on its training people (how far normal windows of people
    nobody enrolled stray from a few-clip profile, in categories held out of training); writes
    <encoder>.calibration.json beside it."""
    from evaluation.calibration_prior import write_prior

    with _refused():
        prior, path = write_prior(encoder, shots=shots, seeds=seeds, data_root=data_root)
    rows = ", ".join(f"far {f:g}: {k:.3f}" for f, k in zip(prior.fars, prior.kappas, strict=True))
    typer.echo(f"wrote {path} (model {prior.model_version}): {rows}")


@app.command("export-onnx")
def export_onnx_cmd(
    encoder: Path | None = typer.Option(None, help="Encoder checkpoint (default: the bundled one)."),
) -> None:
    """Export an encoder to ONNX beside its weights (<encoder>.onnx and the .onnx.json record tying it
    to them), so hosts without torch run it; a graph whose record names other weights is refused."""
    from edge.backends.base import resolve_checkpoint
    from edge.backends.onnx import export_beside

    with _refused():
        written = export_beside(resolve_checkpoint(encoder))
    typer.echo(f"wrote {written}")


@app.command("ablation")
def train_ablation_cmd(
    config: Path | None = typer.Option(None, "--config", help="Ablation config YAML (default: built-in)."),
    out: Path = typer.Option(
        Path("runs/ablation"), help="Folder for encoders, ablation.json and ablation.md."
    ),
) -> None:
    """HumanMAC augmentation ablation: Table 3, Fig. 7 and Table 4 of the paper on our benchmark."""
    from evaluation.ablation import load_ablation_config, run_ablation

    with _refused():
        report = run_ablation(load_ablation_config(config), output_folder(out))
    typer.echo((out / "ablation.md").read_text())
    typer.echo(f"wrote {out / 'ablation.json'} after {report['seconds']} s")
