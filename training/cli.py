"""``haad train ...`` and ``haad eval ...``."""

from __future__ import annotations

import typer

train_app = typer.Typer(no_args_is_help=True, help="Train models (encoder, HumanMAC).")
eval_app = typer.Typer(no_args_is_help=True, help="Measure accuracy (few-shot, HumanMAC, streams).")
