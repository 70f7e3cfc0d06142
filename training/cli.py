"""``haad train ...`` and ``haad eval ...``."""

from __future__ import annotations

from pathlib import Path

import typer

from config.sampling import SUPPORT_GAP, SUPPORT_OBSERVED, Gap, SamplerSettings

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


@train_app.command("ablation")
def train_ablation_cmd(
    config: Path | None = typer.Option(None, "--config", help="Ablation config YAML (default: built-in)."),
    out: Path = typer.Option(
        Path("runs/ablation"), help="Folder for encoders, ablation.json and ablation.md."
    ),
) -> None:
    """HumanMAC augmentation ablation: Table 3, Fig. 7 and Table 4 of the paper on our benchmark."""
    from training.ablation import load_ablation_config, run_ablation

    report = run_ablation(load_ablation_config(config), out)
    typer.echo((out / "ablation.md").read_text())
    typer.echo(f"wrote {out / 'ablation.json'} after {report['seconds']} s")


@eval_app.command("fewshot")
def eval_fewshot_cmd(
    dataset: str = typer.Option(..., help="kinder-gator, msr, utkinect, or a clip-set .npz path."),
    encoder: Path | None = typer.Option(None, help="Encoder checkpoint (default: the bundled one)."),
    shots: int = typer.Option(3, min=1, help="Support clips per category (N_s)."),
    seeds: int = typer.Option(10, min=1, help="Support-set draws per category."),
    out: Path = typer.Option(Path("runs/fewshot"), help="Folder for summary.json and the ROC plot."),
    data_root: str | None = typer.Option(None, help="Dataset folder (default: HAAD_DATA or ../shared/data)."),
    augment: int = typer.Option(
        0, min=0, max=50, help="HumanMAC completions per support window (N_g; 0: no support augmentation)."
    ),
    observed: int = typer.Option(
        SUPPORT_OBSERVED, min=1, max=59, help="Observed frames O of the completions."
    ),
    gap: Gap = typer.Option(SUPPORT_GAP, help="Where the completions are generated: middle or end."),
    aug_steps: int = typer.Option(50, min=1, help="DDIM steps of the completions."),
    humanmac: Path | None = typer.Option(None, help="HumanMAC checkpoint (default: the bundled one)."),
    cache_dir: Path = typer.Option(Path(".cache/augbank"), help="Where completions are cached between runs."),
) -> None:
    """Few-shot anomaly detection benchmark: per-category AUC, encoder vs raw-dct."""
    from training.augbank import BankSettings
    from training.eval_fewshot import format_table, run_fewshot_eval

    augmentation = (
        BankSettings(n_g=augment, observed=observed, gap=gap, steps=aug_steps) if augment > 0 else None
    )
    try:
        summary = run_fewshot_eval(
            dataset, encoder_path=encoder, shots=shots, seeds=seeds, out_dir=out, data_root=data_root,
            augmentation=augmentation, humanmac=humanmac, cache_dir=str(cache_dir),
        )  # fmt: skip
    except ValueError as e:  # e.g. O impossible for the gap
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    typer.echo(format_table(summary))
    typer.echo(f"wrote {out / 'summary.json'}")


@train_app.command("humanmac")
def train_humanmac_cmd(
    config: Path = typer.Option(
        ..., "--config", help="Training config YAML (training/configs/humanmac*.yaml)."
    ),
    out: Path | None = typer.Option(None, help="Checkpoint path (default: the config's `out`)."),
) -> None:
    """Train the HumanMAC denoiser (Eq. 3) on the train split; writes .safetensors + .json metadata."""
    from config.humanmac import HumanMACTrainConfig
    from config.loader import load_config
    from training.train_humanmac import train_humanmac

    cfg = load_config(config, HumanMACTrainConfig)
    result = train_humanmac(cfg, out=out)
    typer.echo(f"saved {result.path} after {result.seconds:.0f} s (final loss {result.final_loss:.4f})")


SAMPLER = SamplerSettings()  # the defaults of config/sampling.py


