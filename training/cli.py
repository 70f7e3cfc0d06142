"""``haad train ...`` and ``haad eval ...``."""

from __future__ import annotations

from pathlib import Path

import typer

train_app = typer.Typer(no_args_is_help=True, help="Train models (encoder, HumanMAC).")
eval_app = typer.Typer(no_args_is_help=True, help="Measure accuracy (few-shot, HumanMAC, streams).")


@train_app.command("encoder")
def train_encoder_cmd(
    config: Path = typer.Option(..., "--config", help="Training config YAML (training/configs/*.yaml)."),
    out: Path | None = typer.Option(None, help="Checkpoint path (default: the config's `out`)."),
    no_eval: bool = typer.Option(False, "--no-eval", help="Skip the few-shot evaluation at the end."),
) -> None:
    """Contrastive training of the action encoder; writes .safetensors + .json metadata."""
    from config.loader import load_config
    from config.training import EncoderTrainConfig
    from training.train_encoder import train_encoder

    cfg = load_config(config, EncoderTrainConfig)
    result = train_encoder(cfg, out=out, evaluate_after=not no_eval)
    typer.echo(f"saved {result.path} after {result.seconds:.0f} s")
    for name, m in result.metrics.get("fewshot", {}).items():
        typer.echo(f"{name}: all {m['all']:.3f}  seen {m['seen']:.3f}  unseen {m['unseen']:.3f}")


@eval_app.command("fewshot")
def eval_fewshot_cmd(
    dataset: str = typer.Option(..., help="kinder-gator, msr, utkinect, or a clip-set .npz path."),
    encoder: Path | None = typer.Option(None, help="Encoder checkpoint (default: the bundled one)."),
    shots: int = typer.Option(3, min=1, help="Support clips per category (N_s)."),
    seeds: int = typer.Option(10, min=1, help="Support-set draws per category."),
    out: Path = typer.Option(Path("runs/fewshot"), help="Folder for summary.json and the ROC plot."),
    data_root: str | None = typer.Option(None, help="Dataset folder (default: HAAD_DATA or ../shared/data)."),
) -> None:
    """Few-shot anomaly detection benchmark: per-category AUC, encoder vs raw-dct."""
    from training.eval_fewshot import format_table, run_fewshot_eval

    summary = run_fewshot_eval(
        dataset, encoder_path=encoder, shots=shots, seeds=seeds, out_dir=out, data_root=data_root
    )
    typer.echo(format_table(summary))
    typer.echo(f"wrote {out / 'summary.json'}")
