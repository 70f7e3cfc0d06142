"""The ``haad`` command: one Typer app joining each package's sub-commands."""

from __future__ import annotations

import typer

from training.cli import eval_app, train_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")


def main() -> None:
    app()