@eval_app.command("humanmac")
def eval_humanmac_cmd(
    model: Path | None = typer.Option(None, help="HumanMAC checkpoint (default: the bundled one)."),
    samples: int = typer.Option(10, min=2, help="Completions per window (N_g); ADE/FDE take the best."),
    steps: int = typer.Option(100, min=1, help="DDIM steps."),
    eta: float = typer.Option(0.0, min=0.0, help="DDIM eta (0: deterministic given the start noise)."),
    observed: int = typer.Option(30, min=2, help="Observed frames O; the rest of the window is predicted."),
    gap: Gap = typer.Option(
        "end", help="end: predict the last frames; middle: keep O/2 frames at each end, generate between."
    ),
    start: float = typer.Option(
        SAMPLER.start, min=0.001, max=1.0, help="Start the reverse process at start·T (1: the paper's)."
    ),
    temperature: float = typer.Option(
        SAMPLER.temperature, min=0.01, help="Scale of the initial noise (1: the paper's)."
    ),
    refine: bool = typer.Option(
        SAMPLER.refine, help="Re-anchor on the last observed pose and keep bone lengths."
    ),
    seed: int = typer.Option(0, help="Noise seed."),
    dataset: str = typer.Option("kinder-gator", help="Test participants of kinder-gator or msr."),
    max_windows: int | None = typer.Option(None, min=1, help="Evaluate this many windows, spread evenly."),
    threads: int | None = typer.Option(None, min=1, help="torch CPU threads (default: torch's)."),
    out: Path = typer.Option(Path("runs/humanmac"), help="Folder for humanmac_eval.json and the figure."),
    data_root: str | None = typer.Option(None, help="Dataset folder (default: HAAD_DATA or ../shared/data)."),
) -> None:
    """Best-of-N ADE/FDE, APD and bone drift on held-out test participants, vs naive predictors."""
    import torch

    from models.humanmac import load_humanmac
    from training.eval_humanmac import evaluate_humanmac, format_table

    if threads is not None:
        torch.set_num_threads(threads)
    summary = evaluate_humanmac(
        load_humanmac(model), samples=samples, observed=observed, gap=gap, steps=steps, eta=eta,
        sampler=SamplerSettings(start=start, temperature=temperature, refine=refine), seed=seed,
        dataset=dataset, max_windows=max_windows, data_root=data_root, out_dir=out,
    )  # fmt: skip
    typer.echo(format_table(summary))
    typer.echo(f"wrote {out / 'humanmac_eval.json'} and {out / 'humanmac_examples.png'}")


bench_app = typer.Typer(
    no_args_is_help=True, help="Measure speed (worker scoring path, support-set augmentation)."
)


@bench_app.command("support-aug")
def bench_support_aug(
    model: Path | None = typer.Option(None, help="HumanMAC checkpoint (default: the bundled one)."),
    clips: int = typer.Option(3, min=1, help="Support clips (all their windows are augmented)."),
    samples: int = typer.Option(10, min=1, help="Completions per support window (N_g)."),
    steps: int = typer.Option(100, min=1, help="DDIM steps."),
    repeats: int = typer.Option(3, min=1, help="Timed runs after one warm-up."),
    threads: int | None = typer.Option(None, min=1, help="torch CPU threads (default: torch's)."),
    data_root: str | None = typer.Option(None, help="Dataset folder (default: HAAD_DATA or ../shared/data)."),
) -> None:
    """Time HumanMAC augmentation of a few-clip support set (the enrolment path)."""
    import torch

    from models.humanmac import load_humanmac
    from training.support_aug import benchmark_support_aug

    if threads is not None:
        torch.set_num_threads(threads)
    r = benchmark_support_aug(
        load_humanmac(model), clips=clips, samples=samples, steps=steps, repeats=repeats, data_root=data_root
    )
    typer.echo(
        f"{len(r['clips'])} clips of {r['category']} -> {r['support_windows']} windows, {r['generated']} "
        f"generated at {r['steps']} steps on {r['threads']} thread(s): median {r['median_s']:.2f} s "
        f"(runs: {', '.join(f'{s:.2f}' for s in r['seconds'])})"
    )
