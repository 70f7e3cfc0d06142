"""The ``haad`` command: one Typer app joining each package's sub-commands."""

from __future__ import annotations

import typer

from edge.alerts_cli import alerts_app
from edge.bench import bench_worker_cmd
from edge.cli import config_app, demo_cmd, enroll_cmd, eval_stream_cmd, run_cmd
from edge.review.cli import events_app, prune_cmd, serve_app
from pose_frontend.cli import frontend_app
from training.cli import bench_app, eval_app, train_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")
app.add_typer(bench_app, name="bench")
app.add_typer(alerts_app, name="alerts")
bench_app.command("worker")(bench_worker_cmd)
app.add_typer(frontend_app, name="frontend")
app.add_typer(config_app, name="config")
app.command("run")(run_cmd)
app.command("demo")(demo_cmd)
app.command("enroll")(enroll_cmd)
eval_app.command("stream")(eval_stream_cmd)
app.add_typer(serve_app, name="serve")
app.add_typer(events_app, name="events")
alerts_app.command("prune")(prune_cmd)


def main() -> None:
    app()
